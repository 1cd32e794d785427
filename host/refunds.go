package host

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// CreateRefund refunds part or all of a succeeded payment through the
// channel that took it. The amount is reserved in the database before the
// provider is called, so concurrent refunds can never exceed what was paid;
// a refund the provider refuses releases its reservation.
func (h *Host) CreateRefund(ctx context.Context, in CreateRefundInput) (*Refund, error) {
	if in.Amount <= 0 {
		return nil, bad("amount", "amount must be a positive integer in minor units")
	}
	if in.Amount > maxAmount {
		return nil, bad("amount", "amount is too large")
	}
	if err := checkText("reason", in.Reason); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(in.Reason) > maxReason {
		return nil, bad("reason", "reason is longer than %d characters", maxReason)
	}
	sp, err := h.tenantPayment(ctx, in.Tenant, in.PaymentID)
	if err != nil {
		return nil, err
	}
	out, err := idempotent(ctx, h, in.Tenant, in.IdempotencyKey, "refund.create:"+in.PaymentID, in,
		func(ctx context.Context, resumeID string, link func() *store.IdemLink) (*Refund, error) {
			if resumeID != "" {
				r, err := h.store.GetRefund(ctx, resumeID)
				if err != nil {
					return nil, core.WrapError(core.CodeInternal, err, "load refund")
				}
				return refundToAPI(r), nil
			}
			r, err := h.createRefund(ctx, sp, in, link)
			return r, err
		})
	return out, err
}

func (h *Host) createRefund(ctx context.Context, sp *store.Payment, in CreateRefundInput, link func() *store.IdemLink) (*Refund, error) {
	if sp.Status != string(core.PaymentSucceeded) {
		return nil, &core.Error{Code: core.CodeConflict, Message: "only a succeeded payment can be refunded; this one is " + sp.Status}
	}
	c, a, err := h.paymentChannel(sp)
	if err != nil {
		return nil, err
	}
	if !supports(a, core.OpRefundCreate) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + sp.Plugin + " cannot refund"}
	}
	now := h.now()
	sr := &store.Refund{ID: newID("re_", now), Tenant: in.Tenant, PaymentID: sp.ID, IdempotencyKey: in.IdempotencyKey,
		Amount: in.Amount, Currency: sp.Currency, Reason: in.Reason, Status: string(core.RefundCreated),
		CreatedAt: now, UpdatedAt: now, NextPollAt: now.Add(h.cfg.IdempotencyLease)}
	sr.Link = link()
	switch err := h.store.InsertRefund(ctx, sr); {
	case errors.Is(err, store.ErrTakenOver):
		return nil, errTakenOver
	case errors.Is(err, store.ErrInsufficient):
		cur, _ := h.store.GetPayment(ctx, sp.ID)
		if cur == nil {
			cur = sp
		}
		msg := fmt.Sprintf("refund of %d exceeds the %d left to refund", in.Amount, cur.Amount-cur.RefundReserved-cur.SplitReserved)
		switch {
		case cur.SplitReserved > 0 && supports(a, core.OpSplitReturn):
			msg += fmt.Sprintf(" (%d is split to receivers: take it back first with a split return)", cur.SplitReserved)
		case cur.SplitReserved > 0:
			msg += fmt.Sprintf(" (%d is split to receivers, and plugin %s cannot take split money back)", cur.SplitReserved, sp.Plugin)
		}
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "amount", Message: msg}
	case errors.Is(err, store.ErrConflict):
		return nil, &core.Error{Code: core.CodeConflict, Message: "only a succeeded payment can be refunded"}
	case err != nil:
		return nil, core.WrapError(core.CodeInternal, err, "store refund")
	}
	r, err := h.submitRefund(ctx, sp, sr, a, c, "provider_response")
	if err != nil {
		return nil, err
	}
	return refundToAPI(r), nil
}

// submitRefund sends a stored refund to the channel of its payment and
// applies the answer. Sending the same refund again (after the provider
// said it has none) is safe: the provider knows it by the refund's id.
func (h *Host) submitRefund(ctx context.Context, sp *store.Payment, sr *store.Refund, a *account, c core.Channel, source string) (*store.Refund, error) {
	req := &core.CreateRefundRequest{RefundID: sr.ID, Payment: h.paymentRef(sp), Amount: sr.Amount, Reason: sr.Reason,
		NotifyURL: h.notifyURL(sp.Account), CreatedAt: sr.CreatedAt}
	if sp.TerminalID != "" {
		req.Terminal = &core.TerminalInfo{ID: sp.TerminalID} // a device's payment is refunded on the device
	}
	resp, err := callPlugin[core.CreateRefundResponse](ctx, h, a, c, core.OpRefundCreate, sr.ID, req)
	if err != nil {
		ce := core.AsError(err)
		if classify(ce.Code) == outcomeUnknown {
			msg := unknownOutcomeText(ce)
			return h.moveRefund(ctx, sr, core.RefundProcessing, source, msg, store.RefundUpdate{
				FailureCode: ptr(string(core.CodeUnknownOutcome)), FailureMessage: ptr(msg), NextPollAt: ptr(h.now().Add(h.cfg.Poll.First))})
		}
		if source == "poll" && classify(ce.Code) == nothingHappened {
			return nil, err // a resubmission that did not get through: keep polling
		}
		// the provider refused, or nothing reached it: the reservation goes back
		return h.moveRefund(ctx, sr, core.RefundFailed, source, ce.Message, store.RefundUpdate{
			FailureCode: ptr(string(ce.Code)), FailureMessage: ptr(failureText(ce)), ProviderCode: ptr(ce.ProviderCode),
			NextPollAt: ptr(time.Time{})})
	}
	return h.applyRefund(ctx, sr, resp.Refund, source)
}

