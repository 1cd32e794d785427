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

// A merchant request is one asynchronous call about an opened merchant:
// a channel activation (one item per channel), a real-name authentication
// (one item per wallet) or a settlement account change (no items). Items
// and requests move through the onboarding machine; approved and rejected
// are final for them (a change is a new request). A request's status
// follows its items: approved when all are, rejected when all are settled
// and one was refused, needs_info while one waits for someone (a QR code
// to scan), else reviewing.

// requestFinal says whether a request (or item) status is final.
func requestFinal(s string) bool {
	return s == string(core.OnboardingApproved) || s == string(core.OnboardingRejected)
}

// refusal says why a request or item may not move from → to ("" when it may).
func refusal(from, to string) string {
	if err := core.CheckTransition(core.MachineOnboarding, from, to); err != nil {
		return err.Error()
	}
	if requestFinal(from) {
		return "a " + from + " request is final"
	}
	return ""
}

// itemReport is what the provider said about one item; nil fields are
// not reported (left as they are).
type itemReport struct {
	name            string
	status          core.OnboardingStatus
	message         *string
	subMerchantCode *string
	qrCode          *string
	applyState      *string
	authorizeState  *string
}

// requestReport is what the provider said about a request.
type requestReport struct {
	status         core.OnboardingStatus // overall, used when there are no items
	items          []itemReport
	message        *string
	accountID      string
	failureCode    string
	failureMessage string
}

// requestSpec is one kind of request: what to send and how to read the answer.
type requestSpec struct {
	kind   string
	op     core.Op
	params requestParams
	items  []string // initial items
	send   func(ctx context.Context, a *account, c core.Channel, sm *store.Merchant, sr *store.MerchantRequest) (requestReport, error)
}

// ActivateMerchantChannels opens (or, with Modify, changes) payment channels
// of an opened merchant at its provider. The request and each channel are
// returned submitted and settle by notification or query; a provider that
// refuses the request leaves it rejected with the failure.
func (h *Host) ActivateMerchantChannels(ctx context.Context, in ActivateMerchantChannelsInput) (*Merchant, error) {
	if !in.Modify && len(in.Channels) == 0 {
		return nil, bad("channels", "channels is required: at least one channel to activate")
	}
	if len(in.Channels) > maxChannels {
		return nil, bad("channels", "at most %d channels", maxChannels)
	}
	seen := map[string]bool{}
	for i, ch := range in.Channels {
		if ch.Channel == "" {
			return nil, bad(fmt.Sprintf("channels[%d].channel", i), "channels[%d].channel is required", i)
		}
		if seen[ch.Channel] {
			return nil, bad("channels", "channel %s is listed twice", ch.Channel)
		}
		seen[ch.Channel] = true
		if ch.RatePPM < 0 || ch.RatePPM >= core.PPM {
			return nil, bad(fmt.Sprintf("channels[%d].rate_ppm", i), "rate_ppm must be in [0, 1000000)")
		}
	}
	if err := checkExtra("extra", in.Extra); err != nil {
		return nil, err
	}
	if err := checkOnboardingText("", in); err != nil {
		return nil, err
	}
	spec := requestSpec{kind: store.RequestChannels, op: core.OpOnboardingActivateChannel,
		params: requestParams{Channels: in.Channels, Category: in.Category, Modify: in.Modify}}
	for _, ch := range in.Channels {
		spec.items = append(spec.items, ch.Channel)
	}
	spec.send = func(ctx context.Context, a *account, c core.Channel, sm *store.Merchant, sr *store.MerchantRequest) (requestReport, error) {
		resp, err := callPlugin[core.ActivateChannelResponse](ctx, h, a, c, core.OpOnboardingActivateChannel, sr.ID, &core.ActivateChannelRequest{
			RequestID: sr.ID, ProviderID: sm.ProviderID, Channels: in.Channels, Category: in.Category, Modify: in.Modify,
			NotifyURL: h.notifyURL(sm.Account), Extra: in.Extra, CreatedAt: sr.CreatedAt})
		if err != nil {
			return requestReport{}, err
		}
		return channelReport(resp.Status, resp.Channels, resp.Message), nil
	}
	return h.createRequest(ctx, in.Tenant, in.IdempotencyKey, in.MerchantID, in, spec)
}

