// Package plugin loads provider plugins and calls them: WebAssembly modules
// in a wazero sandbox (the default) or plugin packages linked in-process
// (native, for tests, benchmarks and trusted builds). Both transports serve
// the same pdk.Host capabilities and return the same errors.
package plugin

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// Transport names how a plugin runs.
type Transport string

// Transports.
const (
	TransportWasm   Transport = "wasm"
	TransportNative Transport = "native"
)

// Plugin is one loaded plugin version.
type Plugin interface {
	// Manifest is the plugin's manifest as checked at load.
	Manifest() core.Manifest
	// Transport says how the plugin runs.
	Transport() Transport
	// Invoke runs op with req (a pointer to the operation's core request
	// type) and returns a pointer to its response type. Errors are
	// *core.Error.
	Invoke(ctx context.Context, h pdk.Host, op core.Op, req any) (any, error)
	// Stats reports call and instance counters.
	Stats() Stats
	// Close stops new calls, waits for calls in flight (until ctx ends) and
	// releases the plugin's resources; those that calls still running use
	// are released when those calls end.
	Close(ctx context.Context) error
}

// Stats are a plugin's counters.
type Stats struct {
	Calls          int64            `json:"calls"`
	Errors         int64            `json:"errors"`
	InUse          int              `json:"in_use"`
	Idle           int              `json:"idle"`
	MaxInstances   int              `json:"max_instances,omitempty"`
	Instantiations int64            `json:"instantiations,omitempty"`
	Discards       map[string]int64 `json:"discards,omitempty"`    // by reason: trap, timeout, stack, calls, memory, account
	LogDropped     int64            `json:"log_dropped,omitempty"` // plugin log lines dropped over the per-call budget
	Refused        int64            `json:"refused,omitempty"`     // responses refused by the output limits
	Reloads        int64            `json:"reloads,omitempty"`     // compiled code loaded again after UnloadAfter released it
}

// Call invokes op on p and returns the typed response. Errors are
// *core.Error; for an op that changes state, an error is unknown_outcome
// whenever a request may have left the host (see afterSend), and never
// internal: an internal failure before any request left (the host could
// not encode the request, the plugin failed before sending) is
// provider_unavailable, so the engine tries the next channel or fails the
// object with that code instead of waiting on a query that cannot settle
// anything.
func Call[Resp any](ctx context.Context, p Plugin, h pdk.Host, op core.Op, req any) (*Resp, error) {
	out, err := p.Invoke(ctx, h, op, req)
	if err != nil {
		return nil, notSent(op, err)
	}
	resp, ok := out.(*Resp)
	if !ok {
		return nil, core.Errorf(core.CodeInternal, "%s returned %T, want *%T", op, out, *new(Resp))
	}
	return resp, nil
}

// checkCall verifies that the manifest supports op and req has op's type.
func checkCall(m *core.Manifest, op core.Op, req any) (core.OpInfo, error) {
	info, ok := core.LookupOp(op)
	if !ok {
		return info, core.Errorf(core.CodeUnsupported, "unknown operation %q", op)
	}
	if !m.Supports(op) {
		return info, &core.Error{Code: core.CodeUnsupported, Provider: m.Name, Message: fmt.Sprintf("plugin %s does not support %s", m.Name, op)}
	}
	if want := info.NewReq(); fmt.Sprintf("%T", want) != fmt.Sprintf("%T", req) {
		return info, core.Errorf(core.CodeInternal, "%s takes %T, not %T", op, want, req)
	}
	return info, nil
}

