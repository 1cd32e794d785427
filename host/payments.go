package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Input limits.
const (
	maxMetadataKeys  = 50
	maxMetadataKey   = 40
	maxMetadataValue = 500
	maxDescription   = 256
	maxMerchantOrder = 64
	maxAmount        = 1 << 53 // keeps amounts exact in every JSON client
	maxReason        = 256
)

func validatePaymentInput(in *CreatePaymentInput) error {
	if in.Amount <= 0 {
		return bad("amount", "amount must be a positive integer in minor units")
	}
	if in.Amount > maxAmount {
		return bad("amount", "amount is too large")
	}
	cur, err := core.ParseCurrency(string(in.Currency))
	if err != nil {
		return err
	}
	in.Currency = cur
	if _, err := core.ParseMethod(string(in.Method)); err != nil {
		return err
	}
	if utf8.RuneCountInString(in.Description) > maxDescription {
		return bad("description", "description is longer than %d characters", maxDescription)
	}
	if len(in.MerchantOrderID) > maxMerchantOrder || strings.ContainsAny(in.MerchantOrderID, " \t\r\n") {
		return bad("merchant_order_id", "merchant_order_id must be at most %d characters without spaces", maxMerchantOrder)
	}
	if len(in.Metadata) > maxMetadataKeys {
		return bad("metadata", "metadata has more than %d keys", maxMetadataKeys)
	}
	for k, v := range in.Metadata {
		if k == "" || len(k) > maxMetadataKey || len(v) > maxMetadataValue {
			return bad("metadata", "metadata keys must be 1-%d and values at most %d characters", maxMetadataKey, maxMetadataValue)
		}
	}
	py := in.Payer
	if err := checkTexts(map[string]string{"description": in.Description, "merchant_order_id": in.MerchantOrderID,
		"return_url": in.ReturnURL, "country": in.Country, "terminal_id": in.TerminalID,
		"payer.client_ip": py.ClientIP, "payer.open_id": py.OpenID, "payer.app_id": py.AppID, "payer.buyer_id": py.BuyerID,
		"payer.auth_code": py.AuthCode, "payer.user_id": py.UserID, "payer.name": py.Name, "payer.email": py.Email,
		"payer.phone": py.Phone, "payer.country": py.Country, "payer.bank_code": py.BankCode, "payer.card_no": py.CardNo,
		"payer.card_mobile": py.CardMobile, "payer.token_id": py.TokenID}); err != nil {
		return err
	}
	for k, v := range in.Metadata {
		if err := checkTexts(map[string]string{"metadata": k, "metadata." + k: v}); err != nil {
			return err
		}
	}
	if in.ExpireSeconds < 0 {
		return bad("expire_seconds", "expire_seconds must not be negative")
	}
	if m := core.Method(in.Method); m.Barcode() && in.Payer.AuthCode == "" {
		return bad("payer.auth_code", "%s needs the payer's code", in.Method)
	}
	return nil
}

// CreatePayment creates a payment: one decision, the first channel that
// takes it, every attempt recorded. A payment a provider declined is
// returned with status failed; one whose outcome is unknown (sent, no
// answer) with status processing and pending_reason unknown_outcome, to be
// settled by notification or query.
func (h *Host) CreatePayment(ctx context.Context, in CreatePaymentInput) (*Payment, error) {
	if _, err := h.grantOf(in.Tenant); err != nil {
		return nil, err
	}
	if err := validatePaymentInput(&in); err != nil {
		return nil, err
	}
	hashed := in // the payer's secrets stay out of the stored request hash
	hashed.Payer.AuthCode, hashed.Payer.CardNo, hashed.Payer.CardMobile = "", "", ""
	out, err := idempotent(ctx, h, in.Tenant, in.IdempotencyKey, string(core.OpPaymentCreate), hashed,
		func(ctx context.Context, resumeID string, link func() *store.IdemLink) (*Payment, error) {
			if resumeID != "" {
				p, err := h.resumePayment(ctx, resumeID, in)
				return p, err
			}
			p, err := h.createPayment(ctx, in, link)
			return p, err
		})
	return out, err
}

