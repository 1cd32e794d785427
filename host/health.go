package host

import (
	"sync"
	"time"

	"github.com/payhost/payhost/core"
)

// Circuit-breaker defaults.
const (
	defaultFailureThreshold = 5
	defaultOpenFor          = 30 * time.Second
	healthAlphaPPM          = 100_000 // weight of the newest call in the success rate (10%)
)

// health tracks each channel's recent success rate and circuit state. A
// channel's circuit opens after consecutive failures that say the channel
// itself is unwell (provider_unavailable, unknown_outcome, plugin_failure,
// rate_limited), lets one call through after a cool-down, and closes on
// success. Declines and bad input do not count against a channel.
type health struct {
	now       func() time.Time
	threshold int
	openFor   time.Duration

	mu sync.Mutex
	m  map[string]*channelHealth
}

type channelHealth struct {
	ratePPM     int64
	samples     int64
	consecutive int
	openUntil   time.Time
	probing     bool
}

func newHealth(now func() time.Time) *health {
	return &health{now: now, threshold: defaultFailureThreshold, openFor: defaultOpenFor, m: map[string]*channelHealth{}}
}

func (h *health) get(key string) *channelHealth {
	c, ok := h.m[key]
	if !ok {
		c = &channelHealth{ratePPM: core.PPM}
		h.m[key] = c
	}
	return c
}

// circuitKey is plugin/account: a provider outage affects every method.
func circuitKey(c core.Channel) string { return c.Plugin + "/" + c.Account }

// allow reports whether a call may go to the channel now; in the half-open
// state only one probing call is let through at a time.
func (h *health) allow(c core.Channel) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.get(circuitKey(c))
	if ch.openUntil.IsZero() {
		return true
	}
	if h.now().Before(ch.openUntil) || ch.probing {
		return false
	}
	ch.probing = true
	return true
}

// release gives back a probe allow let through when no call was made after all.
func (h *health) release(c core.Channel) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.get(circuitKey(c)).probing = false
}

// countsAgainst says whether an error code is the channel's fault.
func countsAgainst(code core.Code) bool {
	switch code {
	case core.CodeProviderUnavailable, core.CodeUnknownOutcome, core.CodePluginFailure, core.CodeRateLimited:
		return true
	}
	return false
}

// record notes a call's outcome ("" = success).
func (h *health) record(c core.Channel, code core.Code) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.get(circuitKey(c))
	ch.samples++
	ok := code == "" || !countsAgainst(code)
	var sample int64
	if ok {
		sample = core.PPM
	}
	ch.ratePPM += (sample - ch.ratePPM) * healthAlphaPPM / core.PPM
	ch.probing = false
	if ok {
		ch.consecutive = 0
		ch.openUntil = time.Time{}
		return
	}
	ch.consecutive++
	if ch.consecutive >= h.threshold {
		ch.openUntil = h.now().Add(h.openFor)
	}
}

// ChannelHealth reports a channel's live health; rules use it so a `when`
// can avoid an unhealthy channel.
func (h *health) ChannelHealth(c core.Channel) core.ChannelHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.get(circuitKey(c))
	state := core.CircuitClosed
	switch {
	case ch.openUntil.IsZero():
	case h.now().Before(ch.openUntil):
		state = core.CircuitOpen
	default:
		state = core.CircuitHalfOpen
	}
	return core.ChannelHealth{SuccessRatePPM: ch.ratePPM, Circuit: state, Samples: ch.samples}
}
