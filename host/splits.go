package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Split is a split batch as embedders and the HTTP API see it.
type Split struct {
	ID              string           `json:"id"`
	Object          string           `json:"object"` // "split"
	PaymentID       string           `json:"payment_id"`
	Source          string           `json:"source"` // rules (the payment's decision) or api
	Status          core.SplitStatus `json:"status"`
	PendingReason   string           `json:"pending_reason,omitempty"`
	Amount          int64            `json:"amount"`
	Currency        core.Currency    `json:"currency"`
	ProviderSplitID string           `json:"provider_split_id,omitempty"`
	Records         []SplitRecord    `json:"records"`
	Failure         *Failure         `json:"failure,omitempty"`
	CreatedAt       time.Time        `json:"created_at"`
	UpdatedAt       time.Time        `json:"updated_at"`
}

// SplitRecord is one receiver's part of a split.
type SplitRecord struct {
	Receiver   string           `json:"receiver"`    // the rules' name
	ReceiverID string           `json:"receiver_id"` // rcv_ id
	Amount     int64            `json:"amount"`
	Status     core.SplitStatus `json:"status"`
	Failure    *Failure         `json:"failure,omitempty"`
}

// SplitPartInput is one part of a split asked for through the API.
type SplitPartInput struct {
	Receiver string `json:"receiver"` // a receiver's name or rcv_ id
	Amount   int64  `json:"amount"`
}

// CreateSplitInput splits a succeeded payment among receivers. Without
// parts the shares of the payment's decision are used (every receiver but
// the merchant, who keeps the rest).
type CreateSplitInput struct {
	Tenant         string           `json:"-"`
	IdempotencyKey string           `json:"-"`
	PaymentID      string           `json:"-"`
	Parts          []SplitPartInput `json:"parts,omitempty"`
}

// Ledger is where a payment's money went. Amount = Refunded +
// RefundPending + Split + SplitPending + Fee + Remainder; Remainder is what
// stays with the merchant (negative at most by the fee, when a refund
// returned the fee too). Split is net of SplitReturned, what receivers gave
// back. Balanced says the stored totals equal the sums of the refunds,
// splits and split returns and never exceed the amount.
type Ledger struct {
	Amount        int64    `json:"amount"`
	Fee           int64    `json:"fee"`
	Refunded      int64    `json:"refunded"`
	RefundPending int64    `json:"refund_pending"`
	Split         int64    `json:"split"`
	SplitPending  int64    `json:"split_pending"`
	SplitReturned int64    `json:"split_returned"`
	Remainder     int64    `json:"remainder"`
	Balanced      bool     `json:"balanced"`
	Problems      []string `json:"problems,omitempty"`
}

// splitStyle is how a plugin splits: split.execute after a payment created
// with its funds held (Jeepay), or payment.capture with parts (Adapay's
// confirmation of a delayed payment).
type splitStyle int

const (
	splitUnsupported splitStyle = iota
	splitByExecute
	splitByCapture
)

func styleOf(a *account) splitStyle {
	switch {
	case supports(a, core.OpSplitExecute):
		return splitByExecute
	case supports(a, core.OpPaymentCapture):
		return splitByCapture
	}
	return splitUnsupported
}

// splitEventData is a split's event data: its API representation.
func splitEventData(obj any) (any, error) {
	sp, ok := obj.(*store.Split)
	if !ok {
		return nil, fmt.Errorf("host: split event data from a %T", obj)
	}
	return splitToAPI(sp), nil
}

