package host

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// MaxIdempotencyKey is the longest idempotency key accepted.
const MaxIdempotencyKey = 255

// errorBody is how an error is stored as the response of a key.
type errorBody struct {
	Error *core.Error `json:"error"`
}

// idemRun is the work done under an idempotency key. resumeID is the
// resource a crashed earlier owner created (empty normally). link gives
// the store.IdemLink that an insert of the new resource carries, so the
// resource and its link to the key are stored in one transaction: whatever
// reserves money or calls a provider is never an orphan that a retry would
// create a second time. An insert refused with store.ErrTakenOver (a retry
// took the key over) stored nothing: answer errTakenOver.
type idemRun[T any] func(ctx context.Context, resumeID string, link func() *store.IdemLink) (*T, error)

// The stored answer of a key (store.IdemRecord.ResponseStatus) is a value
// (idemAnswer) or an error (idemFailed, its body an errorBody). Keys
// stored before this distinction hold an HTTP status there: 4xx and 5xx
// are errors.
const (
	idemAnswer = 0
	idemFailed = 1
)

func storedFailure(status int) bool { return status == idemFailed || status >= 400 }

// keyLinked reports whether owner's key has a resource linked to it. When
// the store cannot say, it answers true: the key then stays in progress
// rather than being released with a resource behind it.
func (h *Host) keyLinked(ctx context.Context, tenant, key, owner string) bool {
	rec, err := h.store.GetIdempotencyKey(ctx, tenant, key)
	if err != nil {
		return !errors.Is(err, store.ErrNotFound)
	}
	return rec.Owner != owner || rec.ResourceID != ""
}

// errTakenOver stops work whose key a retry took over after the lease ran out.
var errTakenOver = &core.Error{Code: core.CodeInProgress, Retryable: true,
	Message: "this request ran longer than its idempotency lease and a retry took it over"}

// idempotent runs fn at most once per tenant and key: the same key with the
// same request returns the stored first response; with another request it
// is idempotency_mismatch; while the first request still runs, a second one
// waits up to Config.IdempotencyWait and then gets in_progress.
//
// hashed is what identifies the request: callers leave out secrets (a
// payer's card number or code), so the stored hash cannot be used to guess
// them. fn runs detached from the caller's cancellation, bounded by most of
// the lease, so a client that hangs up does not cut a payment in half.
// A failure before a resource was linked (nothing stored) releases the key
// for a corrected retry; a transient one after keeps it in progress, and a
// retry after the lease resumes that resource; any other is the stored answer.
func idempotent[T any](ctx context.Context, h *Host, tenant, key, op string, hashed any, fn idemRun[T]) (*T, error) {
	if key == "" {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "Idempotency-Key", Message: "an Idempotency-Key is required for this request"}
	}
	if len(key) > MaxIdempotencyKey {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "Idempotency-Key", Message: fmt.Sprintf("the Idempotency-Key is longer than %d characters", MaxIdempotencyKey)}
	}
	if err := checkText("Idempotency-Key", key); err != nil {
		return nil, err
	}
	canon, err := json.Marshal(hashed)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "hash request")
	}
	sum := sha256.Sum256(append([]byte(op+"\n"), canon...))
	claim := store.IdemClaim{Tenant: tenant, Key: key, Operation: op, RequestHash: hex.EncodeToString(sum[:]),
		Lease: h.cfg.IdempotencyLease, Owner: newOwner(), Node: h.node, NodeTimeout: h.cfg.NodeTimeout}
	deadline := time.Now().Add(h.cfg.IdempotencyWait)
	for {
		claim.Now = h.now()
		// The claim is the first write of the request's unit: it commits
		// with the resource the request creates, before any provider call
		// (see store.Unit), or not at all when the request fails first.
		uctx, unit := store.WithUnit(ctx)
		rec, owned, err := h.store.ClaimIdempotencyKey(uctx, claim)
		if err != nil {
			unit.Close()
			return nil, core.WrapError(core.CodeInternal, err, "claim idempotency key")
		}
		if owned {
			return runOwned(uctx, h, unit, claim, rec.ResourceID, fn)
		}
		unit.Close()
		body, err, released := h.await(ctx, claim, rec, deadline)
		if !released {
			if err != nil {
				return nil, err
			}
			var out T
			if err := json.Unmarshal(body, &out); err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "decode stored response")
			}
			return &out, nil
		}
		// the first request released the key without an answer: take it
	}
}

// nodeGone reports whether the node of a key's owner crashed or left: not
// seen for Config.NodeTimeout. A key from before nodes were recorded has
// none, and waits for its lease.
func (h *Host) nodeGone(ctx context.Context, node string) bool {
	if node == "" || node == h.node {
		return false
	}
	seen, err := h.store.NodeSeen(ctx, node)
	if errors.Is(err, store.ErrNotFound) {
		return true
	}
	return err == nil && h.now().Sub(seen) > h.cfg.NodeTimeout
}

