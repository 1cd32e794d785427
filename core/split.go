package core

import "time"

// ReceiverStatus is the binding state of a split receiver.
type ReceiverStatus string

// Receiver states.
const (
	ReceiverBound   ReceiverStatus = "bound"
	ReceiverPending ReceiverStatus = "pending"
	ReceiverFailed  ReceiverStatus = "failed"
	ReceiverDeleted ReceiverStatus = "deleted"
)

// Receiver is a party that receives part of payments (分账接收方).
type Receiver struct {
	ID             string            `json:"id"`                     // Payhost's id
	ProviderID     string            `json:"provider_id,omitempty"`  // e.g. Jeepay receiverId, Adapay member_id
	Name           string            `json:"name,omitempty"`         // alias shown in consoles
	Kind           string            `json:"kind,omitempty"`         // personal or business
	Channel        string            `json:"channel,omitempty"`      // wallet the receiver is bound in (wxpay, alipay)
	AccountNo      string            `json:"account_no,omitempty"`   // openid, Alipay user id or login, bank account
	AccountName    string            `json:"account_name,omitempty"` //
	Relation       string            `json:"relation,omitempty"`     // SERVICE_PROVIDER, STORE, STAFF, PARTNER, ...
	RelationName   string            `json:"relation_name,omitempty"`
	GroupID        string            `json:"group_id,omitempty"`
	RatioPPM       int64             `json:"ratio_ppm,omitempty"` // default share in parts per million
	Status         ReceiverStatus    `json:"status,omitempty"`
	FailureCode    string            `json:"failure_code,omitempty"`
	FailureMessage string            `json:"failure_message,omitempty"`
	BoundAt        time.Time         `json:"bound_at,omitzero"`
	ProviderData   map[string]string `json:"provider_data,omitempty"`
}

