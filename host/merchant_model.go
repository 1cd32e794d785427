package host

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Merchant is a merchant application as embedders and the HTTP API see it.
// Personal data is masked: ID numbers, bank card numbers and mobile numbers
// show only their first and last digits.
type Merchant struct {
	ID                 string                   `json:"id"`
	Object             string                   `json:"object"` // "merchant"
	Account            string                   `json:"account"`
	Provider           string                   `json:"provider"`
	Status             core.OnboardingStatus    `json:"status"`
	Stage              string                   `json:"stage"`                    // draft, application, review
	PendingReason      string                   `json:"pending_reason,omitempty"` // provider, unknown_outcome
	ProviderMerchantID string                   `json:"provider_merchant_id,omitempty"`
	Issued             map[string]string        `json:"issued,omitempty"`  // identifiers the provider issued (app ids, ...)
	Message            string                   `json:"message,omitempty"` // the provider's review comment
	Failure            *Failure                 `json:"failure,omitempty"`
	Application        core.MerchantApplication `json:"application"`
	Documents          []MerchantDocument       `json:"documents,omitempty"`
	Requests           []MerchantRequest        `json:"requests,omitempty"`
	CreatedAt          time.Time                `json:"created_at"`
	UpdatedAt          time.Time                `json:"updated_at"`
	SubmittedAt        *time.Time               `json:"submitted_at,omitempty"`
}

// MerchantDocument is a document uploaded to the provider for a merchant.
// Payhost keeps its description and digest, not its content.
type MerchantDocument struct {
	ID                 string    `json:"id"`
	Type               string    `json:"type"`
	FileName           string    `json:"file_name"`
	ContentType        string    `json:"content_type,omitempty"`
	Size               int64     `json:"size"`
	SHA256             string    `json:"sha256"`
	Description        string    `json:"description,omitempty"`
	ProviderDocumentID string    `json:"provider_document_id"`
	CreatedAt          time.Time `json:"created_at"`
}

// MerchantRequest is one asynchronous onboarding request of a merchant: a
// channel activation (kind channels), a real-name authentication (realname)
// or a settlement account change (settlement_account).
type MerchantRequest struct {
	ID                string                   `json:"id"`
	MerchantID        string                   `json:"merchant_id"`
	Kind              string                   `json:"kind"`
	Status            core.OnboardingStatus    `json:"status"`
	PendingReason     string                   `json:"pending_reason,omitempty"`
	Items             []MerchantRequestItem    `json:"items,omitempty"` // one per channel or wallet
	Channels          []core.ChannelActivation `json:"channels,omitempty"`
	Modify            bool                     `json:"modify,omitempty"`
	Wallet            string                   `json:"wallet,omitempty"`
	ContactType       string                   `json:"contact_type,omitempty"`
	SettlementAccount *core.BankAccount        `json:"settlement_account,omitempty"` // masked
	AccountID         string                   `json:"account_id,omitempty"`         // the provider's id of the settlement account
	Message           string                   `json:"message,omitempty"`
	Failure           *Failure                 `json:"failure,omitempty"`
	CreatedAt         time.Time                `json:"created_at"`
	UpdatedAt         time.Time                `json:"updated_at"`
}

// MerchantRequestItem is the state of one channel of an activation or one
// wallet of a real-name authentication, with what the provider gave for it.
type MerchantRequestItem struct {
	Name            string                `json:"name"` // channel (wx_pub) or wallet (wechat)
	Status          core.OnboardingStatus `json:"status"`
	Message         string                `json:"message,omitempty"`
	SubMerchantCode string                `json:"sub_merchant_code,omitempty"` // WeChat/Alipay sub-merchant number
	QRCode          string                `json:"qr_code,omitempty"`           // for the contact to scan (real name)
	ApplyState      string                `json:"apply_state,omitempty"`       // the provider's application state
	AuthorizeState  string                `json:"authorize_state,omitempty"`   // authorised, unauthorised, closed
	UpdatedAt       time.Time             `json:"updated_at"`
}

// CreateMerchantInput opens a merchant application at a provider account.
type CreateMerchantInput struct {
	Tenant         string `json:"-"`
	IdempotencyKey string `json:"-"`
	// Account is the configured provider account that onboards the
	// merchant; its plugin must offer onboarding.apply.
	Account     string                   `json:"account"`
	Application core.MerchantApplication `json:"application"`
	// Draft stores the application without sending it: documents are
	// uploaded first and SubmitMerchant sends the application with them
	// (providers that take documents before the application).
	Draft bool `json:"draft,omitempty"`
}

