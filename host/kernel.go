package host

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/host/store"
)

// The shared machinery of every flow: calling a plugin (with its attempt,
// health and metrics recorded, and the request's writes committed first),
// the records of transitions and incidents, the poller's backoff, webhook
// events of a transition, and the small checks and helpers of input. The
// state mover is move.go, idempotency idempotency.go, the flows' wiring
// flows.go.

func bad(param, format string, args ...any) error {
	return &core.Error{Code: core.CodeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

// callPlugin invokes an operation on a channel's plugin, and records the
// attempt, the channel's health and the observer's metrics.
func callPlugin[Resp any](ctx context.Context, h *Host, a *account, c core.Channel, op core.Op, objectID string, req any) (*Resp, error) {
	if err := commitBeforeCall(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := plugin.Call[Resp](ctx, a.plugin, a.binding, op, req)
	d := time.Since(start)
	code := core.CodeOf(err)
	h.health.record(c, code)
	if h.cfg.Observer != nil {
		h.cfg.Observer.ProviderCall(c, op, code, d)
	}
	h.recordAttempt(ctx, objectID, op, c, err, d)
	if err != nil {
		h.log.Warn("provider call failed", "op", op, "channel", c.String(), "object", objectID, "code", code, "err", err)
	}
	return resp, err
}

// commitBeforeCall makes what the request wrote so far durable before a
// provider hears of it (store.Unit): after a crash, what the provider got
// is always on record. A failure means the provider was not called.
func commitBeforeCall(ctx context.Context) error {
	if err := store.CommitUnit(ctx); err != nil {
		return core.WrapError(core.CodeInternal, err, "store the request before calling the provider")
	}
	return nil
}

func (h *Host) recordAttempt(ctx context.Context, objectID string, op core.Op, c core.Channel, err error, d time.Duration) {
	outcome, msg := "ok", ""
	if err != nil {
		ce := core.AsError(err)
		outcome, msg = string(ce.Code), ce.Message
	}
	a := &store.Attempt{ObjectID: objectID, Operation: string(op), Channel: c.String(), Outcome: outcome, Error: msg,
		DurationMS: d.Milliseconds(), CreatedAt: h.now()}
	if err := h.store.InsertAttempt(context.WithoutCancel(ctx), a); err != nil {
		h.log.Error("record attempt", "object", objectID, "err", err)
	}
}

// mergeData applies a ProviderData patch; nil patch = unchanged (nil).
func mergeData(cur, patch map[string]string) map[string]string {
	if len(patch) == 0 {
		return nil
	}
	merged := make(map[string]string, len(cur)+len(patch))
	for k, v := range cur {
		merged[k] = v
	}
	for k, v := range patch {
		merged[k] = v
	}
	return merged
}

func (h *Host) appliedTransition(ctx context.Context, typ, id, from, to, source, detail string) {
	h.log.Info(typ+" status changed", typ, id, "from", from, "to", to, "source", source)
	if err := h.store.InsertTransition(context.WithoutCancel(ctx), &store.Transition{ObjectType: typ, ObjectID: id,
		From: from, To: to, Source: source, Applied: true, Detail: detail, CreatedAt: h.now()}); err != nil {
		h.log.Error("record transition", typ, id, "err", err)
	}
	store.AfterCommit(ctx, h.wakeWebhooks) // once the change is committed with its event
}

func (h *Host) refusedTransition(ctx context.Context, typ, id, from, to, source, detail string) {
	h.log.Info(typ+" status change ignored", typ, id, "from", from, "to", to, "source", source, "reason", detail)
	if err := h.store.InsertTransition(context.WithoutCancel(ctx), &store.Transition{ObjectType: typ, ObjectID: id,
		From: from, To: to, Source: source, Applied: false, Detail: detail, CreatedAt: h.now()}); err != nil {
		h.log.Error("record transition", typ, id, "err", err)
	}
}

func ptr[T any](v T) *T { return &v }

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// checkText refuses a string a provider or database could mangle: invalid
// UTF-8 or a NUL byte.
func checkText(param, s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return bad(param, "%s must be valid UTF-8 without NUL characters", param)
	}
	return nil
}

// checkTexts is checkText over several named strings.
func checkTexts(fields map[string]string) error {
	for param, s := range fields {
		if err := checkText(param, s); err != nil {
			return err
		}
	}
	return nil
}

// backoff is the wait before the n-th query of a pending object.
func (h *Host) backoff(n int) time.Duration {
	d := h.cfg.Poll.First
	for i := 0; i < n && d < h.cfg.Poll.Max; i++ {
		d *= 2
	}
	return min(d, h.cfg.Poll.Max)
}

func (h *Host) incident(ctx context.Context, kind, objectID, detail string) {
	h.log.ErrorContext(ctx, "incident: needs a person", "kind", kind, "object", objectID, "detail", detail)
	if o, ok := h.cfg.Observer.(IncidentObserver); ok {
		o.Incident(kind, objectID, detail)
	}
}

// transitionEvent is the outbox event of an object moving to status to:
// type "<objectType>.<to>", its data render(obj) of the object as the store
// holds it after the change. Set it as the Event of the store update that
// applies the transition; render runs inside the store's transaction, so
// it must not call the store.
func (h *Host) transitionEvent(objectType, to string, render func(obj any) (any, error)) *store.EventSpec {
	now := h.now()
	return &store.EventSpec{ID: newID("evt_", now), Type: objectType + "." + to, CreatedAt: now,
		Data: func(obj any) ([]byte, error) {
			v, err := render(obj)
			if err != nil {
				return nil, err
			}
			return json.Marshal(v)
		}}
}