// CreateSplit executes a split of a succeeded payment (a payment whose
// rules said split mode manual, or any payment of a provider that allows
// it). The amounts are reserved before the provider is called, so splits
// and refunds together never exceed the payment.
func (h *Host) CreateSplit(ctx context.Context, in CreateSplitInput) (*Split, error) {
	for i, p := range in.Parts {
		if p.Amount <= 0 || p.Amount > maxAmount {
			return nil, bad(fmt.Sprintf("parts[%d].amount", i), "amount must be a positive integer in minor units")
		}
		if p.Receiver == "" || p.Receiver == core.MerchantReceiver {
			return nil, bad(fmt.Sprintf("parts[%d].receiver", i), "name a registered split receiver (the merchant keeps what is not split)")
		}
		if err := checkText(fmt.Sprintf("parts[%d].receiver", i), p.Receiver); err != nil {
			return nil, err
		}
	}
	pay, err := h.tenantPayment(ctx, in.Tenant, in.PaymentID)
	if err != nil {
		return nil, err
	}
	if pay.Account != "" {
		if err := h.useAccount(in.Tenant, pay.Account, "id"); err != nil {
			return nil, err
		}
	}
	out, err := idempotent(ctx, h, in.Tenant, in.IdempotencyKey, "split.create:"+in.PaymentID, in,
		func(ctx context.Context, resumeID string, link func() *store.IdemLink) (*Split, error) {
			if resumeID != "" {
				sp, err := h.store.GetSplit(ctx, resumeID)
				if err != nil {
					return nil, core.WrapError(core.CodeInternal, err, "load split")
				}
				return splitToAPI(sp), nil
			}
			shares := make([]core.Share, 0, len(in.Parts))
			for _, p := range in.Parts {
				shares = append(shares, core.Share{Receiver: p.Receiver, Amount: p.Amount})
			}
			if len(shares) == 0 {
				if err := h.decisionSplitAllowed(ctx, pay); err != nil {
					return nil, err
				}
				d, err := decisionOf(pay)
				if err != nil {
					return nil, err
				}
				shares = d.Splits
			}
			sp, err := h.startSplit(ctx, pay, store.SplitFromAPI, in.IdempotencyKey, shares, link, true)
			if err != nil {
				return nil, err
			}
			return splitToAPI(sp), nil
		})
	return out, err
}

// decisionSplitAllowed refuses a split by the decision's shares when the
// rules' split is still to be made by the engine or a split of the payment
// is made or in flight: the receivers would be paid twice. (Parts named
// explicitly are the caller's to judge.)
func (h *Host) decisionSplitAllowed(ctx context.Context, pay *store.Payment) error {
	if !pay.SplitDueAt.IsZero() {
		return &core.Error{Code: core.CodeConflict, Message: "the engine makes the rules' split of payment " + pay.ID +
			" after splits.delay; name the parts to split anything else"}
	}
	splits, err := h.store.ListSplits(ctx, pay.ID)
	if err != nil {
		return core.WrapError(core.CodeInternal, err, "list splits")
	}
	for _, sp := range splits {
		if sp.Status != string(core.SplitFailed) || slices.ContainsFunc(sp.Records, func(r store.SplitRecord) bool {
			return r.Status == string(core.SplitSucceeded)
		}) {
			return &core.Error{Code: core.CodeConflict, Message: "payment " + pay.ID + " is split already (" + sp.ID +
				", " + sp.Status + "); name the parts to split more"}
		}
	}
	return nil
}

func decisionOf(sp *store.Payment) (core.Decision, error) {
	var d core.Decision
	if len(sp.Decision) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(sp.Decision, &d); err != nil {
		return d, core.WrapError(core.CodeInternal, err, "decode the payment's decision")
	}
	return d, nil
}

