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

// SplitReturn is a split return as embedders and the HTTP API see it: money
// a split gave a receiver, taken back to the merchant so that it can be
// refunded.
type SplitReturn struct {
	ID               string                 `json:"id"`
	Object           string                 `json:"object"` // "split_return"
	SplitID          string                 `json:"split_id"`
	PaymentID        string                 `json:"payment_id"`
	Receiver         string                 `json:"receiver"`    // the rules' name
	ReceiverID       string                 `json:"receiver_id"` // rcv_ id
	Amount           int64                  `json:"amount"`
	Currency         core.Currency          `json:"currency"`
	Reason           string                 `json:"reason,omitempty"`
	Status           core.SplitReturnStatus `json:"status"`
	PendingReason    string                 `json:"pending_reason,omitempty"`
	ProviderReturnID string                 `json:"provider_return_id,omitempty"`
	Failure          *Failure               `json:"failure,omitempty"`
	CreatedAt        time.Time              `json:"created_at"`
	UpdatedAt        time.Time              `json:"updated_at"`
}

// CreateSplitReturnInput takes Amount back from a receiver's part of a
// succeeded split.
type CreateSplitReturnInput struct {
	Tenant         string `json:"-"`
	IdempotencyKey string `json:"-"`
	SplitID        string `json:"-"`
	Receiver       string `json:"receiver"` // a receiver's name or rcv_ id with a part in the split
	Amount         int64  `json:"amount"`
	Reason         string `json:"reason,omitempty"`
}

// splitReturnEventData is a split return's event data: its API representation.
func splitReturnEventData(obj any) (any, error) {
	r, ok := obj.(*store.SplitReturn)
	if !ok {
		return nil, fmt.Errorf("host: split return event data from a %T", obj)
	}
	return splitReturnToAPI(r), nil
}

// CreateSplitReturn asks the payment's provider for money back from a
// receiver of a succeeded split (split.return). The amount is reserved
// against the receiver's part first, so returns never exceed it; once the
// provider confirms, the money is the merchant's again and may be
// refunded. A provider without split.return (Haotian, Adapay) is refused
// with unsupported: refunds of its payments stop at what is not split.
func (h *Host) CreateSplitReturn(ctx context.Context, in CreateSplitReturnInput) (*SplitReturn, error) {
	if in.Amount <= 0 || in.Amount > maxAmount {
		return nil, bad("amount", "amount must be a positive integer in minor units")
	}
	if in.Receiver == "" {
		return nil, bad("receiver", "name the receiver (name or rcv_ id) whose part is returned")
	}
	if err := checkTexts(map[string]string{"receiver": in.Receiver, "reason": in.Reason}); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(in.Reason) > maxDescription {
		return nil, bad("reason", "reason is longer than %d characters", maxDescription)
	}
	sp, err := h.store.GetSplit(ctx, in.SplitID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sp.Tenant != in.Tenant) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no split " + in.SplitID}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load split")
	}
	if err := h.useAccount(in.Tenant, sp.Account, "id"); err != nil {
		return nil, err
	}
	out, err := idempotent(ctx, h, in.Tenant, in.IdempotencyKey, "split.return:"+in.SplitID, in,
		func(ctx context.Context, resumeID string, link func() *store.IdemLink) (*SplitReturn, error) {
			if resumeID != "" {
				r, err := h.store.GetSplitReturn(ctx, resumeID)
				if err != nil {
					return nil, core.WrapError(core.CodeInternal, err, "load split return")
				}
				return splitReturnToAPI(r), nil
			}
			r, err := h.startSplitReturn(ctx, sp, in, link)
			if err != nil {
				return nil, err
			}
			return splitReturnToAPI(r), nil
		})
	return out, err
}

