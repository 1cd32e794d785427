package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Merchant onboarding, provider-neutral: an application is created at an
// account whose plugin offers onboarding.apply and sent at once (or kept as
// a draft while documents are uploaded first); documents go to the provider
// and are submitted for review; channel activations, real-name
// authentications and settlement account changes are requests of their
// own. Every state is moved through the onboarding machine by the
// provider's answers, its notifications and the poller's queries. A report
// made for an earlier stage of an application (the application, or the
// review of its documents) is stale and ignored.

// CreateMerchant stores a merchant application for the tenant and, unless
// it is a draft, sends it to the account's provider. A provider that
// refuses it leaves it rejected (returned, with the failure); one whose
// answer was lost leaves it submitted with pending_reason unknown_outcome,
// settled by query. Requires an IdempotencyKey.
func (h *Host) CreateMerchant(ctx context.Context, in CreateMerchantInput) (*Merchant, error) {
	if in.Account != "" {
		if err := h.useAccount(in.Tenant, in.Account, "account"); err != nil {
			return nil, err
		}
	}
	a, err := h.onboardingAccount(in.Account)
	if err != nil {
		return nil, err
	}
	if err := validateApplication(&in.Application); err != nil {
		return nil, err
	}
	hashed := in // ID, card and mobile numbers stay out of the stored request hash
	hashed.Application = maskApplication(in.Application)
	out, err := idempotent(ctx, h, in.Tenant, in.IdempotencyKey, "merchant.create", hashed,
		func(ctx context.Context, resumeID string, link func() *store.IdemLink) (*Merchant, error) {
			if resumeID != "" {
				m, err := h.resumeMerchant(ctx, resumeID)
				return m, err
			}
			m, err := h.createMerchant(ctx, a, in, link)
			return m, err
		})
	return out, err
}

// onboardingAccount is the account named on create, if its plugin onboards.
func (h *Host) onboardingAccount(name string) (*account, error) {
	if name == "" {
		return nil, bad("account", "account is required: the provider account that onboards the merchant")
	}
	a, ok := h.accounts[name]
	if !ok {
		return nil, bad("account", "no account %q is configured", name)
	}
	if !supports(a, core.OpOnboardingApply) {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "account",
			Message: fmt.Sprintf("account %s (plugin %s) does not onboard merchants", name, a.plugin.Manifest().Name)}
	}
	return a, nil
}

func (h *Host) createMerchant(ctx context.Context, a *account, in CreateMerchantInput, link func() *store.IdemLink) (*Merchant, error) {
	now := h.now()
	masked, err := json.Marshal(maskApplication(in.Application))
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "encode application")
	}
	full, err := json.Marshal(in.Application)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "encode application")
	}
	sm := &store.Merchant{ID: newID(merchantPrefix, now), Tenant: in.Tenant, IdempotencyKey: in.IdempotencyKey, Account: a.name,
		Plugin: a.plugin.Manifest().Name, Kind: string(in.Application.Kind), Name: in.Application.Name,
		Status: string(core.OnboardingDraft), Stage: store.StageDraft, Application: masked, Sealed: full,
		CreatedAt: now, UpdatedAt: now}
	if !in.Draft {
		sm.Stage = store.StageApplication
		sm.NextPollAt = now.Add(h.cfg.IdempotencyLease) // settles an application cut short by a crash
	}
	sm.Link = link()
	if err := h.store.InsertMerchant(ctx, sm); err != nil {
		if errors.Is(err, store.ErrTakenOver) {
			return nil, errTakenOver
		}
		return nil, core.WrapError(core.CodeInternal, err, "store merchant")
	}
	h.log.Info("merchant created", "merchant", sm.ID, "account", sm.Account, "kind", sm.Kind, "draft", in.Draft)
	if !in.Draft {
		if sm, err = h.sendApplication(ctx, a, sm, nil, "api"); err != nil {
			return nil, err
		}
	}
	return h.merchantToAPI(ctx, sm)
}