func (h *Host) decide(ctx context.Context, tx core.Transaction) (core.Decision, error) {
	box := h.decider.Load()
	if box == nil {
		return core.Decision{}, core.Errorf(core.CodeInternal, "no ruleset is loaded")
	}
	d, err := box.d.Decide(ctx, tx)
	if err != nil {
		return core.Decision{}, err
	}
	if err := d.Check(); err != nil {
		return core.Decision{}, err
	}
	return d, nil
}

func (h *Host) createPayment(ctx context.Context, in CreatePaymentInput, link func() *store.IdemLink) (*Payment, error) {
	now := h.now()
	id := newID("pay_", now)
	tx := core.Transaction{PaymentID: id, Amount: in.Amount, Currency: core.Currency(in.Currency), Method: core.Method(in.Method),
		MerchantID: in.MerchantID, MerchantTags: in.MerchantTags, Country: in.Country, TerminalID: in.TerminalID,
		Time: now, Metadata: in.Metadata}
	d, err := h.decide(ctx, tx)
	if err != nil {
		return nil, err
	}
	// Only the tenant's accounts take its payments; the decision it keeps
	// (and sees) names no other account.
	d.Channels = h.tenantChannels(in.Tenant, d.Channels)
	channels, err := h.paymentChannels(ctx, in, d)
	if err != nil {
		return nil, err
	}
	// Take the first channel that may be called now before anything is
	// stored: when circuit breakers leave no channel, nothing can reach a
	// provider, so nothing is stored and the key stays free (circuit_open,
	// retryable, with Retry-After) rather than a failed payment.
	first, adm, passed, err := h.admitFirst(channels)
	if err != nil {
		return nil, err
	}
	defer adm.giveBack(h)
	decision, err := json.Marshal(d)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "encode decision")
	}
	sp := &store.Payment{ID: id, Tenant: in.Tenant, MerchantOrderID: in.MerchantOrderID, IdempotencyKey: in.IdempotencyKey,
		Amount: in.Amount, Currency: string(in.Currency), Method: string(in.Method), Description: in.Description, Metadata: in.Metadata,
		Status: string(core.PaymentCreated), Decision: decision, TerminalID: in.TerminalID, CreatedAt: now, UpdatedAt: now,
		NextPollAt: now.Add(h.cfg.IdempotencyLease)} // settles a create cut short by a crash, after any live one is over
	if _, err := h.channelAccount(channels[first]); err == nil {
		// the channel about to be called is stored with the payment (one
		// statement less; tryCreate sees it is noted already)
		sp.Plugin, sp.Account, sp.ChannelMethod = channelFields(sp, channels[first])
	}
	sp.Link = link()
	if err := h.store.InsertPayment(ctx, sp); err != nil {
		if errors.Is(err, store.ErrTakenOver) {
			return nil, errTakenOver
		}
		if errors.Is(err, store.ErrDuplicate) {
			return nil, &core.Error{Code: core.CodeDuplicate, Param: "merchant_order_id",
				Message: "merchant_order_id " + in.MerchantOrderID + " is already used by another payment"}
		}
		return nil, core.WrapError(core.CodeInternal, err, "store payment")
	}
	return h.sendAdmitted(ctx, sp, in, d, channels, first, adm, passed)
}

// paymentChannels are the channels of a decision that may take the
// payment: its own method, or a provider's hosted checkout (a rule may
// fall back to one on purpose: the payer then picks the wallet there); a
// channel of another method is never offered. A device payment goes only
// to its terminal's account.
func (h *Host) paymentChannels(ctx context.Context, in CreatePaymentInput, d core.Decision) ([]core.Channel, error) {
	var channels []core.Channel
	for _, c := range d.Channels {
		if c.Method == core.Method(in.Method) || c.Method == core.MethodCashier {
			channels = append(channels, c)
		}
	}
	if len(channels) == 0 {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "method",
			Message: fmt.Sprintf("no channel takes %s in %s", in.Method, in.Currency)}
	}
	if in.TerminalID != "" {
		return h.terminalChannels(ctx, in.Tenant, in.TerminalID, channels)
	}
	return channels, nil
}

// sendPayment offers a stored payment to its channels in order until one
// takes it or refuses for good; when every channel refused before anything
// reached a provider, the payment failed. The circuit breakers are asked
// first (admitFirst): when they leave no channel, nothing is sent and
// nothing changes (circuit_open, retryable).
func (h *Host) sendPayment(ctx context.Context, sp *store.Payment, in CreatePaymentInput, d core.Decision, channels []core.Channel) (*Payment, error) {
	first, adm, passed, err := h.admitFirst(channels)
	if err != nil {
		return nil, err
	}
	defer adm.giveBack(h)
	return h.sendAdmitted(ctx, sp, in, d, channels, first, adm, passed)
}