// UploadMerchantDocumentInput uploads one document of a merchant to its provider.
type UploadMerchantDocumentInput struct {
	Tenant         string `json:"-"`
	IdempotencyKey string `json:"-"`
	MerchantID     string `json:"-"`
	Type           string `json:"type"` // canonical document type: license, legal_id_front, ...
	FileName       string `json:"file_name"`
	ContentType    string `json:"content_type,omitempty"`
	Content        []byte `json:"-"` // at most MaxDocumentBytes; identified by its digest
	Description    string `json:"description,omitempty"`
}

// SubmitMerchantInput sends a draft application, or submits the uploaded
// documents of an opened merchant for review.
type SubmitMerchantInput struct {
	Tenant         string            `json:"-"`
	IdempotencyKey string            `json:"-"`
	MerchantID     string            `json:"-"`
	Documents      []string          `json:"documents,omitempty"` // document ids; empty = the latest of each type
	Extra          map[string]string `json:"extra,omitempty"`
}

// ActivateMerchantChannelsInput opens (or, with Modify, changes) payment
// channels for an opened merchant.
type ActivateMerchantChannelsInput struct {
	Tenant         string                   `json:"-"`
	IdempotencyKey string                   `json:"-"`
	MerchantID     string                   `json:"-"`
	Channels       []core.ChannelActivation `json:"channels,omitempty"`
	Category       string                   `json:"category,omitempty"`
	Modify         bool                     `json:"modify,omitempty"`
	Extra          map[string]string        `json:"extra,omitempty"`
}

// RealNameInput applies for WeChat/Alipay real-name authentication of an
// opened merchant.
type RealNameInput struct {
	Tenant         string            `json:"-"`
	IdempotencyKey string            `json:"-"`
	MerchantID     string            `json:"-"`
	Wallet         string            `json:"wallet"`       // wechat, alipay or all
	ContactType    string            `json:"contact_type"` // legal or agent
	Contact        core.Person       `json:"contact,omitzero"`
	Documents      []string          `json:"documents,omitempty"` // document ids; empty = the latest of each type
	Extra          map[string]string `json:"extra,omitempty"`
}

// SettlementAccountInput changes the settlement bank account of an opened merchant.
type SettlementAccountInput struct {
	Tenant         string            `json:"-"`
	IdempotencyKey string            `json:"-"`
	MerchantID     string            `json:"-"`
	Account        core.BankAccount  `json:"account"`
	Extra          map[string]string `json:"extra,omitempty"`
}

// MaxDocumentBytes bounds an uploaded document; providers may take less
// (Adapay: 2 MiB).
const MaxDocumentBytes = 5 << 20

// Input limits of onboarding.
const (
	maxMerchantText  = 1024 // any one string of an application
	maxMerchantName  = 128
	maxExtraKeys     = 50
	maxExtraValue    = 4096
	maxChannels      = 20
	maxDocumentRefs  = 50
	maxDocumentType  = 64
	maxFileName      = 255
	maxShareholders  = 20
	maxFeeRates      = 50
	merchantPrefix   = "mer_"
	requestPrefix    = "mrq_"
	documentPrefix   = "doc_"
	onboardingMethod = core.Method("onboarding") // the method part of the channel onboarding calls are recorded under
)

// requestParams is what a request asked for, stored masked with it.
type requestParams struct {
	Channels    []core.ChannelActivation `json:"channels,omitempty"`
	Category    string                   `json:"category,omitempty"`
	Modify      bool                     `json:"modify,omitempty"`
	Wallet      string                   `json:"wallet,omitempty"`
	ContactType string                   `json:"contact_type,omitempty"`
	Account     *core.BankAccount        `json:"account,omitempty"`
	Documents   []string                 `json:"documents,omitempty"`
}

// mask hides the middle of an identifier: at most a quarter of it, and
// never more than four characters, stays visible at each end.
func mask(s string) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	keep := min(len(r)/4, 4)
	return string(r[:keep]) + strings.Repeat("*", len(r)-2*keep) + string(r[len(r)-keep:])
}

func maskPerson(p core.Person) core.Person {
	p.IDNumber, p.Mobile = mask(p.IDNumber), mask(p.Mobile)
	return p
}

func maskAccount(b core.BankAccount) core.BankAccount {
	b.Number, b.Mobile = mask(b.Number), mask(b.Mobile)
	return b
}

// sensitiveKey says whether a provider-specific extra field holds personal
// data or a secret, by its name.
func sensitiveKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"phone", "mobile", "tel", "idno", "id_no", "id_card", "cert", "card", "acct", "account_no",
		"pwd", "password", "secret", "key", "legal_address"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

func maskExtra(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if sensitiveKey(k) {
			v = mask(v)
		}
		out[k] = v
	}
	return out
}