// merchantAccount is the account of a stored merchant and the channel its
// calls are recorded under.
func (h *Host) merchantAccount(sm *store.Merchant) (*account, core.Channel, error) {
	c := core.Channel{Plugin: sm.Plugin, Account: sm.Account, Method: onboardingMethod}
	a, ok := h.accounts[sm.Account]
	if !ok || a.plugin.Manifest().Name != sm.Plugin {
		return nil, c, &core.Error{Code: core.CodeProviderUnavailable, Message: "account " + sm.Account + " is not configured on this host"}
	}
	return a, c, nil
}

// onboardingUnknown says whether an onboarding call that failed with code
// may have been carried out: no answer, or an answer that the request
// exists already (a repeat of a request id). Anything else is an answer
// that refused it, or a failure before it left the host.
func onboardingUnknown(code core.Code) bool {
	switch code {
	case core.CodeUnknownOutcome, core.CodeInternal, core.CodeDuplicate:
		return true
	}
	return false
}

// sendApplication sends the application (onboarding.apply) with the
// documents uploaded so far and applies the answer. docs nil means every
// uploaded document (the latest of each type).
func (h *Host) sendApplication(ctx context.Context, a *account, sm *store.Merchant, docs []*store.MerchantDocument, source string) (*store.Merchant, error) {
	_, c, err := h.merchantAccount(sm)
	if err != nil {
		return nil, err
	}
	var app core.MerchantApplication
	if len(sm.Sealed) == 0 {
		return nil, core.Errorf(core.CodeInternal, "merchant %s has no application left to send", sm.ID)
	}
	if err := json.Unmarshal(sm.Sealed, &app); err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "decode application")
	}
	if docs == nil {
		all, err := h.store.ListMerchantDocuments(ctx, sm.ID)
		if err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "list merchant documents")
		}
		docs = latestDocuments(all)
	}
	if len(docs) > 0 {
		merged := make(map[string]string, len(app.Documents)+len(docs))
		for k, v := range app.Documents {
			merged[k] = v
		}
		for _, d := range docs {
			merged[d.Type] = d.ProviderDocumentID
		}
		app.Documents = merged
	}
	resp, err := callPlugin[core.ApplyMerchantResponse](ctx, h, a, c, core.OpOnboardingApply, sm.ID, &core.ApplyMerchantRequest{
		ApplicationID: sm.ID, Application: app, NotifyURL: h.notifyURL(sm.Account), CreatedAt: sm.CreatedAt})
	if err != nil {
		ce := core.AsError(err)
		if onboardingUnknown(ce.Code) {
			msg := unknownOutcomeText(ce)
			return h.moveMerchant(ctx, sm, core.OnboardingSubmitted, source, msg, merchantPatch{upd: store.MerchantUpdate{
				FailureCode: ptr(string(core.CodeUnknownOutcome)), FailureMessage: ptr(msg), ProviderCode: ptr(ce.ProviderCode),
				NextPollAt: ptr(h.now().Add(h.cfg.Poll.First))}})
		}
		if source == "poll" && classify(ce.Code) == nothingHappened {
			return nil, err // a resend that did not get through: the poller tries again
		}
		// refused, or never sent: the application is over
		return h.moveMerchant(ctx, sm, core.OnboardingRejected, source, ce.Message, merchantPatch{upd: store.MerchantUpdate{
			FailureCode: ptr(string(ce.Code)), FailureMessage: ptr(failureText(ce)), ProviderCode: ptr(ce.ProviderCode),
			ClearSealed: true, NextPollAt: ptr(time.Time{})}})
	}
	return h.applyMerchantResult(ctx, sm, resp.Result, "provider_response")
}