// sendAdmitted is sendPayment once the circuit breakers admitted
// channels[first] (adm) and refused the channels before it (passed).
func (h *Host) sendAdmitted(ctx context.Context, sp *store.Payment, in CreatePaymentInput, d core.Decision, channels []core.Channel,
	first int, adm *admission, passed []passedChannel) (*Payment, error) {
	req := core.CreatePaymentRequest{PaymentID: sp.ID, Amount: sp.Amount, Currency: core.Currency(sp.Currency),
		Subject: firstNonEmpty(in.Description, in.MerchantOrderID, sp.ID), Description: in.Description, Payer: in.Payer,
		ReturnURL: in.ReturnURL, ExpireSeconds: in.ExpireSeconds, CreatedAt: sp.CreatedAt, Metadata: in.Metadata,
		Split: splitInstruction(d)}
	if in.TerminalID != "" {
		req.Terminal = &core.TerminalInfo{ID: in.TerminalID}
	}
	var last error
	for _, r := range passed {
		h.recordAttempt(ctx, sp.ID, core.OpPaymentCreate, r.c, r.err, 0)
		last = r.err
	}
	for i, c := range channels[first:] {
		var a *admission
		if i == 0 {
			a = adm
		}
		done, p, err := h.tryCreate(ctx, sp, c, req, a)
		if done {
			return p, err
		}
		h.log.Info("channel refused the payment; trying the next", "payment", sp.ID, "channel", c.String(), "code", core.CodeOf(err))
		last = err
	}
	// every channel refused before anything could happen at a provider
	ce := core.AsError(last)
	failed, err := h.movePayment(ctx, sp, core.PaymentFailed, "api", ce.Message, store.PaymentUpdate{
		FailureCode: ptr(string(ce.Code)), FailureMessage: ptr(failureText(ce)), ProviderCode: ptr(ce.ProviderCode),
		NextPollAt: ptr(time.Time{})})
	if err != nil {
		return nil, err
	}
	return h.toAPI(ctx, failed, false)
}

// splitInstruction tells the provider to hold a payment's funds for a
// split (split mode manual) when the rules decided one. The engine itself
// executes the rules' split after success (mode auto, and inline until a
// plugin takes parts with the payment) or waits for the API (manual), with
// the rules' exact amounts mapped to the provider's receivers — so the
// provider's own automatic split (e.g. Jeepay divisionMode 1, with its
// receivers' default ratios) is never used.
func splitInstruction(d core.Decision) *core.SplitInstruction {
	if !hasSplitShares(d) {
		return nil
	}
	switch d.SplitMode {
	case core.SplitAuto, core.SplitManual, core.SplitInline:
		return &core.SplitInstruction{Mode: core.SplitManual}
	}
	return nil
}

// hasSplitShares says whether a decision splits anything off the merchant.
func hasSplitShares(d core.Decision) bool {
	for _, s := range d.Splits {
		if s.Receiver != core.MerchantReceiver && s.Amount > 0 {
			return true
		}
	}
	return false
}

