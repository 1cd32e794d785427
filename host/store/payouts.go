package store

import (
	"context"
	"time"
)

// Payout is money sent out: a transfer, a withdrawal, a disbursement or a
// split receiver's cash-out.
type Payout struct {
	ID             string // po_...
	Tenant         string
	IdempotencyKey string
	Account        string
	Plugin         string
	Kind           string // core.PayoutKind
	Amount         int64
	FeeAmount      int64
	Currency       string
	Destination    []byte // JSON core.Destination (holds account numbers: never logged)
	Description    string
	Status         string // core.PayoutStatus
	ProviderID     string
	FailureCode    string
	FailureMessage string
	ProviderCode   string
	ProviderData   map[string]string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CompletedAt    time.Time
	NextPollAt     time.Time
	PollAttempts   int

	// Link, when set, links the object to its idempotency key as it is
	// inserted (see IdemLink). It is not stored.
	Link *IdemLink
}

// PayoutUpdate changes a payout like PaymentUpdate changes a payment.
type PayoutUpdate struct {
	ID             string
	From, To       string
	ProviderID     *string
	FeeAmount      *int64
	FailureCode    *string
	FailureMessage *string
	ProviderCode   *string
	ProviderData   map[string]string
	CompletedAt    *time.Time
	NextPollAt     *time.Time
	PollAttempts   *int
	Now            time.Time
	Event          *EventSpec // recorded with the change, in its transaction (webhooks)
}

// Terminal is a payment device a tenant registered at a provider account.
type Terminal struct {
	ID           string // tml_...
	Tenant       string
	Account      string
	DeviceNo     string // unique per account
	Kind         string
	SerialNo     string
	Status       string
	StoreName    string
	ProviderID   string
	ProviderData map[string]string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// PayoutStore keeps payouts and terminals.
type PayoutStore interface {
	// InsertPayout stores a new payout: ErrDuplicate for a known id.
	InsertPayout(ctx context.Context, p *Payout) error
	// GetPayout reads a payout.
	GetPayout(ctx context.Context, id string) (*Payout, error)
	// UpdatePayout changes a payout (conditional on From when set).
	UpdatePayout(ctx context.Context, u PayoutUpdate) (*Payout, error)
	// ClaimPayoutsToPoll is ClaimPaymentsToPoll for payouts.
	ClaimPayoutsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Payout, error)

	// UpsertTerminal stores a terminal, or updates the tenant's terminal of
	// that account and device number: ErrConflict when another tenant has it.
	UpsertTerminal(ctx context.Context, t *Terminal) error
	// FindTerminal reads the terminal of an account by device number.
	FindTerminal(ctx context.Context, account, deviceNo string) (*Terminal, error)
	// GetTerminal reads a terminal by id.
	GetTerminal(ctx context.Context, id string) (*Terminal, error)
	// ListTerminals lists a tenant's terminals, oldest first.
	ListTerminals(ctx context.Context, tenant string) ([]*Terminal, error)
}
