package core

import "time"

// StatementKind selects a provider statement.
type StatementKind string

// Statement kinds.
const (
	StatementTrade      StatementKind = "trade"      // payments and refunds
	StatementSettlement StatementKind = "settlement" // settlements to the bank
	StatementSplit      StatementKind = "split"
	StatementPayout     StatementKind = "payout"
)

// LineKind is what a statement line records.
type LineKind string

// Statement line kinds.
const (
	LinePayment    LineKind = "payment"
	LineRefund     LineKind = "refund"
	LineSplit      LineKind = "split"
	LinePayout     LineKind = "payout"
	LineFee        LineKind = "fee"
	LineAdjustment LineKind = "adjustment"
)

// StatementLine is one canonical line of a provider statement.
type StatementLine struct {
	Kind       LineKind  `json:"kind"`
	ObjectID   string    `json:"object_id,omitempty"`   // Payhost's id (the merchant order number)
	ProviderID string    `json:"provider_id,omitempty"` // provider's id
	PaymentID  string    `json:"payment_id,omitempty"`  // for refunds and splits: the payment
	Amount     int64     `json:"amount"`
	FeeAmount  int64     `json:"fee_amount,omitempty"`
	Currency   Currency  `json:"currency"`
	Status     string    `json:"status,omitempty"` // canonical status of the object
	Time       time.Time `json:"time,omitzero"`
	Line       int       `json:"line,omitempty"` // line number in the raw file
}

// DownloadStatementRequest asks for one day's statement.
type DownloadStatementRequest struct {
	Date          string        `json:"date"` // YYYY-MM-DD in the provider's time zone
	Kind          StatementKind `json:"kind"`
	SubMerchantID string        `json:"sub_merchant_id,omitempty"`
}

// DownloadStatementResponse is the statement, raw and parsed.
type DownloadStatementResponse struct {
	Date   string          `json:"date"`
	Format string          `json:"format,omitempty"` // csv, json, ...
	URL    string          `json:"url,omitempty"`    // where the provider offered the file
	Raw    []byte          `json:"raw,omitempty"`
	Lines  []StatementLine `json:"lines"`
	// Unparsed lists the lines of a verified statement that could not be
	// parsed into canonical lines. A plugin reports every such line here
	// instead of dropping it, so that reconciliation can show it; a
	// statement that cannot be trusted as a whole (bad signature, wrong
	// day, unreadable header) is an error instead.
	Unparsed []StatementLineError `json:"unparsed,omitempty"`
}

// StatementLineError is one line of a statement that did not parse.
type StatementLineError struct {
	Line   int    `json:"line"`           // line number in the raw file, from 1
	Text   string `json:"text,omitempty"` // the line as received (valid UTF-8, at most 512 bytes)
	Reason string `json:"reason"`         // why it did not parse
}
