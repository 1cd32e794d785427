package host

import (
	"context"
	"encoding/json"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Pending reasons.
const (
	PendingPayer          = "payer"           // waiting for the payer to pay
	PendingUnknownOutcome = "unknown_outcome" // sent, no answer: settled by notification or query
	PendingProvider       = "provider"        // the provider is processing
)

func (h *Host) toAPI(ctx context.Context, sp *store.Payment, withRefunds bool) (*Payment, error) {
	p := &Payment{ID: sp.ID, Object: "payment", MerchantOrderID: sp.MerchantOrderID, Amount: sp.Amount,
		Currency: core.Currency(sp.Currency), Method: core.Method(sp.Method), Description: sp.Description, TerminalID: sp.TerminalID,
		Metadata: sp.Metadata, Status: core.PaymentStatus(sp.Status), Provider: sp.Plugin,
		ProviderPaymentID: sp.ProviderID, ProviderFee: sp.FeeAmount, RefundedAmount: sp.RefundedAmount,
		CreatedAt: sp.CreatedAt, UpdatedAt: sp.UpdatedAt}
	if sp.Plugin != "" {
		p.Channel = sp.Plugin + "/" + sp.Account + "/" + string(channelMethod(sp))
	}
	if len(sp.PayInfo) > 0 {
		var pi core.PayInfo
		if err := json.Unmarshal(sp.PayInfo, &pi); err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "decode stored pay info of %s", sp.ID)
		}
		p.PayInfo = &pi
	}
	if len(sp.Decision) > 0 {
		var d core.Decision
		if err := json.Unmarshal(sp.Decision, &d); err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "decode stored decision of %s", sp.ID)
		}
		ad := &Decision{RulesetHash: d.RulesetHash, Fee: d.Fee, Splits: d.Splits, SplitMode: d.SplitMode, Matched: d.Matched}
		for _, c := range d.Channels {
			ad.Channels = append(ad.Channels, c.String())
		}
		p.Decision = ad
	}
	if !sp.PaidAt.IsZero() {
		p.PaidAt = ptr(sp.PaidAt)
	}
	switch core.PaymentStatus(sp.Status) {
	case core.PaymentCreated, core.PaymentProcessing:
		switch {
		case sp.FailureCode == string(core.CodeUnknownOutcome):
			p.PendingReason = PendingUnknownOutcome
		case sp.Plugin != "" && sp.PayInfo != nil:
			p.PendingReason = PendingPayer
		case sp.Plugin != "":
			p.PendingReason = PendingProvider
		}
	default:
		if sp.FailureCode != "" {
			p.Failure = &Failure{Code: core.Code(sp.FailureCode), Message: sp.FailureMessage, ProviderCode: sp.ProviderCode}
		}
	}
	if withRefunds {
		rs, err := h.store.ListRefunds(ctx, sp.ID)
		if err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "list refunds")
		}
		for _, r := range rs {
			p.Refunds = append(p.Refunds, *refundToAPI(r))
		}
		ss, err := h.store.ListSplits(ctx, sp.ID)
		if err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "list splits")
		}
		for _, s := range ss {
			p.Splits = append(p.Splits, *splitToAPI(s))
		}
		var srs []*store.SplitReturn
		if len(ss) > 0 {
			if srs, err = h.store.ListSplitReturns(ctx, sp.ID); err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "list split returns")
			}
		}
		for _, r := range srs {
			p.SplitReturns = append(p.SplitReturns, *splitReturnToAPI(r))
		}
		if sp.Status == string(core.PaymentSucceeded) || len(rs) > 0 || len(ss) > 0 {
			p.Ledger = ledgerOf(sp, rs, ss, srs)
		}
	}
	return p, nil
}

func refundToAPI(r *store.Refund) *Refund {
	out := &Refund{ID: r.ID, Object: "refund", PaymentID: r.PaymentID, Amount: r.Amount, Currency: core.Currency(r.Currency),
		Reason: r.Reason, Status: core.RefundStatus(r.Status), ProviderRefundID: r.ProviderID,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if !r.SucceededAt.IsZero() {
		out.SucceededAt = ptr(r.SucceededAt)
	}
	switch core.RefundStatus(r.Status) {
	case core.RefundCreated, core.RefundProcessing:
		if r.FailureCode == string(core.CodeUnknownOutcome) {
			out.PendingReason = PendingUnknownOutcome
		} else {
			out.PendingReason = PendingProvider
		}
	default:
		if r.FailureCode != "" {
			out.Failure = &Failure{Code: core.Code(r.FailureCode), Message: r.FailureMessage, ProviderCode: r.ProviderCode}
		}
	}
	return out
}

// GetOption adjusts a Get method (GetPayment, GetRefund, GetSplit, ...).
type GetOption func(*getOptions)

type getOptions struct{ refresh bool }

// Refresh makes a Get method ask the provider first and apply its answer,
// so the object returned is as the provider has it now.
func Refresh() GetOption { return func(o *getOptions) { o.refresh = true } }

func getOptionsOf(opts []GetOption) getOptions {
	var o getOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