// tryCreate offers the payment to one channel. done=false means the channel
// refused in a way that is safe to try elsewhere. adm is the channel's
// circuit admission when admitFirst took it; nil asks the circuit now.
func (h *Host) tryCreate(ctx context.Context, sp *store.Payment, c core.Channel, req core.CreatePaymentRequest, adm *admission) (bool, *Payment, error) {
	acct, unavailable := h.channelAccount(c)
	if unavailable != nil {
		h.recordAttempt(ctx, sp.ID, core.OpPaymentCreate, c, unavailable, 0)
		return false, nil, unavailable
	}
	if adm == nil {
		if adm = h.admit(c); adm == nil {
			err := h.circuitOpenError(c)
			h.recordAttempt(ctx, sp.ID, core.OpPaymentCreate, c, err, 0)
			return false, nil, err
		}
	}
	defer adm.giveBack(h) // unless the call is made
	// note the channel before calling it: after a crash the poller knows whom to ask
	plugin, account, chMethod := channelFields(sp, c)
	if sp.Plugin != plugin || sp.Account != account || sp.ChannelMethod != chMethod {
		cur, err := h.movePayment(ctx, sp, "", "api", "", store.PaymentUpdate{Plugin: ptr(plugin), Account: ptr(account), ChannelMethod: ptr(chMethod)})
		if err != nil {
			return true, nil, err
		}
		*sp = *cur
	}
	if sp.Status != string(core.PaymentCreated) {
		// settled meanwhile (closed, or failed by a poller after a takeover): do not send
		out, aerr := h.toAPI(ctx, sp, false)
		return true, out, aerr
	}
	req.Method = c.Method
	req.NotifyURL = h.notifyURL(c.Account)
	adm.done = true // the call's outcome, recorded, ends a probe
	resp, err := callPlugin[core.CreatePaymentResponse](ctx, h, acct, c, core.OpPaymentCreate, sp.ID, &req)
	if err != nil {
		ce := core.AsError(err)
		switch classify(ce.Code) {
		case nothingHappened:
			return false, nil, err
		case outcomeUnknown:
			msg := unknownOutcomeText(ce)
			p, merr := h.movePayment(ctx, sp, core.PaymentProcessing, "provider_response", msg, store.PaymentUpdate{
				FailureCode: ptr(string(core.CodeUnknownOutcome)), FailureMessage: ptr(msg),
				NextPollAt: ptr(h.now().Add(h.cfg.Poll.First))})
			if merr != nil {
				return true, nil, merr
			}
			out, aerr := h.toAPI(ctx, p, false)
			return true, out, aerr
		default:
			p, merr := h.movePayment(ctx, sp, core.PaymentFailed, "provider_response", ce.Message, store.PaymentUpdate{
				FailureCode: ptr(string(ce.Code)), FailureMessage: ptr(failureText(ce)), ProviderCode: ptr(ce.ProviderCode),
				NextPollAt: ptr(time.Time{})})
			if merr != nil {
				return true, nil, merr
			}
			out, aerr := h.toAPI(ctx, p, false)
			return true, out, aerr
		}
	}
	p, err := h.applyPayment(ctx, sp, resp.Payment, "provider_response")
	if err != nil {
		return true, nil, err
	}
	out, err := h.toAPI(ctx, p, false)
	return true, out, err
}

// channelFields are the payment's columns that name channel c: its plugin,
// its account, and its method when it differs from the payment's.
func channelFields(sp *store.Payment, c core.Channel) (plugin, account, method string) {
	if string(c.Method) != sp.Method {
		method = string(c.Method)
	}
	return c.Plugin, c.Account, method
}

// canonicalFailure splits a failure code a provider reported into the
// canonical code and the provider's own: a canonical code passes through,
// anything else is a decline with the provider's code kept beside it.
func canonicalFailure(reported string) (core.Code, string) {
	if c := core.Code(reported); c.Valid() {
		return c, ""
	}
	return core.CodeDeclined, reported
}

func failureText(ce *core.Error) string {
	if ce.ProviderMessage != "" && ce.ProviderMessage != ce.Message {
		return ce.Message + " (" + ce.ProviderMessage + ")"
	}
	return ce.Message
}

// channelAccount finds the account serving c, or an error that is safe to
// fail over from.
func (h *Host) channelAccount(c core.Channel) (*account, error) {
	if h.offline[c] {
		return nil, &core.Error{Code: core.CodeProviderUnavailable, Provider: c.Plugin,
			Message: "no plugin serves " + c.String() + " on this host"}
	}
	a, ok := h.accounts[c.Account]
	if !ok || a.plugin.Manifest().Name != c.Plugin || !a.methods[c.Method] {
		return nil, &core.Error{Code: core.CodeUnsupported, Provider: c.Plugin, Message: "channel " + c.String() + " is not configured"}
	}
	return a, nil
}

