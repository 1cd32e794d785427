package host

import (
	"strings"
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
// channel's circuit opens after threshold consecutive failures that say the
// channel itself is unwell (provider_unavailable, unknown_outcome,
// plugin_failure, rate_limited); after openFor it is half-open and lets one
// probing call through at a time; the probe's success closes it, its
// failure opens it for another openFor. Declines and bad input do not count
// against a channel (they close a half-open circuit: the provider answered).
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

// allow reports whether a call may go to the channel now. While the
// circuit is open, none may; once openFor has passed (half-open), one
// probing call at a time is let through: probe says this call is it, and
// until record (or release) is called for it every other call is refused.
func (h *health) allow(c core.Channel) (ok, probe bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.get(circuitKey(c))
	if ch.openUntil.IsZero() {
		return true, false
	}
	if h.now().Before(ch.openUntil) || ch.probing {
		return false, false
	}
	ch.probing = true
	return true, true
}

// release gives back what allow granted when no call was made after all:
// a probe lets the next call probe instead.
func (h *health) release(c core.Channel, probe bool) {
	if !probe {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.get(circuitKey(c)).probing = false
}

// retryIn is how long until a call refused by the channel's circuit may be
// let through: the rest of the open period, or, while a probe is in flight
// (or the circuit has closed meanwhile), zero.
func (h *health) retryIn(c core.Channel) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.get(circuitKey(c))
	if ch.openUntil.IsZero() {
		return 0
	}
	return max(ch.openUntil.Sub(h.now()), 0)
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

// admission is a circuit's leave for one call to a channel; a half-open
// circuit's probe is held until the call is made or the leave given back.
type admission struct {
	c     core.Channel
	probe bool
	done  bool // the call was made (its recorded outcome ends a probe) or the leave given back
}

// admit asks the channel's circuit for leave to call it: nil when the
// circuit refuses.
func (h *Host) admit(c core.Channel) *admission {
	ok, probe := h.health.allow(c)
	if !ok {
		return nil
	}
	return &admission{c: c, probe: probe}
}

// giveBack returns a leave that was not used; nil and used leaves are
// left alone.
func (a *admission) giveBack(h *Host) {
	if a == nil || a.done {
		return
	}
	a.done = true
	h.health.release(a.c, a.probe)
}

// circuitOpenError is the refusal of a channel by its circuit breaker,
// with the seconds until the circuit lets a call through again.
func (h *Host) circuitOpenError(c core.Channel) *core.Error {
	return &core.Error{Code: core.CodeCircuitOpen, Retryable: true, RetryAfter: retrySeconds(h.health.retryIn(c)),
		Message: "circuit open for " + circuitKey(c)}
}

// retrySeconds rounds a wait up to whole seconds, at least one.
func retrySeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}

// passedChannel is a channel passed over before a payment was stored.
type passedChannel struct {
	c   core.Channel
	err error
}

// admitFirst finds the first channel a payment may be offered to now and
// takes its circuit's leave (a half-open circuit's probe), before the
// payment is stored. passed are the channels refused before it (recorded
// as attempts once the payment is). When circuit breakers refuse every
// channel that is served here, the payment is not made: circuit_open,
// retryable, whose RetryAfter is the soonest a circuit lets a call through
// — nothing reached a provider, so no failed payment is stored under the
// key. When no channel is served here at all (no circuit refused), first
// is 0 with no leave: the channels are tried and the payment fails as
// before.
func (h *Host) admitFirst(channels []core.Channel) (first int, adm *admission, passed []passedChannel, err error) {
	wait := time.Duration(-1)
	var open []string
	for i, c := range channels {
		if _, err := h.channelAccount(c); err != nil {
			passed = append(passed, passedChannel{c, err})
			continue
		}
		if adm := h.admit(c); adm != nil {
			return i, adm, passed, nil
		}
		ce := h.circuitOpenError(c)
		passed = append(passed, passedChannel{c, ce})
		if w := h.health.retryIn(c); wait < 0 || w < wait {
			wait = w
		}
		open = append(open, circuitKey(c))
	}
	if wait < 0 {
		return 0, nil, nil, nil
	}
	return 0, nil, nil, &core.Error{Code: core.CodeCircuitOpen, Retryable: true, RetryAfter: retrySeconds(wait),
		Message: "no channel can take this payment now: the circuit breaker of " + strings.Join(open, ", ") +
			" is open after repeated provider failures; nothing was sent or stored: retry after Retry-After (a rule with a fallback channel avoids this)"}
}
