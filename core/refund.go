package core

import "time"

// Refund is the canonical view of a refund.
type Refund struct {
	ID             string            `json:"id"`
	ProviderID     string            `json:"provider_id,omitempty"`
	PaymentID      string            `json:"payment_id"`
	Status         RefundStatus      `json:"status"`
	Amount         int64             `json:"amount"`
	Currency       Currency          `json:"currency"`
	FailureCode    string            `json:"failure_code,omitempty"`
	FailureMessage string            `json:"failure_message,omitempty"`
	SucceededAt    time.Time         `json:"succeeded_at,omitzero"`
	ProviderData   map[string]string `json:"provider_data,omitempty"`
}

// RefundRef identifies an existing refund in later calls.
type RefundRef struct {
	ID           string            `json:"id"`
	ProviderID   string            `json:"provider_id,omitempty"`
	Amount       int64             `json:"amount,omitempty"`
	CreatedAt    time.Time         `json:"created_at,omitzero"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
	Payment      PaymentRef        `json:"payment"`
}

// CreateRefundRequest refunds part or all of a succeeded payment.
type CreateRefundRequest struct {
	RefundID  string            `json:"refund_id"`
	Payment   PaymentRef        `json:"payment"`
	Amount    int64             `json:"amount"`
	Reason    string            `json:"reason,omitempty"`
	Split     []SplitPart       `json:"split,omitempty"` // how split receivers share a refund, where the provider needs it
	NotifyURL string            `json:"notify_url,omitempty"`
	CreatedAt time.Time         `json:"created_at,omitzero"`
	Extra     map[string]string `json:"extra,omitempty"`
	Terminal  *TerminalInfo     `json:"terminal,omitempty"` // the device a refund is made on (POS)
}

// Validate checks the provider-independent rules of the request.
func (r *CreateRefundRequest) Validate() error {
	switch {
	case r.RefundID == "":
		return &Error{Code: CodeInvalidRequest, Param: "refund_id", Message: "refund_id is required"}
	case r.Payment.ID == "" && r.Payment.ProviderID == "":
		return &Error{Code: CodeInvalidRequest, Param: "payment", Message: "the payment to refund is required"}
	case r.Amount <= 0:
		return &Error{Code: CodeInvalidRequest, Param: "amount", Message: "amount must be a positive integer in minor units"}
	case r.Payment.Amount > 0 && r.Amount > r.Payment.Amount:
		return &Error{Code: CodeInvalidRequest, Param: "amount", Message: "refund amount exceeds the payment amount"}
	}
	return nil
}

// CreateRefundResponse is the refund as created.
type CreateRefundResponse struct {
	Refund Refund `json:"refund"`
}

// QueryRefundRequest asks the provider for a refund's state.
type QueryRefundRequest struct {
	Refund RefundRef `json:"refund"`
}

// QueryRefundResponse is the refund's state at the provider.
type QueryRefundResponse struct {
	Refund Refund `json:"refund"`
}
