package core

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a canonical error code. Plugins translate provider codes into
// these; the HTTP API returns them; the engine decides retries by them.
type Code string

// Canonical error codes.
const (
	CodeInvalidRequest      Code = "invalid_request"      // the caller's input is wrong; do not retry unchanged
	CodeAuthFailed          Code = "auth_failed"          // credentials refused (API key, provider merchant auth)
	CodeForbidden           Code = "forbidden"            // the caller may not use the account (or grant) it named
	CodeSignatureInvalid    Code = "signature_invalid"    // a signature did not verify
	CodeDuplicate           Code = "duplicate"            // the object already exists (same order number)
	CodeNotFound            Code = "not_found"            // no such object
	CodeConflict            Code = "conflict"             // the object's state does not allow the operation
	CodeIdempotencyMismatch Code = "idempotency_mismatch" // an idempotency key was reused with another body
	CodeInProgress          Code = "in_progress"          // the first request with this idempotency key is still running
	CodeInsufficientFunds   Code = "insufficient_funds"   // balance or refundable amount too small
	CodeLimitExceeded       Code = "limit_exceeded"       // amount or count limit of the channel
	CodeDeclined            Code = "declined"             // the provider or channel declined the transaction
	CodeUnsupported         Code = "unsupported"          // operation, method or currency not offered by the channel
	CodeRateLimited         Code = "rate_limited"         // too many requests; retry later
	CodeProviderUnavailable Code = "provider_unavailable" // the provider was not reached or refused before processing
	CodeUnknownOutcome      Code = "unknown_outcome"      // sent, but no answer: resolve by query, never retry elsewhere
	CodeCircuitOpen         Code = "circuit_open"         // the channel is switched off by its circuit breaker
	CodePluginFailure       Code = "plugin_failure"       // the plugin crashed, trapped or timed out
	CodeUnavailable         Code = "unavailable"          // Payhost's own store cannot serve now (unreachable, disk full, read-only); retry after Retry-After
	CodeInternal            Code = "internal"             // a bug or an infrastructure failure in Payhost
)

// codeHTTP maps each code to the HTTP status of the API (plain numbers: core
// must not pull net/http into wasm plugins).
var codeHTTP = map[Code]int{
	CodeInvalidRequest:      400,
	CodeAuthFailed:          401,
	CodeForbidden:           403,
	CodeSignatureInvalid:    400,
	CodeDuplicate:           409,
	CodeNotFound:            404,
	CodeConflict:            409,
	CodeIdempotencyMismatch: 422,
	CodeInProgress:          409,
	CodeInsufficientFunds:   402,
	CodeLimitExceeded:       422,
	CodeDeclined:            402,
	CodeUnsupported:         422,
	CodeRateLimited:         429,
	CodeProviderUnavailable: 502,
	CodeUnknownOutcome:      504,
	CodeCircuitOpen:         503,
	CodePluginFailure:       502,
	CodeUnavailable:         503,
	CodeInternal:            500,
}

// Codes returns every canonical code.
func Codes() []Code {
	out := make([]Code, 0, len(codeHTTP))
	for c := range codeHTTP {
		out = append(out, c)
	}
	return out
}

// Valid reports whether c is a canonical code.
func (c Code) Valid() bool {
	_, ok := codeHTTP[c]
	return ok
}

// HTTPStatus is the HTTP status the API answers for c.
func (c Code) HTTPStatus() int {
	if s, ok := codeHTTP[c]; ok {
		return s
	}
	return 500
}

// FailoverSafe reports whether a call that failed with c certainly had no
// effect at the provider, so the engine may try the next channel.
// unknown_outcome is never failover-safe.
func (c Code) FailoverSafe() bool {
	switch c {
	case CodeProviderUnavailable, CodeCircuitOpen, CodeUnsupported, CodeDeclined, CodeLimitExceeded, CodeRateLimited:
		return true
	}
	return false
}

// Error is the one error type of Payhost. Messages never contain secrets.
type Error struct {
	Code            Code   `json:"code"`
	Message         string `json:"message"`
	Param           string `json:"param,omitempty"`            // the request field at fault
	Provider        string `json:"provider,omitempty"`         // plugin name when the provider answered
	ProviderCode    string `json:"provider_code,omitempty"`    // the provider's own code
	ProviderMessage string `json:"provider_message,omitempty"` // the provider's own message
	Retryable       bool   `json:"retryable,omitempty"`        // the same request may be retried on the same channel
	RetryAfter      int    `json:"retry_after,omitempty"`      // seconds to wait before retrying (the API's Retry-After header); 0 = no advice
	Err             error  `json:"-"`                          // cause, kept for errors.Is/As; not serialised
}

// Error implements error.
func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Param != "" {
		msg += " (param " + e.Param + ")"
	}
	if e.Provider != "" && (e.ProviderCode != "" || e.ProviderMessage != "") {
		msg += fmt.Sprintf(" [%s %s %s]", e.Provider, e.ProviderCode, e.ProviderMessage)
	}
	if e.Err != nil && !strings.Contains(e.Message, e.Err.Error()) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error by code, so errors.Is(err, &Error{Code: X}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == "" && t.Param == ""
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError builds an *Error whose cause is err. The cause's text is part
// of Message, so it survives serialisation (across the plugin boundary and
// in API answers); never wrap an error whose text could hold a secret.
func WrapError(code Code, err error, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if err != nil {
		msg += ": " + err.Error()
	}
	return &Error{Code: code, Message: msg, Err: err}
}

// AsError returns err as an *Error: itself if it is one (or wraps one),
// otherwise an internal error wrapping it. AsError(nil) is nil.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: err.Error(), Err: err}
}

// CodeOf returns the canonical code of err ("" for nil).
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}
