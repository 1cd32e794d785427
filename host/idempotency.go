package host

import (
	"context"
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
// resource a crashed earlier owner created (empty normally); link records a
// new resource before the provider is called.
type idemRun func(ctx context.Context, resumeID string, link func(id string) error) (status int, resp any, err error)

// idempotent runs fn at most once per tenant and key: the same key with the
// same request returns the stored first response; with another request it
// is idempotency_mismatch; while the first request still runs, a second one
// waits up to Config.IdempotencyWait and then gets in_progress.
func (h *Host) idempotent(ctx context.Context, tenant, key, op string, req any, fn idemRun) (int, []byte, error) {
	if key == "" {
		return 0, nil, &core.Error{Code: core.CodeInvalidRequest, Param: "Idempotency-Key", Message: "an Idempotency-Key is required for this request"}
	}
	if len(key) > MaxIdempotencyKey {
		return 0, nil, &core.Error{Code: core.CodeInvalidRequest, Param: "Idempotency-Key", Message: fmt.Sprintf("the Idempotency-Key is longer than %d characters", MaxIdempotencyKey)}
	}
	canon, err := json.Marshal(req)
	if err != nil {
		return 0, nil, core.WrapError(core.CodeInternal, err, "hash request")
	}
	sum := sha256.Sum256(append([]byte(op+"\n"), canon...))
	hash := hex.EncodeToString(sum[:])
	claim := store.IdemClaim{Tenant: tenant, Key: key, Operation: op, RequestHash: hash, Now: h.now(), Lease: h.cfg.IdempotencyLease}
	rec, owned, err := h.store.ClaimIdempotencyKey(ctx, claim)
	if err != nil {
		return 0, nil, core.WrapError(core.CodeInternal, err, "claim idempotency key")
	}
	if !owned {
		return h.replay(ctx, claim, rec)
	}
	link := func(id string) error {
		if err := h.store.LinkIdempotencyKey(ctx, tenant, key, id, h.now()); err != nil {
			return core.WrapError(core.CodeInternal, err, "link idempotency key")
		}
		return nil
	}
	status, resp, runErr := fn(ctx, rec.ResourceID, link)
	if runErr != nil {
		ce := core.AsError(runErr)
		if ce.Code == core.CodeInternal {
			// nothing decided: let the client retry with the same key
			if rerr := h.store.ReleaseIdempotencyKey(context.WithoutCancel(ctx), tenant, key); rerr != nil {
				h.log.Error("release idempotency key", "err", rerr)
			}
			return 0, nil, runErr
		}
		status, resp = ce.Code.HTTPStatus(), errorBody{Error: ce}
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return 0, nil, core.WrapError(core.CodeInternal, err, "encode response")
	}
	if err := h.store.FinishIdempotencyKey(context.WithoutCancel(ctx), tenant, key, status, body, h.now()); err != nil {
		h.log.Error("finish idempotency key", "err", err)
	}
	return status, body, runErr
}

func (h *Host) replay(ctx context.Context, claim store.IdemClaim, rec store.IdemRecord) (int, []byte, error) {
	deadline := time.Now().Add(h.cfg.IdempotencyWait)
	wait := 20 * time.Millisecond
	for {
		if rec.Operation != claim.Operation || rec.RequestHash != claim.RequestHash {
			return 0, nil, &core.Error{Code: core.CodeIdempotencyMismatch, Param: "Idempotency-Key",
				Message: "this Idempotency-Key was used with a different request"}
		}
		if rec.State == store.IdemDone {
			if rec.ResponseStatus >= 400 {
				var eb errorBody
				if err := json.Unmarshal(rec.ResponseBody, &eb); err == nil && eb.Error != nil {
					return rec.ResponseStatus, rec.ResponseBody, eb.Error
				}
			}
			return rec.ResponseStatus, rec.ResponseBody, nil
		}
		if time.Now().After(deadline) {
			return 0, nil, &core.Error{Code: core.CodeInProgress, Param: "Idempotency-Key", Retryable: true,
				Message: "the first request with this Idempotency-Key is still being processed; retry later"}
		}
		select {
		case <-ctx.Done():
			return 0, nil, core.WrapError(core.CodeInProgress, ctx.Err(), "waiting for the first request with this Idempotency-Key")
		case <-time.After(wait):
		}
		wait = min(wait*2, 250*time.Millisecond)
		var err error
		if rec, err = h.store.GetIdempotencyKey(ctx, claim.Tenant, claim.Key); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				// the owner released it: claim again
				r, owned, cerr := h.store.ClaimIdempotencyKey(ctx, claim)
				if cerr != nil {
					return 0, nil, core.WrapError(core.CodeInternal, cerr, "claim idempotency key")
				}
				if owned {
					_ = h.store.ReleaseIdempotencyKey(ctx, claim.Tenant, claim.Key)
					return 0, nil, &core.Error{Code: core.CodeInProgress, Retryable: true, Message: "the first request with this Idempotency-Key failed; retry"}
				}
				rec = r
				continue
			}
			return 0, nil, core.WrapError(core.CodeInternal, err, "read idempotency key")
		}
	}
}
