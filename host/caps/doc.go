// Package caps implements the host capabilities a plugin may use (pdk.Host),
// bound to one configured account: an HTTP client that reaches only the
// account's manifest endpoints, signing and verification with keys that
// never leave the host, a clock, structured logging with secrets redacted,
// non-secret configuration and a small per-account cache. The native and the
// wasm transports serve plugins the same Binding.
package caps