// afterSend makes an error honest about money: once a call that changes
// state may have reached the provider (sent), only an answer the provider
// gave can say it failed. A crash, a panic, an unreadable result, an
// internal error or a plugin's own "unavailable" after sending is
// unknown_outcome — settled by query, never failed over.
func afterSend(name string, info core.OpInfo, sent bool, err error) error {
	ce := core.AsError(err)
	if !info.Mutating || !sent {
		return ce
	}
	switch ce.Code {
	case core.CodePluginFailure, core.CodeInternal, core.CodeProviderUnavailable, core.CodeCircuitOpen:
		return &core.Error{Code: core.CodeUnknownOutcome, Provider: name, Err: err,
			Message: fmt.Sprintf("%s failed after a request was sent (%s: %s); the outcome is unknown: query the provider", info.Op, ce.Code, ce.Message)}
	}
	return ce
}

// notSent turns the internal error of a state-changing call into
// provider_unavailable. Invoke already made every error after a possible
// send unknown_outcome (or left the provider's answer), so an internal one
// here happened before any request left the host.
func notSent(op core.Op, err error) error {
	ce := core.AsError(err)
	if info, ok := core.LookupOp(op); !ok || !info.Mutating || ce.Code != core.CodeInternal {
		return ce
	}
	return &core.Error{Code: core.CodeProviderUnavailable, Provider: ce.Provider, Err: err,
		Message: fmt.Sprintf("%s failed inside the host before any request was sent (internal: %s)", op, ce.Message)}
}

// callHost is the pdk.Host one call sees: it notes whether an HTTP request
// of the call may have left the host, and holds the call's log budget.
type callHost struct {
	pdk.Host
	sent   atomic.Bool
	limits *Limits

	mu           sync.Mutex
	logLines     int
	logBytes     int
	droppedLines int // log lines over the budget
	droppedBytes int // and their bytes
}

func newCallHost(h pdk.Host, l *Limits) *callHost { return &callHost{Host: h, limits: l} }

func (c *callHost) HTTP(ctx context.Context, req *core.HTTPRequest) (*core.HTTPResponse, error) {
	if c.Host == nil {
		return nil, core.Errorf(core.CodeUnsupported, "no HTTP capability in this call")
	}
	resp, err := c.Host.HTTP(ctx, req)
	if err == nil || core.CodeOf(err) == core.CodeUnknownOutcome {
		c.sent.Store(true)
	}
	return resp, err
}

// Log passes a line on while the call's budget of lines and bytes lasts;
// the rest is dropped and counted (report says how much).
func (c *callHost) Log(ctx context.Context, level core.LogLevel, msg string, attrs ...string) {
	n := len(msg)
	for _, a := range attrs {
		n += len(a)
	}
	c.mu.Lock()
	over := c.logLines >= c.limits.MaxLogLines || c.logBytes+n > c.limits.MaxLogBytes
	if over {
		c.droppedLines++
		c.droppedBytes += n
	} else {
		c.logLines++
		c.logBytes += n
	}
	c.mu.Unlock()
	if !over && c.Host != nil {
		c.Host.Log(ctx, level, msg, attrs...)
	}
}

// logDropped returns the lines and bytes of log dropped in the call.
func (c *callHost) logDropped() (lines, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.droppedLines, c.droppedBytes
}

// ConfigValues passes through the account configuration of the host it wraps.
func (c *callHost) ConfigValues() map[string]string {
	if cv, ok := c.Host.(interface{ ConfigValues() map[string]string }); ok {
		return cv.ConfigValues()
	}
	return nil
}

// accountOf names the account a host serves ("" when it does not say), so
// that guest memory is never shared between accounts.
func accountOf(h pdk.Host) string {
	if a, ok := h.(interface{ Account() string }); ok {
		return a.Account()
	}
	return ""
}

// pluginError normalises an error from a plugin: *core.Error passes
// through with Provider set; anything else is a plugin_failure.
func pluginError(name string, err error) error {
	ce := core.AsError(err)
	if ce.Code == core.CodeInternal && ce.Err != nil {
		ce = &core.Error{Code: core.CodePluginFailure, Message: err.Error(), Err: err}
	}
	if ce.Provider == "" {
		ce.Provider = name
	}
	return ce
}
