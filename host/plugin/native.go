package plugin

import (
	"context"
	"sync"
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

	calls, errors atomic.Int64
	inUse         atomic.Int64
	wg            sync.WaitGroup
	closed        atomic.Bool
}

// NewNative serves a plugin package in-process. Calls get the same
// capability interface and errors as wasm, but no isolation: a native plugin
// can loop forever or touch the process, so use it only for trusted code.
func NewNative(p pdk.Plugin) (Plugin, error) {
	m := pdk.Describe(p)
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &native{p: p, manifest: m, timeout: DefaultCallTimeout}, nil
}

func (n *native) Manifest() core.Manifest { return n.manifest }
func (n *native) Transport() Transport    { return TransportNative }

func (n *native) Invoke(ctx context.Context, h pdk.Host, op core.Op, req any) (any, error) {
	if n.closed.Load() {
		return nil, core.Errorf(core.CodeProviderUnavailable, "plugin %s is closed", n.manifest.Name)
	}
	info, err := checkCall(&n.manifest, op, req)
	if err != nil {
		return nil, err
	}
	n.wg.Add(1)
	defer n.wg.Done()
	n.calls.Add(1)
	n.inUse.Add(1)
	defer n.inUse.Add(-1)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.timeout)
		defer cancel()
	}
	var sent atomic.Bool
	resp, err := pdk.Invoke(ctx, n.p, trackingHost{Host: h, sent: &sent}, op, req)
	if err != nil {
		n.errors.Add(1)
		return nil, afterSend(n.manifest.Name, info, sent.Load(), pluginError(n.manifest.Name, err))
	}
	return resp, nil
}

func (n *native) Stats() Stats {
	return Stats{Calls: n.calls.Load(), Errors: n.errors.Load(), InUse: int(n.inUse.Load())}
}

func (n *native) Close(ctx context.Context) error {
	n.closed.Store(true)
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
