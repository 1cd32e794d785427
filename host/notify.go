package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

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
	if err := commitBeforeCall(ctx); err != nil {
		return core.Ack{}, err
	}
	resp, err := plugin.Call[core.ParseNotificationResponse](ctx, a.plugin, a.binding, core.OpNotificationParse, req)
	if err != nil {
		h.log.Warn("notification refused", "account", accountName, "code", core.CodeOf(err), "reason", err)
		return core.Ack{}, err
	}
	for i, ev := range resp.Events {
		if field := badEventText(ev); field != "" {
			err := &core.Error{Code: core.CodePluginFailure, Provider: a.plugin.Manifest().Name,
				Message: fmt.Sprintf("notification: event %d: %s is not valid UTF-8 text (or holds NUL); nothing was applied", i, field)}
			h.log.Warn("notification refused", "account", accountName, "code", err.Code, "reason", err.Message)
			return core.Ack{}, err
		}
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
			if settledResult(prev.Result) {
				h.log.Info("duplicate notification acknowledged", "account", accountName, "event", ev.ID)
				continue
			}
			n.ID = prev.ID // applying it failed, never finished, or led to a query: again
		}
		result := h.applyEvent(bg, a, ev)
		if err := h.store.SetNotificationResult(bg, n.ID, result.String()); err != nil {
			h.log.Error("record notification result", "event", ev.ID, "err", err)
		}
		h.log.Info("notification", "account", accountName, "event", ev.ID, "kind", ev.Kind, "object", ev.ObjectID, "status", ev.Status, "result", result.String())
		if result.outcome == notifyError && failed == nil {
			failed = core.Errorf(core.CodeInternal, "notification %s could not be applied; the provider should deliver it again", ev.ID)
		}
	}
	if failed != nil {
		// no acknowledgement: the provider retries, and the retry applies it
		return core.Ack{}, failed
	}
	return resp.Ack, nil
}

// notifyOutcome is what applying one notification event did.
type notifyOutcome int

const (
	notifyApplied   notifyOutcome = iota + 1 // the object moved to the reported state
	notifyUnchanged                          // it was in that state already
	notifyStale                              // it is past that state: the report is old
	notifyIgnored                            // not about an object of this account, or not handled
	// notifyRefused: acknowledged but not applied; the provider was
	// queried instead (a copy delivered again leads to another query).
	notifyRefused
	// notifyError: not acknowledged, so the provider delivers it again and
	// the copy is applied.
	notifyError
)

// notifyResult is an outcome with what explains it.
type notifyResult struct {
	outcome notifyOutcome
	detail  string
}

func notifyFailed(err error) notifyResult { return notifyResult{notifyError, err.Error()} }

// resultPrefixes are how the outcomes are stored, as the notification's
// result text ("applied", "stale: state is paid", ...).
var resultPrefixes = map[notifyOutcome]string{notifyApplied: "applied", notifyUnchanged: "unchanged",
	notifyStale: "stale", notifyIgnored: "ignored", notifyRefused: "refused", notifyError: "error"}

// String is the stored result text.
func (r notifyResult) String() string {
	if r.detail == "" {
		return resultPrefixes[r.outcome]
	}
	return resultPrefixes[r.outcome] + ": " + r.detail
}

// settledResult says whether a stored result text is final: a copy of the
// notification delivered again is acknowledged without being applied.
// An error, a refusal that led to a query, or no result (applying never
// finished) is applied again.
func settledResult(stored string) bool {
	return stored != "" && !strings.HasPrefix(stored, resultPrefixes[notifyError]+":") &&
		!strings.HasPrefix(stored, resultPrefixes[notifyRefused]+":")
}

// badEventText names the first field of a plugin's event that the engine
// would store and that is not valid UTF-8 without NUL ("" when all are):
// such an event is refused whole, not stored with replacement characters.
func badEventText(ev core.Event) string {
	fields := []struct{ name, v string }{{"id", ev.ID}, {"kind", string(ev.Kind)}, {"object_id", ev.ObjectID},
		{"provider_object_id", ev.ProviderObjectID}, {"status", ev.Status}, {"currency", string(ev.Currency)},
		{"failure_code", ev.FailureCode}, {"failure_message", ev.FailureMessage}}
	for _, f := range fields {
		if !validText(f.v) {
			return f.name
		}
	}
	for k, v := range ev.Data {
		if !validText(k) || !validText(v) {
			return "data"
		}
	}
	return ""
}

