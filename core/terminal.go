package core

import "time"

// Terminal is a registered payment device (POS, smart POS, QR stand).
type Terminal struct {
	ID           string            `json:"id"` // device number
	ProviderID   string            `json:"provider_id,omitempty"`
	Kind         string            `json:"kind,omitempty"`
	Status       string            `json:"status"` // active, pending, inactive
	Methods      []Method          `json:"methods,omitempty"`
	StoreName    string            `json:"store_name,omitempty"`
	Params       map[string]string `json:"params,omitempty"` // device payment parameters
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// RegisterTerminalRequest registers or initialises a device.
type RegisterTerminalRequest struct {
	Terminal      TerminalInfo      `json:"terminal"`
	Address       string            `json:"address,omitempty"`
	Extra         map[string]string `json:"extra,omitempty"`
	CreatedAt     time.Time         `json:"created_at,omitzero"` // first attempt; identical on every retry
	SubMerchantID string            `json:"sub_merchant_id,omitempty"`
}

// RegisterTerminalResponse is the registered device.
type RegisterTerminalResponse struct {
	Terminal Terminal `json:"terminal"`
}

// QueryTerminalRequest reads a device and its payment parameters.
type QueryTerminalRequest struct {
	TerminalID   string            `json:"terminal_id"`
	ProviderID   string            `json:"provider_id,omitempty"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// QueryTerminalResponse is the device at the provider.
type QueryTerminalResponse struct {
	Terminal Terminal `json:"terminal"`
}

// TransactionKind filters transaction listings.
type TransactionKind string

// Transaction kinds.
const (
	TransactionPayment TransactionKind = "payment"
	TransactionRefund  TransactionKind = "refund"
)

// TransactionRecord is one line of a provider's transaction listing.
type TransactionRecord struct {
	Kind        TransactionKind `json:"kind"`
	ID          string          `json:"id"` // merchant order / refund number
	ProviderID  string          `json:"provider_id,omitempty"`
	PaymentID   string          `json:"payment_id,omitempty"` // for refunds
	Amount      int64           `json:"amount"`
	Currency    Currency        `json:"currency"`
	Status      string          `json:"status"` // canonical status of its machine
	Method      Method          `json:"method,omitempty"`
	TerminalID  string          `json:"terminal_id,omitempty"`
	CreatedAt   time.Time       `json:"created_at,omitzero"`
	CompletedAt time.Time       `json:"completed_at,omitzero"`
}

// ListTransactionsRequest lists transactions in a time range.
type ListTransactionsRequest struct {
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	TerminalID string          `json:"terminal_id,omitempty"`
	Kind       TransactionKind `json:"kind,omitempty"` // empty = both
	Page       int             `json:"page,omitempty"` // 1-based
	PageSize   int             `json:"page_size,omitempty"`
}

// ListTransactionsResponse is one page of transactions.
type ListTransactionsResponse struct {
	Transactions []TransactionRecord `json:"transactions"`
	Total        int                 `json:"total"`
	Page         int                 `json:"page"`
}

// SummarizeTransactionsRequest asks for a day's totals.
type SummarizeTransactionsRequest struct {
	Date       string `json:"date"` // YYYY-MM-DD
	TerminalID string `json:"terminal_id,omitempty"`
}

// SummarizeTransactionsResponse is a day's totals.
type SummarizeTransactionsResponse struct {
	Date          string   `json:"date"`
	Currency      Currency `json:"currency"`
	PaymentCount  int64    `json:"payment_count"`
	PaymentAmount int64    `json:"payment_amount"`
	RefundCount   int64    `json:"refund_count"`
	RefundAmount  int64    `json:"refund_amount"`
}
