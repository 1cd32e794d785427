package core

import "time"

// Customer identifies the payer an authorised-debit token belongs to.
type Customer struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Token is an authorised-debit token (授权代扣).
type Token struct {
	ID           string            `json:"id"`
	ProviderID   string            `json:"provider_id,omitempty"`
	Status       TokenStatus       `json:"status"`
	Method       Method            `json:"method,omitempty"`
	AuthURL      string            `json:"auth_url,omitempty"` // where the customer authorises
	ExpiresAt    time.Time         `json:"expires_at,omitzero"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// CreateTokenRequest asks for an authorisation link.
type CreateTokenRequest struct {
	TokenID   string            `json:"token_id"`
	Method    Method            `json:"method"`
	Customer  Customer          `json:"customer"`
	ReturnURL string            `json:"return_url,omitempty"`
	NotifyURL string            `json:"notify_url,omitempty"`
	Extra     map[string]string `json:"extra,omitempty"`
	CreatedAt time.Time         `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// CreateTokenResponse is the pending token with its link.
type CreateTokenResponse struct {
	Token Token `json:"token"`
}

// QueryTokenRequest reads a token's status.
type QueryTokenRequest struct {
	TokenID      string            `json:"token_id"`
	ProviderID   string            `json:"provider_id,omitempty"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// QueryTokenResponse is the token at the provider.
type QueryTokenResponse struct {
	Token Token `json:"token"`
}

// CancelTokenRequest revokes a token.
type CancelTokenRequest struct {
	TokenID      string            `json:"token_id"`
	ProviderID   string            `json:"provider_id,omitempty"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// CancelTokenResponse is the token after cancellation.
type CancelTokenResponse struct {
	Token Token `json:"token"`
}