// startSplit stores a split of the shares (all but the merchant's) and
// sends it to the payment's provider. strict refuses unknown receivers as
// bad input; otherwise (the rules' split, with nobody to answer) they are
// stored as a failed split a person can see.
func (h *Host) startSplit(ctx context.Context, pay *store.Payment, source, idemKey string, shares []core.Share,
	link func() *store.IdemLink, strict bool) (*store.Split, error) {
	if pay.Status != string(core.PaymentSucceeded) {
		return nil, &core.Error{Code: core.CodeConflict, Message: "only a succeeded payment can be split; this one is " + pay.Status}
	}
	c, a, err := h.paymentChannel(pay)
	if err != nil {
		return nil, err
	}
	style := styleOf(a)
	now := h.now()
	sp := &store.Split{ID: newID("spl_", now), Tenant: pay.Tenant, PaymentID: pay.ID, Account: pay.Account, Plugin: pay.Plugin,
		Source: source, IdempotencyKey: idemKey, Status: string(core.SplitPending), Currency: pay.Currency,
		CreatedAt: now, UpdatedAt: now, NextPollAt: now.Add(h.cfg.IdempotencyLease)}
	var refused error
	for _, s := range shares {
		if s.Receiver == core.MerchantReceiver || s.Amount == 0 {
			continue
		}
		rec := store.SplitRecord{Receiver: s.Receiver, Amount: s.Amount, Status: string(core.SplitPending)}
		r, err := h.resolveReceiver(ctx, pay.Tenant, pay.Account, s.Receiver, walletOf(string(channelMethod(pay))))
		if err != nil && core.CodeOf(err) != core.CodeInvalidRequest {
			return nil, err
		}
		if err != nil && refused == nil {
			refused = err
		}
		if r != nil {
			rec.Receiver, rec.ReceiverID, rec.ProviderReceiver = r.Name, r.ID, r.ProviderID
		}
		sp.Records = append(sp.Records, rec)
		sp.Amount += s.Amount
	}
	if sp.Amount == 0 {
		return nil, bad("parts", "nothing to split: every share is the merchant's")
	}
	if refused == nil && style == splitUnsupported {
		refused = &core.Error{Code: core.CodeUnsupported, Message: "plugin " + pay.Plugin + " cannot split payments"}
	}
	if refused != nil {
		if strict {
			return nil, refused
		}
		ce := core.AsError(refused)
		sp.Status, sp.FailureCode, sp.FailureMessage, sp.NextPollAt = string(core.SplitFailed), string(ce.Code), ce.Message, time.Time{}
		for i := range sp.Records {
			sp.Records[i].Status = string(core.SplitFailed)
		}
	}
	if link != nil {
		sp.Link = link()
	}
	switch err := h.store.InsertSplit(ctx, sp); {
	case errors.Is(err, store.ErrTakenOver):
		return nil, errTakenOver
	case errors.Is(err, store.ErrInsufficient):
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "parts", Message: "the split exceeds what is left to split: " + err.Error()}
	case errors.Is(err, store.ErrConflict):
		return nil, &core.Error{Code: core.CodeConflict, Message: "only a succeeded payment can be split"}
	case errors.Is(err, store.ErrDuplicate):
		return nil, &core.Error{Code: core.CodeDuplicate, Message: "the rules' split of payment " + pay.ID + " was already made"}
	case err != nil:
		return nil, core.WrapError(core.CodeInternal, err, "store split")
	}
	if refused != nil {
		h.incident(ctx, IncidentSplitRefused, sp.ID, fmt.Sprintf("the rules' split of payment %s cannot be made: %s", pay.ID, core.AsError(refused).Message))
		return sp, nil
	}
	return h.submitSplit(ctx, pay, sp, a, c, style)
}