func channelReport(status core.OnboardingStatus, states []core.ChannelState, message string) requestReport {
	rep := requestReport{status: status}
	if message != "" {
		rep.message = ptr(message)
	}
	for _, st := range states {
		it := itemReport{name: st.Channel, status: st.Status, message: ptr(st.Message)}
		if st.SubMerchantCode != "" {
			it.subMerchantCode = ptr(st.SubMerchantCode)
		}
		rep.items = append(rep.items, it)
	}
	return rep
}

func realNameReport(states []core.RealNameState, full bool) requestReport {
	var rep requestReport
	for _, st := range states {
		it := itemReport{name: st.Wallet, status: st.Status, message: ptr(st.FailureReason)}
		if full || st.QRCode != "" {
			it.qrCode = ptr(st.QRCode)
		}
		if full || st.ApplyState != "" {
			it.applyState = ptr(st.ApplyState)
		}
		if full || st.AuthorizeState != "" {
			it.authorizeState = ptr(st.AuthorizeState)
		}
		rep.items = append(rep.items, it)
	}
	return rep
}

var wallets = map[string][]string{"wechat": {"wechat"}, "alipay": {"alipay"}, "all": {"wechat", "alipay"}}

// RequestRealName applies for WeChat/Alipay real-name authentication of an
// opened merchant. Each wallet goes through review to needs_info, where
// its item carries the QR code the merchant's contact scans to confirm,
// and then to approved (or rejected).
func (h *Host) RequestRealName(ctx context.Context, in RealNameInput) (*Merchant, error) {
	if _, ok := wallets[in.Wallet]; !ok {
		return nil, bad("wallet", "wallet is required: wechat, alipay or all")
	}
	if in.ContactType != "legal" && in.ContactType != "agent" {
		return nil, bad("contact_type", "contact_type is required: legal (the legal person) or agent (an authorised contact)")
	}
	if err := checkExtra("extra", in.Extra); err != nil {
		return nil, err
	}
	if err := checkOnboardingText("", in); err != nil {
		return nil, err
	}
	sm, err := h.tenantMerchant(ctx, in.Tenant, in.MerchantID)
	if err != nil {
		return nil, err
	}
	docs, err := h.pickDocuments(ctx, sm.ID, in.Documents)
	if err != nil {
		return nil, err
	}
	spec := requestSpec{kind: store.RequestRealName, op: core.OpOnboardingRealName, items: wallets[in.Wallet],
		params: requestParams{Wallet: in.Wallet, ContactType: in.ContactType, Documents: in.Documents}}
	spec.send = func(ctx context.Context, a *account, c core.Channel, sm *store.Merchant, sr *store.MerchantRequest) (requestReport, error) {
		resp, err := callPlugin[core.RealNameResponse](ctx, h, a, c, core.OpOnboardingRealName, sr.ID, &core.RealNameRequest{
			RequestID: sr.ID, ProviderID: sm.ProviderID, Wallet: in.Wallet, ContactType: in.ContactType, Contact: in.Contact,
			Documents: documentMap(docs), NotifyURL: h.notifyURL(sm.Account), Extra: in.Extra, CreatedAt: sr.CreatedAt})
		if err != nil {
			return requestReport{}, err
		}
		return realNameReport(resp.States, false), nil
	}
	hashed := in
	hashed.Contact, hashed.Extra = maskPerson(in.Contact), maskExtra(in.Extra)
	return h.createRequest(ctx, in.Tenant, in.IdempotencyKey, in.MerchantID, hashed, spec)
}

