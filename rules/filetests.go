package rules

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/payhost/payhost/core"
)

// testCase is one test of a rule file: an input transaction, optional
// channel health, and what the decision must be.
type testCase struct {
	name   string
	pos    pos
	tx     core.Transaction
	health map[core.Channel]core.ChannelHealth
	expect expectation
}

type expectation struct {
	channel   *core.Channel
	channels  []core.Channel
	fee       *int64
	splits    map[string]int64
	splitMode core.SplitMode
	rules     []string
	err       string
}

// TestResult is the outcome of one test of a rule file.
type TestResult struct {
	Name     string         `json:"name"`
	Line     int            `json:"line"`
	Passed   bool           `json:"passed"`
	Failures []string       `json:"failures,omitempty"`
	Decision *core.Decision `json:"decision,omitempty"`

	pos pos
}

// TestReport is the outcome of a rule file's tests with its rule
// coverage: how many rules decided part of at least one test.
type TestReport struct {
	Results []TestResult `json:"results"`
	Passed  int          `json:"passed"`
	Failed  int          `json:"failed"`
	Hit     int          `json:"rules_hit"`
	Total   int          `json:"rules_total"`
	Missed  []RuleInfo   `json:"missed,omitempty"` // rules no test reached
}

// TestReport returns the report of the tests run when the ruleset was
// loaded (empty if it was loaded with SkipTests).
func (r *Ruleset) TestReport() TestReport { return r.report }

// overlayHealth is a test's health: listed channels as given, the others
// fully healthy.
type overlayHealth map[core.Channel]core.ChannelHealth

func (o overlayHealth) ChannelHealth(ch core.Channel) core.ChannelHealth {
	if h, ok := o[ch]; ok {
		return h
	}
	return healthyAll{}.ChannelHealth(ch)
}

// RunTests runs the tests of the rule file against this ruleset. Tests
// use only their own health data, never the live HealthSource.
func (r *Ruleset) RunTests(ctx context.Context) TestReport {
	rep := TestReport{}
	hit := map[RuleInfo]bool{}
	for _, tc := range r.tests {
		res := TestResult{Name: tc.name, Line: tc.pos.Line, pos: tc.pos}
		tx := tc.tx
		d, err := r.decide(ctx, &tx, overlayHealth(tc.health))
		if err == nil {
			res.Decision = &d
			for _, m := range d.Matched {
				hit[RuleInfo{m.Kind, m.RuleID}] = true
			}
		}
		res.Failures = tc.expect.check(d, err)
		res.Passed = len(res.Failures) == 0
		if res.Passed {
			rep.Passed++
		} else {
			rep.Failed++
		}
		rep.Results = append(rep.Results, res)
	}
	for _, ri := range r.Rules() {
		rep.Total++
		if hit[ri] {
			rep.Hit++
		} else {
			rep.Missed = append(rep.Missed, ri)
		}
	}
	return rep
}

// check compares a decision with the expectation.
func (x *expectation) check(d core.Decision, err error) []string {
	var fails []string
	if x.err != "" {
		switch {
		case err == nil:
			fails = append(fails, fmt.Sprintf("want an error containing %q, got a decision routed to %s", x.err, channelList(d.Channels)))
		case !strings.Contains(err.Error(), x.err):
			fails = append(fails, fmt.Sprintf("want an error containing %q, got %q", x.err, err.Error()))
		}
		return fails
	}
	if err != nil {
		return []string{fmt.Sprintf("decision failed: %v", err)}
	}
	if x.channel != nil && (len(d.Channels) == 0 || d.Channels[0] != *x.channel) {
		fails = append(fails, fmt.Sprintf("channel: want %s, got %s", x.channel, first(d.Channels)))
	}
	if x.channels != nil && !slices.Equal(x.channels, d.Channels) {
		fails = append(fails, fmt.Sprintf("channels: want %s, got %s", channelList(x.channels), channelList(d.Channels)))
	}
	if x.fee != nil && *x.fee != d.Fee {
		fails = append(fails, fmt.Sprintf("fee: want %d, got %d", *x.fee, d.Fee))
	}
	if x.splits != nil {
		got := map[string]int64{}
		for _, s := range d.Splits {
			if s.Amount != 0 {
				got[s.Receiver] = s.Amount
			}
		}
		want := map[string]int64{}
		for k, v := range x.splits {
			if v != 0 {
				want[k] = v
			}
		}
		if !maps.Equal(got, want) {
			fails = append(fails, fmt.Sprintf("splits: want %s, got %s", shareList(want), shareList(got)))
		}
	}
	if x.splitMode != "" && x.splitMode != d.SplitMode {
		fails = append(fails, fmt.Sprintf("split_mode: want %s, got %s", x.splitMode, d.SplitMode))
	}
	if x.rules != nil {
		var got []string
		for _, m := range d.Matched {
			got = append(got, m.RuleID)
		}
		w, g := slices.Sorted(slices.Values(x.rules)), slices.Sorted(slices.Values(got))
		if !slices.Equal(w, g) {
			fails = append(fails, fmt.Sprintf("rules: want [%s], got [%s]", strings.Join(x.rules, ", "), strings.Join(got, ", ")))
		}
	}
	return fails
}