// submitSplit sends a stored split to the provider and applies the answer.
func (h *Host) submitSplit(ctx context.Context, pay *store.Payment, sp *store.Split, a *account, c core.Channel, style splitStyle) (*store.Split, error) {
	parts := make([]core.SplitPart, 0, len(sp.Records))
	for _, r := range sp.Records {
		parts = append(parts, core.SplitPart{ReceiverID: r.ProviderReceiver, Amount: r.Amount})
	}
	var got core.SplitBatch
	var err error
	switch style {
	case splitByCapture:
		req := &core.CapturePaymentRequest{CaptureID: sp.ID, Payment: h.paymentRef(pay), Amount: pay.Amount,
			Split: &core.SplitInstruction{Mode: core.SplitManual, Parts: parts}, NotifyURL: h.notifyURL(pay.Account), CreatedAt: sp.CreatedAt}
		var resp *core.CapturePaymentResponse
		if resp, err = callPlugin[core.CapturePaymentResponse](ctx, h, a, c, core.OpPaymentCapture, sp.ID, req); err == nil {
			got = core.SplitBatch{ID: sp.ID, ProviderID: resp.CaptureProviderID, Status: captureSplitStatus(resp.Status),
				FailureCode: resp.Payment.FailureCode, FailureMessage: resp.Payment.FailureMessage}
		}
	default:
		req := &core.ExecuteSplitRequest{SplitID: sp.ID, Payment: h.paymentRef(pay), Parts: parts, Final: sp.Source == store.SplitFromRules,
			NotifyURL: h.notifyURL(pay.Account), CreatedAt: sp.CreatedAt}
		var resp *core.ExecuteSplitResponse
		if resp, err = callPlugin[core.ExecuteSplitResponse](ctx, h, a, c, core.OpSplitExecute, sp.ID, req); err == nil {
			got = resp.Split
		}
	}
	if err != nil {
		ce := core.AsError(err)
		if classifyOnce(ce.Code) == outcomeUnknown {
			msg := unknownOutcomeText(ce)
			return h.moveSplit(ctx, sp, core.SplitProcessing, "provider_response", msg, store.SplitUpdate{
				FailureCode: ptr(string(core.CodeUnknownOutcome)), FailureMessage: ptr(msg), NextPollAt: ptr(h.now().Add(h.cfg.Poll.First))})
		}
		recs := withStatus(sp.Records, core.SplitFailed)
		return h.moveSplit(ctx, sp, core.SplitFailed, "provider_response", ce.Message, store.SplitUpdate{Records: recs,
			FailureCode: ptr(string(ce.Code)), FailureMessage: ptr(failureText(ce)), ProviderCode: ptr(ce.ProviderCode),
			NextPollAt: ptr(time.Time{})})
	}
	return h.applySplit(ctx, sp, got, "provider_response")
}

// splitSettled says a split needs no more queries (succeeded may still be
// returned later, but by another operation).
func splitSettled(st string) bool {
	switch core.SplitStatus(st) {
	case core.SplitSucceeded, core.SplitFailed, core.SplitReturned:
		return true
	}
	return false
}

func captureSplitStatus(s core.PaymentStatus) core.SplitStatus {
	switch s {
	case core.PaymentSucceeded:
		return core.SplitSucceeded
	case core.PaymentFailed, core.PaymentClosed:
		return core.SplitFailed
	}
	return core.SplitProcessing
}

func withStatus(rs []store.SplitRecord, st core.SplitStatus) []store.SplitRecord {
	out := make([]store.SplitRecord, len(rs))
	for i, r := range rs {
		r.Status = string(st)
		out[i] = r
	}
	return out
}

// applySplit moves a stored split to what the provider reported: the batch
// status and each receiver's record, matched by the provider's receiver id.
func (h *Host) applySplit(ctx context.Context, sp *store.Split, got core.SplitBatch, source string) (*store.Split, error) {
	upd := store.SplitUpdate{ProviderData: got.ProviderData}
	if got.ProviderID != "" {
		upd.ProviderID = ptr(got.ProviderID)
	}
	to := got.Status
	recs := append([]store.SplitRecord(nil), sp.Records...)
	if len(got.Records) > 0 {
		byProvider := map[string]core.SplitRecord{}
		for _, r := range got.Records {
			byProvider[r.ReceiverID] = r
		}
		for i, r := range recs {
			if pr, ok := byProvider[r.ProviderReceiver]; ok {
				recs[i].Status, recs[i].ProviderRecordID = string(pr.Status), pr.ProviderRecordID
				recs[i].FailureCode, recs[i].FailureMessage = pr.FailureCode, pr.FailureMessage
			}
		}
	} else if to != core.SplitPending {
		recs = withStatus(recs, to)
	}
	upd.Records = recs
	switch to {
	case core.SplitSucceeded:
		upd.FailureCode, upd.FailureMessage, upd.ProviderCode = ptr(""), ptr(""), ptr("")
		upd.NextPollAt = ptr(time.Time{})
	case core.SplitFailed:
		code, provider := canonicalFailure(got.FailureCode)
		upd.FailureCode, upd.FailureMessage, upd.ProviderCode = ptr(string(code)), ptr(got.FailureMessage), ptr(provider)
		upd.NextPollAt = ptr(time.Time{})
	case core.SplitPending, core.SplitAccepted, core.SplitProcessing:
		if sp.FailureCode == string(core.CodeUnknownOutcome) {
			upd.FailureCode, upd.FailureMessage = ptr(""), ptr("")
		}
		if sp.NextPollAt.IsZero() || source == "provider_response" {
			upd.NextPollAt = ptr(h.now().Add(h.cfg.Poll.First))
		}
	default:
		return nil, core.Errorf(core.CodePluginFailure, "plugin reported unknown split status %q", to)
	}
	return h.moveSplit(ctx, sp, to, source, "", upd)
}

