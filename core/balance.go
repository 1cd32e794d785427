package core

// BalanceOwner says whose balance is asked for.
type BalanceOwner string

// Balance owners.
const (
	BalanceMerchant BalanceOwner = "merchant" // the account's own balance
	BalanceReceiver BalanceOwner = "receiver" // a split receiver's channel balance
	BalanceUser     BalanceOwner = "user"     // a provider user (wallet) account
)

// Balance is money held at the provider in one currency.
type Balance struct {
	Currency  Currency `json:"currency"`
	Available int64    `json:"available"`
	Pending   int64    `json:"pending,omitempty"` // not yet settled
	Frozen    int64    `json:"frozen,omitempty"`  // held
	AccountID string   `json:"account_id,omitempty"`
}

// QueryBalanceRequest asks for balances.
type QueryBalanceRequest struct {
	Owner         BalanceOwner      `json:"owner"`
	OwnerID       string            `json:"owner_id,omitempty"`   // receiver or user id; empty for the merchant
	Currency      Currency          `json:"currency,omitempty"`   // empty = all
	AccountID     string            `json:"account_id,omitempty"` // a sub-account or settlement account of the owner
	SubMerchantID string            `json:"sub_merchant_id,omitempty"`
	Extra         map[string]string `json:"extra,omitempty"`
}

// QueryBalanceResponse lists balances, one per currency or account.
type QueryBalanceResponse struct {
	Balances []Balance `json:"balances"`
}
