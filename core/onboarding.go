package core

import "time"

// MerchantKind is the legal form of an applicant.
type MerchantKind string

// Merchant kinds.
const (
	MerchantEnterprise MerchantKind = "enterprise"          // company (企业)
	MerchantIndividual MerchantKind = "individual_business" // sole proprietor (个体户)
	MerchantMicro      MerchantKind = "micro"               // micro merchant without licence (小微)
	MerchantPerson     MerchantKind = "person"              // a natural person's wallet account (个人开户)
	MerchantAgent      MerchantKind = "agent"               // an agent's merchant (代理商商户)
)

// Person is a legal representative, contact or shareholder.
type Person struct {
	Name       string `json:"name,omitempty"`
	IDType     string `json:"id_type,omitempty"` // id_card, passport, ...
	IDNumber   string `json:"id_number,omitempty"`
	IDStart    string `json:"id_start,omitempty"` // YYYYMMDD
	IDEnd      string `json:"id_end,omitempty"`   // YYYYMMDD or "forever"
	Mobile     string `json:"mobile,omitempty"`
	Email      string `json:"email,omitempty"`
	Address    string `json:"address,omitempty"`
	Occupation string `json:"occupation,omitempty"`
}

// BankAccount is a settlement or withdrawal account.
type BankAccount struct {
	Type      string `json:"type,omitempty"` // corporate or personal
	Number    string `json:"number,omitempty"`
	Name      string `json:"name,omitempty"`
	BankCode  string `json:"bank_code,omitempty"`
	BankName  string `json:"bank_name,omitempty"`
	Branch    string `json:"branch,omitempty"`
	Province  string `json:"province,omitempty"`
	Area      string `json:"area,omitempty"`
	Mobile    string `json:"mobile,omitempty"`
	DebitOnly bool   `json:"debit_only,omitempty"`
}

// License is a business licence.
type License struct {
	Type            string `json:"type,omitempty"` // normal or unified (三证合一)
	Code            string `json:"code,omitempty"` // unified social credit code or registration number
	InstitutionCode string `json:"institution_code,omitempty"`
	TaxCode         string `json:"tax_code,omitempty"`
	Start           string `json:"start,omitempty"`
	End             string `json:"end,omitempty"`
}

// FeeRate is a channel fee rate agreed at onboarding.
type FeeRate struct {
	Channel string `json:"channel"`  // provider rate channel, e.g. wx_pub_online, union_qr_under
	RatePPM int64  `json:"rate_ppm"` // parts per million
}

// MerchantApplication is the canonical merchant-onboarding form. Extra
// carries provider-specific fields that have no canonical home.
type MerchantApplication struct {
	Kind              MerchantKind      `json:"kind"`
	Name              string            `json:"name"`
	ShortName         string            `json:"short_name,omitempty"`
	EnglishName       string            `json:"english_name,omitempty"`
	License           License           `json:"license,omitzero"`
	RegisteredCapital int64             `json:"registered_capital,omitempty"` // minor units
	PaidInCapital     int64             `json:"paid_in_capital,omitempty"`
	Website           string            `json:"website,omitempty"`
	ICP               string            `json:"icp,omitempty"`
	EstablishedOn     string            `json:"established_on,omitempty"`
	Province          string            `json:"province,omitempty"`
	City              string            `json:"city,omitempty"`
	District          string            `json:"district,omitempty"`
	BusinessAddress   string            `json:"business_address,omitempty"`
	RegisteredAddress string            `json:"registered_address,omitempty"`
	Phone             string            `json:"phone,omitempty"`
	BusinessScope     string            `json:"business_scope,omitempty"`
	Industry          string            `json:"industry,omitempty"` // MCC or provider category
	Legal             Person            `json:"legal,omitzero"`
	Contact           Person            `json:"contact,omitzero"`
	Shareholders      []Person          `json:"shareholders,omitempty"`
	Settlement        BankAccount       `json:"settlement,omitzero"`
	Documents         map[string]string `json:"documents,omitempty"` // document type → provider document id
	FeeRates          []FeeRate         `json:"fee_rates,omitempty"`
	Extra             map[string]string `json:"extra,omitempty"`
}