// moveSplit is movePayment for splits.
func (h *Host) moveSplit(ctx context.Context, cur *store.Split, to core.SplitStatus, source, detail string, upd store.SplitUpdate) (*store.Split, error) {
	return move(ctx, h, statusChange[store.Split]{
		kind: "split", machine: core.MachineSplit, render: splitEventData, reload: h.store.GetSplit,
		lateSuccess: map[string]bool{string(core.SplitFailed): true},
		state:       func(s *store.Split) (string, string, map[string]string) { return s.ID, s.Status, s.ProviderData },
		apply: func(ctx context.Context, from, to string, data map[string]string, ev *store.EventSpec) (*store.Split, error) {
			u := upd
			u.ID, u.Now, u.From, u.To, u.ProviderData, u.Event = cur.ID, h.now(), from, to, data, ev
			return h.store.UpdateSplit(ctx, u)
		},
	}, cur, string(to), source, detail, upd.ProviderData)
}

// GetSplit returns a tenant's split; Refresh() asks the provider first.
func (h *Host) GetSplit(ctx context.Context, tenant, id string, opts ...GetOption) (*Split, error) {
	o := getOptionsOf(opts)
	sp, err := h.store.GetSplit(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sp.Tenant != tenant) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no split " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load split")
	}
	if o.refresh && !splitSettled(sp.Status) {
		if sp, err = h.refreshSplit(ctx, sp, "query"); err != nil {
			return nil, err
		}
	}
	return splitToAPI(sp), nil
}

// refreshSplit queries the provider for a split and applies the answer.
func (h *Host) refreshSplit(ctx context.Context, sp *store.Split, source string) (*store.Split, error) {
	pay, err := h.store.GetPayment(ctx, sp.PaymentID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load payment")
	}
	c, a, err := h.paymentChannel(pay)
	if err != nil {
		return nil, err
	}
	if styleOf(a) != splitByExecute || !supports(a, core.OpSplitQuery) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + pay.Plugin + " cannot query splits"}
	}
	if sp.ProviderID == "" {
		return nil, &core.Error{Code: core.CodeNotFound, Message: "the provider's id of split " + sp.ID + " is unknown (its answer was lost)"}
	}
	resp, err := callPlugin[core.QuerySplitResponse](ctx, h, a, c, core.OpSplitQuery, sp.ID,
		&core.QuerySplitRequest{Split: core.SplitRef{ID: sp.ID, ProviderID: sp.ProviderID, ProviderData: sp.ProviderData}, Payment: h.paymentRef(pay)})
	if err != nil {
		return nil, err
	}
	return h.applySplit(ctx, sp, resp.Split, source)
}

