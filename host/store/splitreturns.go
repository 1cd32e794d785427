package store

import (
	"context"
	"time"
)

// SplitReturn takes money a split gave a receiver back to the merchant
// (分账退回), so that it can be refunded. Returns are reserved against the
// receiver's succeeded record of the split: the returns of a receiver that
// are not failed never exceed what the split gave it.
type SplitReturn struct {
	ID               string // srt_...
	Tenant           string
	IdempotencyKey   string
	SplitID          string
	PaymentID        string
	Account          string
	Plugin           string
	Receiver         string // the rules' name of the receiver
	ReceiverID       string // Payhost's rcv_ id: the split record returned from
	ProviderReceiver string
	Amount           int64
	Currency         string
	Reason           string
	Status           string // core.SplitReturnStatus
	ProviderID       string
	FailureCode      string
	FailureMessage   string
	ProviderCode     string
	ProviderData     map[string]string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	NextPollAt       time.Time
	PollAttempts     int

	// Link, when set, links the object to its idempotency key as it is
	// inserted (see IdemLink). It is not stored.
	Link *IdemLink
}

// SplitReturnUpdate changes a split return like PaymentUpdate changes a
// payment. Moving to "succeeded" takes its amount off the payment's
// SplitAmount and SplitReserved (the money is the merchant's again, free
// to refund) in the same transaction as the status change.
type SplitReturnUpdate struct {
	ID             string
	From, To       string
	ProviderID     *string
	FailureCode    *string
	FailureMessage *string
	ProviderCode   *string
	ProviderData   map[string]string
	NextPollAt     *time.Time
	PollAttempts   *int
	Now            time.Time
	Event          *EventSpec // recorded with the change, in its transaction (webhooks)
}

// SplitReturnStore keeps split returns.
type SplitReturnStore interface {
	// InsertSplitReturn stores a return and reserves it against the split's
	// record of the receiver in one transaction: the split must be
	// succeeded (ErrConflict), the record succeeded (ErrConflict) and the
	// receiver's returns not failed, this one included, at most the
	// record's amount (ErrInsufficient). ErrNotFound without the split or
	// the receiver's record.
	InsertSplitReturn(ctx context.Context, r *SplitReturn) error
	// GetSplitReturn reads a split return.
	GetSplitReturn(ctx context.Context, id string) (*SplitReturn, error)
	// ListSplitReturns lists the returns of a payment's splits, oldest first.
	ListSplitReturns(ctx context.Context, paymentID string) ([]*SplitReturn, error)
	// UpdateSplitReturn changes a split return (see SplitReturnUpdate).
	UpdateSplitReturn(ctx context.Context, u SplitReturnUpdate) (*SplitReturn, error)
	// ClaimSplitReturnsToPoll is ClaimPaymentsToPoll for split returns.
	ClaimSplitReturnsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*SplitReturn, error)
}