// startSplitReturn stores a split return, reserving it, and sends it.
func (h *Host) startSplitReturn(ctx context.Context, sp *store.Split, in CreateSplitReturnInput, link func() *store.IdemLink) (*store.SplitReturn, error) {
	pay, err := h.store.GetPayment(ctx, sp.PaymentID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load payment")
	}
	c, a, err := h.paymentChannel(pay)
	if err != nil {
		return nil, err
	}
	if !supports(a, core.OpSplitReturn) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + pay.Plugin +
			" cannot take split money back; refunds of its payments are limited to what is not split"}
	}
	var rec *store.SplitRecord
	for i := range sp.Records {
		if r := &sp.Records[i]; r.ReceiverID == in.Receiver || r.Receiver == in.Receiver {
			rec = r
			break
		}
	}
	if rec == nil {
		return nil, bad("receiver", "receiver %s has no part in split %s", in.Receiver, sp.ID)
	}
	now := h.now()
	r := &store.SplitReturn{ID: newID("srt_", now), Tenant: sp.Tenant, IdempotencyKey: in.IdempotencyKey, SplitID: sp.ID,
		PaymentID: sp.PaymentID, Account: sp.Account, Plugin: sp.Plugin, Receiver: rec.Receiver, ReceiverID: rec.ReceiverID,
		ProviderReceiver: rec.ProviderReceiver, Amount: in.Amount, Currency: sp.Currency, Reason: in.Reason,
		Status: string(core.SplitReturnProcessing), CreatedAt: now, UpdatedAt: now, NextPollAt: now.Add(h.cfg.IdempotencyLease)}
	r.Link = link()
	switch err := h.store.InsertSplitReturn(ctx, r); {
	case errors.Is(err, store.ErrTakenOver):
		return nil, errTakenOver
	case errors.Is(err, store.ErrInsufficient):
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "amount", Message: "the return exceeds the receiver's part: " + err.Error()}
	case errors.Is(err, store.ErrConflict):
		return nil, &core.Error{Code: core.CodeConflict, Message: "only a succeeded part of a succeeded split can be returned: " + err.Error()}
	case errors.Is(err, store.ErrNotFound):
		return nil, bad("receiver", "receiver %s has no part in split %s", in.Receiver, sp.ID)
	case err != nil:
		return nil, core.WrapError(core.CodeInternal, err, "store split return")
	}
	resp, err := callPlugin[core.ReturnSplitResponse](ctx, h, a, c, core.OpSplitReturn, r.ID, &core.ReturnSplitRequest{
		ReturnID: r.ID, Split: core.SplitRef{ID: sp.ID, ProviderID: sp.ProviderID, ProviderData: sp.ProviderData},
		Payment: h.paymentRef(pay), ReceiverID: r.ProviderReceiver, Amount: r.Amount, Reason: r.Reason, CreatedAt: r.CreatedAt})
	if err != nil {
		ce := core.AsError(err)
		if classifyOnce(ce.Code) == outcomeUnknown {
			msg := unknownOutcomeText(ce)
			return h.moveSplitReturn(ctx, r, "", "provider_response", msg, store.SplitReturnUpdate{
				FailureCode: ptr(string(core.CodeUnknownOutcome)), FailureMessage: ptr(msg), NextPollAt: ptr(h.now().Add(h.cfg.Poll.First))})
		}
		return h.moveSplitReturn(ctx, r, core.SplitReturnFailed, "provider_response", ce.Message, store.SplitReturnUpdate{
			FailureCode: ptr(string(ce.Code)), FailureMessage: ptr(failureText(ce)), ProviderCode: ptr(ce.ProviderCode),
			NextPollAt: ptr(time.Time{})})
	}
	return h.applySplitReturn(ctx, r, resp.Return, "provider_response")
}

// applySplitReturn moves a stored split return to what the provider reported.
func (h *Host) applySplitReturn(ctx context.Context, r *store.SplitReturn, got core.SplitReturn, source string) (*store.SplitReturn, error) {
	upd := store.SplitReturnUpdate{ProviderData: got.ProviderData}
	if got.ProviderID != "" {
		upd.ProviderID = ptr(got.ProviderID)
	}
	to := got.Status
	switch to {
	case core.SplitReturnSucceeded:
		upd.FailureCode, upd.FailureMessage, upd.ProviderCode = ptr(""), ptr(""), ptr("")
		upd.NextPollAt = ptr(time.Time{})
	case core.SplitReturnFailed:
		code, provider := canonicalFailure(got.FailureCode)
		upd.FailureCode, upd.FailureMessage, upd.ProviderCode = ptr(string(code)), ptr(got.FailureMessage), ptr(provider)
		upd.NextPollAt = ptr(time.Time{})
	case core.SplitReturnProcessing:
		if r.FailureCode == string(core.CodeUnknownOutcome) {
			upd.FailureCode, upd.FailureMessage = ptr(""), ptr("")
		}
		if r.NextPollAt.IsZero() || source == "provider_response" {
			upd.NextPollAt = ptr(h.now().Add(h.cfg.Poll.First))
		}
	default:
		return nil, core.Errorf(core.CodePluginFailure, "plugin reported unknown split return status %q", to)
	}
	return h.moveSplitReturn(ctx, r, to, source, "", upd)
}

// moveSplitReturn is movePayment for split returns.
func (h *Host) moveSplitReturn(ctx context.Context, cur *store.SplitReturn, to core.SplitReturnStatus, source, detail string,
	upd store.SplitReturnUpdate) (*store.SplitReturn, error) {
	return move(ctx, h, statusChange[store.SplitReturn]{
		kind: "split_return", machine: core.MachineSplitReturn, render: splitReturnEventData, reload: h.store.GetSplitReturn,
		lateSuccess: map[string]bool{string(core.SplitReturnFailed): true},
		state:       func(r *store.SplitReturn) (string, string, map[string]string) { return r.ID, r.Status, r.ProviderData },
		apply: func(ctx context.Context, from, to string, data map[string]string, ev *store.EventSpec) (*store.SplitReturn, error) {
			u := upd
			u.ID, u.Now, u.From, u.To, u.ProviderData, u.Event = cur.ID, h.now(), from, to, data, ev
			return h.store.UpdateSplitReturn(ctx, u)
		},
	}, cur, string(to), source, detail, upd.ProviderData)
}

