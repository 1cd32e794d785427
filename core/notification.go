package core

import "time"

// ParseNotificationRequest is an inbound provider notification exactly as the
// host received it.
type ParseNotificationRequest struct {
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	RawQuery string              `json:"raw_query,omitempty"`
	Header   map[string][]string `json:"header,omitempty"`
	Body     []byte              `json:"body,omitempty"`
}

// EventKind says which object an event is about.
type EventKind string

// Event kinds.
const (
	EventPayment    EventKind = "payment"
	EventRefund     EventKind = "refund"
	EventPayout     EventKind = "payout"
	EventSplit      EventKind = "split"
	EventReceiver   EventKind = "receiver"
	EventOnboarding EventKind = "onboarding"
	EventChannel    EventKind = "channel"
	EventRealName   EventKind = "realname"
	EventSettlement EventKind = "settlement"
	EventToken      EventKind = "token"
	EventExtension  EventKind = "extension" // the asynchronous result of an extension call; Data["extension"] names it
)

// Event is a verified change reported by a provider.
type Event struct {
	ID               string            `json:"id"` // provider-unique key used to deduplicate
	Kind             EventKind         `json:"kind"`
	ObjectID         string            `json:"object_id,omitempty"` // Payhost's id (the merchant order number)
	ProviderObjectID string            `json:"provider_object_id,omitempty"`
	Status           string            `json:"status"` // canonical status of the object's machine
	Amount           int64             `json:"amount,omitempty"`
	Currency         Currency          `json:"currency,omitempty"`
	FeeAmount        int64             `json:"fee_amount,omitempty"`
	FailureCode      string            `json:"failure_code,omitempty"`
	FailureMessage   string            `json:"failure_message,omitempty"`
	OccurredAt       time.Time         `json:"occurred_at,omitzero"`
	Data             map[string]string `json:"data,omitempty"`
}

// Ack is the exact HTTP answer the provider expects, e.g. 200 "SUCCESS".
type Ack struct {
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body,omitempty"`
}

// ParseNotificationResponse carries the verified events and the acknowledgement.
type ParseNotificationResponse struct {
	Events []Event `json:"events"`
	Ack    Ack     `json:"ack"`
}