func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// bodyDigest is what is stored of a notification's body: its SHA-256, not
// the body, which may carry personal data or credentials (Adapay's entry
// notification holds the new merchant's console password).
func bodyDigest(body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte("sha256:" + hex.EncodeToString(sum[:]))
}

// applyEvent applies one verified event and says what happened.
func (h *Host) applyEvent(ctx context.Context, a *account, ev core.Event) notifyResult {
	fn, ok := h.wiring.appliers[ev.Kind]
	if !ok {
		return notifyResult{notifyIgnored, "event kind " + string(ev.Kind) + " is not handled yet"}
	}
	if check, ok := successChecks[ev.Kind]; ok && ev.Status == successStatus {
		if result, settled := check(h, ctx, a, ev); settled {
			return result
		}
	}
	return fn(h, ctx, a, ev)
}

// successStatus is the status of a payment, refund or payout whose money
// has moved.
const successStatus = "succeeded"

// successChecks hold a success notification of a payment, refund or
// payout to the object it names: it must carry the amount, and the amount
// and currency (when given) must be the object's. A signature proves who
// sent a notification, not that it is about this money: a success without
// its amount (a provider's partial message, a plugin that does not read
// the field) or about another amount is not applied. The provider is
// queried instead, through the path the poller uses, and the notification's
// result and the object's transitions say why. A check returns
// settled=false to let the event be applied as usual (it agrees, or the
// applier has its own reason to ignore it: an unknown object, another
// account's).
var successChecks = map[core.EventKind]func(h *Host, ctx context.Context, a *account, ev core.Event) (result notifyResult, settled bool){
	core.EventPayment: (*Host).checkPaymentSuccess,
	core.EventRefund:  (*Host).checkRefundSuccess,
	core.EventPayout:  (*Host).checkPayoutSuccess,
}

// amountDisagrees says why a success event does not match the stored
// amount and currency ("" when it does).
func amountDisagrees(kind string, ev core.Event, amount int64, currency string) string {
	switch {
	case ev.Amount <= 0:
		return fmt.Sprintf("success notification without the %s's amount", kind)
	case ev.Amount != amount:
		return fmt.Sprintf("success notification for amount %d, the %s has %d", ev.Amount, kind, amount)
	case ev.Currency != "" && !strings.EqualFold(string(ev.Currency), currency):
		return fmt.Sprintf("success notification in %s, the %s is in %s", ev.Currency, kind, currency)
	}
	return ""
}

// notifiedSuccessRefused records why a success notification was not
// applied, and what the query it led to found.
func (h *Host) notifiedSuccessRefused(ctx context.Context, kind, id, from, why string, ev core.Event, query func() (string, error)) notifyResult {
	h.refusedTransition(ctx, kind, id, from, successStatus, "notification", why+"; querying the provider")
	if ev.Amount > 0 {
		h.incident(ctx, IncidentAmountMismatch, id, "notification: "+why)
	}
	after, err := query()
	if err != nil {
		h.log.Warn("notification: query after a refused success failed", kind, id, "code", core.CodeOf(err), "err", err)
		return notifyResult{notifyRefused, why + "; the query failed (" + string(core.CodeOf(err)) + "): left to the poller"}
	}
	return notifyResult{notifyRefused, why + "; queried the provider: " + after}
}

func (h *Host) checkPaymentSuccess(ctx context.Context, a *account, ev core.Event) (notifyResult, bool) {
	sp, err := h.store.GetPayment(ctx, ev.ObjectID)
	if err != nil || sp.Account != a.name || sp.Status == successStatus {
		return notifyResult{}, false // the applier ignores it, or it changes nothing
	}
	why := amountDisagrees("payment", ev, sp.Amount, sp.Currency)
	if why == "" {
		return notifyResult{}, false
	}
	return h.notifiedSuccessRefused(ctx, "payment", sp.ID, sp.Status, why, ev, func() (string, error) {
		after, err := h.refreshPayment(ctx, sp, "query")
		if err != nil {
			return "", err
		}
		return after.Status, nil
	}), true
}

