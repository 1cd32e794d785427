package store

import (
	"context"
	"strings"
	"time"
)

// Webhook endpoint and delivery states.
const (
	EndpointEnabled = "enabled"
	EndpointDeleted = "deleted"

	DeliveryPending   = "pending"   // waiting for its next attempt (or being attempted)
	DeliveryDelivered = "delivered" // the endpoint answered 2xx
	DeliveryFailed    = "failed"    // every attempt failed; no more are made
	DeliveryCanceled  = "canceled"  // the endpoint was deleted first
)

// EventSpec asks a store update to record an outbox event in the same
// transaction as the change it describes: the event exists if and only if
// the change was committed. Any update of any object can carry one (see
// PaymentUpdate.Event); the store takes the tenant, object type and object
// id from the object it changed.
type EventSpec struct {
	ID        string    // "evt_..."; the stable id every delivery carries
	Type      string    // "<object type>.<what happened>", e.g. "payment.succeeded"
	CreatedAt time.Time // also when its deliveries are first due
	// Data renders the object as the update left it (the *Payment,
	// *Refund, ... the update returns) into the JSON the event carries. It
	// is called inside the transaction, once per try; an error aborts the
	// change.
	Data func(obj any) ([]byte, error)
}

// Event is a stored outbox event: what changed, with a snapshot of the
// object fixed at the change.
type Event struct {
	Seq        int64 // order of recording, assigned by the store
	ID         string
	Tenant     string
	Type       string
	ObjectType string
	ObjectID   string
	Data       []byte // JSON
	CreatedAt  time.Time
}

// EventQuery selects a tenant's events, newest first.
type EventQuery struct {
	Tenant    string
	Type      string // "" = any; "payment.*" = every type of an object type; else exact
	ObjectID  string // "" = any
	BeforeSeq int64  // > 0: only events recorded before this one (a cursor)
	Limit     int    // ≤ 0 means 100
}

// WebhookEndpoint is a URL of a tenant that receives the events it
// subscribed to.
type WebhookEndpoint struct {
	ID          string
	Tenant      string
	URL         string
	Events      []string // patterns: a type, "<object type>.*" or "*"
	Description string
	Secret      string // the HMAC key deliveries are signed with; wiped when deleted
	Status      string // EndpointEnabled or EndpointDeleted
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// WebhookDelivery is one event on its way to one endpoint.
type WebhookDelivery struct {
	ID             int64 // assigned by the store
	EventID        string
	EndpointID     string
	Tenant         string
	Status         string // Delivery*
	Attempts       int    // attempts made
	NextAttemptAt  time.Time
	LastStatusCode int // HTTP status of the last attempt (0: no answer)
	LastError      string
	ClaimToken     string // set by ClaimWebhookDeliveries; FinishWebhookDelivery must present it
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeliveredAt    time.Time
}

// WebhookAttempt is one HTTP request of a delivery.
type WebhookAttempt struct {
	ID         int64 // assigned by the store
	DeliveryID int64
	Attempt    int    // 1 for the first
	StatusCode int    // 0 when no answer came
	Error      string // why it did not count as delivered: an error class ("" when it did); never the answer or an error's text
	DurationMS int64
	CreatedAt  time.Time
}

// WebhookResult is the outcome of an attempt (or of a decision not to
// make one) on a claimed delivery.
type WebhookResult struct {
	DeliveryID    int64
	ClaimToken    string
	Attempt       *WebhookAttempt // nil when no request was made (a deleted endpoint)
	Status        string          // the delivery's new status
	NextAttemptAt time.Time       // when Status is DeliveryPending
	Now           time.Time
}

// WebhookStore keeps webhook endpoints and the outbox: events (written by
// updates that carry an EventSpec, with one pending delivery per matching
// enabled endpoint of the tenant), their deliveries and every attempt.
type WebhookStore interface {
	// InsertWebhookEndpoint stores a new endpoint; ErrDuplicate for a repeated ID.
	InsertWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// GetWebhookEndpoint reads an endpoint, deleted ones included.
	GetWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error)
	// ListWebhookEndpoints lists a tenant's enabled endpoints, oldest first.
	ListWebhookEndpoints(ctx context.Context, tenant string) ([]*WebhookEndpoint, error)
	// DeleteWebhookEndpoint marks an enabled endpoint deleted, wipes its
	// secret and cancels its pending deliveries, in one transaction, and
	// returns it; ErrNotFound when there is no enabled endpoint id.
	DeleteWebhookEndpoint(ctx context.Context, id string, now time.Time) (*WebhookEndpoint, error)

	// GetEvent reads an event.
	GetEvent(ctx context.Context, id string) (*Event, error)
	// ListEvents lists events, newest first.
	ListEvents(ctx context.Context, q EventQuery) ([]*Event, error)

	// HasWebhookEndpoints reports whether any tenant has an enabled
	// endpoint. It only reads.
	HasWebhookEndpoints(ctx context.Context) (bool, error)
	// WebhookDeliveriesDue reports whether a pending delivery is due at now
	// (ClaimWebhookDeliveries at now would find one, unless another
	// claimant takes it first). It only reads.
	WebhookDeliveriesDue(ctx context.Context, now time.Time) (bool, error)
	// ClaimWebhookDeliveries takes up to limit pending deliveries due at
	// now, oldest due first: their NextAttemptAt moves to now+lease and
	// they get a new ClaimToken, in one statement, so no other claimant
	// takes them until the lease runs out (FOR UPDATE SKIP LOCKED on
	// PostgreSQL).
	ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*WebhookDelivery, error)
	// FinishWebhookDelivery records an attempt and the delivery's new state
	// in one transaction. ErrConflict when the claim was lost (its lease
	// ran out and another claimant took the delivery, or it was canceled):
	// the attempt is still recorded, the delivery is left alone.
	FinishWebhookDelivery(ctx context.Context, r WebhookResult) error
	// ListWebhookDeliveries lists an event's deliveries, oldest first.
	ListWebhookDeliveries(ctx context.Context, eventID string) ([]*WebhookDelivery, error)
	// ListWebhookAttempts lists a delivery's attempts, oldest first.
	ListWebhookAttempts(ctx context.Context, deliveryID int64) ([]*WebhookAttempt, error)
}

// EventMatches reports whether an endpoint subscribed to patterns receives
// events of type typ: a pattern is the type itself, "<object type>.*" for
// every type of an object type, or "*" for every event.
func EventMatches(patterns []string, typ string) bool {
	for _, p := range patterns {
		if p == "*" || p == typ {
			return true
		}
		if obj, ok := strings.CutSuffix(p, ".*"); ok && strings.HasPrefix(typ, obj+".") {
			return true
		}
	}
	return false
}
