package store

import (
	"context"
	"time"
)

// Receiver is a split receiver registered for a tenant at a provider
// account, under the name the rules use for it ("platform", "agent", ...).
type Receiver struct {
	ID             string // rcv_...
	Tenant         string
	Account        string // the provider account it is bound at
	Name           string // the rules' receiver name; unique per tenant, account and channel
	Plugin         string
	ProviderID     string // the provider's receiver id
	Status         string // core.ReceiverStatus
	Kind           string // personal or business
	Channel        string // wallet the receiver is bound in ("" = any)
	AccountNo      string
	AccountName    string
	Relation       string
	RelationName   string
	GroupID        string
	RatioPPM       int64
	FailureCode    string
	FailureMessage string
	ProviderData   map[string]string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// SplitRecord is one receiver's part of a stored split.
type SplitRecord struct {
	Receiver         string `json:"receiver"`    // the rules' name
	ReceiverID       string `json:"receiver_id"` // Payhost's rcv_ id
	ProviderReceiver string `json:"provider_receiver,omitempty"`
	ProviderRecordID string `json:"provider_record_id,omitempty"`
	Amount           int64  `json:"amount"`
	Status           string `json:"status"` // core.SplitStatus
	FailureCode      string `json:"failure_code,omitempty"`
	FailureMessage   string `json:"failure_message,omitempty"`
}

// Split is one split batch over a payment.
type Split struct {
	ID             string // spl_...
	Tenant         string
	PaymentID      string
	Account        string
	Plugin         string
	Source         string // SplitFromRules (at most one per payment) or SplitFromAPI
	IdempotencyKey string
	Status         string // core.SplitStatus
	Amount         int64  // Σ records
	Currency       string
	ProviderID     string
	Records        []SplitRecord
	FailureCode    string
	FailureMessage string
	ProviderCode   string
	ProviderData   map[string]string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	NextPollAt     time.Time
	PollAttempts   int

	// Link, when set, links the object to its idempotency key as it is
	// inserted (see IdemLink). It is not stored.
	Link *IdemLink
}

// Split sources.
const (
	SplitFromRules = "rules" // executed by the engine from the payment's decision
	SplitFromAPI   = "api"   // asked for through the API
)

// SplitUpdate changes a split like PaymentUpdate changes a payment. Moving
// to "failed" gives its amount back to the payment's SplitReserved; moving
// to "succeeded" adds the succeeded records' amounts to SplitAmount — in the
// same transaction as the status change.
type SplitUpdate struct {
	ID             string
	From, To       string
	ProviderID     *string
	Records        []SplitRecord // nil = unchanged
	FailureCode    *string
	FailureMessage *string
	ProviderCode   *string
	ProviderData   map[string]string
	NextPollAt     *time.Time
	PollAttempts   *int
	Now            time.Time
	Event          *EventSpec // recorded with the change, in its transaction (webhooks)
}

// SplitStore keeps split receivers and splits.
type SplitStore interface {
	// InsertReceiver stores a receiver: ErrDuplicate when the tenant has one
	// of that name and channel at that account already.
	InsertReceiver(ctx context.Context, r *Receiver) error
	// ReplaceReceiver overwrites a receiver whose status is from (a failed
	// binding tried again): ErrConflict otherwise. A provider receiver id
	// is bound at most once per account, whatever the tenant: making r
	// bound with the ProviderID of another bound receiver of its account
	// is ErrDuplicate, and changes nothing.
	ReplaceReceiver(ctx context.Context, r *Receiver, from string) error
	// GetReceiver reads a receiver by id.
	GetReceiver(ctx context.Context, id string) (*Receiver, error)
	// FindReceiver reads a tenant's receiver by account, name and channel.
	FindReceiver(ctx context.Context, tenant, account, name, channel string) (*Receiver, error)
	// FindReceivers lists a tenant's receivers of a name at an account (one
	// per channel), oldest first.
	FindReceivers(ctx context.Context, tenant, account, name string) ([]*Receiver, error)
	// ListReceivers lists a tenant's receivers, oldest first.
	ListReceivers(ctx context.Context, tenant string) ([]*Receiver, error)
	// FindReceiversByProvider lists the receivers of every tenant at an
	// account that carry a provider receiver id, oldest first.
	FindReceiversByProvider(ctx context.Context, account, providerID string) ([]*Receiver, error)
	// ListReceiversByStatus lists the receivers of every tenant in a
	// status, oldest first, at most limit of them.
	ListReceiversByStatus(ctx context.Context, status string, limit int) ([]*Receiver, error)

	// InsertSplit stores a new split and reserves its amount on the payment
	// in one transaction: the payment must be succeeded and the reserved
	// splits may not exceed amount − fee − refunds reserved (ErrInsufficient,
	// ErrConflict for another status, ErrNotFound). A second split from the
	// rules for one payment is ErrDuplicate.
	InsertSplit(ctx context.Context, sp *Split) error
	// GetSplit reads a split.
	GetSplit(ctx context.Context, id string) (*Split, error)
	// ListSplits lists a payment's splits, oldest first.
	ListSplits(ctx context.Context, paymentID string) ([]*Split, error)
	// UpdateSplit changes a split (see SplitUpdate).
	UpdateSplit(ctx context.Context, u SplitUpdate) (*Split, error)
	// ClaimSplitsToPoll is ClaimPaymentsToPoll for splits.
	ClaimSplitsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Split, error)
	// ClaimPaymentsToSplit returns payments whose rules' split is due
	// (SplitDueAt set, not after now) and moves SplitDueAt to now+lease in
	// the same statement, so other nodes leave them alone meanwhile; the
	// caller clears SplitDueAt once the split is stored.
	ClaimPaymentsToSplit(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Payment, error)
}