// pollSplits is the poller's round for splits: the rules' splits that are
// due are executed, and splits in flight are queried.
func pollSplits(h *Host, ctx context.Context, now time.Time, run func(func())) {
	due, err := h.store.ClaimPaymentsToSplit(ctx, now, h.cfg.Poll.Lease, h.cfg.Poll.Batch)
	if err != nil {
		h.log.Error("poll: claim payments to split", "err", err)
	}
	for _, pay := range due {
		run(func() { h.executeRulesSplit(ctx, pay) })
	}
	splits, err := h.store.ClaimSplitsToPoll(ctx, now, h.cfg.Poll.Lease, h.cfg.Poll.Batch)
	if err != nil {
		h.log.Error("poll: claim splits", "err", err)
	}
	for _, sp := range splits {
		run(func() { h.pollSplit(ctx, sp) })
	}
}

// executeRulesSplit makes the split the payment's decision asked for (mode
// auto) once the provider's delay has passed; the database lets one node
// do it once.
func (h *Host) executeRulesSplit(ctx context.Context, pay *store.Payment) {
	d, err := decisionOf(pay)
	if err == nil && pay.Status == string(core.PaymentSucceeded) {
		_, err = h.startSplit(ctx, pay, store.SplitFromRules, "", d.Splits, nil, false)
	}
	switch code := core.CodeOf(err); {
	case err == nil, code == core.CodeDuplicate, code == core.CodeConflict:
		// made now or before, or the payment is no longer succeeded
	case code == core.CodeInvalidRequest:
		h.incident(ctx, IncidentSplitRefused, pay.ID, "the rules' split cannot be made: "+core.AsError(err).Message)
	default:
		h.log.Warn("poll: the rules' split failed; it is tried again", "payment", pay.ID, "code", code, "err", err)
		return // split_due_at was moved by the lease: tried again then
	}
	if _, err := h.store.UpdatePayment(context.WithoutCancel(ctx), store.PaymentUpdate{ID: pay.ID, SplitDueAt: ptr(time.Time{}), Now: h.now()}); err != nil {
		h.log.Error("poll: clear split due", "payment", pay.ID, "err", err)
	}
}

func (h *Host) pollSplit(ctx context.Context, sp *store.Split) {
	if splitSettled(sp.Status) {
		_, _ = h.moveSplit(ctx, sp, "", "poll", "", store.SplitUpdate{NextPollAt: ptr(time.Time{})})
		return
	}
	after, err := h.refreshSplit(ctx, sp, "poll")
	if err != nil {
		code := core.CodeOf(err)
		if code == core.CodeUnsupported || (code == core.CodeNotFound && sp.ProviderID == "" && h.now().Sub(sp.CreatedAt) > notFoundAge) {
			// nothing can settle it automatically: a person must look
			h.incident(ctx, IncidentSplitUnsettled, sp.ID, core.AsError(err).Message)
			_, _ = h.moveSplit(ctx, sp, "", "poll", "", store.SplitUpdate{NextPollAt: ptr(time.Time{})})
			return
		}
		h.log.Warn("poll: split query failed", "split", sp.ID, "code", code, "err", err)
		after = sp
	}
	if !splitSettled(after.Status) {
		_, _ = h.moveSplit(ctx, after, "", "poll", "", store.SplitUpdate{
			NextPollAt: ptr(h.now().Add(h.backoff(after.PollAttempts + 1))), PollAttempts: ptr(after.PollAttempts + 1)})
	}
}

func (h *Host) applySplitEvent(ctx context.Context, a *account, ev core.Event) notifyResult {
	sp, err := h.store.GetSplit(ctx, ev.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return notifyResult{notifyIgnored, "unknown split"}
	}
	if err != nil {
		return notifyFailed(err)
	}
	if sp.Account != a.name {
		return notifyResult{notifyIgnored, "split belongs to account " + sp.Account}
	}
	before := sp.Status
	after, err := h.applySplit(ctx, sp, core.SplitBatch{ID: sp.ID, ProviderID: ev.ProviderObjectID, Status: core.SplitStatus(ev.Status),
		FailureCode: ev.FailureCode, FailureMessage: ev.FailureMessage}, "notification")
	if err != nil {
		return notifyFailed(err)
	}
	return outcome(before, after.Status, ev.Status, nil)
}