// GetRefund returns a refund of the tenant; Refresh() asks the provider first.
func (h *Host) GetRefund(ctx context.Context, tenant, id string, opts ...GetOption) (*Refund, error) {
	o := getOptionsOf(opts)
	sr, err := h.store.GetRefund(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sr.Tenant != tenant) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no refund " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load refund")
	}
	if o.refresh {
		if sr, err = h.refreshRefund(ctx, sr, "query"); err != nil {
			return nil, err
		}
	}
	return refundToAPI(sr), nil
}

func (h *Host) refreshRefund(ctx context.Context, sr *store.Refund, source string) (*store.Refund, error) {
	sp, err := h.store.GetPayment(ctx, sr.PaymentID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load payment")
	}
	c, a, err := h.paymentChannel(sp)
	if err != nil {
		return nil, err
	}
	ref := core.RefundRef{ID: sr.ID, ProviderID: sr.ProviderID, Amount: sr.Amount, CreatedAt: sr.CreatedAt,
		ProviderData: sr.ProviderData, Payment: h.paymentRef(sp)}
	resp, err := callPlugin[core.QueryRefundResponse](ctx, h, a, c, core.OpRefundQuery, sr.ID, &core.QueryRefundRequest{Refund: ref})
	if err != nil {
		return nil, err
	}
	return h.applyRefund(ctx, sr, resp.Refund, source)
}

func (h *Host) applyRefund(ctx context.Context, sr *store.Refund, got core.Refund, source string) (*store.Refund, error) {
	upd := store.RefundUpdate{}
	if got.ProviderID != "" {
		upd.ProviderID = ptr(got.ProviderID)
	}
	upd.ProviderData = got.ProviderData
	switch got.Status {
	case core.RefundSucceeded:
		at := got.SucceededAt
		if at.IsZero() {
			at = h.now()
		}
		upd.SucceededAt = ptr(at)
		upd.FailureCode, upd.FailureMessage, upd.ProviderCode = ptr(""), ptr(""), ptr("")
		upd.NextPollAt = ptr(time.Time{})
	case core.RefundFailed:
		code, provider := canonicalFailure(got.FailureCode)
		upd.FailureCode, upd.FailureMessage, upd.ProviderCode = ptr(string(code)), ptr(got.FailureMessage), ptr(provider)
		upd.NextPollAt = ptr(time.Time{})
	case core.RefundCreated, core.RefundProcessing:
		if sr.FailureCode == string(core.CodeUnknownOutcome) {
			upd.FailureCode, upd.FailureMessage = ptr(""), ptr("")
		}
		if sr.NextPollAt.IsZero() || source == "provider_response" {
			upd.NextPollAt = ptr(h.now().Add(h.cfg.Poll.First))
		}
	default:
		return nil, core.Errorf(core.CodePluginFailure, "plugin reported unknown refund status %q", got.Status)
	}
	if got.Amount != 0 && got.Amount != sr.Amount {
		detail := fmt.Sprintf("provider reports refund amount %d, refund has %d", got.Amount, sr.Amount)
		h.refusedTransition(ctx, "refund", sr.ID, sr.Status, string(got.Status), source, detail)
		h.incident(ctx, IncidentAmountMismatch, sr.ID, source+": "+detail)
		return sr, nil
	}
	return h.moveRefund(ctx, sr, got.Status, source, "", upd)
}

// moveRefund is movePayment for refunds.
func (h *Host) moveRefund(ctx context.Context, cur *store.Refund, to core.RefundStatus, source, detail string, upd store.RefundUpdate) (*store.Refund, error) {
	return move(ctx, h, statusChange[store.Refund]{
		kind: "refund", machine: core.MachineRefund, render: refundEventData, reload: h.store.GetRefund,
		lateSuccess: map[string]bool{string(core.RefundFailed): true},
		state:       func(r *store.Refund) (string, string, map[string]string) { return r.ID, r.Status, r.ProviderData },
		apply: func(ctx context.Context, from, to string, data map[string]string, ev *store.EventSpec) (*store.Refund, error) {
			u := upd
			u.ID, u.Now, u.From, u.To, u.ProviderData, u.Event = cur.ID, h.now(), from, to, data, ev
			return h.store.UpdateRefund(ctx, u)
		},
		refused: func(ctx context.Context, r *store.Refund) *store.Refund { return h.fillRefund(ctx, r, upd) },
	}, cur, string(to), source, detail, upd.ProviderData)
}

// fillRefund is fillPayment for refunds.
func (h *Host) fillRefund(ctx context.Context, cur *store.Refund, upd store.RefundUpdate) *store.Refund {
	if cur.ProviderID != "" || upd.ProviderID == nil || *upd.ProviderID == "" {
		return cur
	}
	r, err := h.store.UpdateRefund(context.WithoutCancel(ctx), store.RefundUpdate{ID: cur.ID, From: cur.Status, ProviderID: upd.ProviderID, Now: h.now()})
	if err != nil {
		h.log.Warn("fill provider references", "refund", cur.ID, "err", err)
		return cur
	}
	return r
}
