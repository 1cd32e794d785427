package plugin

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGate: a call is admitted before the gate closes and waited for, or
// refused after; close and enter racing never lose a call (go test -race
// checks the WaitGroup is never added to while waited on).
func TestGate(t *testing.T) {
	t.Run("waits for admitted calls", func(t *testing.T) {
		var g gate
		require.True(t, g.enter())
		assert.True(t, g.close())
		assert.False(t, g.close(), "closed once")
		assert.False(t, g.enter(), "refused once closed")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, g.wait(ctx), context.Canceled, "the admitted call is still running")
		g.leave()
		assert.NoError(t, g.wait(context.Background()))
	})
	t.Run("close racing calls", func(t *testing.T) {
		var g gate
		var running sync.WaitGroup
		var mu sync.Mutex
		inside, admitted := 0, 0
		for range 8 {
			running.Go(func() {
				if !g.enter() {
					return
				}
				mu.Lock()
				inside++
				admitted++
				mu.Unlock()
				mu.Lock()
				inside--
				mu.Unlock()
				g.leave()
			})
		}
		g.close()
		require.NoError(t, g.wait(context.Background()))
		mu.Lock()
		assert.Zero(t, inside, "no admitted call runs after wait returns")
		mu.Unlock()
		running.Wait()
		mu.Lock()
		n := admitted
		mu.Unlock()
		assert.LessOrEqual(t, n, 8)
	})
}
