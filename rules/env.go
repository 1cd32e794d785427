package rules

import (
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/payhost/payhost/core"
)

// Env is the typed environment a `when` expression reads. Expressions name
// the fields by their expr tag (amount, currency, ...); any other name is
// refused when the rule file is loaded. Two functions are also available:
// healthy("plugin/account/method") and health("plugin/account/method"),
// which read live channel health from the [HealthSource].
type Env struct {
	Amount       int64             `expr:"amount"`        // minor units
	Currency     string            `expr:"currency"`      // ISO 4217, e.g. "CNY"
	Method       string            `expr:"method"`        // canonical method, e.g. "wechat.jsapi"
	MerchantID   string            `expr:"merchant_id"`   //
	MerchantTags []string          `expr:"merchant_tags"` //
	Country      string            `expr:"country"`       // ISO 3166 alpha-2 of the payer or merchant, as the host sets it
	Terminal     string            `expr:"terminal"`      // terminal id, empty if none
	Hour         int               `expr:"hour"`          // 0-23 in the rule file's timezone; -1 if the transaction has no time
	Weekday      string            `expr:"weekday"`       // "mon" … "sun"; empty if the transaction has no time
	Metadata     map[string]string `expr:"metadata"`      // free-form transaction metadata
}

// Health is the live health of a channel as an expression sees it through
// health("plugin/account/method"): success_rate_ppm, circuit ("closed",
// "open" or "half_open") and samples.
type Health struct {
	SuccessRatePPM int64  `expr:"success_rate_ppm"`
	Circuit        string `expr:"circuit"`
	Samples        int64  `expr:"samples"`
}

// HealthSource supplies live channel health. The host implements it
// structurally; without one every channel is healthy.
type HealthSource interface {
	ChannelHealth(core.Channel) core.ChannelHealth
}

// healthyAll is the health source used when none is configured and the
// base of a test's health overrides: every channel is fully healthy.
type healthyAll struct{}

func (healthyAll) ChannelHealth(core.Channel) core.ChannelHealth {
	return core.ChannelHealth{SuccessRatePPM: core.PPM, Circuit: core.CircuitClosed}
}

// isHealthy is the definition behind healthy(): the circuit is not open.
func isHealthy(h core.ChannelHealth) bool {
	return h.Circuit != core.CircuitOpen
}

// evalEnv is what expressions run against: Env plus the two health
// functions. One evalEnv is used by one decision at a time (pooled); the
// functions read the health source of the decision in progress.
type evalEnv struct {
	Env
	HealthyFn func(string) bool   `expr:"healthy"`
	HealthFn  func(string) Health `expr:"health"`

	hs       HealthSource
	channels map[string]core.Channel // parsed health() arguments of the ruleset
	scratch  []uint64                // candidate bitset for the index
	vm       vm.VM                   // reused between runs: its stack is kept
}

func newEvalEnv(channels map[string]core.Channel) *evalEnv {
	e := &evalEnv{channels: channels}
	e.HealthyFn = func(s string) bool { return isHealthy(e.health(s)) }
	e.HealthFn = func(s string) Health {
		h := e.health(s)
		return Health{SuccessRatePPM: h.SuccessRatePPM, Circuit: string(h.Circuit), Samples: h.Samples}
	}
	return e
}

func (e *evalEnv) health(s string) core.ChannelHealth {
	ch, ok := e.channels[s]
	if !ok {
		// Arguments are checked when the file loads; an unknown one cannot
		// reach here, but stay safe: an unknown channel is not healthy.
		return core.ChannelHealth{Circuit: core.CircuitOpen}
	}
	return e.hs.ChannelHealth(ch)
}

var weekdays = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// set fills the environment from a transaction.
func (e *evalEnv) set(tx *core.Transaction, loc *time.Location, hs HealthSource) {
	e.Env = Env{
		Amount:       tx.Amount,
		Currency:     string(tx.Currency),
		Method:       string(tx.Method),
		MerchantID:   tx.MerchantID,
		MerchantTags: tx.MerchantTags,
		Country:      tx.Country,
		Terminal:     tx.TerminalID,
		Hour:         -1,
		Metadata:     tx.Metadata,
	}
	if !tx.Time.IsZero() {
		t := tx.Time.In(loc)
		e.Hour = t.Hour()
		e.Weekday = weekdays[t.Weekday()]
	}
	e.hs = hs
}

// clear drops references to the transaction before the env is pooled.
func (e *evalEnv) clear() {
	e.Env = Env{}
	e.hs = nil
	clear(e.vm.Stack[:cap(e.vm.Stack)])
	clear(e.vm.Variables)
}
