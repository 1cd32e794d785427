package core

import (
	"encoding/json"
	"time"
)

// ExtensionRequest invokes a provider-only call listed in the manifest's
// extensions, e.g. "hfpay.send_sms_code".
type ExtensionRequest struct {
	Name      string          `json:"name"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	CreatedAt time.Time       `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// ExtensionResponse is the extension's JSON result.
type ExtensionResponse struct {
	Payload json.RawMessage `json:"payload,omitempty"`
}