// latestDocuments keeps the newest document of each type, in type order.
func latestDocuments(all []*store.MerchantDocument) []*store.MerchantDocument {
	byType := map[string]*store.MerchantDocument{}
	for _, d := range all {
		byType[d.Type] = d // oldest first: the last one wins
	}
	out := make([]*store.MerchantDocument, 0, len(byType))
	for _, d := range byType {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// merchantPatch is a change of a merchant: upd's fields plus map patches
// merged into the stored maps on each try.
type merchantPatch struct {
	upd          store.MerchantUpdate
	issued       map[string]string
	providerData map[string]string
	// stage, when set, is the stage the change was decided for: a merchant
	// found in another stage is left alone (the report is stale).
	stage string
	// reopen lets the status go back to submitted or reviewing from
	// approved, rejected or needs_info: only a submission of ours does that,
	// never a provider's report.
	reopen bool
}

// settledForPolling are merchant states a query cannot move without the
// merchant acting (a submission), so the poller stops.
func merchantSettled(s string) bool {
	switch core.OnboardingStatus(s) {
	case core.OnboardingApproved, core.OnboardingRejected, core.OnboardingNeedsInfo:
		return true
	}
	return false
}

// applyMerchantResult moves a merchant to what the provider reported about
// its application, for the stage the merchant is in.
func (h *Host) applyMerchantResult(ctx context.Context, sm *store.Merchant, res core.MerchantResult, source string) (*store.Merchant, error) {
	to := res.Status
	if !core.ValidStatus(core.MachineOnboarding, string(to)) || to == core.OnboardingDraft {
		return nil, core.Errorf(core.CodePluginFailure, "plugin reported unknown onboarding status %q", to)
	}
	p := merchantPatch{issued: res.Issued, providerData: res.ProviderData, stage: sm.Stage}
	u := &p.upd
	if res.ProviderID != "" {
		u.ProviderID = ptr(res.ProviderID)
	}
	u.ClearSealed = true // the provider has the application
	switch to {
	case core.OnboardingApproved:
		u.Message, u.FailureCode, u.FailureMessage, u.ProviderCode = ptr(res.Message), ptr(""), ptr(""), ptr("")
		u.NextPollAt = ptr(time.Time{})
	case core.OnboardingRejected:
		code, provider := canonicalFailure(firstNonEmpty(res.FailureCode, string(core.CodeDeclined)))
		u.Message, u.FailureCode, u.FailureMessage, u.ProviderCode = ptr(res.Message), ptr(string(code)),
			ptr(firstNonEmpty(res.FailureMessage, res.Message)), ptr(provider)
		u.NextPollAt = ptr(time.Time{})
	case core.OnboardingNeedsInfo: // what is missing is the message; a new submission follows
		u.Message, u.FailureCode, u.FailureMessage, u.ProviderCode = ptr(firstNonEmpty(res.Message, res.FailureMessage)), ptr(""), ptr(""), ptr("")
		u.NextPollAt = ptr(time.Time{})
	default: // submitted, reviewing
		u.Message = ptr(res.Message)
		if sm.FailureCode == string(core.CodeUnknownOutcome) {
			u.FailureCode, u.FailureMessage, u.ProviderCode = ptr(""), ptr(""), ptr("") // the provider answered after all
		}
		if sm.NextPollAt.IsZero() || source == "provider_response" {
			u.NextPollAt = ptr(h.now().Add(h.cfg.Poll.First))
		}
	}
	return h.moveMerchant(ctx, sm, to, source, "", p)
}

// moveMerchant changes a merchant, moving its status to `to` when allowed,
// conditionally on the status (and stage) it was decided on; a concurrent
// change is re-read and the move re-checked. A move the machine refuses, a
// provider's report that would reopen a settled application, or a report
// for a stage the merchant has left, is recorded and ignored (provider ids
// still missing are filled in).
func (h *Host) moveMerchant(ctx context.Context, cur *store.Merchant, to core.OnboardingStatus, source, detail string, p merchantPatch) (*store.Merchant, error) {
	for attempt := 0; ; attempt++ {
		if p.stage != "" && cur.Stage != p.stage {
			h.refusedTransition(ctx, "merchant", cur.ID, cur.Status, string(to), source,
				"stale: reported for stage "+p.stage+", the merchant is in stage "+cur.Stage)
			return cur, nil
		}
		u := p.upd
		u.ID, u.Now, u.From, u.FromStage = cur.ID, h.now(), cur.Status, cur.Stage
		u.Issued = mergeData(cur.Issued, p.issued)
		u.ProviderData = mergeData(cur.ProviderData, p.providerData)
		moving := to != "" && string(to) != cur.Status
		if moving {
			err := core.CheckTransition(core.MachineOnboarding, cur.Status, string(to))
			if err == nil && !p.reopen && reopens(cur.Status, string(to)) {
				err = core.Errorf(core.CodeConflict, "a provider's report does not reopen a %s application", cur.Status)
			}
			if err != nil {
				h.refusedTransition(ctx, "merchant", cur.ID, cur.Status, string(to), source, err.Error())
				return h.fillMerchant(ctx, cur, p), nil
			}
			u.To = string(to)
			u.Event = h.onboardingEvent("merchant."+string(to), merchantEventData)
		}
		m, err := h.store.UpdateMerchant(ctx, u)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			if cur, err = h.store.GetMerchant(ctx, cur.ID); err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "reload merchant")
			}
			continue
		}
		if err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, core.WrapError(core.CodeConflict, err, "update merchant")
			}
			return nil, core.WrapError(core.CodeInternal, err, "update merchant")
		}
		if moving {
			h.appliedTransition(ctx, "merchant", cur.ID, cur.Status, string(to), source, detail)
		}
		return m, nil
	}
}

