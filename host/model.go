package host

import (
	"time"

	"github.com/payhost/payhost/core"
)

// Payment is a payment as embedders and the HTTP API see it.
type Payment struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"` // "payment"
	MerchantOrderID   string             `json:"merchant_order_id,omitempty"`
	Amount            int64              `json:"amount"`
	Currency          core.Currency      `json:"currency"`
	Method            core.Method        `json:"method"`
	Description       string             `json:"description,omitempty"`
	Metadata          map[string]string  `json:"metadata,omitempty"`
	Status            core.PaymentStatus `json:"status"`
	PendingReason     string             `json:"pending_reason,omitempty"` // why a processing payment waits: payer, unknown_outcome
	Channel           string             `json:"channel,omitempty"`        // plugin/account/method that took it
	Provider          string             `json:"provider,omitempty"`       // plugin name
	ProviderPaymentID string             `json:"provider_payment_id,omitempty"`
	PayInfo           *core.PayInfo      `json:"pay_info,omitempty"`
	Decision          *Decision          `json:"decision,omitempty"`
	ProviderFee       int64              `json:"provider_fee,omitempty"` // fee the provider reported
	RefundedAmount    int64              `json:"refunded_amount"`
	Failure           *Failure           `json:"failure,omitempty"`
	Refunds           []Refund           `json:"refunds,omitempty"`
	Splits            []Split            `json:"splits,omitempty"`
	SplitReturns      []SplitReturn      `json:"split_returns,omitempty"`
	Ledger            *Ledger            `json:"ledger,omitempty"` // with refunds and splits, on a single payment's read
	TerminalID        string             `json:"terminal_id,omitempty"`
	CreatedAt         time.Time          `json:"created_at"`
	UpdatedAt         time.Time          `json:"updated_at"`
	PaidAt            *time.Time         `json:"paid_at,omitempty"`
}

// Decision is the rules' decision recorded with a payment.
type Decision struct {
	RulesetHash string           `json:"ruleset_hash"`
	Channels    []string         `json:"channels"`
	Fee         int64            `json:"fee"`
	Splits      []core.Share     `json:"splits,omitempty"`
	SplitMode   core.SplitMode   `json:"split_mode,omitempty"`
	Matched     []core.RuleMatch `json:"matched,omitempty"`
}

// Failure says why a payment or refund failed.
type Failure struct {
	Code            core.Code `json:"code"`
	Message         string    `json:"message,omitempty"`
	ProviderCode    string    `json:"provider_code,omitempty"`
	ProviderMessage string    `json:"provider_message,omitempty"`
}

// Refund is a refund as embedders and the HTTP API see it.
type Refund struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"` // "refund"
	PaymentID        string            `json:"payment_id"`
	Amount           int64             `json:"amount"`
	Currency         core.Currency     `json:"currency"`
	Reason           string            `json:"reason,omitempty"`
	Status           core.RefundStatus `json:"status"`
	PendingReason    string            `json:"pending_reason,omitempty"`
	ProviderRefundID string            `json:"provider_refund_id,omitempty"`
	Failure          *Failure          `json:"failure,omitempty"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
	SucceededAt      *time.Time        `json:"succeeded_at,omitempty"`
}

// CreatePaymentInput is a request to create a payment.
type CreatePaymentInput struct {
	Tenant          string            `json:"-"`
	IdempotencyKey  string            `json:"-"`
	Amount          int64             `json:"amount"`
	Currency        core.Currency     `json:"currency"`
	Method          core.Method       `json:"method"`
	MerchantOrderID string            `json:"merchant_order_id,omitempty"`
	Description     string            `json:"description,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	Payer           core.Payer        `json:"payer,omitzero"`
	ReturnURL       string            `json:"return_url,omitempty"`
	ExpireSeconds   int64             `json:"expire_seconds,omitempty"`
	Country         string            `json:"country,omitempty"`
	TerminalID      string            `json:"terminal_id,omitempty"`
	MerchantID      string            `json:"-"` // for the rules; the server sets it from the tenant
	MerchantTags    []string          `json:"-"`
}

// CreateRefundInput is a request to refund part or all of a payment.
type CreateRefundInput struct {
	Tenant         string `json:"-"`
	IdempotencyKey string `json:"-"`
	PaymentID      string `json:"-"`
	Amount         int64  `json:"amount"`
	Reason         string `json:"reason,omitempty"`
}

// PluginInfo describes a loaded plugin.
type PluginInfo struct {
	Name      string         `json:"name"`
	Version   string         `json:"version"`
	Transport string         `json:"transport"`
	Accounts  []string       `json:"accounts"`
	Manifest  core.Manifest  `json:"manifest"`
	Stats     map[string]any `json:"stats"`
}