// ChangeSettlementAccount changes the bank account an opened merchant is
// settled to. It settles by notification (Adapay offers no query of it).
func (h *Host) ChangeSettlementAccount(ctx context.Context, in SettlementAccountInput) (*Merchant, error) {
	switch {
	case in.Account.Number == "":
		return nil, bad("account.number", "account.number is required")
	case in.Account.Type != "" && in.Account.Type != "corporate" && in.Account.Type != "personal":
		return nil, bad("account.type", "account.type is corporate or personal")
	}
	if err := checkExtra("extra", in.Extra); err != nil {
		return nil, err
	}
	if err := checkOnboardingText("", in); err != nil {
		return nil, err
	}
	masked := maskAccount(in.Account)
	spec := requestSpec{kind: store.RequestSettlement, op: core.OpOnboardingSetSettlement, params: requestParams{Account: &masked}}
	spec.send = func(ctx context.Context, a *account, c core.Channel, sm *store.Merchant, sr *store.MerchantRequest) (requestReport, error) {
		resp, err := callPlugin[core.SetSettlementAccountResponse](ctx, h, a, c, core.OpOnboardingSetSettlement, sr.ID, &core.SetSettlementAccountRequest{
			RequestID: sr.ID, ProviderID: sm.ProviderID, Account: in.Account, NotifyURL: h.notifyURL(sm.Account), Extra: in.Extra,
			CreatedAt: sr.CreatedAt})
		if err != nil {
			return requestReport{}, err
		}
		rep := requestReport{status: resp.Status, accountID: resp.AccountID}
		if resp.Message != "" {
			rep.message = ptr(resp.Message)
		}
		return rep, nil
	}
	hashed := in
	hashed.Account, hashed.Extra = masked, maskExtra(in.Extra)
	return h.createRequest(ctx, in.Tenant, in.IdempotencyKey, in.MerchantID, hashed, spec)
}

// createRequest stores a request of a merchant, sends it and applies the
// answer, under the idempotency key.
func (h *Host) createRequest(ctx context.Context, tenant, key, merchantID string, hashed any, spec requestSpec) (*Merchant, error) {
	sm, err := h.tenantMerchant(ctx, tenant, merchantID)
	if err != nil {
		return nil, err
	}
	a, c, err := h.merchantAccount(sm)
	if err != nil {
		return nil, err
	}
	if !supports(a, spec.op) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: fmt.Sprintf("plugin %s does not offer %s", sm.Plugin, spec.op)}
	}
	if sm.ProviderID == "" {
		return nil, &core.Error{Code: core.CodeConflict, Message: fmt.Sprintf(
			"the provider has not opened merchant %s yet (status %s); this request needs an opened merchant", sm.ID, sm.Status)}
	}
	out, err := idempotent(ctx, h, tenant, key, "merchant."+spec.kind+":"+sm.ID, hashed,
		func(ctx context.Context, resumeID string, link func() *store.IdemLink) (*Merchant, error) {
			if resumeID != "" {
				if sr, err := h.store.GetMerchantRequest(ctx, resumeID); err == nil && !requestFinal(sr.Status) {
					_, _ = h.refreshRequest(ctx, sm, sr, "poll")
				}
			} else if err := h.sendRequest(ctx, a, c, sm, spec, tenant, key, link); err != nil {
				return nil, err
			}
			cur, err := h.store.GetMerchant(ctx, sm.ID)
			if err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "load merchant")
			}
			m, err := h.merchantToAPI(ctx, cur)
			return m, err
		})
	return out, err
}

func (h *Host) sendRequest(ctx context.Context, a *account, c core.Channel, sm *store.Merchant, spec requestSpec, tenant, key string, link func() *store.IdemLink) error {
	now := h.now()
	params, err := json.Marshal(spec.params)
	if err != nil {
		return core.WrapError(core.CodeInternal, err, "encode request")
	}
	sr := &store.MerchantRequest{ID: newID(requestPrefix, now), Tenant: tenant, MerchantID: sm.ID, Kind: spec.kind, IdempotencyKey: key,
		Status: string(core.OnboardingDraft), Params: params, CreatedAt: now, UpdatedAt: now,
		NextPollAt: now.Add(h.cfg.IdempotencyLease)} // settles a request cut short by a crash
	for _, name := range spec.items {
		sr.Items = append(sr.Items, store.MerchantRequestItem{Name: name, Status: string(core.OnboardingDraft), UpdatedAt: now})
	}
	sr.Link = link()
	if err := h.store.InsertMerchantRequest(ctx, sr); err != nil {
		if errors.Is(err, store.ErrTakenOver) {
			return errTakenOver
		}
		return core.WrapError(core.CodeInternal, err, "store merchant request")
	}
	h.log.Info("merchant request created", "merchant", sm.ID, "request", sr.ID, "kind", sr.Kind)
	rep, err := spec.send(ctx, a, c, sm, sr)
	if err != nil {
		ce := core.AsError(err)
		if onboardingUnknown(ce.Code) {
			msg := unknownOutcomeText(ce)
			_, err = h.moveRequest(ctx, sr, core.OnboardingSubmitted, "provider_response", msg, store.MerchantRequestUpdate{
				FailureCode: ptr(string(core.CodeUnknownOutcome)), FailureMessage: ptr(msg), ProviderCode: ptr(ce.ProviderCode),
				NextPollAt: ptr(h.now().Add(h.cfg.Poll.First))})
			return err
		}
		rep = requestReport{status: core.OnboardingRejected, failureCode: string(ce.Code), failureMessage: failureText(ce)}
		for _, it := range sr.Items {
			rep.items = append(rep.items, itemReport{name: it.Name, status: core.OnboardingRejected})
		}
		_, err = h.applyRequestReport(ctx, sr, rep, "provider_response", ce.ProviderCode)
		return err
	}
	// an answer says the request arrived: items still draft are submitted
	for _, it := range sr.Items {
		if !reported(rep.items, it.Name) {
			rep.items = append(rep.items, itemReport{name: it.Name, status: core.OnboardingSubmitted})
		}
	}
	if rep.status == "" || rep.status == core.OnboardingDraft {
		rep.status = core.OnboardingSubmitted
	}
	_, err = h.applyRequestReport(ctx, sr, rep, "provider_response", "")
	return err
}