// reopens says whether from → to takes a settled application back into review.
func reopens(from, to string) bool {
	return (to == string(core.OnboardingSubmitted) || to == string(core.OnboardingReviewing)) && merchantSettled(from)
}

// fillMerchant records a provider merchant id and issued identifiers a
// refused report carried and the merchant still lacks.
func (h *Host) fillMerchant(ctx context.Context, cur *store.Merchant, p merchantPatch) *store.Merchant {
	fill := store.MerchantUpdate{ID: cur.ID, From: cur.Status, FromStage: cur.Stage, Now: h.now()}
	changed := false
	if cur.ProviderID == "" && p.upd.ProviderID != nil && *p.upd.ProviderID != "" {
		fill.ProviderID, changed = p.upd.ProviderID, true
	}
	if len(cur.Issued) == 0 && len(p.issued) > 0 {
		fill.Issued, changed = p.issued, true
	}
	if !changed {
		return cur
	}
	m, err := h.store.UpdateMerchant(context.WithoutCancel(ctx), fill)
	if err != nil {
		h.log.Warn("fill merchant references", "merchant", cur.ID, "err", err)
		return cur
	}
	return m
}

// tenantMerchant reads a merchant of the tenant; another tenant's is not found.
func (h *Host) tenantMerchant(ctx context.Context, tenant, id string) (*store.Merchant, error) {
	sm, err := h.store.GetMerchant(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sm.Tenant != tenant) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no merchant " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load merchant")
	}
	return sm, nil
}

// GetMerchant returns a merchant of the tenant with its documents and
// requests; Refresh() asks the provider first about the application and
// about every request still pending.
func (h *Host) GetMerchant(ctx context.Context, tenant, id string, opts ...GetOption) (*Merchant, error) {
	o := getOptionsOf(opts)
	sm, err := h.tenantMerchant(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if o.refresh && sm.Stage != store.StageDraft {
		if sm, err = h.refreshMerchant(ctx, sm, "query"); err != nil {
			return nil, err
		}
		rs, err := h.store.ListMerchantRequests(ctx, sm.ID)
		if err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "list merchant requests")
		}
		for _, sr := range rs {
			if requestFinal(sr.Status) {
				continue
			}
			if _, err := h.refreshRequest(ctx, sm, sr, "query"); err != nil {
				h.log.Warn("refresh merchant request", "merchant", sm.ID, "request", sr.ID, "code", core.CodeOf(err))
			}
		}
	}
	return h.merchantToAPI(ctx, sm)
}

