package plugin

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// DefaultCallTimeout bounds a call whose context has no deadline.
const DefaultCallTimeout = 30 * time.Second

type native struct {
	p        pdk.Plugin
	manifest core.Manifest
	timeout  time.Duration
	limits   Limits

	calls, errors       atomic.Int64
	logDropped, refused atomic.Int64
	inUse               atomic.Int64
	gate                gate
}

// NewNative serves a plugin package in-process. Calls get the same
// capability interface and errors as wasm, but no isolation: a native plugin
// can loop forever or touch the process, so use it only for trusted code.
func NewNative(p pdk.Plugin) (Plugin, error) { return NewNativeWithLimits(p, Limits{}) }

// NewNativeWithLimits is NewNative with the per-call limits of l (zero
// values take the defaults): responses are checked as wasm ones are, since
// what they carry comes from a provider.
func NewNativeWithLimits(p pdk.Plugin, l Limits) (Plugin, error) {
	m := pdk.Describe(p)
	if err := m.Validate(); err != nil {
		return nil, err
	}
	l.defaults()
	return &native{p: p, manifest: m, timeout: DefaultCallTimeout, limits: l}, nil
}

func (n *native) Manifest() core.Manifest { return n.manifest }
func (n *native) Transport() Transport    { return TransportNative }

func (n *native) Invoke(ctx context.Context, h pdk.Host, op core.Op, req any) (any, error) {
	if !n.gate.enter() {
		return nil, core.Errorf(core.CodeProviderUnavailable, "plugin %s is closed", n.manifest.Name)
	}
	defer n.gate.leave()
	info, err := checkCall(&n.manifest, op, req)
	if err != nil {
		return nil, err
	}
	n.calls.Add(1)
	n.inUse.Add(1)
	defer n.inUse.Add(-1)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.timeout)
		defer cancel()
	}
	ch := newCallHost(h, &n.limits)
	resp, err := pdk.Invoke(ctx, n.p, ch, op, req)
	if lines, _ := ch.logDropped(); lines > 0 {
		n.logDropped.Add(int64(lines))
	}
	if err != nil {
		n.errors.Add(1)
		return nil, afterSend(n.manifest.Name, info, ch.sent.Load(), pluginError(n.manifest.Name, err))
	}
	if err := n.limits.checkResponse(resp); err != nil {
		n.errors.Add(1)
		n.refused.Add(1)
		return nil, afterSend(n.manifest.Name, info, ch.sent.Load(), refusedOutput(n.manifest.Name, op, err))
	}
	return resp, nil
}

func (n *native) Stats() Stats {
	return Stats{Calls: n.calls.Load(), Errors: n.errors.Load(), InUse: int(n.inUse.Load()),
		LogDropped: n.logDropped.Load(), Refused: n.refused.Load()}
}

func (n *native) Close(ctx context.Context) error {
	n.gate.close()
	return n.gate.wait(ctx)
}
