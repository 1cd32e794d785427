package store

import (
	"context"
	"time"
)

// Merchant stages: where an application is in the provider-neutral
// onboarding flow. The stage decides which provider reports still concern
// the merchant (a report made for an earlier stage is stale).
const (
	StageDraft       = "draft"       // stored, not sent: documents may be uploaded first
	StageApplication = "application" // sent with onboarding.apply; the provider decides on it
	StageReview      = "review"      // documents submitted with onboarding.submit; the provider reviews them
)

// Merchant request kinds.
const (
	RequestChannels   = "channels"           // onboarding.channel.activate (or a change of it)
	RequestRealName   = "realname"           // onboarding.realname.apply
	RequestSettlement = "settlement_account" // onboarding.settlement.set
)

// Merchant is a stored merchant application. Application holds the
// application with personal data masked (what the API shows); Sealed holds
// it in full only while the provider has not received it (a draft, or an
// application whose sending had no answer), and is emptied as soon as the
// provider has it.
type Merchant struct {
	ID             string // mer_...; also the provider's application id
	Tenant         string
	IdempotencyKey string
	Account        string // the provider account that onboards it
	Plugin         string
	Kind           string // core.MerchantKind
	Name           string
	Status         string // core.OnboardingStatus
	Stage          string // Stage*
	Application    []byte // JSON of core.MerchantApplication, masked
	Sealed         []byte // JSON of core.MerchantApplication in full; nil once the provider has it
	ProviderID     string // the provider's merchant id (Adapay: the sub-merchant's API key)
	Issued         map[string]string
	ProviderData   map[string]string
	Message        string // the provider's review comment
	FailureCode    string
	FailureMessage string
	ProviderCode   string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SubmittedAt    time.Time // when the documents were last submitted for review
	NextPollAt     time.Time // zero = not polled
	PollAttempts   int

	// Link, when set, links the object to its idempotency key as it is
	// inserted (see IdemLink). It is not stored.
	Link *IdemLink
}

// MerchantUpdate changes a merchant. A non-empty From makes it conditional
// on the stored status, a non-empty FromStage on the stored stage: when
// either differs nothing changes and ErrConflict is returned. A non-empty
// To moves the status. Nil pointers and maps leave fields unchanged.
type MerchantUpdate struct {
	ID             string
	From, To       string
	FromStage      string
	Stage          *string
	ProviderID     *string
	Issued         map[string]string // replaces the whole map
	ProviderData   map[string]string // replaces the whole map
	Message        *string
	FailureCode    *string
	FailureMessage *string
	ProviderCode   *string
	ClearSealed    bool // forget the full application
	Sealed         []byte
	SubmittedAt    *time.Time
	NextPollAt     *time.Time
	PollAttempts   *int
	Now            time.Time // UpdatedAt; zero leaves it
	// Event, when set, is recorded in the outbox in the same transaction
	// as the update (see EventSpec); its Data gets the *Merchant as updated.
	Event *EventSpec
}

// MerchantDocument is a document uploaded for a merchant. Its content went
// to the provider and is not kept: only what identifies it.
type MerchantDocument struct {
	ID                 string // doc_...
	MerchantID         string
	Type               string // canonical document type: license, legal_id_front, ...
	FileName           string
	ContentType        string
	Size               int64
	SHA256             string // hex digest of the content
	Description        string
	ProviderDocumentID string
	CreatedAt          time.Time
}

// MerchantRequest is an asynchronous onboarding request made for a
// merchant: a channel activation, a real-name authentication or a
// settlement account change. Its ID is the request id the provider sees.
type MerchantRequest struct {
	ID             string // mrq_...
	Tenant         string
	MerchantID     string
	Kind           string // Request*
	IdempotencyKey string
	Status         string // core.OnboardingStatus
	Params         []byte // JSON of what was asked, personal data masked
	AccountID      string // the provider's id of a settlement account
	Message        string
	FailureCode    string
	FailureMessage string
	ProviderCode   string
	ProviderData   map[string]string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	NextPollAt     time.Time
	PollAttempts   int
	Items          []MerchantRequestItem // read with the request; InsertMerchantRequest stores them too

	// Link, when set, links the object to its idempotency key as it is
	// inserted (see IdemLink). It is not stored.
	Link *IdemLink
}