func reported(items []itemReport, name string) bool {
	for _, it := range items {
		if it.name == name {
			return true
		}
	}
	return false
}

// aggregate is a request's status from its items.
func aggregate(items []store.MerchantRequestItem) core.OnboardingStatus {
	all := func(s core.OnboardingStatus) bool {
		for _, it := range items {
			if it.Status != string(s) {
				return false
			}
		}
		return true
	}
	settled, needs, reviewing := true, false, false
	for _, it := range items {
		switch core.OnboardingStatus(it.Status) {
		case core.OnboardingNeedsInfo:
			needs = true
		case core.OnboardingReviewing:
			reviewing = true
		}
		if !requestFinal(it.Status) {
			settled = false
		}
	}
	switch {
	case all(core.OnboardingApproved):
		return core.OnboardingApproved
	case settled:
		return core.OnboardingRejected
	case needs:
		return core.OnboardingNeedsInfo
	case reviewing:
		return core.OnboardingReviewing
	case all(core.OnboardingDraft):
		return core.OnboardingDraft
	}
	return core.OnboardingSubmitted
}

// applyRequestReport applies a provider's report to a request's items and
// then to the request itself.
func (h *Host) applyRequestReport(ctx context.Context, sr *store.MerchantRequest, rep requestReport, source, providerCode string) (*store.MerchantRequest, error) {
	cur := sr
	for _, it := range rep.items {
		if it.name == "" || !core.ValidStatus(core.MachineOnboarding, string(it.status)) {
			h.log.Warn("merchant request item report ignored", "request", sr.ID, "item", it.name, "status", it.status)
			continue
		}
		next, err := h.moveItem(ctx, cur, it, source)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	to := rep.status
	if len(cur.Items) > 0 {
		to = aggregate(cur.Items)
	}
	if !core.ValidStatus(core.MachineOnboarding, string(to)) {
		return nil, core.Errorf(core.CodePluginFailure, "plugin reported unknown onboarding status %q", to)
	}
	u := store.MerchantRequestUpdate{Message: rep.message}
	if rep.accountID != "" {
		u.AccountID = ptr(rep.accountID)
	}
	switch {
	case requestFinal(string(to)):
		u.NextPollAt = ptr(time.Time{})
		if to == core.OnboardingRejected {
			code, provider := canonicalFailure(firstNonEmpty(rep.failureCode, string(core.CodeDeclined)))
			msg := rep.failureMessage
			for _, it := range cur.Items {
				if msg == "" && it.Status == string(core.OnboardingRejected) && it.Message != "" {
					msg = it.Name + ": " + it.Message
				}
			}
			u.FailureCode, u.FailureMessage, u.ProviderCode = ptr(string(code)), ptr(msg), ptr(firstNonEmpty(providerCode, provider))
		} else {
			u.FailureCode, u.FailureMessage, u.ProviderCode = ptr(""), ptr(""), ptr("")
		}
	default:
		if cur.FailureCode == string(core.CodeUnknownOutcome) && to != core.OnboardingDraft {
			u.FailureCode, u.FailureMessage, u.ProviderCode = ptr(""), ptr(""), ptr("") // the provider answered after all
		}
		if cur.NextPollAt.IsZero() || source == "provider_response" {
			u.NextPollAt = ptr(h.now().Add(h.cfg.Poll.First))
		}
	}
	return h.moveRequest(ctx, cur, to, source, "", u)
}

// moveRequest changes a request, moving its status when the machine allows
// it and the request is not final; conditional on the status it was
// decided on, re-read and re-checked after a concurrent change.
func (h *Host) moveRequest(ctx context.Context, cur *store.MerchantRequest, to core.OnboardingStatus, source, detail string, upd store.MerchantRequestUpdate) (*store.MerchantRequest, error) {
	for attempt := 0; ; attempt++ {
		u := upd
		u.ID, u.Now, u.From = cur.ID, h.now(), cur.Status
		moving := to != "" && string(to) != cur.Status
		if moving {
			if why := refusal(cur.Status, string(to)); why != "" {
				h.refusedTransition(ctx, "merchant_request", cur.ID, cur.Status, string(to), source, why)
				return cur, nil
			}
			u.To = string(to)
			u.Event = h.onboardingEvent("merchant."+cur.Kind+"."+string(to), requestEventData)
		}
		r, err := h.store.UpdateMerchantRequest(ctx, u)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			if cur, err = h.store.GetMerchantRequest(ctx, cur.ID); err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "reload merchant request")
			}
			continue
		}
		if err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "update merchant request")
		}
		if moving {
			h.appliedTransition(ctx, "merchant_request", cur.ID, cur.Status, string(to), source, detail)
		}
		return r, nil
	}
}

