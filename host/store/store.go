// Package store is Payhost's durable state: payments, refunds, their
// attempts and transitions, idempotency keys and inbound notifications. One
// interface, two implementations on database/sql: SQLite (pure Go,
// modernc.org/sqlite) embedded by default, PostgreSQL (pgx) for several
// payhost nodes sharing one database. Every correctness rule that must hold
// across nodes — one provider call per idempotency key, one application per
// notification, one transition per state, refunds never above what was
// paid — is enforced by the database (unique keys, conditional updates,
// transactions), never by process memory.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every implementation.
var (
	ErrNotFound     = errors.New("store: not found")
	ErrDuplicate    = errors.New("store: duplicate")                  // a unique key already exists
	ErrConflict     = errors.New("store: conflict")                   // a conditional update found another state
	ErrInsufficient = errors.New("store: insufficient amount")        // a refund above what is left to refund
	ErrTakenOver    = errors.New("store: idempotency key taken over") // an insert's IdemLink names a key its owner no longer holds
)

// IdemLink asks an insert to link the new object to the idempotency key
// of the request creating it, in the transaction that stores the object:
// a crash can never leave an object (a reserved refund, a payment about to
// be sent) that no key leads to, which a retry would then create a second
// time. The insert stores nothing and fails with ErrTakenOver when Owner
// no longer holds the key in progress (a retry took it over).
type IdemLink struct {
	Tenant string
	Key    string
	Owner  string
	Now    time.Time
}

// Idempotency-key states.
const (
	IdemInProgress = "in_progress"
	IdemDone       = "done"
)

// IdemClaim asks to own an idempotency key for one request.
type IdemClaim struct {
	Tenant      string
	Key         string
	Operation   string // e.g. "payment.create", "payment.close:pay_123"
	RequestHash string // SHA-256 of the canonical request
	Now         time.Time
	Lease       time.Duration // how long the owner may work before another may take over
	Owner       string        // a token unique to this claimant; Link, Finish and Release must present it
	// Node is the claimant's node (its Heartbeat id). A key in progress
	// whose owner's node has not been seen for NodeTimeout may be taken
	// over before its lease runs out: that node crashed. NodeTimeout 0
	// leaves only the lease.
	Node        string
	NodeTimeout time.Duration
}

