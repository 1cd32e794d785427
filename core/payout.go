package core

import "time"

// PayoutKind says what kind of money movement a payout is.
type PayoutKind string

// Payout kinds.
const (
	PayoutTransfer     PayoutKind = "transfer"     // to a third party's wallet or bank account (Jeepay transferOrder)
	PayoutWithdrawal   PayoutKind = "withdrawal"   // from the merchant's or a user's balance to its own bank card
	PayoutDisbursement PayoutKind = "disbursement" // international payout to a bank account or e-wallet
	PayoutCashout      PayoutKind = "cashout"      // a split receiver's channel balance to its bank card
)

// Valid reports whether k is a known payout kind.
func (k PayoutKind) Valid() bool {
	switch k {
	case PayoutTransfer, PayoutWithdrawal, PayoutDisbursement, PayoutCashout:
		return true
	}
	return false
}

// Destination is where a payout goes.
type Destination struct {
	Kind        string `json:"kind"` // bank_card, wechat, alipay, wallet, receiver_balance
	AccountNo   string `json:"account_no,omitempty"`
	AccountName string `json:"account_name,omitempty"`
	BankCode    string `json:"bank_code,omitempty"`
	BankName    string `json:"bank_name,omitempty"`
	Branch      string `json:"branch,omitempty"`
	ReceiverID  string `json:"receiver_id,omitempty"` // split receiver (cash-out)
	UserID      string `json:"user_id,omitempty"`     // provider user (hfpay user_cust_id)
	CardID      string `json:"card_id,omitempty"`     // a bound card id or token (hfpay cash_bind_card_id)
	Country     string `json:"country,omitempty"`
	Phone       string `json:"phone,omitempty"`
	Email       string `json:"email,omitempty"`
}

// Payout is the canonical view of a payout.
type Payout struct {
	ID             string            `json:"id"`
	ProviderID     string            `json:"provider_id,omitempty"`
	Kind           PayoutKind        `json:"kind"`
	Status         PayoutStatus      `json:"status"`
	Amount         int64             `json:"amount"`
	FeeAmount      int64             `json:"fee_amount,omitempty"`
	Currency       Currency          `json:"currency"`
	FailureCode    string            `json:"failure_code,omitempty"`
	FailureMessage string            `json:"failure_message,omitempty"`
	SucceededAt    time.Time         `json:"succeeded_at,omitzero"`
	ProviderData   map[string]string `json:"provider_data,omitempty"`
}

// CreatePayoutRequest sends money out.
type CreatePayoutRequest struct {
	PayoutID      string            `json:"payout_id"`
	Kind          PayoutKind        `json:"kind"`
	Amount        int64             `json:"amount"`
	Currency      Currency          `json:"currency"`
	Destination   Destination       `json:"destination"`
	Description   string            `json:"description,omitempty"`
	NotifyURL     string            `json:"notify_url,omitempty"`
	CreatedAt     time.Time         `json:"created_at,omitzero"`
	Extra         map[string]string `json:"extra,omitempty"`
	SubMerchantID string            `json:"sub_merchant_id,omitempty"`
}

// Validate checks the provider-independent rules of the request.
func (r *CreatePayoutRequest) Validate() error {
	switch {
	case r.PayoutID == "":
		return &Error{Code: CodeInvalidRequest, Param: "payout_id", Message: "payout_id is required"}
	case !r.Kind.Valid():
		return &Error{Code: CodeInvalidRequest, Param: "kind", Message: "unknown payout kind " + string(r.Kind)}
	case r.Amount <= 0:
		return &Error{Code: CodeInvalidRequest, Param: "amount", Message: "amount must be a positive integer in minor units"}
	case !r.Currency.Valid():
		return &Error{Code: CodeInvalidRequest, Param: "currency", Message: "unknown currency " + string(r.Currency)}
	}
	return nil
}

// CreatePayoutResponse is the payout as accepted.
type CreatePayoutResponse struct {
	Payout Payout `json:"payout"`
}

// PayoutRef identifies an existing payout.
type PayoutRef struct {
	ID           string            `json:"id"`
	ProviderID   string            `json:"provider_id,omitempty"`
	Kind         PayoutKind        `json:"kind,omitempty"`
	CreatedAt    time.Time         `json:"created_at,omitzero"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// QueryPayoutRequest reads a payout.
type QueryPayoutRequest struct {
	Payout PayoutRef `json:"payout"`
}

// QueryPayoutResponse is the payout at the provider.
type QueryPayoutResponse struct {
	Payout Payout `json:"payout"`
}