// MerchantRequestItem is the state of one part of a request: a payment
// channel of an activation, a wallet of a real-name authentication.
type MerchantRequestItem struct {
	Name            string // channel (wx_pub) or wallet (wechat)
	Status          string // core.OnboardingStatus
	Message         string
	SubMerchantCode string
	QRCode          string
	ApplyState      string
	AuthorizeState  string
	UpdatedAt       time.Time
}

// MerchantRequestUpdate changes a request, with the same conditional
// status move as MerchantUpdate.
type MerchantRequestUpdate struct {
	ID             string
	From, To       string
	AccountID      *string
	Message        *string
	FailureCode    *string
	FailureMessage *string
	ProviderCode   *string
	ProviderData   map[string]string // replaces the whole map
	NextPollAt     *time.Time
	PollAttempts   *int
	Now            time.Time
	// Event, when set, is recorded in the outbox in the same transaction
	// as the update; its Data gets the *MerchantRequest as updated, with its
	// items. The event's object is the request's merchant (object type
	// "merchant", the merchant's id), so a merchant's events list its
	// requests' too.
	Event *EventSpec
}

// MerchantItemUpdate sets one item of a request. An empty From adds the
// item, ErrDuplicate when it exists; a non-empty From changes the item
// only while its status is From (ErrConflict otherwise, ErrNotFound when
// there is no such item). Nil pointers leave fields unchanged.
type MerchantItemUpdate struct {
	RequestID       string
	Name            string
	From, To        string
	Message         *string
	SubMerchantCode *string
	QRCode          *string
	ApplyState      *string
	AuthorizeState  *string
	Now             time.Time
}

// MerchantStore keeps merchant applications, their documents and their
// asynchronous requests. Every status change is a conditional update, so
// notifications, pollers and API calls on several nodes move each object
// once.
type MerchantStore interface {
	// InsertMerchant stores a new merchant; ErrDuplicate for a repeated ID.
	InsertMerchant(ctx context.Context, m *Merchant) error
	// GetMerchant reads a merchant by id.
	GetMerchant(ctx context.Context, id string) (*Merchant, error)
	// UpdateMerchant applies u (see MerchantUpdate) and returns the merchant after it.
	UpdateMerchant(ctx context.Context, u MerchantUpdate) (*Merchant, error)
	// ClaimMerchantsToPoll returns merchants whose NextPollAt is set and not
	// after now, moving it to now+lease in the same statement so pollers of
	// other nodes leave them alone meanwhile.
	ClaimMerchantsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Merchant, error)

	// InsertMerchantDocument stores a document reference; ErrDuplicate for
	// a repeated ID, ErrNotFound when the merchant does not exist.
	InsertMerchantDocument(ctx context.Context, d *MerchantDocument) error
	// ListMerchantDocuments lists a merchant's documents, oldest first.
	ListMerchantDocuments(ctx context.Context, merchantID string) ([]*MerchantDocument, error)

	// InsertMerchantRequest stores a request with its items in one
	// transaction; ErrDuplicate for a repeated ID, ErrNotFound when the
	// merchant does not exist.
	InsertMerchantRequest(ctx context.Context, r *MerchantRequest) error
	// GetMerchantRequest reads a request with its items.
	GetMerchantRequest(ctx context.Context, id string) (*MerchantRequest, error)
	// ListMerchantRequests lists a merchant's requests with their items, oldest first.
	ListMerchantRequests(ctx context.Context, merchantID string) ([]*MerchantRequest, error)
	// UpdateMerchantRequest applies u and returns the request (with its items) after it.
	UpdateMerchantRequest(ctx context.Context, u MerchantRequestUpdate) (*MerchantRequest, error)
	// SetMerchantRequestItem adds or changes one item (see
	// MerchantItemUpdate) and returns the request with its items after it.
	SetMerchantRequestItem(ctx context.Context, u MerchantItemUpdate) (*MerchantRequest, error)
	// ClaimMerchantRequestsToPoll is ClaimMerchantsToPoll for requests.
	ClaimMerchantRequestsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*MerchantRequest, error)
}