// applyPayment moves a stored payment to what the provider reported.
func (h *Host) applyPayment(ctx context.Context, sp *store.Payment, got core.Payment, source string) (*store.Payment, error) {
	upd := store.PaymentUpdate{}
	if got.ProviderID != "" {
		upd.ProviderID = ptr(got.ProviderID)
	}
	if got.ChannelTradeNo != "" {
		upd.ChannelTradeNo = ptr(got.ChannelTradeNo)
	}
	if got.PayInfo != nil {
		if b, err := json.Marshal(got.PayInfo); err == nil {
			upd.PayInfo = b
		}
	}
	if got.FeeAmount != 0 {
		upd.FeeAmount = ptr(got.FeeAmount)
	}
	upd.ProviderData = got.ProviderData
	to := got.Status
	switch to {
	case core.PaymentSucceeded:
		paid := got.PaidAt
		if paid.IsZero() {
			paid = h.now()
		}
		upd.PaidAt = ptr(paid)
		if sp.Status != string(core.PaymentSucceeded) {
			if d, err := decisionOf(sp); err == nil && hasSplitShares(d) && (d.SplitMode == core.SplitAuto || d.SplitMode == core.SplitInline) {
				upd.SplitDueAt = ptr(h.now().Add(h.cfg.SplitDelay)) // the poller executes the rules' split
			}
		}
		upd.FailureCode, upd.FailureMessage, upd.ProviderCode = ptr(""), ptr(""), ptr("")
		upd.NextPollAt = ptr(time.Time{})
	case core.PaymentFailed, core.PaymentClosed, core.PaymentReversed:
		if got.FailureCode != "" || got.FailureMessage != "" || to == core.PaymentFailed {
			code, provider := canonicalFailure(got.FailureCode)
			upd.FailureCode, upd.FailureMessage, upd.ProviderCode = ptr(string(code)), ptr(got.FailureMessage), ptr(provider)
		}
		upd.NextPollAt = ptr(time.Time{})
	case core.PaymentCreated, core.PaymentProcessing:
		if sp.FailureCode == string(core.CodeUnknownOutcome) {
			upd.FailureCode, upd.FailureMessage = ptr(""), ptr("") // the provider answered after all
		}
		if sp.NextPollAt.IsZero() || source == "provider_response" {
			upd.NextPollAt = ptr(h.now().Add(h.cfg.Poll.First))
		}
	default:
		return nil, core.Errorf(core.CodePluginFailure, "plugin reported unknown payment status %q", to)
	}
	if got.Amount != 0 && got.Amount != sp.Amount {
		return h.amountMismatch(ctx, sp, got.Amount, source)
	}
	return h.movePayment(ctx, sp, to, source, "", upd)
}

// amountMismatch refuses a report about a different amount than was
// created: recorded, not applied, left for a person to look at.
func (h *Host) amountMismatch(ctx context.Context, sp *store.Payment, got int64, source string) (*store.Payment, error) {
	detail := fmt.Sprintf("provider reports amount %d, payment has %d", got, sp.Amount)
	h.incident(ctx, IncidentAmountMismatch, sp.ID, source+": "+detail)
	_ = h.store.InsertTransition(context.WithoutCancel(ctx), &store.Transition{ObjectType: "payment", ObjectID: sp.ID,
		From: sp.Status, To: sp.Status, Source: source, Applied: false, Detail: detail, CreatedAt: h.now()})
	return sp, nil
}

// movePayment changes a payment, moving its status to `to` when allowed.
// Every update is conditional on the status it was decided on; a
// concurrent change is re-read and the move re-checked. ProviderData in upd
// is a patch, merged into the stored map on each try. A backwards move or
// one out of a terminal state is recorded and ignored, but fills in
// provider references still missing; a success reported for a failed or
// closed payment is an incident.
func (h *Host) movePayment(ctx context.Context, cur *store.Payment, to core.PaymentStatus, source, detail string, upd store.PaymentUpdate) (*store.Payment, error) {
	return move(ctx, h, statusChange[store.Payment]{
		kind: "payment", machine: core.MachinePayment, render: h.paymentEventData, reload: h.store.GetPayment,
		lateSuccess: map[string]bool{string(core.PaymentFailed): true, string(core.PaymentClosed): true},
		noRetry:     upd.RequireNoChannel,
		state:       func(p *store.Payment) (string, string, map[string]string) { return p.ID, p.Status, p.ProviderData },
		apply: func(ctx context.Context, from, to string, data map[string]string, ev *store.EventSpec) (*store.Payment, error) {
			u := upd
			u.ID, u.Now, u.From, u.To, u.ProviderData, u.Event = cur.ID, h.now(), from, to, data, ev
			return h.store.UpdatePayment(ctx, u)
		},
		refused: func(ctx context.Context, p *store.Payment) *store.Payment { return h.fillPayment(ctx, p, upd) },
	}, cur, string(to), source, detail, upd.ProviderData)
}