// moveItem applies one item report: a new item is added; a known one moves
// when the machine allows it and it is not final, and its details follow
// the report.
func (h *Host) moveItem(ctx context.Context, cur *store.MerchantRequest, it itemReport, source string) (*store.MerchantRequest, error) {
	for attempt := 0; ; attempt++ {
		var have *store.MerchantRequestItem
		for i := range cur.Items {
			if cur.Items[i].Name == it.name {
				have = &cur.Items[i]
			}
		}
		u := store.MerchantItemUpdate{RequestID: cur.ID, Name: it.name, Message: it.message, SubMerchantCode: it.subMerchantCode,
			QRCode: it.qrCode, ApplyState: it.applyState, AuthorizeState: it.authorizeState, Now: h.now()}
		from, to := "", string(it.status)
		if have != nil {
			from = have.Status
			u.From = have.Status
			if to != have.Status {
				if why := refusal(have.Status, to); why != "" {
					h.refusedTransition(ctx, "merchant_request", cur.ID, have.Status, to, source, it.name+": "+why)
					return cur, nil
				}
				u.To = to
			}
		} else {
			u.To = to
		}
		r, err := h.store.SetMerchantRequestItem(ctx, u)
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrDuplicate)) && attempt < 3 {
			if cur, err = h.store.GetMerchantRequest(ctx, cur.ID); err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "reload merchant request")
			}
			continue
		}
		if err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "update merchant request item")
		}
		if from != to {
			h.appliedTransition(ctx, "merchant_request", cur.ID, from, to, source, it.name)
		}
		return r, nil
	}
}

