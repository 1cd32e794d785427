package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// statusChange is what moving one kind of stored object (payment, refund,
// split, payout) through its state machine needs.
type statusChange[T any] struct {
	kind    string // the object type of transitions and events
	machine core.Machine
	// state reads an object's id, status and provider data.
	state func(*T) (id, status string, data map[string]string)
	// apply writes the change, conditional on the status from; to is the
	// new status or "" (fields only), data the merged provider data, ev
	// the webhook event of the move (nil without one).
	apply  func(ctx context.Context, from, to string, data map[string]string, ev *store.EventSpec) (*T, error)
	reload func(ctx context.Context, id string) (*T, error)
	// refused records what a report that cannot move the object may still
	// add (provider references) and returns the object as it is; nil keeps it.
	refused func(ctx context.Context, cur *T) *T
	render  func(obj any) (any, error) // the event's data
	// lateSuccess lists the statuses from which a reported success is an
	// incident: the money moved, the record says it did not.
	lateSuccess map[string]bool
	// noRetry: a conflict is the caller's answer (conflict), not a reason
	// to re-read and try again.
	noRetry bool
}

const statusSucceeded = "succeeded"

// move changes an object, moving its status to `to` when the machine
// allows it. Every write is conditional on the status it was decided on;
// a concurrent change is re-read and the move re-checked. patch is merged
// into the stored provider data on each try. A backwards move or one out
// of a terminal state is recorded and ignored (refused fills in what it
// may); a success reported from a failed state is an incident.
func move[T any](ctx context.Context, h *Host, sc statusChange[T], cur *T, to, source, detail string, patch map[string]string) (*T, error) {
	for attempt := 0; ; attempt++ {
		id, status, data := sc.state(cur)
		target := ""
		var ev *store.EventSpec
		if to != "" && to != status {
			if err := core.CheckTransition(sc.machine, status, to); err != nil {
				h.refusedTransition(ctx, sc.kind, id, status, to, source, err.Error())
				out := cur
				if sc.refused != nil {
					out = sc.refused(ctx, cur)
				}
				if to == statusSucceeded && sc.lateSuccess[status] {
					h.incident(ctx, IncidentLateSuccess, id, fmt.Sprintf("%s reports the %s %s succeeded", source, status, sc.kind))
				}
				return out, nil
			}
			target = to
			ev = h.transitionEvent(sc.kind, to, sc.render)
		}
		next, err := sc.apply(ctx, status, target, mergeData(data, patch), ev)
		if errors.Is(err, store.ErrConflict) && attempt < 3 && !sc.noRetry {
			if cur, err = sc.reload(ctx, id); err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "reload %s", sc.kind)
			}
			continue
		}
		if err != nil {
			code := core.CodeInternal
			if errors.Is(err, store.ErrConflict) {
				code = core.CodeConflict
			}
			return nil, core.WrapError(code, err, "update %s", sc.kind)
		}
		if target != "" {
			h.appliedTransition(ctx, sc.kind, id, status, target, source, detail)
		}
		return next, nil
	}
}
