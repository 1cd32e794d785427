package host

import (
	"context"
	"encoding/json"
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
	if utf8.RuneCountInString(in.Reason) > maxReason {
		return nil, bad("reason", "reason is longer than %d characters", maxReason)
	}
	sp, err := h.tenantPayment(ctx, in.Tenant, in.PaymentID)
	if err != nil {
		return nil, err
	}
	_, body, err := h.idempotent(ctx, in.Tenant, in.IdempotencyKey, "refund.create:"+in.PaymentID, in,
		func(ctx context.Context, resumeID string, link func(string) error) (int, any, error) {
			if resumeID != "" {
				r, err := h.store.GetRefund(ctx, resumeID)
				if err != nil {
					return 0, nil, core.WrapError(core.CodeInternal, err, "load refund")
				}
				return statusCreatedHTTP, refundToAPI(r), nil
			}
			r, err := h.createRefund(ctx, sp, in, link)
			return statusCreatedHTTP, r, err
		})
	if err != nil {
		return nil, err
	}
	var r Refund
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "decode stored response")
	}
	return &r, nil
}

func (h *Host) createRefund(ctx context.Context, sp *store.Payment, in CreateRefundInput, link func(string) error) (*Refund, error) {
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
	switch err := h.store.InsertRefund(ctx, sr); {
	case errors.Is(err, store.ErrInsufficient):
		cur, _ := h.store.GetPayment(ctx, sp.ID)
		left := sp.Amount - sp.RefundReserved
		if cur != nil {
			left = cur.Amount - cur.RefundReserved
		}
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "amount",
			Message: fmt.Sprintf("refund of %d exceeds the %d left to refund", in.Amount, left)}
	case errors.Is(err, store.ErrConflict):
		return nil, &core.Error{Code: core.CodeConflict, Message: "only a succeeded payment can be refunded"}
	case err != nil:
		return nil, core.WrapError(core.CodeInternal, err, "store refund")
	}
	if err := link(sr.ID); err != nil {
		return nil, err
	}
	req := &core.CreateRefundRequest{RefundID: sr.ID, Payment: h.paymentRef(sp), Amount: in.Amount, Reason: in.Reason,
		NotifyURL: h.notifyURL(sp.Account), CreatedAt: now}
	resp, err := callPlugin[core.CreateRefundResponse](ctx, h, a, c, core.OpRefundCreate, sr.ID, req)
	if err != nil {
		ce := core.AsError(err)
		if ce.Code == core.CodeUnknownOutcome {
			r, merr := h.moveRefund(ctx, sr, core.RefundProcessing, "provider_response", ce.Message, store.RefundUpdate{
				FailureCode: ptr(string(core.CodeUnknownOutcome)), FailureMessage: ptr(ce.Message), NextPollAt: ptr(h.now().Add(h.cfg.Poll.First))})
			if merr != nil {
				return nil, merr
			}
			return refundToAPI(r), nil
		}
		r, merr := h.moveRefund(ctx, sr, core.RefundFailed, "provider_response", ce.Message, store.RefundUpdate{
			FailureCode: ptr(string(ce.Code)), FailureMessage: ptr(failureText(ce)), NextPollAt: ptr(time.Time{})})
		if merr != nil {
			return nil, merr
		}
		return refundToAPI(r), nil
	}
	r, err := h.applyRefund(ctx, sr, resp.Refund, "provider_response")
	if err != nil {
		return nil, err
	}
	return refundToAPI(r), nil
}

// GetRefund returns a refund of the tenant; refresh asks the provider first.
func (h *Host) GetRefund(ctx context.Context, tenant, id string, refresh bool) (*Refund, error) {
	sr, err := h.store.GetRefund(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sr.Tenant != tenant) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no refund " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load refund")
	}
	if refresh {
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
	if len(got.ProviderData) > 0 {
		merged := map[string]string{}
		for k, v := range sr.ProviderData {
			merged[k] = v
		}
		for k, v := range got.ProviderData {
			merged[k] = v
		}
		upd.ProviderData = merged
	}
	switch got.Status {
	case core.RefundSucceeded:
		at := got.SucceededAt
		if at.IsZero() {
			at = h.now()
		}
		upd.SucceededAt = ptr(at)
		upd.FailureCode, upd.FailureMessage = ptr(""), ptr("")
		upd.NextPollAt = ptr(time.Time{})
	case core.RefundFailed:
		upd.FailureCode = ptr(firstNonEmpty(got.FailureCode, string(core.CodeDeclined)))
		upd.FailureMessage = ptr(got.FailureMessage)
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
		return sr, nil
	}
	return h.moveRefund(ctx, sr, got.Status, source, "", upd)
}

// moveRefund is movePayment for refunds.
func (h *Host) moveRefund(ctx context.Context, cur *store.Refund, to core.RefundStatus, source, detail string, upd store.RefundUpdate) (*store.Refund, error) {
	for attempt := 0; ; attempt++ {
		u := upd
		u.ID, u.Now = cur.ID, h.now()
		moving := to != "" && string(to) != cur.Status
		if moving {
			if err := core.CheckTransition(core.MachineRefund, cur.Status, string(to)); err != nil {
				h.refusedTransition(ctx, "refund", cur.ID, cur.Status, string(to), source, err.Error())
				return cur, nil
			}
			u.From, u.To = cur.Status, string(to)
		}
		r, err := h.store.UpdateRefund(ctx, u)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			if cur, err = h.store.GetRefund(ctx, cur.ID); err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "reload refund")
			}
			continue
		}
		if err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "update refund")
		}
		if moving {
			h.appliedTransition(ctx, "refund", cur.ID, cur.Status, string(to), source, detail)
		}
		return r, nil
	}
}