// refreshRequest queries the provider about a request and applies the
// answer. A settlement change has no query: it is left to its notification.
func (h *Host) refreshRequest(ctx context.Context, sm *store.Merchant, sr *store.MerchantRequest, source string) (*store.MerchantRequest, error) {
	a, c, err := h.merchantAccount(sm)
	if err != nil {
		return nil, err
	}
	var rep requestReport
	switch sr.Kind {
	case store.RequestChannels:
		if !supports(a, core.OpOnboardingQueryChannel) {
			return sr, errNoQuery
		}
		resp, err := callPlugin[core.QueryChannelResponse](ctx, h, a, c, core.OpOnboardingQueryChannel, sr.ID,
			&core.QueryChannelRequest{RequestID: sr.ID, ProviderID: sm.ProviderID, ProviderData: sr.ProviderData})
		if err != nil {
			return nil, err
		}
		rep = channelReport(resp.Status, resp.Channels, resp.Message)
	case store.RequestRealName:
		if !supports(a, core.OpOnboardingRealNameQuery) {
			return sr, errNoQuery
		}
		var p requestParams
		if err := json.Unmarshal(sr.Params, &p); err != nil {
			return sr, core.WrapError(core.CodeInternal, err, "decode stored parameters of %s", sr.ID)
		}
		wallet := p.Wallet
		if wallet == "all" {
			wallet = ""
		}
		resp, err := callPlugin[core.QueryRealNameResponse](ctx, h, a, c, core.OpOnboardingRealNameQuery, sr.ID,
			&core.QueryRealNameRequest{RequestID: sr.ID, ProviderID: sm.ProviderID, Wallet: wallet, ProviderData: sr.ProviderData})
		if err != nil {
			return nil, err
		}
		rep = realNameReport(resp.States, true)
	default:
		return sr, errNoQuery
	}
	if rep.status == "" {
		rep.status = core.OnboardingReviewing
	}
	return h.applyRequestReport(ctx, sr, rep, source, "")
}

// errNoQuery: the provider cannot be asked about this kind of request.
var errNoQuery = &core.Error{Code: core.CodeUnsupported, Message: "the provider offers no query of this request; its notification settles it"}

// eventRequestKinds maps event kinds to the request kind they settle.
var eventRequestKinds = map[core.EventKind]string{core.EventChannel: store.RequestChannels,
	core.EventRealName: store.RequestRealName, core.EventSettlement: store.RequestSettlement}

// applyRequestEvent applies a notification about a channel activation, a
// real-name authentication or a settlement account change.
func (h *Host) applyRequestEvent(ctx context.Context, a *account, ev core.Event) notifyResult {
	if ev.ObjectID == "" {
		return notifyResult{notifyIgnored, "no request id"}
	}
	sr, err := h.store.GetMerchantRequest(ctx, ev.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return notifyResult{notifyIgnored, "unknown merchant request"}
	}
	if err != nil {
		return notifyFailed(err)
	}
	if eventRequestKinds[ev.Kind] != sr.Kind {
		return notifyResult{notifyIgnored, "request " + sr.ID + " is a " + sr.Kind + " request"}
	}
	sm, err := h.store.GetMerchant(ctx, sr.MerchantID)
	if err != nil {
		return notifyFailed(err)
	}
	if sm.Account != a.name {
		return notifyResult{notifyIgnored, "merchant belongs to account " + sm.Account}
	}
	status := core.OnboardingStatus(ev.Status)
	rep := requestReport{status: status, failureCode: ev.FailureCode, failureMessage: ev.FailureMessage}
	name := ev.Data["channel"]
	if ev.Kind == core.EventRealName {
		name = ev.Data["wallet"]
	}
	before := sr.Status
	if name != "" {
		for _, it := range sr.Items {
			if it.Name == name {
				before = it.Status
			}
		}
		it := itemReport{name: name, status: status}
		if ev.FailureMessage != "" || requestFinal(ev.Status) {
			it.message = ptr(ev.FailureMessage)
		}
		if ev.ProviderObjectID != "" {
			it.subMerchantCode = ptr(ev.ProviderObjectID)
		}
		if requestFinal(ev.Status) && ev.Kind == core.EventRealName {
			it.qrCode = ptr("") // confirmed or refused: nothing is left to scan
		}
		rep.items = []itemReport{it}
		rep.failureMessage = ""
		if ev.FailureMessage != "" {
			rep.failureMessage = name + ": " + ev.FailureMessage
		}
	}
	after, err := h.applyRequestReport(ctx, sr, rep, "notification", "")
	if err != nil {
		return notifyFailed(err)
	}
	if ev.Kind == core.EventRealName && requestFinal(ev.Status) {
		// the event carries only the wallet's status: its application and
		// authorisation states come from a query (best effort)
		if refreshed, err := h.refreshRequest(ctx, sm, after, "notification"); err == nil {
			after = refreshed
		}
	}
	got := after.Status
	if name != "" {
		for _, it := range after.Items {
			if it.Name == name {
				got = it.Status
			}
		}
	}
	return outcome(before, got, ev.Status, nil)
}