// fillPayment records provider references a refused report carried and the
// payment still lacks; it returns the payment as it now is.
func (h *Host) fillPayment(ctx context.Context, cur *store.Payment, upd store.PaymentUpdate) *store.Payment {
	fill := store.PaymentUpdate{ID: cur.ID, From: cur.Status, Now: h.now()}
	changed := false
	if cur.ProviderID == "" && upd.ProviderID != nil && *upd.ProviderID != "" {
		fill.ProviderID, changed = upd.ProviderID, true
	}
	if cur.ChannelTradeNo == "" && upd.ChannelTradeNo != nil && *upd.ChannelTradeNo != "" {
		fill.ChannelTradeNo, changed = upd.ChannelTradeNo, true
	}
	if len(cur.PayInfo) == 0 && len(upd.PayInfo) > 0 {
		fill.PayInfo, changed = upd.PayInfo, true
	}
	if !changed {
		return cur
	}
	p, err := h.store.UpdatePayment(context.WithoutCancel(ctx), fill)
	if err != nil {
		h.log.Warn("fill provider references", "payment", cur.ID, "err", err)
		return cur
	}
	return p
}

// resumePayment answers a retry that took over a key whose owner crashed:
// the payment exists, so settle it by query rather than create it again.
// resumePayment answers a retry that took over the key of a create whose
// first owner stopped (a crash): it finishes the work rather than answer a
// payment that can never be paid. A payment that no channel was chosen for
// is offered to its channels now; one whose channel the provider says it
// never received is sent again with the same id (the provider's order
// number), from the same channel on; one whose fate the query cannot tell
// is processing with an unknown outcome, settled by the poller.
func (h *Host) resumePayment(ctx context.Context, id string, in CreatePaymentInput) (*Payment, error) {
	sp, err := h.store.GetPayment(ctx, id)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load payment")
	}
	if sp.Status == string(core.PaymentCreated) {
		var d core.Decision
		if err := json.Unmarshal(sp.Decision, &d); err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "decode decision")
		}
		channels, err := h.paymentChannels(ctx, in, d)
		if err != nil {
			return nil, err
		}
		if sp.Plugin == "" {
			h.log.Info("resuming a create stopped before any channel was called", "payment", sp.ID)
			return h.sendPayment(ctx, sp, in, d, channels)
		}
		after, err := h.refreshPayment(ctx, sp, "query")
		switch {
		case err == nil:
			sp = after
		case core.CodeOf(err) == core.CodeNotFound && sp.ProviderID == "":
			recorded := core.Channel{Plugin: sp.Plugin, Account: sp.Account, Method: channelMethod(sp)}
			for i, c := range channels {
				if c == recorded {
					h.log.Info("resuming a create the provider never received", "payment", sp.ID, "channel", c.String())
					return h.sendPayment(ctx, sp, in, d, channels[i:])
				}
			}
		default:
			msg := unknownOutcomeText(core.AsError(err))
			if p, merr := h.movePayment(ctx, sp, core.PaymentProcessing, "query", msg, store.PaymentUpdate{
				FailureCode: ptr(string(core.CodeUnknownOutcome)), FailureMessage: ptr(msg),
				NextPollAt: ptr(h.now().Add(h.cfg.Poll.First))}); merr == nil {
				sp = p
			}
		}
	} else if sp.Plugin != "" && !core.PaymentStatus(sp.Status).Terminal() {
		if p, err := h.refreshPayment(ctx, sp, "poll"); err == nil {
			sp = p
		}
	}
	return h.toAPI(ctx, sp, false)
}

// GetPayment returns a payment of the tenant, with its refunds; refresh
// asks the provider first.
func (h *Host) GetPayment(ctx context.Context, tenant, id string, opts ...GetOption) (*Payment, error) {
	o := getOptionsOf(opts)
	sp, err := h.tenantPayment(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if o.refresh && sp.Plugin != "" {
		if sp, err = h.refreshPayment(ctx, sp, "query"); err != nil {
			return nil, err
		}
	}
	return h.toAPI(ctx, sp, true)
}

func (h *Host) tenantPayment(ctx context.Context, tenant, id string) (*store.Payment, error) {
	sp, err := h.store.GetPayment(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sp.Tenant != tenant) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no payment " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load payment")
	}
	return sp, nil
}

