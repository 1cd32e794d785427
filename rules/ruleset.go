package rules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // rule files name IANA time zones; do not depend on the host's zoneinfo

	"github.com/payhost/payhost/core"
)

// Options configure how a rule file is loaded.
type Options struct {
	// Catalogue lists the channels the host can serve. With one, every
	// channel a rule names must exist in it, currencies and split receiver
	// limits are checked, and decisions skip channels that cannot take the
	// transaction. Without one only the channel syntax is checked.
	Catalogue Catalogue
	// Health supplies live channel health to healthy() and health(). Nil
	// means every channel is healthy. The file's own tests never use it.
	Health HealthSource
	// SkipTests loads the file without running its tests; for tools that
	// report the tests themselves ([Ruleset.RunTests]). A ruleset loaded
	// this way should not serve payments.
	SkipTests bool
}

// Ruleset is a compiled, validated rule file. It is immutable and safe for
// concurrent use; a transaction should be decided by one Ruleset from start
// to end.
type Ruleset struct {
	hash        string
	source      string
	description string
	loc         *time.Location

	routes     []routeRule
	routeConds []*cond
	routeIdx   *index
	def        target
	splits     []splitRule
	splitConds []*cond
	splitIdx   *index
	fees       []feeRule
	feeConds   []*cond
	feeIdx     *index
	tests      []testCase

	catalogue      Catalogue
	health         HealthSource
	healthChannels map[string]core.Channel
	envPool        sync.Pool
	report         TestReport
}

// FormatVersion is the rule file format this package reads (`version: 1`).
const FormatVersion = 1

var ruleIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)
var receiverPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$`)

// Load compiles and validates a rule file. name is the file name used in
// error messages and as the ruleset's source. Unless opts.SkipTests is
// set, the tests in the file must pass. A refused file yields a
// *[ValidationError] listing every issue with its position.
func Load(name string, data []byte, opts Options) (*Ruleset, error) {
	canon := Canonical(data)
	is := &issues{file: name}
	var spec fileSpec
	ps := parseYAML(canon, &spec, is)
	if err := is.err(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)
	rs := &Ruleset{
		hash:           hex.EncodeToString(sum[:]),
		source:         name,
		description:    spec.Description,
		catalogue:      opts.Catalogue,
		health:         opts.Health,
		healthChannels: map[string]core.Channel{},
	}
	b := &builder{rs: rs, is: is, ps: ps, ids: map[string]pos{}}
	b.build(&spec)
	if err := is.err(); err != nil {
		return nil, err
	}
	rs.envPool.New = func() any { return newEvalEnv(rs.healthChannels) }
	if !opts.SkipTests {
		rs.report = rs.RunTests(context.Background())
		for _, r := range rs.report.Results {
			if !r.Passed {
				for _, f := range r.Failures {
					is.add(r.pos, "test", r.Name, "", "%s", f)
				}
			}
		}
		if err := is.err(); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// LoadFile reads and loads a rule file.
func LoadFile(path string, opts Options) (*Ruleset, error) {
	data, err := readFileLimited(path)
	if err != nil {
		return nil, err
	}
	return Load(path, data, opts)
}

// Canonical returns the canonical bytes of a rule file, the ones that are
// hashed: without a UTF-8 byte order mark and with CRLF line ends turned
// into LF. Everything else, comments included, is kept as written.
func Canonical(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.Contains(data, []byte("\r\n")) {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	}
	return data
}

// Hash is the hex SHA-256 of the canonical file bytes.
func (r *Ruleset) Hash() string { return r.hash }

// ShortHash is the first 12 hex digits of Hash, for display.
func (r *Ruleset) ShortHash() string { return r.hash[:12] }

// Source is the name the ruleset was loaded from.
func (r *Ruleset) Source() string { return r.source }

// Description is the file's description, if any.
func (r *Ruleset) Description() string { return r.description }

// RuleInfo identifies one rule of a ruleset.
type RuleInfo struct {
	Kind string `json:"kind"` // routing, split or fee
	ID   string `json:"id"`
}

// Rules lists the rules in evaluation order: routing rules, the default
// route (id "default"), split rules, fee rules.
func (r *Ruleset) Rules() []RuleInfo {
	out := make([]RuleInfo, 0, len(r.routes)+1+len(r.splits)+len(r.fees))
	for _, x := range r.routes {
		out = append(out, RuleInfo{"routing", x.id})
	}
	out = append(out, RuleInfo{"routing", defaultRouteID})
	for _, x := range r.splits {
		out = append(out, RuleInfo{"split", x.id})
	}
	for _, x := range r.fees {
		out = append(out, RuleInfo{"fee", x.id})
	}
	return out
}

// defaultRouteID is the rule id of the default route in explanations.
const defaultRouteID = "default"

// builder turns a fileSpec into a Ruleset, collecting issues.
type builder struct {
	rs  *Ruleset
	is  *issues
	ps  positions
	ids map[string]pos
}

func (b *builder) build(spec *fileSpec) {
	if spec.Version != FormatVersion {
		b.is.add(b.ps.at("version"), "", "", "version", "want version: %d, got %d", FormatVersion, spec.Version)
	}
	tz := spec.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		b.is.add(b.ps.at("timezone"), "", "", "timezone", "unknown time zone %q", tz)
		loc = time.UTC
	}
	b.rs.loc = loc

	for i := range spec.Routing {
		b.buildRoute(i, &spec.Routing[i])
	}
	if spec.DefaultRoute == nil {
		b.is.add(pos{1, 1}, "default_route", "", "", "a default_route is required: it routes every transaction no routing rule matches")
	} else {
		b.rs.def = b.buildTarget(spec.DefaultRoute, "default_route", "", nil, []any{"default_route"})
	}
	for i := range spec.Split {
		b.buildSplit(i, &spec.Split[i])
	}
	for i := range spec.Fee {
		b.buildFee(i, &spec.Fee[i])
	}
	if len(b.is.list) > 0 {
		return
	}
	b.rs.routeConds = condsOf(b.rs.routes, func(r *routeRule) *cond { return r.cond })
	b.rs.splitConds = condsOf(b.rs.splits, func(r *splitRule) *cond { return r.cond })
	b.rs.feeConds = condsOf(b.rs.fees, func(r *feeRule) *cond { return r.cond })
	b.rs.routeIdx = newIndex(b.rs.routeConds)
	b.rs.splitIdx = newIndex(b.rs.splitConds)
	b.rs.feeIdx = newIndex(b.rs.feeConds)
	b.checkReachable()
	b.checkSplitLimits()
	for i := range spec.Tests {
		b.buildTest(i, &spec.Tests[i])
	}
}

func condsOf[T any](rules []T, get func(*T) *cond) []*cond {
	out := make([]*cond, len(rules))
	for i := range rules {
		out[i] = get(&rules[i])
	}
	return out
}

// ruleID checks a rule id and records it.
func (b *builder) ruleID(kind, id string, keys ...any) {
	p := b.ps.at(keys...)
	switch {
	case id == "":
		b.is.add(p, kind, "", "id", "id is required")
		return
	case id == defaultRouteID:
		b.is.add(p, kind, id, "id", "id %q is reserved for the default route", id)
	case !ruleIDPattern.MatchString(id):
		b.is.add(p, kind, id, "id", "id must be 1-64 letters, digits, '_', '.', ':' or '-'")
	}
	if prev, dup := b.ids[id]; dup {
		b.is.add(p, kind, id, "id", "duplicate rule id (first at line %d)", prev.Line)
		return
	}
	b.ids[id] = p
}

// compileWhen compiles a rule's condition, reporting expression issues at
// the `when` node and the position inside the expression.
func (b *builder) compileWhen(kind, id, src string, keys ...any) *cond {
	c, iss := compileCond(src)
	p := b.ps.at(append(keys, "when")...)
	for _, x := range iss {
		b.is.addIssue(Issue{Line: p.Line, Column: p.Column, Kind: kind, RuleID: id, Field: "when", ExprLine: x.line, ExprColumn: x.col, Message: x.msg})
	}
	if c == nil {
		return nil
	}
	if c.never {
		b.is.add(p, kind, id, "when", "can never be true: its conditions on the same field exclude each other")
	}
	for _, s := range c.healthArgs {
		ch, err := core.ParseChannel(s)
		if err != nil {
			continue // reported by the expression check
		}
		b.rs.healthChannels[s] = ch
		if cat := b.rs.catalogue; cat != nil {
			if _, ok := cat.LookupChannel(ch); !ok {
				b.is.add(p, kind, id, "when", "channel %s is not in the catalogue", ch)
			}
		}
	}
	return c
}

func (b *builder) buildRoute(i int, s *routeSpec) {
	keys := []any{"routing", i}
	b.ruleID("routing", s.ID, append(keys, "id")...)
	c := b.compileWhen("routing", s.ID, s.When, keys...)
	t := s.target()
	tg := b.buildTarget(&t, "routing", s.ID, c, keys)
	if c != nil {
		b.rs.routes = append(b.rs.routes, routeRule{id: s.ID, cond: c, target: tg})
	}
}

// buildTarget checks the channel list of a routing rule or the default
// route. c is the rule's condition (nil for the default route), used to
// check currencies and resolve wildcards against the catalogue.
func (b *builder) buildTarget(s *targetSpec, kind, id string, c *cond, keys []any) target {
	var t target
	set := 0
	if s.Channel != "" {
		set++
	}
	if len(s.Channels) > 0 {
		set++
	}
	if len(s.Weighted) > 0 {
		set++
	}
	if set != 1 {
		b.is.add(b.ps.at(keys...), kind, id, "", "set exactly one of channel, channels or weighted")
		return t
	}
	seen := map[channelRef]bool{}
	ref := func(str string, k ...any) (channelRef, bool) {
		r, err := parseChannelRef(str)
		p := b.ps.at(append(append([]any{}, keys...), k...)...)
		if err != nil {
			b.is.add(p, kind, id, fmt.Sprint(k[0]), "%v", err)
			return r, false
		}
		if seen[r] {
			b.is.add(p, kind, id, fmt.Sprint(k[0]), "channel %s listed twice", r)
			return r, false
		}
		seen[r] = true
		b.checkCatalogue(r, c, p, kind, id, fmt.Sprint(k[0]))
		return r, true
	}
	switch {
	case s.Channel != "":
		if r, ok := ref(s.Channel, "channel"); ok {
			t.list = append(t.list, r)
		}
	case len(s.Channels) > 0:
		for j, str := range s.Channels {
			if r, ok := ref(str, "channels", j); ok {
				t.list = append(t.list, r)
			}
		}
	default:
		t.kind = targetWeighted
		for j, w := range s.Weighted {
			r, ok := ref(w.Channel, "weighted", j, "channel")
			p := b.ps.at(append(append([]any{}, keys...), "weighted", j)...)
			switch {
			case w.Weight == nil:
				b.is.add(p, kind, id, "weighted", "weight is required")
			case *w.Weight < 1 || *w.Weight > 1_000_000_000:
				b.is.add(p, kind, id, "weighted", "weight %d: want 1 to 1000000000", *w.Weight)
			case ok:
				t.weighted = append(t.weighted, weightedRef{ref: r, weight: *w.Weight})
			}
		}
		if len(s.Weighted) > 100 {
			b.is.add(b.ps.at(append(keys, "weighted")...), kind, id, "weighted", "at most 100 channels")
		}
	}
	for j, str := range s.Fallback {
		if r, ok := ref(str, "fallback", j); ok {
			t.fallback = append(t.fallback, r)
		}
	}
	return t
}

// resolvable lists the concrete channels a reference may stand for under
// condition c: itself, or for plugin/account/* one channel per method the
// condition allows (every canonical method when it does not constrain it).
func resolvable(r channelRef, c *cond) []core.Channel {
	if !r.wildcard {
		return []core.Channel{r.ch}
	}
	var methods []string
	if c != nil && c.eq[fieldMethod] != nil {
		methods = c.eq[fieldMethod]
	} else {
		for m := range core.Methods() {
			methods = append(methods, string(m))
		}
		slices.Sort(methods)
	}
	out := make([]core.Channel, 0, len(methods))
	for _, m := range methods {
		out = append(out, r.resolve(core.Method(m)))
	}
	return out
}

// checkCatalogue checks a routed channel against the catalogue. A
// concrete channel must exist and take every currency the rule's
// condition allows. A wildcard plugin/account/* must resolve for every
// method the condition allows (or, when it does not constrain the method,
// for at least one method), and each allowed currency must be taken by at
// least one of the channels it resolves to.
func (b *builder) checkCatalogue(r channelRef, c *cond, p pos, kind, id, fieldName string) {
	cat := b.rs.catalogue
	if cat == nil {
		return
	}
	constrained := c != nil && c.eq[fieldMethod] != nil
	var curs []string
	if c != nil {
		curs = c.eq[fieldCurrency]
	}
	takes := map[string]bool{}
	found := 0
	for _, ch := range resolvable(r, c) {
		info, ok := cat.LookupChannel(ch)
		if !ok {
			if !r.wildcard || constrained {
				b.is.add(p, kind, id, fieldName, "channel %s is not in the catalogue", ch)
			}
			continue
		}
		found++
		for _, cur := range curs {
			if len(info.Currencies) == 0 || slices.Contains(info.Currencies, core.Currency(cur)) {
				takes[cur] = true
			} else if !r.wildcard {
				b.is.add(p, kind, id, fieldName, "channel %s does not take %s, which this rule routes", ch, cur)
			}
		}
	}
	if !r.wildcard {
		return
	}
	if found == 0 {
		if !constrained {
			b.is.add(p, kind, id, fieldName, "no channel of %s/%s is in the catalogue", r.ch.Plugin, r.ch.Account)
		}
		return
	}
	for _, cur := range curs {
		if !takes[cur] {
			b.is.add(p, kind, id, fieldName, "no channel of %s takes %s, which this rule routes", r, cur)
		}
	}
}

func (b *builder) buildSplit(i int, s *splitSpec) {
	keys := []any{"split", i}
	rp := b.ps.at(keys...)
	b.ruleID("split", s.ID, append(keys, "id")...)
	c := b.compileWhen("split", s.ID, s.When, keys...)
	r := splitRule{id: s.ID, cond: c}
	switch core.SplitMode(s.Mode) {
	case core.SplitAuto, core.SplitManual, core.SplitInline:
		r.mode = core.SplitMode(s.Mode)
	case "":
		b.is.add(rp, "split", s.ID, "mode", "mode is required: auto, manual or inline")
	default:
		b.is.add(b.ps.at(append(keys, "mode")...), "split", s.ID, "mode", "unknown mode %q: want auto, manual or inline", s.Mode)
	}
	if len(s.Receivers) == 0 {
		b.is.add(rp, "split", s.ID, "receivers", "at least one receiver is required")
	}
	if len(s.Receivers) > 100 {
		b.is.add(rp, "split", s.ID, "receivers", "at most 100 receivers")
	}
	residue := s.Residue
	if residue == "" {
		residue = core.MerchantReceiver
	}
	names := map[string]bool{}
	var ratios, weights int64
	hasRatio, hasWeight := false, false
	r.residue = -1
	for j, rc := range s.Receivers {
		p := b.ps.at(append(keys, "receivers", j)...)
		bad := func(format string, args ...any) { b.is.add(p, "split", s.ID, "receivers", format, args...) }
		if !receiverPattern.MatchString(rc.Name) {
			bad("receiver name %q: want 1-64 letters, digits or _.:@-", rc.Name)
		}
		if names[rc.Name] {
			bad("receiver %q listed twice", rc.Name)
		}
		names[rc.Name] = true
		rv := receiver{name: rc.Name, kind: recvRest}
		kinds := 0
		if rc.Weight != nil {
			kinds++
			rv.kind, rv.value = recvWeight, *rc.Weight
			hasWeight = true
			if *rc.Weight < 1 || *rc.Weight > 1_000_000_000 {
				bad("receiver %q: weight %d: want 1 to 1000000000", rc.Name, *rc.Weight)
			}
			weights += *rc.Weight
		}
		if rc.Ratio != "" {
			kinds++
			ppm, err := core.ParseRatio(rc.Ratio)
			if err != nil {
				bad("receiver %q: %v", rc.Name, err)
			}
			rv.kind, rv.value = recvRatio, ppm
		}
		if rc.RatioPPM != nil {
			kinds++
			rv.kind, rv.value = recvRatio, *rc.RatioPPM
			if *rc.RatioPPM < 0 || *rc.RatioPPM > core.PPM {
				bad("receiver %q: ratio_ppm %d: want 0 to 1000000", rc.Name, *rc.RatioPPM)
			}
		}
		if rv.kind == recvRatio {
			hasRatio = true
			ratios += rv.value
		}
		if rc.Fixed != nil {
			kinds++
			rv.kind, rv.value = recvFixed, *rc.Fixed
			if *rc.Fixed < 1 {
				bad("receiver %q: fixed %d: want a positive amount", rc.Name, *rc.Fixed)
			}
		}
		if kinds > 1 {
			bad("receiver %q: set at most one of weight, ratio, ratio_ppm or fixed", rc.Name)
		}
		if rc.Min != nil {
			rv.min = *rc.Min
			if rv.min < 0 {
				bad("receiver %q: min %d is negative", rc.Name, rv.min)
			}
		}
		if rc.Max != nil {
			rv.max = *rc.Max
			if rv.max < 1 {
				bad("receiver %q: max %d: want a positive amount", rc.Name, rv.max)
			}
			if rv.min > rv.max {
				bad("receiver %q: min %d above max %d", rc.Name, rv.min, rv.max)
			}
		}
		if rv.kind == recvFixed && (rc.Min != nil || rc.Max != nil) {
			bad("receiver %q: a fixed share takes no min or max", rc.Name)
		}
		if rc.Name == residue {
			r.residue = j
			if rv.kind == recvFixed {
				bad("receiver %q takes the residue and cannot be fixed", rc.Name)
			}
			if rc.Min != nil || rc.Max != nil {
				bad("receiver %q takes the residue and takes no min or max", rc.Name)
			}
		} else if rv.kind == recvRest {
			bad("receiver %q: set weight, ratio, ratio_ppm or fixed (only the residue receiver %q may have none)", rc.Name, residue)
		}
		r.receivers = append(r.receivers, rv)
		if rc.Name != core.MerchantReceiver {
			r.others++
		}
	}
	if r.residue < 0 {
		if residue != core.MerchantReceiver {
			b.is.add(b.ps.at(append(keys, "residue")...), "split", s.ID, "residue", "residue receiver %q is not among the receivers", residue)
		} else {
			r.residue = len(r.receivers)
			r.receivers = append(r.receivers, receiver{name: core.MerchantReceiver, kind: recvRest})
		}
	}
	if hasRatio && hasWeight {
		b.is.add(rp, "split", s.ID, "receivers", "mix of ratio and weight receivers: use one or the other (fixed may go with either)")
	}
	if ratios > core.PPM {
		b.is.add(rp, "split", s.ID, "receivers", "ratios add up to %s, above 1", core.FormatRatio(ratios))
	}
	r.ratioMode = hasRatio
	if c != nil {
		b.rs.splits = append(b.rs.splits, r)
	}
}

func (b *builder) buildFee(i int, s *feeSpec) {
	keys := []any{"fee", i}
	rp := b.ps.at(keys...)
	b.ruleID("fee", s.ID, append(keys, "id")...)
	c := b.compileWhen("fee", s.ID, s.When, keys...)
	f := feeRule{id: s.ID, cond: c, rounding: core.RoundHalfUp}
	if s.Rounding != "" {
		f.rounding = core.Rounding(s.Rounding)
		if !f.rounding.Valid() {
			b.is.add(b.ps.at(append(keys, "rounding")...), "fee", s.ID, "rounding", "unknown rounding %q: want down, up, half_up or half_even", s.Rounding)
		}
	}
	rate := func(str string, ppm *int64, k ...any) (int64, bool) {
		p := b.ps.at(append(append([]any{}, keys...), k...)...)
		switch {
		case str != "" && ppm != nil:
			b.is.add(p, "fee", s.ID, "rate", "set rate or rate_ppm, not both")
		case str != "":
			v, err := core.ParseRatio(str)
			if err != nil {
				b.is.add(p, "fee", s.ID, "rate", "%v", err)
			}
			return v, true
		case ppm != nil:
			if *ppm < 0 || *ppm > core.PPM {
				b.is.add(p, "fee", s.ID, "rate_ppm", "rate_ppm %d: want 0 to 1000000", *ppm)
			}
			return *ppm, true
		}
		return 0, false
	}
	nonNeg := func(v *int64, name string, k ...any) int64 {
		if v == nil {
			return 0
		}
		if *v < 0 {
			b.is.add(b.ps.at(append(append([]any{}, keys...), k...)...), "fee", s.ID, name, "%s %d is negative", name, *v)
		}
		return *v
	}
	if len(s.Tiers) > 0 {
		if s.Rate != "" || s.RatePPM != nil || s.Fixed != nil {
			b.is.add(rp, "fee", s.ID, "tiers", "with tiers, set rate, rate_ppm and fixed in each tier")
		}
		var prev int64
		for j, ts := range s.Tiers {
			tk := []any{"tiers", j}
			t := tier{fixed: nonNeg(ts.Fixed, "fixed", append(tk, "fixed")...)}
			var ok bool
			if t.ppm, ok = rate(ts.Rate, ts.RatePPM, append(tk, "rate")...); !ok {
				b.is.add(b.ps.at(append(keys, tk...)...), "fee", s.ID, "tiers", "tier %d sets no rate or rate_ppm", j+1)
			}
			last := j == len(s.Tiers)-1
			switch {
			case ts.UpTo == nil && !last:
				b.is.add(b.ps.at(append(keys, tk...)...), "fee", s.ID, "tiers", "only the last tier may omit up_to")
			case ts.UpTo != nil && last:
				b.is.add(b.ps.at(append(keys, append(tk, "up_to")...)...), "fee", s.ID, "tiers", "the last tier takes every larger amount: omit its up_to")
			case ts.UpTo != nil:
				t.upTo = *ts.UpTo
				if t.upTo <= prev {
					b.is.add(b.ps.at(append(keys, append(tk, "up_to")...)...), "fee", s.ID, "tiers", "up_to %d: tiers must increase and be positive", t.upTo)
				}
				prev = t.upTo
			}
			t.open = last
			f.tiers = append(f.tiers, t)
		}
	} else {
		ppm, hasRate := rate(s.Rate, s.RatePPM, "rate")
		fixed := nonNeg(s.Fixed, "fixed", "fixed")
		if !hasRate && s.Fixed == nil {
			b.is.add(rp, "fee", s.ID, "", "set rate, rate_ppm, fixed or tiers")
		}
		f.tiers = []tier{{open: true, ppm: ppm, fixed: fixed}}
	}
	f.min = nonNeg(s.Min, "min", "min")
	f.max = nonNeg(s.Max, "max", "max")
	if s.Max != nil && f.max == 0 {
		b.is.add(b.ps.at(append(keys, "max")...), "fee", s.ID, "max", "max 0 means no maximum: omit it")
	}
	if f.max > 0 && f.min > f.max {
		b.is.add(rp, "fee", s.ID, "min", "min %d above max %d", f.min, f.max)
	}
	if c != nil {
		b.rs.fees = append(b.rs.fees, f)
	}
}

// checkReachable refuses a rule that comes after one with no condition in
// the same list: first match wins, so it could never apply.
func (b *builder) checkReachable() {
	check := func(kind string, n int, get func(int) (string, *cond)) {
		for i := range n {
			id, c := get(i)
			if !c.always || i == n-1 {
				continue
			}
			nid, _ := get(i + 1)
			b.is.add(b.ps.at(kind, i+1), kind, nid, "", "unreachable: rule %q before it has no when and matches every transaction", id)
			return
		}
	}
	check("routing", len(b.rs.routes), func(i int) (string, *cond) { return b.rs.routes[i].id, b.rs.routes[i].cond })
	check("split", len(b.rs.splits), func(i int) (string, *cond) { return b.rs.splits[i].id, b.rs.splits[i].cond })
	check("fee", len(b.rs.fees), func(i int) (string, *cond) { return b.rs.fees[i].id, b.rs.fees[i].cond })
}

// mayOverlap reports whether two conditions may hold for one transaction:
// false only when, for some indexed field, both constrain it to disjoint
// value sets. Nil is the default route's condition (always true).
func mayOverlap(a, b *cond) bool {
	if a == nil || b == nil {
		return true
	}
	for f := range numFields {
		if a.eq[f] != nil && b.eq[f] != nil && len(intersect(a.eq[f], b.eq[f])) == 0 {
			return false
		}
	}
	return true
}

// checkSplitLimits refuses a split rule with more receivers (besides the
// merchant) than the MaxSplitReceivers of a channel that a routing rule or
// the default route may send the same transactions to. "May send the same
// transactions" means the two conditions are not proven disjoint by their
// equality constraints on currency, method, country, merchant_id or
// terminal. A wildcard channel counts for every method both rules allow.
func (b *builder) checkSplitLimits() {
	cat := b.rs.catalogue
	if cat == nil {
		return
	}
	type routeT struct {
		id   string
		cond *cond
		t    *target
	}
	routes := make([]routeT, 0, len(b.rs.routes)+1)
	for i := range b.rs.routes {
		routes = append(routes, routeT{b.rs.routes[i].id, b.rs.routes[i].cond, &b.rs.routes[i].target})
	}
	routes = append(routes, routeT{defaultRouteID, nil, &b.rs.def})
	for i, s := range b.rs.splits {
		if s.others == 0 {
			continue
		}
		reported := false
		for _, r := range routes {
			if reported || !mayOverlap(s.cond, r.cond) {
				continue
			}
			both := &cond{}
			if r.cond != nil {
				both.eq = r.cond.eq
			}
			if s.cond.eq[fieldMethod] != nil {
				if both.eq[fieldMethod] == nil {
					both.eq[fieldMethod] = s.cond.eq[fieldMethod]
				} else {
					both.eq[fieldMethod] = intersect(both.eq[fieldMethod], s.cond.eq[fieldMethod])
				}
			}
			for _, ref := range r.t.refs() {
				for _, ch := range resolvable(ref, both) {
					info, ok := cat.LookupChannel(ch)
					if !ok || info.Limits.MaxSplitReceivers == 0 || s.others <= info.Limits.MaxSplitReceivers {
						continue
					}
					b.is.add(b.ps.at("split", i, "receivers"), "split", s.id, "receivers",
						"%d receivers besides the merchant, but routing rule %q may send the same transactions to %s, which takes at most %d",
						s.others, r.id, ch, info.Limits.MaxSplitReceivers)
					reported = true
					break
				}
				if reported {
					break
				}
			}
		}
	}
}
