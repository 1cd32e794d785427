package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/host/store"
)

// MaxNotificationBytes bounds an inbound notification body.
const MaxNotificationBytes = 1 << 20

// HandleNotification verifies and applies an inbound provider notification
// for an account and returns the exact acknowledgement the provider
// expects. A notification the plugin does not verify changes nothing and
// returns its error (the server answers 4xx). A verified one is stored once
// per provider event id (duplicates are acknowledged and not applied again)
// and applied through the state machine: a state that would go backwards is
// recorded and ignored.
func (h *Host) HandleNotification(ctx context.Context, accountName string, req *core.ParseNotificationRequest) (core.Ack, error) {
	a, ok := h.accounts[accountName]
	if !ok {
		return core.Ack{}, &core.Error{Code: core.CodeNotFound, Message: "no account " + accountName}
	}
	if len(req.Body) > MaxNotificationBytes {
		return core.Ack{}, &core.Error{Code: core.CodeInvalidRequest, Message: "notification body too large"}
	}
	if !supports(a, core.OpNotificationParse) {
		return core.Ack{}, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + a.plugin.Manifest().Name + " takes no notifications"}
	}
	resp, err := plugin.Call[core.ParseNotificationResponse](ctx, a.plugin, a.binding, core.OpNotificationParse, req)
	if err != nil {
		h.log.Warn("notification refused", "account", accountName, "code", core.CodeOf(err), "reason", err)
		return core.Ack{}, err
	}
	// applying must not stop halfway because the provider hung up
	bg := context.WithoutCancel(ctx)
	var failed error
	for _, ev := range resp.Events {
		if ev.ID == "" {
			h.log.Warn("notification event without id ignored", "account", accountName, "object", ev.ObjectID)
			continue
		}
		n := &store.Notification{Account: accountName, EventID: ev.ID, ObjectType: string(ev.Kind), ObjectID: ev.ObjectID,
			Status: ev.Status, Body: bodyDigest(req.Body), ReceivedAt: h.now()}
		inserted, err := h.store.InsertNotification(bg, n)
		if err != nil {
			return core.Ack{}, core.WrapError(core.CodeInternal, err, "store notification")
		}
		if !inserted {
			prev, err := h.store.GetNotification(bg, accountName, ev.ID)
			if err != nil {
				return core.Ack{}, core.WrapError(core.CodeInternal, err, "read notification")
			}
			if prev.Result != "" && !strings.HasPrefix(prev.Result, resultError) {
				h.log.Info("duplicate notification acknowledged", "account", accountName, "event", ev.ID)
				continue
			}
			n.ID = prev.ID // applying it failed or never finished: apply again
		}
		result := h.applyEvent(bg, a, ev)
		if err := h.store.SetNotificationResult(bg, n.ID, result); err != nil {
			h.log.Error("record notification result", "event", ev.ID, "err", err)
		}
		h.log.Info("notification", "account", accountName, "event", ev.ID, "kind", ev.Kind, "object", ev.ObjectID, "status", ev.Status, "result", result)
		if strings.HasPrefix(result, resultError) && failed == nil {
			failed = core.Errorf(core.CodeInternal, "notification %s could not be applied; the provider should deliver it again", ev.ID)
		}
	}
	if failed != nil {
		// no acknowledgement: the provider retries, and the retry applies it
		return core.Ack{}, failed
	}
	return resp.Ack, nil
}

const resultError = "error: "

// bodyDigest is what is stored of a notification's body: its SHA-256, not
// the body, which may carry personal data or credentials (Adapay's entry
// notification holds the new merchant's console password).
func bodyDigest(body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte("sha256:" + hex.EncodeToString(sum[:]))
}

// eventAppliers apply verified events of the kinds other files of this
// package handle (splits, payouts, onboarding, ...); each registers its
// kinds from an init function. An applier returns what happened: "applied",
// "unchanged", "stale: ...", "ignored: ..." or resultError + the error (the
// notification is then not acknowledged and its redelivery applies it).
var eventAppliers = map[core.EventKind]func(h *Host, ctx context.Context, a *account, ev core.Event) string{}

func registerEventApplier(kind core.EventKind, fn func(h *Host, ctx context.Context, a *account, ev core.Event) string) {
	if _, dup := eventAppliers[kind]; dup {
		panic("host: two appliers for event kind " + string(kind))
	}
	eventAppliers[kind] = fn
}

func init() {
	registerEventApplier(core.EventPayment, (*Host).applyPaymentEvent)
	registerEventApplier(core.EventRefund, (*Host).applyRefundEvent)
}

// applyEvent applies one verified event and says what happened.
func (h *Host) applyEvent(ctx context.Context, a *account, ev core.Event) string {
	if fn, ok := eventAppliers[ev.Kind]; ok {
		return fn(h, ctx, a, ev)
	}
	return "ignored: event kind " + string(ev.Kind) + " is not handled yet"
}

func (h *Host) applyPaymentEvent(ctx context.Context, a *account, ev core.Event) string {
	sp, err := h.store.GetPayment(ctx, ev.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return "ignored: unknown payment"
	}
	if err != nil {
		return resultError + err.Error()
	}
	if sp.Account != a.name {
		return "ignored: payment belongs to account " + sp.Account
	}
	before := sp.Status
	got := core.Payment{ID: ev.ObjectID, ProviderID: ev.ProviderObjectID, Status: core.PaymentStatus(ev.Status),
		Amount: ev.Amount, FeeAmount: ev.FeeAmount, FailureCode: ev.FailureCode, FailureMessage: ev.FailureMessage, PaidAt: ev.OccurredAt}
	after, err := h.applyPayment(ctx, sp, got, "notification")
	if err != nil {
		return resultError + err.Error()
	}
	return outcome(before, after.Status, ev.Status, nil)
}

func (h *Host) applyRefundEvent(ctx context.Context, a *account, ev core.Event) string {
	sr, err := h.store.GetRefund(ctx, ev.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return "ignored: unknown refund"
	}
	if err != nil {
		return resultError + err.Error()
	}
	owner, err := h.store.GetPayment(ctx, sr.PaymentID)
	if err != nil {
		return resultError + err.Error()
	}
	if owner.Account != a.name {
		return "ignored: refund belongs to account " + owner.Account
	}
	before := sr.Status
	got := core.Refund{ID: ev.ObjectID, ProviderID: ev.ProviderObjectID, Status: core.RefundStatus(ev.Status),
		Amount: ev.Amount, FailureCode: ev.FailureCode, FailureMessage: ev.FailureMessage, SucceededAt: ev.OccurredAt}
	after, err := h.applyRefund(ctx, sr, got, "notification")
	if err != nil {
		return resultError + err.Error()
	}
	return outcome(before, after.Status, ev.Status, nil)
}

func outcome(before, after, reported string, err error) string {
	switch {
	case err != nil:
		return resultError + err.Error()
	case after == reported && before != after:
		return "applied"
	case after == reported:
		return "unchanged"
	default:
		return "stale: state is " + after
	}
}