// MerchantResult is the state of an application at the provider.
type MerchantResult struct {
	ApplicationID  string            `json:"application_id"`
	ProviderID     string            `json:"provider_id,omitempty"` // merchant number, sub api key, user cust id
	Status         OnboardingStatus  `json:"status"`
	Message        string            `json:"message,omitempty"` // review comment or failure reason
	Issued         map[string]string `json:"issued,omitempty"`  // non-secret identifiers the provider issued (app ids)
	ProviderData   map[string]string `json:"provider_data,omitempty"`
	FailureCode    string            `json:"failure_code,omitempty"`
	FailureMessage string            `json:"failure_message,omitempty"`
}

// ApplyMerchantRequest opens an account for a merchant or a person.
type ApplyMerchantRequest struct {
	ApplicationID string              `json:"application_id"`
	Application   MerchantApplication `json:"application"`
	NotifyURL     string              `json:"notify_url,omitempty"`
	CreatedAt     time.Time           `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// ApplyMerchantResponse is the application as accepted.
type ApplyMerchantResponse struct {
	Result MerchantResult `json:"result"`
}

// UpdateMerchantRequest changes an application's or merchant's basic information.
type UpdateMerchantRequest struct {
	ApplicationID string              `json:"application_id"`
	ProviderID    string              `json:"provider_id"`
	Application   MerchantApplication `json:"application"`
	NotifyURL     string              `json:"notify_url,omitempty"`
	CreatedAt     time.Time           `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// UpdateMerchantResponse is the application after the change.
type UpdateMerchantResponse struct {
	Result MerchantResult `json:"result"`
}

// QueryMerchantRequest reads an application's state.
type QueryMerchantRequest struct {
	ApplicationID string            `json:"application_id"`
	ProviderID    string            `json:"provider_id,omitempty"`
	ProviderData  map[string]string `json:"provider_data,omitempty"`
}

// QueryMerchantResponse is the application's state.
type QueryMerchantResponse struct {
	Result MerchantResult `json:"result"`
}

// UploadDocumentRequest uploads one document or image.
type UploadDocumentRequest struct {
	ApplicationID string            `json:"application_id,omitempty"`
	ProviderID    string            `json:"provider_id,omitempty"` // merchant the document belongs to
	Type          string            `json:"type"`                  // canonical document type, e.g. license, legal_id_front
	FileName      string            `json:"file_name"`
	ContentType   string            `json:"content_type,omitempty"`
	Content       []byte            `json:"content"`
	Description   string            `json:"description,omitempty"`
	Extra         map[string]string `json:"extra,omitempty"`
	CreatedAt     time.Time         `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// UploadDocumentResponse is the provider's id for the document.
type UploadDocumentResponse struct {
	DocumentID string `json:"document_id"`
	Type       string `json:"type"`
}

// SubmitMerchantRequest submits uploaded documents for review.
type SubmitMerchantRequest struct {
	ApplicationID string            `json:"application_id"`
	ProviderID    string            `json:"provider_id"`
	Documents     map[string]string `json:"documents"` // document type → document id
	Extra         map[string]string `json:"extra,omitempty"`
	CreatedAt     time.Time         `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// SubmitMerchantResponse is the application after submission.
type SubmitMerchantResponse struct {
	Result MerchantResult `json:"result"`
}

// ChannelActivation is one payment channel to open for a merchant.
type ChannelActivation struct {
	Channel string `json:"channel"`          // wx_pub, wx_lite, alipay_qr, union_qr, ...
	AppID   string `json:"app_id,omitempty"` // WeChat appid for wx_pub / wx_lite
	Path    string `json:"path,omitempty"`   // WeChat payment authorisation directory
	RatePPM int64  `json:"rate_ppm,omitempty"`
}

// ChannelState is the state of one channel at the provider.
type ChannelState struct {
	Channel         string           `json:"channel"`
	Status          OnboardingStatus `json:"status"`
	Message         string           `json:"message,omitempty"`
	SubMerchantCode string           `json:"sub_merchant_code,omitempty"` // WeChat/Alipay sub-merchant number
}

// ActivateChannelRequest opens (or, with Modify, changes) payment channels.
type ActivateChannelRequest struct {
	RequestID  string              `json:"request_id"`
	ProviderID string              `json:"provider_id"`
	Channels   []ChannelActivation `json:"channels"`
	Category   string              `json:"category,omitempty"`
	Modify     bool                `json:"modify,omitempty"`
	NotifyURL  string              `json:"notify_url,omitempty"`
	Extra      map[string]string   `json:"extra,omitempty"`
	CreatedAt  time.Time           `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// ActivateChannelResponse is the activation as accepted.
type ActivateChannelResponse struct {
	Status   OnboardingStatus `json:"status"`
	Channels []ChannelState   `json:"channels,omitempty"`
	Message  string           `json:"message,omitempty"`
}

// QueryChannelRequest reads channel activation results.
type QueryChannelRequest struct {
	RequestID    string            `json:"request_id"`
	ProviderID   string            `json:"provider_id,omitempty"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// QueryChannelResponse is the state of each channel.
type QueryChannelResponse struct {
	Status   OnboardingStatus `json:"status"`
	Channels []ChannelState   `json:"channels,omitempty"`
	Message  string           `json:"message,omitempty"`
}

// RealNameRequest applies for WeChat/Alipay real-name authentication.
type RealNameRequest struct {
	RequestID   string            `json:"request_id"`
	ProviderID  string            `json:"provider_id"`
	Wallet      string            `json:"wallet"`       // wechat, alipay or all
	ContactType string            `json:"contact_type"` // legal or agent
	Contact     Person            `json:"contact,omitzero"`
	Documents   map[string]string `json:"documents,omitempty"`
	NotifyURL   string            `json:"notify_url,omitempty"`
	Extra       map[string]string `json:"extra,omitempty"`
	CreatedAt   time.Time         `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// RealNameState is one wallet's authentication state.
type RealNameState struct {
	Wallet         string           `json:"wallet"`
	Status         OnboardingStatus `json:"status"`
	ApplyState     string           `json:"apply_state,omitempty"`     // provider's application state text
	AuthorizeState string           `json:"authorize_state,omitempty"` // authorised, unauthorised, closed
	QRCode         string           `json:"qr_code,omitempty"`         // for the merchant to scan and confirm
	FailureReason  string           `json:"failure_reason,omitempty"`
}

// RealNameResponse is the application as accepted.
type RealNameResponse struct {
	States []RealNameState `json:"states"`
}

// QueryRealNameRequest reads real-name authentication results.
type QueryRealNameRequest struct {
	RequestID    string            `json:"request_id"`
	ProviderID   string            `json:"provider_id"`
	Wallet       string            `json:"wallet,omitempty"` // wechat or alipay; empty = all
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// QueryRealNameResponse is each wallet's state, with its QR code.
type QueryRealNameResponse struct {
	States []RealNameState `json:"states"`
}

// SetSettlementAccountRequest binds or changes a settlement or withdrawal account.
type SetSettlementAccountRequest struct {
	RequestID  string            `json:"request_id"`
	ProviderID string            `json:"provider_id"`       // merchant
	UserID     string            `json:"user_id,omitempty"` // provider user, when the card is a user's
	Account    BankAccount       `json:"account"`
	NotifyURL  string            `json:"notify_url,omitempty"`
	Extra      map[string]string `json:"extra,omitempty"`
	CreatedAt  time.Time         `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// SetSettlementAccountResponse is the binding as accepted.
type SetSettlementAccountResponse struct {
	Status    OnboardingStatus `json:"status"`
	AccountID string           `json:"account_id,omitempty"` // card id / token number for later payouts
	Message   string           `json:"message,omitempty"`
}

// RemoveSettlementAccountRequest unbinds a bank account.
type RemoveSettlementAccountRequest struct {
	RequestID  string            `json:"request_id"`
	ProviderID string            `json:"provider_id"`
	UserID     string            `json:"user_id,omitempty"`
	AccountID  string            `json:"account_id"`
	Account    BankAccount       `json:"account,omitzero"`
	NotifyURL  string            `json:"notify_url,omitempty"`
	Extra      map[string]string `json:"extra,omitempty"`
	CreatedAt  time.Time         `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// RemoveSettlementAccountResponse is the result of the unbinding.
type RemoveSettlementAccountResponse struct {
	Status  OnboardingStatus `json:"status"`
	Message string           `json:"message,omitempty"`
}