// GetSplitReturn returns a tenant's split return; refresh asks the provider
// first.
func (h *Host) GetSplitReturn(ctx context.Context, tenant, id string, opts ...GetOption) (*SplitReturn, error) {
	o := getOptionsOf(opts)
	r, err := h.store.GetSplitReturn(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.Tenant != tenant) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no split return " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load split return")
	}
	if o.refresh && r.Status == string(core.SplitReturnProcessing) {
		if r, err = h.refreshSplitReturn(ctx, r, "query"); err != nil {
			return nil, err
		}
	}
	return splitReturnToAPI(r), nil
}

// refreshSplitReturn queries the provider for a split return and applies
// the answer.
func (h *Host) refreshSplitReturn(ctx context.Context, r *store.SplitReturn, source string) (*store.SplitReturn, error) {
	pay, err := h.store.GetPayment(ctx, r.PaymentID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load payment")
	}
	sp, err := h.store.GetSplit(ctx, r.SplitID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load split")
	}
	c, a, err := h.paymentChannel(pay)
	if err != nil {
		return nil, err
	}
	if !supports(a, core.OpSplitReturnQuery) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + pay.Plugin + " cannot query split returns"}
	}
	resp, err := callPlugin[core.QuerySplitReturnResponse](ctx, h, a, c, core.OpSplitReturnQuery, r.ID, &core.QuerySplitReturnRequest{
		ReturnID: r.ID, ProviderID: r.ProviderID, ProviderData: r.ProviderData,
		Split: core.SplitRef{ID: sp.ID, ProviderID: sp.ProviderID, ProviderData: sp.ProviderData}})
	if err != nil {
		return nil, err
	}
	return h.applySplitReturn(ctx, r, resp.Return, source)
}

// pollSplitReturns is the poller's round for split returns in flight.
func pollSplitReturns(h *Host, ctx context.Context, now time.Time, run func(func())) {
	due, err := h.store.ClaimSplitReturnsToPoll(ctx, now, h.cfg.Poll.Lease, h.cfg.Poll.Batch)
	if err != nil {
		h.log.Error("poll: claim split returns", "err", err)
	}
	for _, r := range due {
		run(func() { h.pollSplitReturn(ctx, r) })
	}
}

func (h *Host) pollSplitReturn(ctx context.Context, r *store.SplitReturn) {
	if r.Status != string(core.SplitReturnProcessing) || h.now().Sub(r.CreatedAt) > h.cfg.Poll.MaxAge {
		if r.Status == string(core.SplitReturnProcessing) {
			h.incident(ctx, IncidentSplitUnsettled, r.ID, "split return still pending after the polling window")
		}
		_, _ = h.moveSplitReturn(ctx, r, "", "poll", "", store.SplitReturnUpdate{NextPollAt: ptr(time.Time{})})
		return
	}
	after, err := h.refreshSplitReturn(ctx, r, "poll")
	if err != nil {
		code := core.CodeOf(err)
		switch {
		case code == core.CodeUnsupported:
			h.incident(ctx, IncidentSplitUnsettled, r.ID, core.AsError(err).Message)
			_, _ = h.moveSplitReturn(ctx, r, "", "poll", "", store.SplitReturnUpdate{NextPollAt: ptr(time.Time{})})
			return
		case code == core.CodeNotFound && r.ProviderID == "" && r.PollAttempts+1 >= notFoundAttempts && h.now().Sub(r.CreatedAt) >= notFoundAge:
			// the provider never received it: nothing moved, the reservation is released
			_, _ = h.moveSplitReturn(ctx, r, core.SplitReturnFailed, "poll", "the provider has no such split return", store.SplitReturnUpdate{
				FailureCode: ptr(string(core.CodeNotFound)), FailureMessage: ptr("the provider never received the split return"),
				NextPollAt: ptr(time.Time{})})
			return
		}
		h.log.Warn("poll: split return query failed", "split_return", r.ID, "code", code, "err", err)
		after = r
	}
	if after.Status == string(core.SplitReturnProcessing) {
		_, _ = h.moveSplitReturn(ctx, after, "", "poll", "", store.SplitReturnUpdate{
			NextPollAt: ptr(h.now().Add(h.backoff(after.PollAttempts + 1))), PollAttempts: ptr(after.PollAttempts + 1)})
	}
}

func splitReturnToAPI(r *store.SplitReturn) *SplitReturn {
	out := &SplitReturn{ID: r.ID, Object: "split_return", SplitID: r.SplitID, PaymentID: r.PaymentID, Receiver: r.Receiver,
		ReceiverID: r.ReceiverID, Amount: r.Amount, Currency: core.Currency(r.Currency), Reason: r.Reason,
		Status: core.SplitReturnStatus(r.Status), ProviderReturnID: r.ProviderID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if out.Status == core.SplitReturnProcessing {
		out.PendingReason = PendingProvider
		if r.FailureCode == string(core.CodeUnknownOutcome) {
			out.PendingReason = PendingUnknownOutcome
		}
	} else if r.FailureCode != "" {
		out.Failure = &Failure{Code: core.Code(r.FailureCode), Message: r.FailureMessage, ProviderCode: r.ProviderCode}
	}
	return out
}