func splitToAPI(sp *store.Split) *Split {
	out := &Split{ID: sp.ID, Object: "split", PaymentID: sp.PaymentID, Source: sp.Source, Status: core.SplitStatus(sp.Status),
		Amount: sp.Amount, Currency: core.Currency(sp.Currency), ProviderSplitID: sp.ProviderID, Records: []SplitRecord{},
		CreatedAt: sp.CreatedAt, UpdatedAt: sp.UpdatedAt}
	for _, r := range sp.Records {
		rec := SplitRecord{Receiver: r.Receiver, ReceiverID: r.ReceiverID, Amount: r.Amount, Status: core.SplitStatus(r.Status)}
		if r.FailureCode != "" || r.FailureMessage != "" {
			code, _ := canonicalFailure(r.FailureCode)
			rec.Failure = &Failure{Code: code, Message: r.FailureMessage, ProviderCode: r.FailureCode}
		}
		out.Records = append(out.Records, rec)
	}
	switch core.SplitStatus(sp.Status) {
	case core.SplitPending, core.SplitAccepted, core.SplitProcessing:
		out.PendingReason = PendingProvider
		if sp.FailureCode == string(core.CodeUnknownOutcome) {
			out.PendingReason = PendingUnknownOutcome
		}
	default:
		if sp.FailureCode != "" {
			out.Failure = &Failure{Code: core.Code(sp.FailureCode), Message: sp.FailureMessage, ProviderCode: sp.ProviderCode}
		}
	}
	return out
}

// ledgerOf checks a payment's totals against its refunds, splits and
// split returns.
func ledgerOf(p *store.Payment, refunds []*store.Refund, splits []*store.Split, returns []*store.SplitReturn) *Ledger {
	l := &Ledger{Amount: p.Amount, Fee: p.FeeAmount, Refunded: p.RefundedAmount, RefundPending: p.RefundReserved - p.RefundedAmount,
		Split: p.SplitAmount, SplitPending: p.SplitReserved - p.SplitAmount}
	l.Remainder = l.Amount - l.Refunded - l.RefundPending - l.Split - l.SplitPending - l.Fee
	var refunded, refundReserved, split, splitReserved int64
	for _, r := range refunds {
		if r.Status != string(core.RefundFailed) {
			refundReserved += r.Amount
		}
		if r.Status == string(core.RefundSucceeded) {
			refunded += r.Amount
		}
	}
	for _, s := range splits {
		switch core.SplitStatus(s.Status) {
		case core.SplitSucceeded, core.SplitFailed:
			done := int64(0)
			if len(s.Records) == 0 && s.Status == string(core.SplitSucceeded) {
				done = s.Amount
			}
			for _, r := range s.Records {
				if r.Status == string(core.SplitSucceeded) {
					done += r.Amount
				}
			}
			done = min(done, s.Amount)
			split += done
			splitReserved += done
		default:
			splitReserved += s.Amount
		}
	}
	for _, r := range returns {
		if r.Status == string(core.SplitReturnSucceeded) {
			l.SplitReturned += r.Amount
		}
	}
	split -= l.SplitReturned
	splitReserved -= l.SplitReturned
	check := func(what string, stored, sum int64) {
		if stored != sum {
			l.Problems = append(l.Problems, fmt.Sprintf("%s is %d but its records add up to %d", what, stored, sum))
		}
	}
	check("refunded", p.RefundedAmount, refunded)
	check("refunds reserved", p.RefundReserved, refundReserved)
	check("split", p.SplitAmount, split)
	check("splits reserved", p.SplitReserved, splitReserved)
	if p.RefundReserved+p.SplitReserved > p.Amount {
		l.Problems = append(l.Problems, fmt.Sprintf("refunds %d and splits %d exceed the amount %d", p.RefundReserved, p.SplitReserved, p.Amount))
	}
	if l.Remainder < -l.Fee {
		l.Problems = append(l.Problems, fmt.Sprintf("the remainder %d is below minus the fee", l.Remainder))
	}
	l.Balanced = len(l.Problems) == 0
	return l
}