func first(chs []core.Channel) string {
	if len(chs) == 0 {
		return "none"
	}
	return chs[0].String()
}

func channelList(chs []core.Channel) string {
	s := make([]string, len(chs))
	for i, c := range chs {
		s[i] = c.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func shareList(m map[string]int64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// buildTest checks one test of the file.
func (b *builder) buildTest(i int, s *testSpec) {
	keys := []any{"tests", i}
	p := b.ps.at(keys...)
	bad := func(field string, format string, args ...any) {
		b.is.add(b.ps.at(append(keys, strings.Split(field, ".")[0])...), "test", s.Name, field, format, args...)
	}
	if s.Name == "" {
		b.is.add(p, "test", "", "name", "name is required")
	}
	for _, other := range b.rs.tests {
		if other.name == s.Name && s.Name != "" {
			b.is.add(p, "test", s.Name, "name", "duplicate test name (first at line %d)", other.pos.Line)
		}
	}
	tc := testCase{name: s.Name, pos: p}
	tx := s.Tx
	tc.tx = core.Transaction{
		PaymentID:    tx.PaymentID,
		Amount:       tx.Amount,
		Currency:     core.Currency(tx.Currency),
		Method:       core.Method(tx.Method),
		MerchantID:   tx.MerchantID,
		MerchantTags: tx.MerchantTags,
		Country:      tx.Country,
		TerminalID:   tx.TerminalID,
		Metadata:     tx.Metadata,
	}
	if tc.tx.PaymentID == "" {
		tc.tx.PaymentID = "test:" + s.Name
	}
	if tx.Time != "" {
		t, err := time.Parse(time.RFC3339, tx.Time)
		if err != nil {
			b.is.add(b.ps.at(append(keys, "tx", "time")...), "test", s.Name, "tx.time", "want an RFC 3339 time such as 2025-06-01T10:00:00+08:00, got %q", tx.Time)
		}
		tc.tx.Time = t
	}
	if len(s.Health) > 0 {
		tc.health = map[core.Channel]core.ChannelHealth{}
		for k, h := range s.Health {
			ch, err := core.ParseChannel(k)
			if err != nil {
				bad("health", "%v", err)
				continue
			}
			ch2 := core.ChannelHealth{SuccessRatePPM: core.PPM, Circuit: core.CircuitClosed, Samples: h.Samples}
			if h.SuccessRatePPM != nil {
				ch2.SuccessRatePPM = *h.SuccessRatePPM
				if *h.SuccessRatePPM < 0 || *h.SuccessRatePPM > core.PPM {
					bad("health", "%s: success_rate_ppm %d: want 0 to 1000000", k, *h.SuccessRatePPM)
				}
			}
			switch core.CircuitState(h.Circuit) {
			case "":
			case core.CircuitClosed, core.CircuitOpen, core.CircuitHalfOpen:
				ch2.Circuit = core.CircuitState(h.Circuit)
			default:
				bad("health", "%s: circuit %q: want closed, open or half_open", k, h.Circuit)
			}
			tc.health[ch] = ch2
		}
	}
	e := s.Expect
	x := &tc.expect
	n := 0
	if e.Channel != "" {
		n++
		ch, err := core.ParseChannel(e.Channel)
		if err != nil {
			bad("expect", "channel: %v", err)
		}
		x.channel = &ch
	}
	if e.Channels != nil {
		n++
		x.channels = []core.Channel{}
		for _, str := range e.Channels {
			ch, err := core.ParseChannel(str)
			if err != nil {
				bad("expect", "channels: %v", err)
			}
			x.channels = append(x.channels, ch)
		}
	}
	if e.Fee != nil {
		n++
		x.fee = e.Fee
	}
	if e.Splits != nil {
		n++
		x.splits = e.Splits
		for k, v := range e.Splits {
			if v < 0 {
				bad("expect", "splits: %s: negative amount %d", k, v)
			}
		}
	}
	if e.SplitMode != "" {
		n++
		x.splitMode = core.SplitMode(e.SplitMode)
		switch x.splitMode {
		case core.SplitNone, core.SplitAuto, core.SplitManual, core.SplitInline:
		default:
			bad("expect", "split_mode %q: want none, auto, manual or inline", e.SplitMode)
		}
	}
	if e.Rules != nil {
		n++
		x.rules = e.Rules
		known := map[string]bool{defaultRouteID: true}
		for _, ri := range b.rs.Rules() {
			known[ri.ID] = true
		}
		for _, id := range e.Rules {
			if !known[id] {
				bad("expect", "rules: no rule with id %q", id)
			}
		}
	}
	if e.Error != "" {
		if n > 0 {
			bad("expect", "error excludes the other expectations")
		}
		n++
		x.err = e.Error
	}
	if n == 0 {
		bad("expect", "expects nothing: set channel, channels, fee, splits, split_mode, rules or error")
	}
	b.rs.tests = append(b.rs.tests, tc)
}