// BindReceiverRequest adds a split receiver at the provider.
type BindReceiverRequest struct {
	Receiver  Receiver          `json:"receiver"`
	Extra     map[string]string `json:"extra,omitempty"`
	CreatedAt time.Time         `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// BindReceiverResponse is the receiver as bound.
type BindReceiverResponse struct {
	Receiver Receiver `json:"receiver"`
}

// QueryReceiverRequest reads a receiver.
type QueryReceiverRequest struct {
	ReceiverID   string            `json:"receiver_id,omitempty"`
	ProviderID   string            `json:"provider_id,omitempty"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// QueryReceiverResponse is the receiver at the provider.
type QueryReceiverResponse struct {
	Receiver Receiver `json:"receiver"`
}

// DeleteReceiverRequest removes a receiver.
type DeleteReceiverRequest struct {
	ReceiverID   string            `json:"receiver_id,omitempty"`
	ProviderID   string            `json:"provider_id,omitempty"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// DeleteReceiverResponse is the receiver after deletion.
type DeleteReceiverResponse struct {
	Receiver Receiver `json:"receiver"`
}

// SplitRecord is one receiver's part of a split batch.
type SplitRecord struct {
	ReceiverID       string      `json:"receiver_id"` // provider receiver id
	ProviderRecordID string      `json:"provider_record_id,omitempty"`
	GroupID          string      `json:"group_id,omitempty"`
	AccountNo        string      `json:"account_no,omitempty"`
	Amount           int64       `json:"amount"`
	RatioPPM         int64       `json:"ratio_ppm,omitempty"`
	Status           SplitStatus `json:"status"`
	FailureCode      string      `json:"failure_code,omitempty"`
	FailureMessage   string      `json:"failure_message,omitempty"`
}

// SplitBatch is one execution of a split over a payment.
type SplitBatch struct {
	ID             string            `json:"id"`
	ProviderID     string            `json:"provider_id,omitempty"` // e.g. Jeepay batchOrderId
	ChannelBatchID string            `json:"channel_batch_id,omitempty"`
	PaymentID      string            `json:"payment_id,omitempty"`
	Status         SplitStatus       `json:"status"`
	Amount         int64             `json:"amount"` // Σ records
	Currency       Currency          `json:"currency,omitempty"`
	Records        []SplitRecord     `json:"records,omitempty"`
	FailureCode    string            `json:"failure_code,omitempty"`
	FailureMessage string            `json:"failure_message,omitempty"`
	ProviderData   map[string]string `json:"provider_data,omitempty"`
}

// SplitRef identifies an existing split batch.
type SplitRef struct {
	ID           string            `json:"id,omitempty"`
	ProviderID   string            `json:"provider_id,omitempty"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// ExecuteSplitRequest splits a succeeded payment among receivers: either the
// provider's configured automatic receivers, or explicit parts.
type ExecuteSplitRequest struct {
	SplitID          string            `json:"split_id"`
	Payment          PaymentRef        `json:"payment"`
	UseAutoReceivers bool              `json:"use_auto_receivers,omitempty"`
	Parts            []SplitPart       `json:"parts,omitempty"`
	Final            bool              `json:"final,omitempty"` // release the rest to the merchant after this split
	NotifyURL        string            `json:"notify_url,omitempty"`
	Extra            map[string]string `json:"extra,omitempty"`
	CreatedAt        time.Time         `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// Validate checks the provider-independent rules of the request: either the
// automatic receivers or explicit parts, and each part has an amount or a
// ratio, never both.
func (r *ExecuteSplitRequest) Validate() error {
	if r.SplitID == "" {
		return &Error{Code: CodeInvalidRequest, Param: "split_id", Message: "split_id is required"}
	}
	if r.UseAutoReceivers == (len(r.Parts) > 0) {
		return &Error{Code: CodeInvalidRequest, Param: "parts", Message: "give either explicit parts or use_auto_receivers, not both or neither"}
	}
	for _, p := range r.Parts {
		if p.ReceiverID == "" && p.GroupID == "" {
			return &Error{Code: CodeInvalidRequest, Param: "parts.receiver_id", Message: "each part needs a receiver or a group"}
		}
		if p.Amount < 0 || p.RatioPPM < 0 || p.RatioPPM > PPM {
			return &Error{Code: CodeInvalidRequest, Param: "parts", Message: "part amounts and ratios must be within range"}
		}
		if p.Amount > 0 && p.RatioPPM > 0 {
			return &Error{Code: CodeInvalidRequest, Param: "parts", Message: "a part has either an amount or a ratio, never both"}
		}
	}
	return nil
}

// ExecuteSplitResponse is the split batch as accepted.
type ExecuteSplitResponse struct {
	Split SplitBatch `json:"split"`
}

// QuerySplitRequest reads a split batch, optionally one receiver's record.
type QuerySplitRequest struct {
	Split      SplitRef   `json:"split"`
	Payment    PaymentRef `json:"payment"`
	ReceiverID string     `json:"receiver_id,omitempty"`
}

// QuerySplitResponse is the split batch at the provider.
type QuerySplitResponse struct {
	Split SplitBatch `json:"split"`
}

// SplitReturn takes split money back from a receiver (分账退回).
type SplitReturn struct {
	ID             string            `json:"id"`
	ProviderID     string            `json:"provider_id,omitempty"`
	SplitID        string            `json:"split_id,omitempty"`
	ReceiverID     string            `json:"receiver_id,omitempty"`
	Amount         int64             `json:"amount"`
	Status         SplitReturnStatus `json:"status"`
	FailureCode    string            `json:"failure_code,omitempty"`
	FailureMessage string            `json:"failure_message,omitempty"`
	ProviderData   map[string]string `json:"provider_data,omitempty"`
}

// ReturnSplitRequest asks for split money back from a receiver.
type ReturnSplitRequest struct {
	ReturnID   string     `json:"return_id"`
	Split      SplitRef   `json:"split"`
	Payment    PaymentRef `json:"payment"`
	ReceiverID string     `json:"receiver_id"`
	Amount     int64      `json:"amount"`
	Reason     string     `json:"reason,omitempty"`
	CreatedAt  time.Time  `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// ReturnSplitResponse is the split return as accepted.
type ReturnSplitResponse struct {
	Return SplitReturn `json:"return"`
}

// QuerySplitReturnRequest reads a split return.
type QuerySplitReturnRequest struct {
	ReturnID     string            `json:"return_id"`
	ProviderID   string            `json:"provider_id,omitempty"`
	Split        SplitRef          `json:"split"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// QuerySplitReturnResponse is the split return at the provider.
type QuerySplitReturnResponse struct {
	Return SplitReturn `json:"return"`
}

// PendingSplitRequest asks how much of a payment still waits to be split.
type PendingSplitRequest struct {
	Payment PaymentRef `json:"payment"`
}

// PendingSplitResponse is the unsplit amount.
type PendingSplitResponse struct {
	Amount   int64    `json:"amount"`
	Currency Currency `json:"currency"`
}