func (h *Host) checkRefundSuccess(ctx context.Context, a *account, ev core.Event) (notifyResult, bool) {
	sr, err := h.store.GetRefund(ctx, ev.ObjectID)
	if err != nil {
		return notifyResult{}, false
	}
	owner, err := h.store.GetPayment(ctx, sr.PaymentID)
	if err != nil || owner.Account != a.name || sr.Status == successStatus {
		return notifyResult{}, false
	}
	currency := sr.Currency
	if currency == "" {
		currency = owner.Currency
	}
	why := amountDisagrees("refund", ev, sr.Amount, currency)
	if why == "" {
		return notifyResult{}, false
	}
	return h.notifiedSuccessRefused(ctx, "refund", sr.ID, sr.Status, why, ev, func() (string, error) {
		after, err := h.refreshRefund(ctx, sr, "query")
		if err != nil {
			return "", err
		}
		return after.Status, nil
	}), true
}

func (h *Host) checkPayoutSuccess(ctx context.Context, a *account, ev core.Event) (notifyResult, bool) {
	p, err := h.store.GetPayout(ctx, ev.ObjectID)
	if err != nil || p.Account != a.name || p.Status == successStatus {
		return notifyResult{}, false
	}
	why := amountDisagrees("payout", ev, p.Amount, p.Currency)
	if why == "" {
		return notifyResult{}, false
	}
	return h.notifiedSuccessRefused(ctx, "payout", p.ID, p.Status, why, ev, func() (string, error) {
		after, err := h.refreshPayout(ctx, p, "query")
		if err != nil {
			return "", err
		}
		return after.Status, nil
	}), true
}

func (h *Host) applyPaymentEvent(ctx context.Context, a *account, ev core.Event) notifyResult {
	sp, err := h.store.GetPayment(ctx, ev.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return notifyResult{notifyIgnored, "unknown payment"}
	}
	if err != nil {
		return notifyFailed(err)
	}
	if sp.Account != a.name {
		return notifyResult{notifyIgnored, "payment belongs to account " + sp.Account}
	}
	before := sp.Status
	got := core.Payment{ID: ev.ObjectID, ProviderID: ev.ProviderObjectID, Status: core.PaymentStatus(ev.Status),
		Amount: ev.Amount, FeeAmount: ev.FeeAmount, FailureCode: ev.FailureCode, FailureMessage: ev.FailureMessage, PaidAt: ev.OccurredAt}
	after, err := h.applyPayment(ctx, sp, got, "notification")
	if err != nil {
		return notifyFailed(err)
	}
	return outcome(before, after.Status, ev.Status, nil)
}

func (h *Host) applyRefundEvent(ctx context.Context, a *account, ev core.Event) notifyResult {
	sr, err := h.store.GetRefund(ctx, ev.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return notifyResult{notifyIgnored, "unknown refund"}
	}
	if err != nil {
		return notifyFailed(err)
	}
	owner, err := h.store.GetPayment(ctx, sr.PaymentID)
	if err != nil {
		return notifyFailed(err)
	}
	if owner.Account != a.name {
		return notifyResult{notifyIgnored, "refund belongs to account " + owner.Account}
	}
	before := sr.Status
	got := core.Refund{ID: ev.ObjectID, ProviderID: ev.ProviderObjectID, Status: core.RefundStatus(ev.Status),
		Amount: ev.Amount, FailureCode: ev.FailureCode, FailureMessage: ev.FailureMessage, SucceededAt: ev.OccurredAt}
	after, err := h.applyRefund(ctx, sr, got, "notification")
	if err != nil {
		return notifyFailed(err)
	}
	return outcome(before, after.Status, ev.Status, nil)
}

func outcome(before, after, reported string, err error) notifyResult {
	switch {
	case err != nil:
		return notifyFailed(err)
	case after == reported && before != after:
		return notifyResult{outcome: notifyApplied}
	case after == reported:
		return notifyResult{outcome: notifyUnchanged}
	default:
		return notifyResult{notifyStale, "state is " + after}
	}
}