// maskApplication is the application as it may be shown and kept
// indefinitely: ID, card and mobile numbers (and extra fields named like
// them) masked.
func maskApplication(a core.MerchantApplication) core.MerchantApplication {
	a.Legal, a.Contact, a.Settlement = maskPerson(a.Legal), maskPerson(a.Contact), maskAccount(a.Settlement)
	if len(a.Shareholders) > 0 {
		holders := make([]core.Person, len(a.Shareholders))
		for i, p := range a.Shareholders {
			holders[i] = maskPerson(p)
		}
		a.Shareholders = holders
	}
	a.Extra = maskExtra(a.Extra)
	return a
}

// walkStrings calls fn with the path and value of every string (map keys
// and values included) in v.
func walkStrings(v reflect.Value, path string, fn func(path, s string) error) error {
	switch v.Kind() {
	case reflect.String:
		return fn(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return walkStrings(v.Elem(), path, fn)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return nil
		}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if err := walkStrings(v.Field(i), joinPath(path, name), fn); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			if err := fn(path, k); err != nil {
				return err
			}
			if err := walkStrings(iter.Value(), joinPath(path, k), fn); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := range v.Len() {
			if err := walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkOnboardingText refuses, anywhere in v, a string that is not valid
// UTF-8, holds a NUL, or is longer than maxMerchantText characters.
func checkOnboardingText(prefix string, v any) error {
	return walkStrings(reflect.ValueOf(v), prefix, func(path, s string) error {
		if err := checkText(path, s); err != nil {
			return err
		}
		if utf8.RuneCountInString(s) > maxMerchantText {
			return bad(path, "%s is longer than %d characters", path, maxMerchantText)
		}
		return nil
	})
}

func checkExtra(param string, m map[string]string) error {
	if len(m) > maxExtraKeys {
		return bad(param, "%s has more than %d keys", param, maxExtraKeys)
	}
	for k, v := range m {
		if k == "" || len(k) > 64 || len(v) > maxExtraValue {
			return bad(param, "%s keys must be 1-64 and values at most %d bytes", param, maxExtraValue)
		}
	}
	return nil
}

var merchantKinds = map[core.MerchantKind]bool{core.MerchantEnterprise: true, core.MerchantIndividual: true,
	core.MerchantMicro: true, core.MerchantPerson: true, core.MerchantAgent: true}

// validateApplication checks what every provider needs: a kind, a name,
// clean text within limits. What a provider needs beyond that, its plugin
// checks.
func validateApplication(a *core.MerchantApplication) error {
	if a.Kind == "" {
		return bad("application.kind", "application.kind is required: enterprise, individual_business, micro, person or agent")
	}
	if !merchantKinds[a.Kind] {
		return bad("application.kind", "application.kind %q is not one of enterprise, individual_business, micro, person, agent", a.Kind)
	}
	if strings.TrimSpace(a.Name) == "" {
		return bad("application.name", "application.name is required")
	}
	if utf8.RuneCountInString(a.Name) > maxMerchantName {
		return bad("application.name", "application.name is longer than %d characters", maxMerchantName)
	}
	if len(a.Shareholders) > maxShareholders {
		return bad("application.shareholders", "at most %d shareholders", maxShareholders)
	}
	if len(a.FeeRates) > maxFeeRates {
		return bad("application.fee_rates", "at most %d fee rates", maxFeeRates)
	}
	for _, r := range a.FeeRates {
		if r.Channel == "" || r.RatePPM < 0 || r.RatePPM >= core.PPM {
			return bad("application.fee_rates", "each fee rate needs a channel and rate_ppm in [0, 1000000)")
		}
	}
	if a.RegisteredCapital < 0 || a.PaidInCapital < 0 {
		return bad("application.registered_capital", "capital must not be negative")
	}
	if err := checkExtra("application.extra", a.Extra); err != nil {
		return err
	}
	if err := checkExtra("application.documents", a.Documents); err != nil {
		return err
	}
	return checkOnboardingText("application", *a)
}

// merchantToAPI assembles the view of a merchant with its documents and requests.
func (h *Host) merchantToAPI(ctx context.Context, sm *store.Merchant) (*Merchant, error) {
	m, err := merchantCore(sm)
	if err != nil {
		return nil, err
	}
	docs, err := h.store.ListMerchantDocuments(ctx, sm.ID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list merchant documents")
	}
	for _, d := range docs {
		m.Documents = append(m.Documents, MerchantDocument{ID: d.ID, Type: d.Type, FileName: d.FileName, ContentType: d.ContentType,
			Size: d.Size, SHA256: d.SHA256, Description: d.Description, ProviderDocumentID: d.ProviderDocumentID, CreatedAt: d.CreatedAt})
	}
	rs, err := h.store.ListMerchantRequests(ctx, sm.ID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list merchant requests")
	}
	for _, r := range rs {
		m.Requests = append(m.Requests, requestToAPI(r))
	}
	return m, nil
}

// merchantCore is the view of a merchant without its documents and
// requests (it reads nothing more from the store).
func merchantCore(sm *store.Merchant) (*Merchant, error) {
	m := &Merchant{ID: sm.ID, Object: "merchant", Account: sm.Account, Provider: sm.Plugin,
		Status: core.OnboardingStatus(sm.Status), Stage: sm.Stage, ProviderMerchantID: sm.ProviderID, Issued: sm.Issued,
		Message: sm.Message, CreatedAt: sm.CreatedAt, UpdatedAt: sm.UpdatedAt}
	if len(sm.Application) > 0 {
		if err := json.Unmarshal(sm.Application, &m.Application); err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "decode stored application")
		}
	}
	if !sm.SubmittedAt.IsZero() {
		m.SubmittedAt = ptr(sm.SubmittedAt)
	}
	switch core.OnboardingStatus(sm.Status) {
	case core.OnboardingDraft, core.OnboardingSubmitted, core.OnboardingReviewing:
		switch {
		case sm.FailureCode == string(core.CodeUnknownOutcome):
			m.PendingReason = PendingUnknownOutcome
		case sm.Stage != store.StageDraft:
			m.PendingReason = PendingProvider
		}
	case core.OnboardingRejected, core.OnboardingNeedsInfo:
		if sm.FailureCode != "" {
			m.Failure = &Failure{Code: core.Code(sm.FailureCode), Message: sm.FailureMessage, ProviderCode: sm.ProviderCode}
		}
	}
	return m, nil
}

// Outbox events of onboarding: "merchant.<status>" when a merchant's
// status changes, its data the merchant as merchantCore shows it (the
// masked application, no documents or requests); "merchant.<kind>.<status>"
// when a request's does (merchant.channels.approved,
// merchant.realname.needs_info with the QR codes in its items,
// merchant.settlement_account.rejected, ...), its data the request. Both
// are about the merchant: object type "merchant", object id its id.

func (h *Host) onboardingEvent(typ string, render func(obj any) (any, error)) *store.EventSpec {
	now := h.now()
	return &store.EventSpec{ID: newID("evt_", now), Type: typ, CreatedAt: now, Data: func(obj any) ([]byte, error) {
		v, err := render(obj)
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	}}
}

func merchantEventData(obj any) (any, error) {
	sm, ok := obj.(*store.Merchant)
	if !ok {
		return nil, fmt.Errorf("host: merchant event data from a %T", obj)
	}
	return merchantCore(sm)
}

func requestEventData(obj any) (any, error) {
	sr, ok := obj.(*store.MerchantRequest)
	if !ok {
		return nil, fmt.Errorf("host: merchant request event data from a %T", obj)
	}
	return requestToAPI(sr), nil
}

func requestToAPI(r *store.MerchantRequest) MerchantRequest {
	out := MerchantRequest{ID: r.ID, MerchantID: r.MerchantID, Kind: r.Kind, Status: core.OnboardingStatus(r.Status), AccountID: r.AccountID,
		Message: r.Message, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	var p requestParams
	if len(r.Params) > 0 && json.Unmarshal(r.Params, &p) == nil {
		out.Channels, out.Modify, out.Wallet, out.ContactType, out.SettlementAccount = p.Channels, p.Modify, p.Wallet, p.ContactType, p.Account
	}
	for _, it := range r.Items {
		out.Items = append(out.Items, MerchantRequestItem{Name: it.Name, Status: core.OnboardingStatus(it.Status), Message: it.Message,
			SubMerchantCode: it.SubMerchantCode, QRCode: it.QRCode, ApplyState: it.ApplyState, AuthorizeState: it.AuthorizeState,
			UpdatedAt: it.UpdatedAt})
	}
	switch core.OnboardingStatus(r.Status) {
	case core.OnboardingDraft, core.OnboardingSubmitted, core.OnboardingReviewing:
		if r.FailureCode == string(core.CodeUnknownOutcome) {
			out.PendingReason = PendingUnknownOutcome
		} else {
			out.PendingReason = PendingProvider
		}
	case core.OnboardingRejected, core.OnboardingNeedsInfo:
		if r.FailureCode != "" {
			out.Failure = &Failure{Code: core.Code(r.FailureCode), Message: r.FailureMessage, ProviderCode: r.ProviderCode}
		}
	}
	return out
}
