package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Payout is a payout as embedders and the HTTP API see it.
type Payout struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"` // "payout"
	Kind             core.PayoutKind   `json:"kind"`
	Account          string            `json:"account"`
	Provider         string            `json:"provider"`
	Amount           int64             `json:"amount"`
	Fee              int64             `json:"fee,omitempty"`
	Currency         core.Currency     `json:"currency"`
	Destination      core.Destination  `json:"destination"` // account numbers masked
	Receiver         string            `json:"receiver,omitempty"`
	Description      string            `json:"description,omitempty"`
	Status           core.PayoutStatus `json:"status"`
	PendingReason    string            `json:"pending_reason,omitempty"`
	ProviderPayoutID string            `json:"provider_payout_id,omitempty"`
	Failure          *Failure          `json:"failure,omitempty"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
	CompletedAt      *time.Time        `json:"completed_at,omitempty"`
}

// CreatePayoutInput sends money out through an account: a transfer to a
// wallet or bank account, a withdrawal, a disbursement, or the cash-out of
// a split receiver's balance (kind cashout with Receiver).
type CreatePayoutInput struct {
	Tenant         string           `json:"-"`
	IdempotencyKey string           `json:"-"`
	Account        string           `json:"account,omitempty"` // default: the receiver's account (cash-out)
	Kind           core.PayoutKind  `json:"kind"`
	Amount         int64            `json:"amount"`
	Currency       core.Currency    `json:"currency"`
	Destination    core.Destination `json:"destination,omitzero"`
	Receiver       string           `json:"receiver,omitempty"` // a split receiver's name or rcv_ id (cash-out)
	Description    string           `json:"description,omitempty"`
}

// payoutEventData is a payout's event data: its API representation.
func payoutEventData(obj any) (any, error) {
	p, ok := obj.(*store.Payout)
	if !ok {
		return nil, fmt.Errorf("host: payout event data from a %T", obj)
	}
	return payoutToAPI(p), nil
}

// CreatePayout sends a payout. Like a payment, it is stored before the
// provider is called; an answer that never came leaves it processing with
// pending_reason unknown_outcome until a query or notification settles it.
// A payout above the balance is the provider's to refuse.
func (h *Host) CreatePayout(ctx context.Context, in CreatePayoutInput) (*Payout, error) {
	if !in.Kind.Valid() {
		return nil, bad("kind", "kind must be transfer, withdrawal, disbursement or cashout")
	}
	if in.Amount <= 0 || in.Amount > maxAmount {
		return nil, bad("amount", "amount must be a positive integer in minor units")
	}
	cur, err := core.ParseCurrency(string(in.Currency))
	if err != nil {
		return nil, err
	}
	in.Currency = cur
	d := in.Destination
	if err := checkTexts(map[string]string{"account": in.Account, "receiver": in.Receiver, "description": in.Description,
		"destination.kind": d.Kind, "destination.account_no": d.AccountNo, "destination.account_name": d.AccountName,
		"destination.bank_code": d.BankCode, "destination.bank_name": d.BankName, "destination.branch": d.Branch,
		"destination.receiver_id": d.ReceiverID, "destination.user_id": d.UserID, "destination.card_id": d.CardID,
		"destination.country": d.Country, "destination.phone": d.Phone, "destination.email": d.Email}); err != nil {
		return nil, err
	}
	if len(in.Description) > maxDescription {
		return nil, bad("description", "description is longer than %d characters", maxDescription)
	}
	if in.Kind == core.PayoutCashout && in.Receiver == "" {
		return nil, bad("receiver", "a cash-out names the split receiver whose balance is paid out")
	}
	if in.Receiver != "" && in.Kind != core.PayoutCashout {
		return nil, bad("receiver", "receiver applies to kind cashout only")
	}
	// money leaves an account only on the tenant's payout grant, checked
	// before anything is stored (a cash-out by rcv_ id is from its account)
	from := in.Account
	if from == "" && in.Receiver != "" {
		if r, err := h.store.GetReceiver(ctx, in.Receiver); err == nil && r.Tenant == in.Tenant {
			from = r.Account
		}
	}
	if from == "" {
		if in.Receiver != "" {
			return nil, bad("account", "name the account of receiver %q", in.Receiver)
		}
		return nil, bad("account", "account is required: the account the money leaves")
	}
	if err := h.payOutOf(in.Tenant, from, "account"); err != nil {
		return nil, err
	}
	hashed := in
	hashed.Destination = core.Destination{Kind: d.Kind, ReceiverID: d.ReceiverID, UserID: d.UserID, CardID: d.CardID} // no account numbers in the hash
	out, err := idempotent(ctx, h, in.Tenant, in.IdempotencyKey, string(core.OpPayoutCreate), hashed,
		func(ctx context.Context, resumeID string, link func() *store.IdemLink) (*Payout, error) {
			if resumeID != "" {
				p, err := h.store.GetPayout(ctx, resumeID)
				if err != nil {
					return nil, core.WrapError(core.CodeInternal, err, "load payout")
				}
				return payoutToAPI(p), nil
			}
			p, err := h.createPayout(ctx, in, link)
			if err != nil {
				return nil, err
			}
			return payoutToAPI(p), nil
		})
	return out, err
}

func (h *Host) createPayout(ctx context.Context, in CreatePayoutInput, link func() *store.IdemLink) (*store.Payout, error) {
	dest := in.Destination
	if in.Receiver != "" {
		if in.Account == "" {
			if r, err := h.store.GetReceiver(ctx, in.Receiver); err == nil && r.Tenant == in.Tenant {
				in.Account = r.Account
			}
		}
		if in.Account == "" {
			return nil, bad("account", "name the account of receiver %q", in.Receiver)
		}
		r, err := h.resolveReceiver(ctx, in.Tenant, in.Account, in.Receiver, "")
		if err != nil {
			ce := *core.AsError(err)
			ce.Param = "receiver"
			return nil, &ce
		}
		dest = core.Destination{Kind: "receiver_balance", ReceiverID: r.ProviderID}
		in.Receiver = r.Name
	}
	a, ok := h.accounts[in.Account]
	if !ok {
		return nil, bad("account", "no account %q on this host", in.Account)
	}
	if !supports(a, core.OpPayoutCreate) {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "account", Message: "plugin " + a.plugin.Manifest().Name + " cannot pay out"}
	}
	destJSON, err := json.Marshal(dest)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "encode destination")
	}
	now := h.now()
	p := &store.Payout{ID: newID("po_", now), Tenant: in.Tenant, IdempotencyKey: in.IdempotencyKey, Account: a.name,
		Plugin: a.plugin.Manifest().Name, Kind: string(in.Kind), Amount: in.Amount, Currency: string(in.Currency), Destination: destJSON,
		Description: in.Description, Status: string(core.PayoutCreated), CreatedAt: now, UpdatedAt: now,
		NextPollAt: now.Add(h.cfg.IdempotencyLease)}
	if in.Receiver != "" {
		p.ProviderData = map[string]string{"payhost.receiver": in.Receiver}
	}
	p.Link = link()
	if err := h.store.InsertPayout(ctx, p); err != nil {
		if errors.Is(err, store.ErrTakenOver) {
			return nil, errTakenOver
		}
		return nil, core.WrapError(core.CodeInternal, err, "store payout")
	}
	c := core.Channel{Plugin: p.Plugin, Account: p.Account}
	req := &core.CreatePayoutRequest{PayoutID: p.ID, Kind: in.Kind, Amount: p.Amount, Currency: core.Currency(p.Currency),
		Destination: dest, Description: p.Description, NotifyURL: h.notifyURL(p.Account), CreatedAt: p.CreatedAt}
	resp, err := callPlugin[core.CreatePayoutResponse](ctx, h, a, c, core.OpPayoutCreate, p.ID, req)
	if err != nil {
		ce := core.AsError(err)
		if classify(ce.Code) == outcomeUnknown {
			msg := unknownOutcomeText(ce)
			return h.movePayout(ctx, p, core.PayoutProcessing, "provider_response", msg, store.PayoutUpdate{
				FailureCode: ptr(string(core.CodeUnknownOutcome)), FailureMessage: ptr(msg), NextPollAt: ptr(h.now().Add(h.cfg.Poll.First))})
		}
		return h.movePayout(ctx, p, core.PayoutFailed, "provider_response", ce.Message, store.PayoutUpdate{
			FailureCode: ptr(string(ce.Code)), FailureMessage: ptr(failureText(ce)), ProviderCode: ptr(ce.ProviderCode),
			NextPollAt: ptr(time.Time{})})
	}
	return h.applyPayout(ctx, p, resp.Payout, "provider_response")
}

// applyPayout moves a stored payout to what the provider reported.
func (h *Host) applyPayout(ctx context.Context, p *store.Payout, got core.Payout, source string) (*store.Payout, error) {
	upd := store.PayoutUpdate{ProviderData: got.ProviderData}
	if got.ProviderID != "" {
		upd.ProviderID = ptr(got.ProviderID)
	}
	if got.FeeAmount != 0 {
		upd.FeeAmount = ptr(got.FeeAmount)
	}
	switch got.Status {
	case core.PayoutSucceeded:
		at := got.SucceededAt
		if at.IsZero() {
			at = h.now()
		}
		upd.CompletedAt = ptr(at)
		upd.FailureCode, upd.FailureMessage, upd.ProviderCode = ptr(""), ptr(""), ptr("")
		upd.NextPollAt = ptr(time.Time{})
	case core.PayoutFailed, core.PayoutCanceled, core.PayoutReturned:
		code, provider := canonicalFailure(got.FailureCode)
		upd.FailureCode, upd.FailureMessage, upd.ProviderCode = ptr(string(code)), ptr(got.FailureMessage), ptr(provider)
		upd.CompletedAt = ptr(h.now())
		upd.NextPollAt = ptr(time.Time{})
	case core.PayoutCreated, core.PayoutProcessing:
		if p.FailureCode == string(core.CodeUnknownOutcome) {
			upd.FailureCode, upd.FailureMessage = ptr(""), ptr("")
		}
		if p.NextPollAt.IsZero() || source == "provider_response" {
			upd.NextPollAt = ptr(h.now().Add(h.cfg.Poll.First))
		}
	default:
		return nil, core.Errorf(core.CodePluginFailure, "plugin reported unknown payout status %q", got.Status)
	}
	if got.Amount != 0 && got.Amount != p.Amount {
		detail := fmt.Sprintf("provider reports payout amount %d, payout has %d", got.Amount, p.Amount)
		h.refusedTransition(ctx, "payout", p.ID, p.Status, string(got.Status), source, detail)
		h.incident(ctx, IncidentAmountMismatch, p.ID, source+": "+detail)
		return p, nil
	}
	return h.movePayout(ctx, p, got.Status, source, "", upd)
}

// movePayout is movePayment for payouts.
func (h *Host) movePayout(ctx context.Context, cur *store.Payout, to core.PayoutStatus, source, detail string, upd store.PayoutUpdate) (*store.Payout, error) {
	return move(ctx, h, statusChange[store.Payout]{
		kind: "payout", machine: core.MachinePayout, render: payoutEventData, reload: h.store.GetPayout,
		lateSuccess: map[string]bool{string(core.PayoutFailed): true},
		state:       func(p *store.Payout) (string, string, map[string]string) { return p.ID, p.Status, p.ProviderData },
		apply: func(ctx context.Context, from, to string, data map[string]string, ev *store.EventSpec) (*store.Payout, error) {
			u := upd
			u.ID, u.Now, u.From, u.To, u.ProviderData, u.Event = cur.ID, h.now(), from, to, data, ev
			return h.store.UpdatePayout(ctx, u)
		},
	}, cur, string(to), source, detail, upd.ProviderData)
}

// GetPayout returns a tenant's payout; Refresh() asks the provider first.
func (h *Host) GetPayout(ctx context.Context, tenant, id string, opts ...GetOption) (*Payout, error) {
	o := getOptionsOf(opts)
	p, err := h.store.GetPayout(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.Tenant != tenant) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no payout " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load payout")
	}
	if o.refresh && !payoutSettled(p.Status) {
		if p, err = h.refreshPayout(ctx, p, "query"); err != nil {
			return nil, err
		}
	}
	return payoutToAPI(p), nil
}

func (h *Host) refreshPayout(ctx context.Context, p *store.Payout, source string) (*store.Payout, error) {
	a, ok := h.accounts[p.Account]
	if !ok {
		return nil, &core.Error{Code: core.CodeProviderUnavailable, Message: "account " + p.Account + " is not configured on this host"}
	}
	if !supports(a, core.OpPayoutQuery) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + p.Plugin + " cannot query payouts"}
	}
	c := core.Channel{Plugin: p.Plugin, Account: p.Account}
	resp, err := callPlugin[core.QueryPayoutResponse](ctx, h, a, c, core.OpPayoutQuery, p.ID, &core.QueryPayoutRequest{
		Payout: core.PayoutRef{ID: p.ID, ProviderID: p.ProviderID, Kind: core.PayoutKind(p.Kind), CreatedAt: p.CreatedAt, ProviderData: p.ProviderData}})
	if err != nil {
		return nil, err
	}
	return h.applyPayout(ctx, p, resp.Payout, source)
}

func pollPayouts(h *Host, ctx context.Context, now time.Time, run func(func())) {
	payouts, err := h.store.ClaimPayoutsToPoll(ctx, now, h.cfg.Poll.Lease, h.cfg.Poll.Batch)
	if err != nil {
		h.log.Error("poll: claim payouts", "err", err)
	}
	for _, p := range payouts {
		run(func() { h.pollPayout(ctx, p) })
	}
}

func (h *Host) pollPayout(ctx context.Context, p *store.Payout) {
	if payoutSettled(p.Status) || h.now().Sub(p.CreatedAt) > h.cfg.Poll.MaxAge {
		if !payoutSettled(p.Status) {
			h.incident(ctx, IncidentPayoutUnsettled, p.ID, "still pending after the polling window")
		}
		_, _ = h.movePayout(ctx, p, "", "poll", "", store.PayoutUpdate{NextPollAt: ptr(time.Time{})})
		return
	}
	after, err := h.refreshPayout(ctx, p, "poll")
	if err != nil {
		code := core.CodeOf(err)
		switch {
		case code == core.CodeUnsupported:
			// no query (e.g. Jeepay's cash-out): only a person, with the balance, can settle it
			h.incident(ctx, IncidentPayoutUnsettled, p.ID, core.AsError(err).Message)
			_, _ = h.movePayout(ctx, p, "", "poll", "", store.PayoutUpdate{NextPollAt: ptr(time.Time{})})
			return
		case code == core.CodeNotFound && p.ProviderID == "" && p.PollAttempts+1 >= notFoundAttempts && h.now().Sub(p.CreatedAt) >= notFoundAge:
			// the provider never received it; payouts are not resent automatically
			_, _ = h.movePayout(ctx, p, core.PayoutFailed, "poll", "the provider has no such payout", store.PayoutUpdate{
				FailureCode: ptr(string(core.CodeNotFound)), FailureMessage: ptr("the provider never received the payout"),
				CompletedAt: ptr(h.now()), NextPollAt: ptr(time.Time{})})
			return
		}
		h.log.Warn("poll: payout query failed", "payout", p.ID, "code", code, "err", err)
		after = p
	}
	if !payoutSettled(after.Status) {
		_, _ = h.movePayout(ctx, after, "", "poll", "", store.PayoutUpdate{
			NextPollAt: ptr(h.now().Add(h.backoff(after.PollAttempts + 1))), PollAttempts: ptr(after.PollAttempts + 1)})
	}
}

// payoutSettled says a payout needs no more queries.
func payoutSettled(st string) bool {
	switch core.PayoutStatus(st) {
	case core.PayoutSucceeded, core.PayoutFailed, core.PayoutCanceled, core.PayoutReturned:
		return true
	}
	return false
}

func (h *Host) applyPayoutEvent(ctx context.Context, a *account, ev core.Event) notifyResult {
	p, err := h.store.GetPayout(ctx, ev.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return notifyResult{notifyIgnored, "unknown payout"}
	}
	if err != nil {
		return notifyFailed(err)
	}
	if p.Account != a.name {
		return notifyResult{notifyIgnored, "payout belongs to account " + p.Account}
	}
	before := p.Status
	after, err := h.applyPayout(ctx, p, core.Payout{ID: p.ID, ProviderID: ev.ProviderObjectID, Status: core.PayoutStatus(ev.Status),
		Amount: ev.Amount, FeeAmount: ev.FeeAmount, FailureCode: ev.FailureCode, FailureMessage: ev.FailureMessage,
		SucceededAt: ev.OccurredAt}, "notification")
	if err != nil {
		return notifyFailed(err)
	}
	return outcome(before, after.Status, ev.Status, nil)
}

func payoutToAPI(p *store.Payout) *Payout {
	out := &Payout{ID: p.ID, Object: "payout", Kind: core.PayoutKind(p.Kind), Account: p.Account, Provider: p.Plugin,
		Amount: p.Amount, Fee: p.FeeAmount, Currency: core.Currency(p.Currency), Description: p.Description,
		Status: core.PayoutStatus(p.Status), ProviderPayoutID: p.ProviderID, Receiver: p.ProviderData["payhost.receiver"],
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if len(p.Destination) > 0 {
		// written by the engine from a validated destination; one that cannot
		// be read shows empty rather than failing every read of the payout
		_ = json.Unmarshal(p.Destination, &out.Destination)
	}
	d := &out.Destination
	d.AccountNo, d.Phone, d.Email, d.CardID = mask(d.AccountNo), mask(d.Phone), mask(d.Email), mask(d.CardID)
	if !p.CompletedAt.IsZero() {
		out.CompletedAt = ptr(p.CompletedAt)
	}
	switch core.PayoutStatus(p.Status) {
	case core.PayoutCreated, core.PayoutProcessing:
		out.PendingReason = PendingProvider
		if p.FailureCode == string(core.CodeUnknownOutcome) {
			out.PendingReason = PendingUnknownOutcome
		}
	default:
		if p.FailureCode != "" {
			out.Failure = &Failure{Code: core.Code(p.FailureCode), Message: p.FailureMessage, ProviderCode: p.ProviderCode}
		}
	}
	return out
}