// IdemRecord is a stored idempotency key.
type IdemRecord struct {
	Tenant         string
	Key            string
	Operation      string
	RequestHash    string
	State          string // IdemInProgress or IdemDone
	Owner          string // the token of the current (or last) owner
	ResourceID     string // the object the request created or changed, once known
	Node           string // the node of the owner
	ResponseStatus int    // what the stored response is (IdemDone): the engine stores 0 for an answer, 1 for an error; keys stored by earlier versions hold an HTTP status
	ResponseBody   []byte // the stored response (IdemDone)
	LockedUntil    time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Payment is a stored payment.
type Payment struct {
	ID              string
	Tenant          string
	MerchantOrderID string // unique per tenant when not empty
	IdempotencyKey  string
	Amount          int64
	Currency        string
	Method          string
	Description     string
	Metadata        map[string]string
	Status          string // core.PaymentStatus
	Plugin          string // channel that took the payment (empty before one did)
	Account         string
	ProviderID      string
	ChannelTradeNo  string
	PayInfo         []byte // JSON of core.PayInfo
	Decision        []byte // JSON of core.Decision
	FeeAmount       int64
	RefundedAmount  int64 // Σ succeeded refunds
	RefundReserved  int64 // Σ refunds not failed (processing + succeeded); never above Amount
	FailureCode     string
	FailureMessage  string
	ProviderCode    string // the provider's own code of the failure
	ChannelMethod   string // the method of the channel that took it, when not Method ('' = Method)
	TerminalID      string // the device it was taken on
	SplitReserved   int64  // Σ amounts of splits not failed
	SplitAmount     int64  // Σ amounts of succeeded split records
	SplitDueAt      time.Time
	ProviderData    map[string]string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	PaidAt          time.Time
	NextPollAt      time.Time // zero = not polled
	PollAttempts    int

	// Link, when set, links the object to its idempotency key as it is
	// inserted (see IdemLink). It is not stored.
	Link *IdemLink
}

// PaymentUpdate changes a payment. A non-empty To moves the status from
// From to To atomically: when the stored status is not From, nothing changes
// and ErrConflict is returned. Nil pointers leave fields unchanged.
type PaymentUpdate struct {
	ID             string
	From, To       string
	Plugin         *string
	Account        *string
	ChannelMethod  *string
	ProviderID     *string
	ChannelTradeNo *string
	PayInfo        []byte // nil = unchanged
	FeeAmount      *int64
	FailureCode    *string
	FailureMessage *string
	ProviderCode   *string
	ProviderData   map[string]string // nil = unchanged; replaces the whole map
	// RequireNoChannel makes the update conditional on no channel having been
	// recorded yet (plugin is empty): ErrConflict otherwise.
	RequireNoChannel bool
	PaidAt           *time.Time
	NextPollAt       *time.Time
	PollAttempts     *int
	SplitDueAt       *time.Time // when the engine executes the rules' split; zero = none due
	Now              time.Time  // UpdatedAt
	// Event, when set, is recorded in the outbox in the same transaction
	// as the update (see EventSpec); its Data gets the *Payment as updated.
	Event *EventSpec
}

// Refund is a stored refund.
type Refund struct {
	ID             string
	Tenant         string
	PaymentID      string
	IdempotencyKey string
	Amount         int64
	Currency       string
	Reason         string
	Status         string // core.RefundStatus
	ProviderID     string
	FailureCode    string
	FailureMessage string
	ProviderCode   string // the provider's own code of the failure
	ProviderData   map[string]string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SucceededAt    time.Time
	NextPollAt     time.Time
	PollAttempts   int

	// Link, when set, links the object to its idempotency key as it is
	// inserted (see IdemLink). It is not stored.
	Link *IdemLink
}

// RefundUpdate changes a refund, with the same conditional status move as
// PaymentUpdate. Moving to "failed" gives the amount back to the payment's
// RefundReserved; moving to "succeeded" adds it to RefundedAmount — in the
// same transaction as the status change.
type RefundUpdate struct {
	ID             string
	From, To       string
	ProviderID     *string
	FailureCode    *string
	FailureMessage *string
	ProviderCode   *string
	ProviderData   map[string]string
	SucceededAt    *time.Time
	NextPollAt     *time.Time
	PollAttempts   *int
	Now            time.Time
	// Event, when set, is recorded in the outbox in the same transaction
	// as the update (see EventSpec); its Data gets the *Refund as updated.
	Event *EventSpec
}

// Attempt is one call to a channel while carrying out an operation.
type Attempt struct {
	ID         int64 // assigned by the store
	ObjectID   string
	Operation  string // core.Op
	Channel    string // plugin/account/method
	Outcome    string // ok, or the canonical error code
	Error      string // error message (no secrets)
	DurationMS int64
	CreatedAt  time.Time
}

// Transition is one recorded state change, applied or refused.
type Transition struct {
	ID         int64
	ObjectType string // payment, refund, ...
	ObjectID   string
	From, To   string
	Source     string // api, provider_response, notification, poll
	Applied    bool   // false: refused (backwards or out of a terminal state) and ignored
	Detail     string
	CreatedAt  time.Time
}

// Notification is an inbound provider notification as received.
type Notification struct {
	ID         int64
	Account    string
	EventID    string // provider-unique id; (Account, EventID) is unique
	ObjectType string
	ObjectID   string
	Status     string
	Body       []byte // what the engine keeps of the request body: its digest (bodies may hold personal data)
	Result     string // applied, ignored, stale, error: ...
	ReceivedAt time.Time
}

// Store is the durable state of Payhost.
type Store interface {
	ReconcileStore
	WebhookStore
	SplitStore
	SplitReturnStore
	PayoutStore
	MerchantStore

	// ClaimIdempotencyKey records the key as in progress and returns
	// owned=true, or returns the existing record and owned=false. An in-progress
	// record whose lease has run out is taken over (owned=true, the record
	// keeps its ResourceID, Owner becomes the claimant's) — atomically, so two
	// claimants never both own it.
	ClaimIdempotencyKey(ctx context.Context, c IdemClaim) (rec IdemRecord, owned bool, err error)
	// FinishIdempotencyKey stores the response and marks the key done, if
	// owner still owns it (ErrConflict otherwise).
	FinishIdempotencyKey(ctx context.Context, tenant, key, owner string, status int, body []byte, now time.Time) error
	// ReleaseIdempotencyKey deletes an in-progress key of owner whose request
	// failed before anything was stored, so the client may retry.
	ReleaseIdempotencyKey(ctx context.Context, tenant, key, owner string) error
	// GetIdempotencyKey reads a key.
	GetIdempotencyKey(ctx context.Context, tenant, key string) (IdemRecord, error)
	// Heartbeat records that node is alive at now.
	Heartbeat(ctx context.Context, node string, now time.Time) error
	// NodeSeen returns when node was last seen; ErrNotFound when it never
	// was, or left (RemoveNode).
	NodeSeen(ctx context.Context, node string) (time.Time, error)
	// RemoveNode forgets a node that stopped cleanly, and nodes not seen
	// since before: its keys in progress may be taken over at once.
	RemoveNode(ctx context.Context, node string, before time.Time) error

	// InsertPayment stores a new payment; ErrDuplicate for a repeated ID or
	// (Tenant, MerchantOrderID).
	InsertPayment(ctx context.Context, p *Payment) error
	// GetPayment reads a payment by id.
	GetPayment(ctx context.Context, id string) (*Payment, error)
	// UpdatePayment applies u and returns the payment as stored after it.
	UpdatePayment(ctx context.Context, u PaymentUpdate) (*Payment, error)
	// PaymentsToPoll lists payments whose NextPollAt is set and not after now, oldest first.
	PaymentsToPoll(ctx context.Context, now time.Time, limit int) ([]*Payment, error)
	// ClaimPaymentsToPoll is PaymentsToPoll for a poller: the payments it
	// returns have NextPollAt moved to now+lease in the same statement, so
	// pollers on other nodes do not take them meanwhile.
	ClaimPaymentsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Payment, error)

	// InsertRefund stores a new refund and reserves its amount on the
	// payment in one transaction: the payment must be succeeded and
	// RefundReserved + Amount ≤ Amount of the payment, else ErrInsufficient
	// (ErrConflict when the payment is not succeeded, ErrNotFound when it does
	// not exist). Concurrent refunds can never reserve more than was paid.
	InsertRefund(ctx context.Context, r *Refund) error
	// GetRefund reads a refund by id.
	GetRefund(ctx context.Context, id string) (*Refund, error)
	// ListRefunds lists a payment's refunds, oldest first.
	ListRefunds(ctx context.Context, paymentID string) ([]*Refund, error)
	// UpdateRefund applies u (see RefundUpdate) and returns the refund after it.
	UpdateRefund(ctx context.Context, u RefundUpdate) (*Refund, error)
	// RefundsToPoll lists refunds whose NextPollAt is set and not after now.
	RefundsToPoll(ctx context.Context, now time.Time, limit int) ([]*Refund, error)
	// ClaimRefundsToPoll is ClaimPaymentsToPoll for refunds.
	ClaimRefundsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Refund, error)

	// InsertAttempt records a channel call.
	InsertAttempt(ctx context.Context, a *Attempt) error
	// ListAttempts lists an object's attempts, oldest first.
	ListAttempts(ctx context.Context, objectID string) ([]*Attempt, error)
	// InsertTransition records a state change, applied or refused.
	InsertTransition(ctx context.Context, t *Transition) error
	// ListTransitions lists an object's transitions, oldest first.
	ListTransitions(ctx context.Context, objectID string) ([]*Transition, error)

	// InsertNotification stores a notification; inserted=false when
	// (Account, EventID) was seen before (a duplicate: do not apply it again).
	InsertNotification(ctx context.Context, n *Notification) (inserted bool, err error)
	// SetNotificationResult records what applying a notification did.
	SetNotificationResult(ctx context.Context, id int64, result string) error
	// GetNotification reads a stored notification by account and event id.
	GetNotification(ctx context.Context, account, eventID string) (*Notification, error)

	// Ping checks the database is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
