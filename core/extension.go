package core

import "encoding/json"

// ExtensionRequest invokes a provider-only call listed in the manifest's
// extensions, e.g. "hfpay.send_sms_code".
type ExtensionRequest struct {
	Name    string          `json:"name"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// ExtensionResponse is the extension's JSON result.
type ExtensionResponse struct {
	Payload json.RawMessage `json:"payload,omitempty"`
}