// newOwner returns a token unique to one claimant of a key.
func newOwner() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("host: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// transient codes are failures a retry with the same key may get past.
func transient(code core.Code) bool {
	switch code {
	case core.CodeConflict, core.CodeRateLimited, core.CodeProviderUnavailable, core.CodeCircuitOpen,
		core.CodeInProgress, core.CodeInternal, core.CodePluginFailure, core.CodeUnknownOutcome:
		return true
	}
	return false
}

// runOwned runs fn under a key claimed in unit (which ctx carries) and
// stores its answer: everything written after the last provider call,
// with the answer, is committed once, at the end.
func runOwned[T any](ctx context.Context, h *Host, unit *store.Unit, claim store.IdemClaim, resumeID string, fn idemRun[T]) (*T, error) {
	defer unit.Close()
	tenant, key, owner := claim.Tenant, claim.Key, claim.Owner
	bg := context.WithoutCancel(ctx)
	runCtx, cancel := context.WithTimeout(bg, claim.Lease*3/4)
	defer cancel()
	link := func() *store.IdemLink {
		return &store.IdemLink{Tenant: tenant, Key: key, Owner: owner, Now: h.now()}
	}
	value, runErr := fn(runCtx, resumeID, link)
	var answer any = value
	status := idemAnswer
	if runErr != nil {
		ce := core.AsError(runErr)
		if ce == errTakenOver {
			return nil, runErr // the key is another's now, and nothing of this run was stored
		}
		if resumeID == "" && !h.keyLinked(bg, tenant, key, owner) {
			// nothing was stored (refused input, no channel, a failure
			// before the provider): the key is free for a corrected retry
			if err := h.store.ReleaseIdempotencyKey(bg, tenant, key, owner); err != nil && !errors.Is(err, store.ErrConflict) {
				h.log.Error("release idempotency key", "err", err)
			}
			if err := unit.Commit(); err != nil {
				h.log.Error("release idempotency key", "err", err)
			}
			return nil, runErr
		}
		if transient(ce.Code) {
			// with a linked resource the key stays in progress: a retry
			// after the lease resumes that resource instead of starting another
			if err := unit.Commit(); err != nil {
				h.log.Error("store what the request did", "err", err)
			}
			return nil, runErr
		}
		answer, status, value = errorBody{Error: ce}, idemFailed, nil
	}
	body, err := json.Marshal(answer)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "encode response")
	}
	if err := h.store.FinishIdempotencyKey(bg, tenant, key, owner, status, body, h.now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// taken over meanwhile: the new owner answers for the key
			h.log.Warn("idempotency key taken over before the response was stored", "key_tenant", tenant)
		} else {
			h.log.Error("finish idempotency key", "err", err)
		}
	}
	if err := unit.Commit(); err != nil {
		// Nothing since the last provider call is stored, the answer
		// neither: the key stays in progress and a retry after its lease
		// resumes the resource (a payment is settled by query).
		return nil, core.WrapError(core.CodeInternal, err, "store the outcome")
	}
	return value, runErr
}

// await waits for the owner of a key to finish. released=true means the
// owner gave the key up without an answer, so the caller may claim it.
func (h *Host) await(ctx context.Context, claim store.IdemClaim, rec store.IdemRecord, deadline time.Time) (body []byte, err error, released bool) {
	wait := 20 * time.Millisecond
	for {
		if rec.Operation != claim.Operation || rec.RequestHash != claim.RequestHash {
			return nil, &core.Error{Code: core.CodeIdempotencyMismatch, Param: "Idempotency-Key",
				Message: "this Idempotency-Key was used with a different request"}, false
		}
		if rec.State == store.IdemDone {
			if storedFailure(rec.ResponseStatus) {
				var eb errorBody
				if err := json.Unmarshal(rec.ResponseBody, &eb); err != nil || eb.Error == nil {
					return nil, core.Errorf(core.CodeInternal, "the stored error of this Idempotency-Key cannot be read"), false
				}
				return nil, eb.Error, false
			}
			return rec.ResponseBody, nil, false
		}
		if time.Now().After(deadline) {
			return nil, &core.Error{Code: core.CodeInProgress, Param: "Idempotency-Key", Retryable: true,
				Message: "the first request with this Idempotency-Key is still being processed; retry later"}, false
		}
		select {
		case <-ctx.Done():
			return nil, core.WrapError(core.CodeInProgress, ctx.Err(), "waiting for the first request with this Idempotency-Key"), false
		case <-time.After(wait):
		}
		wait = min(wait*2, 250*time.Millisecond)
		var gerr error
		if rec, gerr = h.store.GetIdempotencyKey(ctx, claim.Tenant, claim.Key); gerr != nil {
			if errors.Is(gerr, store.ErrNotFound) {
				return nil, nil, true
			}
			return nil, core.WrapError(core.CodeInternal, gerr, "read idempotency key"), false
		}
		if rec.State == store.IdemInProgress && (h.now().After(rec.LockedUntil) || h.nodeGone(ctx, rec.Node)) {
			return nil, nil, true // lease ran out, or its node crashed: claiming takes it over
		}
	}
}