// refreshMerchant queries the provider about the application and applies the answer.
func (h *Host) refreshMerchant(ctx context.Context, sm *store.Merchant, source string) (*store.Merchant, error) {
	a, c, err := h.merchantAccount(sm)
	if err != nil {
		return nil, err
	}
	if !supports(a, core.OpOnboardingQuery) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + sm.Plugin + " cannot query applications"}
	}
	resp, err := callPlugin[core.QueryMerchantResponse](ctx, h, a, c, core.OpOnboardingQuery, sm.ID,
		&core.QueryMerchantRequest{ApplicationID: sm.ID, ProviderID: sm.ProviderID, ProviderData: sm.ProviderData})
	if err != nil {
		return nil, err
	}
	return h.applyMerchantResult(ctx, sm, resp.Result, source)
}

// resumeMerchant answers a retry that took over the key of a create whose
// owner crashed: the merchant exists, so settle its application (query,
// and send it when the provider never got it) rather than create another.
func (h *Host) resumeMerchant(ctx context.Context, id string) (*Merchant, error) {
	sm, err := h.store.GetMerchant(ctx, id)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load merchant")
	}
	if sm.Stage == store.StageApplication && !merchantSettled(sm.Status) {
		if after, err := h.settleApplication(ctx, sm, "poll"); err == nil {
			sm = after
		}
	}
	return h.merchantToAPI(ctx, sm)
}

// settleApplication queries an application whose sending may not have
// reached the provider, and sends it (again: the provider refuses a repeat
// of its id) when the provider does not know it.
func (h *Host) settleApplication(ctx context.Context, sm *store.Merchant, source string) (*store.Merchant, error) {
	after, err := h.refreshMerchant(ctx, sm, source)
	if err == nil || core.CodeOf(err) != core.CodeNotFound || len(sm.Sealed) == 0 ||
		(sm.Status != string(core.OnboardingDraft) && sm.FailureCode != string(core.CodeUnknownOutcome)) {
		return after, err
	}
	a, _, aerr := h.merchantAccount(sm)
	if aerr != nil {
		return nil, aerr
	}
	h.log.Info("provider has no such application; sending it", "merchant", sm.ID)
	return h.sendApplication(ctx, a, sm, nil, source)
}

var documentTypeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*$`)

// UploadMerchantDocument uploads one document of a merchant to its
// provider and keeps a reference to it (type, file name, size, SHA-256 and
// the provider's document id; never the content). A draft's documents go
// up before the application; otherwise the provider must have opened the
// merchant first. A refused upload stores nothing.
func (h *Host) UploadMerchantDocument(ctx context.Context, in UploadMerchantDocumentInput) (*Merchant, error) {
	switch {
	case in.Type == "":
		return nil, bad("type", "type is required: the canonical document type (license, legal_id_front, ...)")
	case len(in.Type) > maxDocumentType || !documentTypeRE.MatchString(in.Type):
		return nil, bad("type", "type must be lower-case letters, digits and _ (at most %d)", maxDocumentType)
	case in.FileName == "":
		return nil, bad("file_name", "file_name is required")
	case utf8.RuneCountInString(in.FileName) > maxFileName:
		return nil, bad("file_name", "file_name is longer than %d characters", maxFileName)
	case len(in.Content) == 0:
		return nil, bad("content", "content is empty")
	case len(in.Content) > MaxDocumentBytes:
		return nil, bad("content", "the document is larger than %d bytes", MaxDocumentBytes)
	case len(in.ContentType) > 100:
		return nil, bad("content_type", "content_type is too long")
	case utf8.RuneCountInString(in.Description) > maxDescription:
		return nil, bad("description", "description is longer than %d characters", maxDescription)
	}
	if err := checkTexts(map[string]string{"file_name": in.FileName, "content_type": in.ContentType, "description": in.Description}); err != nil {
		return nil, err
	}
	sm, err := h.tenantMerchant(ctx, in.Tenant, in.MerchantID)
	if err != nil {
		return nil, err
	}
	a, c, err := h.merchantAccount(sm)
	if err != nil {
		return nil, err
	}
	if !supports(a, core.OpOnboardingUploadDocument) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + sm.Plugin + " takes no documents"}
	}
	sum := sha256.Sum256(in.Content)
	digest := hex.EncodeToString(sum[:])
	hashed := struct {
		UploadMerchantDocumentInput
		SHA256 string `json:"sha256"`
	}{in, digest}
	out, err := idempotent(ctx, h, in.Tenant, in.IdempotencyKey, "merchant.document:"+sm.ID, hashed,
		func(ctx context.Context, _ string, _ func() *store.IdemLink) (*Merchant, error) {
			sm, err := h.store.GetMerchant(ctx, sm.ID)
			if err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "load merchant")
			}
			if sm.ProviderID == "" && sm.Stage != store.StageDraft {
				return nil, &core.Error{Code: core.CodeConflict, Message: fmt.Sprintf(
					"the provider has not opened merchant %s yet (status %s): upload documents once it is approved, or create the merchant as a draft to upload them first",
					sm.ID, sm.Status)}
			}
			now := h.now()
			resp, err := callPlugin[core.UploadDocumentResponse](ctx, h, a, c, core.OpOnboardingUploadDocument, sm.ID, &core.UploadDocumentRequest{
				ApplicationID: sm.ID, ProviderID: sm.ProviderID, Type: in.Type, FileName: in.FileName, ContentType: in.ContentType,
				Content: in.Content, Description: in.Description, CreatedAt: now})
			if err != nil {
				return nil, err
			}
			if resp.DocumentID == "" {
				return nil, core.Errorf(core.CodePluginFailure, "plugin %s answered an upload without a document id", sm.Plugin)
			}
			d := &store.MerchantDocument{ID: newID(documentPrefix, now), MerchantID: sm.ID, Type: in.Type, FileName: in.FileName,
				ContentType: in.ContentType, Size: int64(len(in.Content)), SHA256: digest, Description: in.Description,
				ProviderDocumentID: resp.DocumentID, CreatedAt: now}
			if err := h.store.InsertMerchantDocument(ctx, d); err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "store merchant document")
			}
			h.log.Info("merchant document uploaded", "merchant", sm.ID, "document", d.ID, "type", d.Type, "size", d.Size)
			m, err := h.merchantToAPI(ctx, sm)
			return m, err
		})
	return out, err
}

// pickDocuments resolves document ids of a merchant; none means the latest
// of each type.
func (h *Host) pickDocuments(ctx context.Context, merchantID string, ids []string) ([]*store.MerchantDocument, error) {
	if len(ids) > maxDocumentRefs {
		return nil, bad("documents", "at most %d documents", maxDocumentRefs)
	}
	all, err := h.store.ListMerchantDocuments(ctx, merchantID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list merchant documents")
	}
	if len(ids) == 0 {
		return latestDocuments(all), nil
	}
	byID := make(map[string]*store.MerchantDocument, len(all))
	for _, d := range all {
		byID[d.ID] = d
	}
	out := make([]*store.MerchantDocument, 0, len(ids))
	for _, id := range ids {
		d, ok := byID[id]
		if !ok {
			return nil, bad("documents", "merchant %s has no document %q", merchantID, id)
		}
		out = append(out, d)
	}
	return out, nil
}

// documentMap is type → provider document id; several documents of one
// type are joined by "|" (Adapay's store pictures).
func documentMap(docs []*store.MerchantDocument) map[string]string {
	m := make(map[string]string, len(docs))
	for _, d := range docs {
		if prev, ok := m[d.Type]; ok {
			m[d.Type] = prev + "|" + d.ProviderDocumentID
			continue
		}
		m[d.Type] = d.ProviderDocumentID
	}
	return m
}

// SubmitMerchant sends a draft application with its documents
// (onboarding.apply), or submits the documents of an opened merchant for
// review (onboarding.submit: the merchant goes back to reviewing, stage
// review). A submission the provider refuses, or whose answer was lost,
// changes nothing and returns its error.
func (h *Host) SubmitMerchant(ctx context.Context, in SubmitMerchantInput) (*Merchant, error) {
	if err := checkExtra("extra", in.Extra); err != nil {
		return nil, err
	}
	if err := checkOnboardingText("", struct {
		D []string          `json:"documents"`
		E map[string]string `json:"extra"`
	}{in.Documents, in.Extra}); err != nil {
		return nil, err
	}
	sm, err := h.tenantMerchant(ctx, in.Tenant, in.MerchantID)
	if err != nil {
		return nil, err
	}
	a, _, err := h.merchantAccount(sm)
	if err != nil {
		return nil, err
	}
	docs, err := h.pickDocuments(ctx, sm.ID, in.Documents)
	if err != nil {
		return nil, err
	}
	hashed := in
	hashed.Extra = maskExtra(in.Extra)
	out, err := idempotent(ctx, h, in.Tenant, in.IdempotencyKey, "merchant.submit:"+sm.ID, hashed,
		func(ctx context.Context, _ string, _ func() *store.IdemLink) (*Merchant, error) {
			sm, err := h.store.GetMerchant(ctx, sm.ID)
			if err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "load merchant")
			}
			if sm.Stage == store.StageDraft {
				sm, err = h.sendDraft(ctx, a, sm, docs)
			} else {
				sm, err = h.submitDocuments(ctx, a, sm, docs, in.Extra)
			}
			if err != nil {
				return nil, err
			}
			m, err := h.merchantToAPI(ctx, sm)
			return m, err
		})
	return out, err
}

// sendDraft moves a draft to the application stage (once, whatever other
// submissions race it) and sends it.
func (h *Host) sendDraft(ctx context.Context, a *account, sm *store.Merchant, docs []*store.MerchantDocument) (*store.Merchant, error) {
	moved, err := h.store.UpdateMerchant(ctx, store.MerchantUpdate{ID: sm.ID, From: string(core.OnboardingDraft),
		FromStage: store.StageDraft, Stage: ptr(store.StageApplication), NextPollAt: ptr(h.now().Add(h.cfg.IdempotencyLease)), Now: h.now()})
	if errors.Is(err, store.ErrConflict) {
		return nil, &core.Error{Code: core.CodeConflict, Message: "merchant " + sm.ID + " was submitted meanwhile"}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "update merchant")
	}
	h.log.Info("merchant draft submitted", "merchant", sm.ID, "documents", len(docs))
	return h.sendApplication(ctx, a, moved, docs, "api")
}

// submitDocuments submits documents of an opened merchant for review.
func (h *Host) submitDocuments(ctx context.Context, a *account, sm *store.Merchant, docs []*store.MerchantDocument, extra map[string]string) (*store.Merchant, error) {
	_, c, err := h.merchantAccount(sm)
	if err != nil {
		return nil, err
	}
	switch {
	case !supports(a, core.OpOnboardingSubmit):
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + sm.Plugin + " takes no document submission"}
	case sm.ProviderID == "" || (sm.Stage == store.StageApplication && !merchantSettled(sm.Status)):
		return nil, &core.Error{Code: core.CodeConflict, Message: fmt.Sprintf(
			"the provider is still deciding on merchant %s's application (status %s); submit documents once it is approved", sm.ID, sm.Status)}
	case sm.Stage == store.StageReview && !merchantSettled(sm.Status):
		return nil, &core.Error{Code: core.CodeConflict, Message: fmt.Sprintf("merchant %s's documents are already in review", sm.ID)}
	case len(docs) == 0:
		return nil, bad("documents", "merchant %s has no documents to submit: upload them first", sm.ID)
	}
	now := h.now()
	resp, err := callPlugin[core.SubmitMerchantResponse](ctx, h, a, c, core.OpOnboardingSubmit, sm.ID, &core.SubmitMerchantRequest{
		ApplicationID: sm.ID, ProviderID: sm.ProviderID, Documents: documentMap(docs), Extra: extra, CreatedAt: now})
	if err != nil {
		// refused: nothing changed. With no answer the submission may have
		// arrived, but only the provider's answer to it says how to follow
		// its review (Adapay: ProviderData stage audit), so the merchant is
		// left as it was and the caller submits again: a provider that has
		// the first refuses the repeat (conflict) until it decided.
		return nil, err
	}
	p := merchantPatch{stage: sm.Stage, reopen: true, upd: store.MerchantUpdate{Stage: ptr(store.StageReview), SubmittedAt: ptr(now)}}
	res := resp.Result
	to := res.Status
	if !core.ValidStatus(core.MachineOnboarding, string(to)) || to == core.OnboardingDraft {
		return nil, core.Errorf(core.CodePluginFailure, "plugin reported unknown onboarding status %q", to)
	}
	p.issued, p.providerData = res.Issued, res.ProviderData
	p.upd.Message, p.upd.FailureCode, p.upd.FailureMessage, p.upd.ProviderCode = ptr(res.Message), ptr(""), ptr(""), ptr("")
	p.upd.PollAttempts = ptr(0)
	if merchantSettled(string(to)) {
		p.upd.NextPollAt = ptr(time.Time{})
	} else {
		p.upd.NextPollAt = ptr(now.Add(h.cfg.Poll.First))
	}
	h.log.Info("merchant documents submitted", "merchant", sm.ID, "documents", len(docs))
	return h.moveMerchant(ctx, sm, to, "provider_response", "documents submitted", p)
}

// applyOnboardingEvent applies a notification about an application. In
// the review stage it is confirmed by a query first: the provider's
// application result and its review result share the event kind, and a
// late application notification must not decide the review.
func (h *Host) applyOnboardingEvent(ctx context.Context, a *account, ev core.Event) notifyResult {
	sm, err := h.store.GetMerchant(ctx, ev.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return notifyResult{notifyIgnored, "unknown merchant"}
	}
	if err != nil {
		return notifyFailed(err)
	}
	if sm.Account != a.name {
		return notifyResult{notifyIgnored, "merchant belongs to account " + sm.Account}
	}
	before := sm.Status
	var after *store.Merchant
	switch sm.Stage {
	case store.StageReview:
		after, err = h.refreshMerchant(ctx, sm, "notification")
		if err != nil {
			return notifyFailed(err)
		}
		if after.Status != ev.Status {
			return notifyResult{notifyStale, "the provider's review says " + after.Status}
		}
	case store.StageDraft:
		return notifyResult{notifyIgnored, "the merchant is a draft"}
	default:
		res := core.MerchantResult{ApplicationID: sm.ID, ProviderID: ev.ProviderObjectID, Status: core.OnboardingStatus(ev.Status),
			Issued: ev.Data, FailureCode: ev.FailureCode, FailureMessage: ev.FailureMessage, Message: ev.FailureMessage}
		if after, err = h.applyMerchantResult(ctx, sm, res, "notification"); err != nil {
			return notifyFailed(err)
		}
	}
	return outcome(before, after.Status, ev.Status, nil)
}
