package plugin

import (
	"context"
	"sync"
)

// gate admits a plugin's calls until the plugin is closed, and lets Close
// wait for the calls it admitted. Admission and closing share a mutex, so
// a call is either refused or counted before Close starts waiting: a bare
// closed flag checked before WaitGroup.Add let a call slip in while Close
// waited, and run on a closed plugin.
type gate struct {
	mu     sync.Mutex
	closed bool
	calls  sync.WaitGroup
}

// enter admits a call, or reports false once the gate is closed. An
// admitted call must leave.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.calls.Add(1)
	return true
}

// leave ends a call that entered.
func (g *gate) leave() { g.calls.Done() }

// close refuses calls from now on; it reports false if the gate was
// already closed.
func (g *gate) close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	return true
}

// wait returns when every admitted call has left, or with ctx's error.
func (g *gate) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { g.calls.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