func (h *Host) paymentRef(sp *store.Payment) core.PaymentRef {
	return core.PaymentRef{ID: sp.ID, ProviderID: sp.ProviderID, Amount: sp.Amount, Currency: core.Currency(sp.Currency),
		Method: channelMethod(sp), CreatedAt: sp.CreatedAt, ProviderData: sp.ProviderData}
}

func (h *Host) paymentChannel(sp *store.Payment) (core.Channel, *account, error) {
	c := core.Channel{Plugin: sp.Plugin, Account: sp.Account, Method: channelMethod(sp)}
	a, ok := h.accounts[sp.Account]
	if !ok {
		return c, nil, &core.Error{Code: core.CodeProviderUnavailable, Message: "account " + sp.Account + " is not configured on this host"}
	}
	return c, a, nil
}

// refreshPayment queries the provider and applies the answer.
func (h *Host) refreshPayment(ctx context.Context, sp *store.Payment, source string) (*store.Payment, error) {
	c, a, err := h.paymentChannel(sp)
	if err != nil {
		return nil, err
	}
	resp, err := callPlugin[core.QueryPaymentResponse](ctx, h, a, c, core.OpPaymentQuery, sp.ID, &core.QueryPaymentRequest{Payment: h.paymentRef(sp)})
	if err != nil {
		return nil, err
	}
	return h.applyPayment(ctx, sp, resp.Payment, source)
}

// ClosePayment closes an unpaid payment at the provider.
func (h *Host) ClosePayment(ctx context.Context, tenant, id, idempotencyKey string) (*Payment, error) {
	sp, err := h.tenantPayment(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	out, err := idempotent(ctx, h, tenant, idempotencyKey, "payment.close:"+id, struct{}{},
		func(ctx context.Context, _ string, _ func() *store.IdemLink) (*Payment, error) {
			p, err := h.closePayment(ctx, sp)
			return p, err
		})
	return out, err
}

func (h *Host) closePayment(ctx context.Context, sp *store.Payment) (*Payment, error) {
	switch core.PaymentStatus(sp.Status) {
	case core.PaymentCreated, core.PaymentProcessing:
	case core.PaymentClosed:
		return h.toAPI(ctx, sp, true)
	default:
		return nil, &core.Error{Code: core.CodeConflict, Message: "a " + sp.Status + " payment cannot be closed"}
	}
	if sp.Plugin == "" {
		// never offered to a provider, unless a create does so right now
		p, err := h.movePayment(ctx, sp, core.PaymentClosed, "api", "closed before any provider took it",
			store.PaymentUpdate{NextPollAt: ptr(time.Time{}), RequireNoChannel: true})
		if err == nil {
			return h.toAPI(ctx, p, true)
		}
		if core.CodeOf(err) != core.CodeConflict {
			return nil, err
		}
		if sp, err = h.store.GetPayment(ctx, sp.ID); err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "reload payment")
		}
		if s := core.PaymentStatus(sp.Status); sp.Plugin == "" || (s != core.PaymentCreated && s != core.PaymentProcessing) {
			return nil, &core.Error{Code: core.CodeConflict, Message: "the payment changed while closing; it is " + sp.Status}
		}
	}
	c, a, err := h.paymentChannel(sp)
	if err != nil {
		return nil, err
	}
	resp, err := callPlugin[core.ClosePaymentResponse](ctx, h, a, c, core.OpPaymentClose, sp.ID, &core.ClosePaymentRequest{Payment: h.paymentRef(sp), CreatedAt: h.now()})
	if err != nil {
		if core.CodeOf(err) == core.CodeConflict {
			// the provider knows better: learn the real state
			_, _ = h.refreshPayment(ctx, sp, "query")
		}
		return nil, err
	}
	closed := resp.Payment
	if closed.Status == "" {
		closed.Status = core.PaymentClosed
	}
	closed.Amount = 0 // a close answer need not repeat the amount
	p, err := h.applyPayment(ctx, sp, closed, "provider_response")
	if err != nil {
		return nil, err
	}
	return h.toAPI(ctx, p, true)
}

// channelMethod is the method of the channel that took the payment.
func channelMethod(sp *store.Payment) core.Method {
	if sp.ChannelMethod != "" {
		return core.Method(sp.ChannelMethod)
	}
	return core.Method(sp.Method)
}
