package host

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestCircuitHalfOpenProbe: the circuit opens after threshold failures that
// count against the channel, refuses every call for openFor, then lets one
// probe through at a time; the probe's success closes it, its failure
// opens it for another openFor, and a probe given back unused lets the next
// call probe.
func TestCircuitHalfOpenProbe(t *testing.T) {
	c := core.Channel{Plugin: "p", Account: "a", Method: core.MethodAlipayQR}
	other := core.Channel{Plugin: "p", Account: "a", Method: core.MethodWechatNative} // same circuit: plugin/account
	open := func(t *testing.T, clk *fakeClock) *health {
		t.Helper()
		h := newHealth(clk.now)
		for range defaultFailureThreshold - 1 {
			h.record(c, core.CodeProviderUnavailable)
		}
		ok, _ := h.allow(c)
		require.True(t, ok, "still closed one failure short of the threshold")
		h.record(c, core.CodeDeclined) // a decline is the provider answering: it resets the count
		for range defaultFailureThreshold {
			h.record(c, core.CodeProviderUnavailable)
		}
		ok, _ = h.allow(other)
		require.False(t, ok, "open after %d consecutive failures", defaultFailureThreshold)
		require.Equal(t, core.CircuitOpen, h.ChannelHealth(c).Circuit)
		require.Equal(t, defaultOpenFor, h.retryIn(c))
		return h
	}
	halfOpen := func(t *testing.T, clk *fakeClock, h *health) {
		t.Helper()
		clk.add(defaultOpenFor - time.Millisecond)
		ok, _ := h.allow(c)
		require.False(t, ok, "open until openFor has passed")
		require.Equal(t, time.Millisecond, h.retryIn(c))
		clk.add(time.Millisecond)
		require.Equal(t, core.CircuitHalfOpen, h.ChannelHealth(c).Circuit)
		require.Zero(t, h.retryIn(c))
	}

	t.Run("one probe at a time", func(t *testing.T) {
		clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		h := open(t, clk)
		halfOpen(t, clk, h)
		ok, probe := h.allow(c)
		require.True(t, ok)
		require.True(t, probe)
		for range 3 {
			ok, _ := h.allow(other)
			assert.False(t, ok, "a second call while the probe is in flight")
		}
		clk.add(time.Hour)
		ok, _ = h.allow(c)
		assert.False(t, ok, "however long the probe takes")
	})
	t.Run("success closes", func(t *testing.T) {
		clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		h := open(t, clk)
		halfOpen(t, clk, h)
		_, probe := h.allow(c)
		require.True(t, probe)
		h.record(c, "")
		assert.Equal(t, core.CircuitClosed, h.ChannelHealth(c).Circuit)
		for range 3 {
			ok, probe := h.allow(other)
			assert.True(t, ok)
			assert.False(t, probe, "a closed circuit hands out no probes")
		}
		for range defaultFailureThreshold - 1 {
			h.record(c, core.CodeUnknownOutcome)
		}
		ok, _ := h.allow(c)
		assert.True(t, ok, "the count of failures started again")
	})
	t.Run("failure reopens", func(t *testing.T) {
		clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		h := open(t, clk)
		halfOpen(t, clk, h)
		_, probe := h.allow(c)
		require.True(t, probe)
		clk.add(2 * time.Second) // the probe's call took 2 s
		h.record(c, core.CodePluginFailure)
		assert.Equal(t, core.CircuitOpen, h.ChannelHealth(c).Circuit)
		assert.Equal(t, defaultOpenFor, h.retryIn(c), "open for another openFor from the probe's failure")
		ok, _ := h.allow(c)
		assert.False(t, ok)
		halfOpen(t, clk, h)
		_, probe = h.allow(c)
		assert.True(t, probe, "half-open again after openFor")
	})
	t.Run("a probe given back lets the next call probe", func(t *testing.T) {
		clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		h := open(t, clk)
		halfOpen(t, clk, h)
		_, probe := h.allow(c)
		require.True(t, probe)
		h.release(c, probe)
		ok, probe := h.allow(other)
		assert.True(t, ok)
		assert.True(t, probe)
	})
	t.Run("giving back a call that was no probe keeps the probe", func(t *testing.T) {
		clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		h := newHealth(clk.now)
		ok, early := h.allow(c) // admitted while closed, given back later
		require.True(t, ok)
		for range defaultFailureThreshold {
			h.record(c, core.CodeProviderUnavailable)
		}
		clk.add(defaultOpenFor)
		_, probe := h.allow(c)
		require.True(t, probe)
		h.release(c, early)
		ok, _ = h.allow(c)
		assert.False(t, ok, "still one probe")
	})
}

func TestRetrySeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 1}, {-time.Second, 1}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second + 1, 2}, {30 * time.Second, 30},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			assert.Equal(t, tt.want, retrySeconds(tt.d))
		})
	}
}
