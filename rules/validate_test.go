package rules

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const okDefault = "default_route: {channel: haotian/main/*}\n"

func TestValidation(t *testing.T) {
	longOr := "amount == 0" + strings.Repeat(" || amount == 1", 200)
	cases := []struct {
		name    string
		src     string
		catalog bool
		want    string // a substring of one issue's String()
	}{
		{"empty file", "", false, "test.yaml:1:1: file is empty"},
		{"invalid YAML", "version: 1\nrouting: [\n", false, "test.yaml:2:1: invalid YAML"},
		{"unknown top-level key", "version: 1\nroutes: []\n" + okDefault, false, `test.yaml:2:1: unknown key "routes"`},
		{"unknown rule key", "version: 1\nrouting:\n  - id: r\n    chanel: haotian/main/cashier\n" + okDefault, false,
			`test.yaml:4:5: routing rule "r": unknown key "chanel" (known: channel, channels, description, fallback, id, weighted, when)`},
		{"duplicate key", "version: 1\nversion: 1\n" + okDefault, false, `test.yaml:2:1: duplicate key "version"`},
		{"float for an integer", "version: 1\n" + okDefault + "fee:\n  - id: f\n    fixed: 1.5\n", false, `test.yaml:5:12: fee rule "f": fixed: want an integer, got float "1.5"`},
		{"list for text", "version: 1\n" + okDefault + "fee:\n  - id: [f]\n    fixed: 1\n", false, `test.yaml:4:9: fee: id: want a single value, got a list`},
		{"integer out of range", "version: 1\n" + okDefault + "fee:\n  - id: f\n    fixed: 99999999999999999999\n", false, "want an integer, got float"},
		{"missing version", okDefault, false, "test.yaml:1:1: version: want version: 1, got 0"},
		{"wrong version", "version: 2\n" + okDefault, false, "test.yaml:1:10: version: want version: 1, got 2"},
		{"no default route", "version: 1\n", false, "default_route: a default_route is required"},
		{"bad timezone", "version: 1\ntimezone: Mars/Olympus\n" + okDefault, false, `test.yaml:2:11: timezone: unknown time zone "Mars/Olympus"`},
		{"unknown identifier", "version: 1\nrouting:\n  - id: r\n    when: amount > 1 && foo == 2\n    channel: haotian/main/cashier\n" + okDefault, false,
			`test.yaml:4:11: routing rule "r": when (expression column 15): unknown name foo`},
		{"multi-line expression", "version: 1\nrouting:\n  - id: r\n    when: |\n      amount > 1\n      && bar\n    channel: haotian/main/cashier\n" + okDefault, false,
			`routing rule "r": when (expression line 2 column 4): unknown name bar`},
		{"not a boolean", "version: 1\nrouting:\n  - id: r\n    when: amount + 1\n    channel: haotian/main/cashier\n" + okDefault, false, "expected bool, but got int"},
		{"division", "version: 1\nrouting:\n  - id: r\n    when: amount / 100 > 5\n    channel: haotian/main/cashier\n" + okDefault, false,
			"when (expression column 8): division is not allowed"},
		{"power", "version: 1\nrouting:\n  - id: r\n    when: amount ** 2 > 5\n    channel: haotian/main/cashier\n" + okDefault, false, "power operator ** is not allowed"},
		{"float literal", "version: 1\nrouting:\n  - id: r\n    when: amount > 10.5\n    channel: haotian/main/cashier\n" + okDefault, false,
			"when (expression column 10): float literal 10.5"},
		{"clock builtin", "version: 1\nrouting:\n  - id: r\n    when: now().Hour() > 5\n    channel: haotian/main/cashier\n" + okDefault, false, "unknown name now"},
		{"float builtin", "version: 1\nrouting:\n  - id: r\n    when: ceil(amount) > 5\n    channel: haotian/main/cashier\n" + okDefault, false, "unknown name ceil"},
		{"the env struct", "version: 1\nrouting:\n  - id: r\n    when: Env.amount > 5\n    channel: haotian/main/cashier\n" + okDefault, false, "unknown name Env"},
		{"$env", "version: 1\nrouting:\n  - id: r\n    when: $env.amount > 5\n    channel: haotian/main/cashier\n" + okDefault, false, "unknown name $env"},
		{"node limit", "version: 1\nrouting:\n  - id: r\n    when: " + longOr + "\n    channel: haotian/main/cashier\n" + okDefault, false, "exceeds maximum allowed nodes"},
		{"healthy needs a literal", "version: 1\nrouting:\n  - id: r\n    when: healthy(method)\n    channel: haotian/main/cashier\n" + okDefault, false,
			`healthy() takes a channel literal`},
		{"healthy with a bad channel", "version: 1\nrouting:\n  - id: r\n    when: healthy(\"haotian/main\")\n    channel: haotian/main/cashier\n" + okDefault, false,
			`when (expression column 9): healthy(): channel "haotian/main": want plugin/account/method`},
		{"healthy of an unknown channel", "version: 1\nrouting:\n  - id: r\n    when: healthy(\"nope/main/alipay.qr\")\n    channel: haotian/main/cashier\n" + okDefault, true,
			"channel nope/main/alipay.qr is not in the catalogue"},
		{"healthy not called", "version: 1\nrouting:\n  - id: r\n    when: healthy != nil\n    channel: haotian/main/cashier\n" + okDefault, false, "healthy must be called with a channel"},
		{"never true", "version: 1\nrouting:\n  - id: r\n    when: currency == \"CNY\" && currency == \"USD\"\n    channel: haotian/main/cashier\n" + okDefault, false,
			"when: can never be true"},
		{"unreachable", "version: 1\nrouting:\n  - id: all\n    channel: haotian/main/cashier\n  - id: never\n    when: amount > 1\n    channel: haotian/main/cashier\n" + okDefault, false,
			`test.yaml:5:5: routing rule "never": unreachable: rule "all" before it has no when`},
		{"duplicate id across kinds", "version: 1\nrouting:\n  - id: x\n    when: amount > 1\n    channel: haotian/main/cashier\n" + okDefault + "fee:\n  - id: x\n    fixed: 1\n", false,
			`test.yaml:8:9: fee rule "x": id: duplicate rule id (first at line 3)`},
		{"reserved id", "version: 1\nrouting:\n  - id: default\n    when: amount > 1\n    channel: haotian/main/cashier\n" + okDefault, false, `id "default" is reserved`},
		{"missing id", "version: 1\n" + okDefault + "fee:\n  - fixed: 1\n", false, "fee: id: id is required"},
		{"bad channel", "version: 1\nrouting:\n  - id: r\n    when: amount > 1\n    channel: haotian/cashier\n" + okDefault, false,
			`test.yaml:5:14: routing rule "r": channel: channel "haotian/cashier": want plugin/account/method`},
		{"unknown method", "version: 1\n" + "default_route: {channel: haotian/main/teleport}\n", false, `unknown method "teleport"`},
		{"two targets", "version: 1\nrouting:\n  - id: r\n    channel: haotian/main/cashier\n    channels: [haotian/main/cashier]\n" + okDefault, false,
			"set exactly one of channel, channels or weighted"},
		{"no target", "version: 1\nrouting:\n  - id: r\n    when: amount > 1\n" + okDefault, false, "set exactly one of channel, channels or weighted"},
		{"listed twice", "version: 1\ndefault_route: {channels: [haotian/main/cashier], fallback: [haotian/main/cashier]}\n", false, "channel haotian/main/cashier listed twice"},
		{"channel not in catalogue", "version: 1\nrouting:\n  - id: r\n    when: amount > 1\n    channel: adapay/main/unionpay.qr\n" + okDefault, true,
			`test.yaml:5:14: routing rule "r": channel: channel adapay/main/unionpay.qr is not in the catalogue`},
		{"wildcard without channels for a method", "version: 1\nrouting:\n  - id: r\n    when: method == \"unionpay.qr\"\n    channel: haotian/main/*\n" + okDefault, true,
			"channel haotian/main/unionpay.qr is not in the catalogue"},
		{"unknown account", "version: 1\ndefault_route: {channel: ghost/main/*}\n", true, "no channel of ghost/main is in the catalogue"},
		{"currency the channel does not take", "version: 1\nrouting:\n  - id: r\n    when: currency in [\"USD\", \"CNY\"]\n    channel: haotian/main/cashier\n" + okDefault, true,
			"channel haotian/main/cashier does not take USD, which this rule routes"},
		{"currency no wildcard channel takes", "version: 1\nrouting:\n  - id: r\n    when: currency == \"THB\"\n    channel: intl/main/*\n" + okDefault, true,
			"no channel of intl/main/* takes THB"},
		{"weight zero", "version: 1\ndefault_route:\n  weighted:\n    - {channel: haotian/main/cashier, weight: 0}\n", false, "weight 0: want 1 to 1000000000"},
		{"weight missing", "version: 1\ndefault_route:\n  weighted:\n    - {channel: haotian/main/cashier}\n", false, "weight is required"},
		{"split mode missing", "version: 1\n" + okDefault + "split:\n  - id: s\n    receivers: [{name: p, weight: 1}]\n", false, "mode is required"},
		{"split mode unknown", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: later\n    receivers: [{name: p, weight: 1}]\n", false, `unknown mode "later"`},
		{"no receivers", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n", false, "at least one receiver is required"},
		{"receiver weight negative", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    receivers: [{name: p, weight: -1}]\n", false, "weight -1: want 1 to 1000000000"},
		{"ratios above 1", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    receivers: [{name: a, ratio: \"0.6\"}, {name: b, ratio: \"0.5\"}]\n", false, "ratios add up to 1.1, above 1"},
		{"ratio too precise", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    receivers: [{name: a, ratio: \"0.0000001\"}]\n", false, "more than 6 decimal places"},
		{"ratio and weight mixed", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    receivers: [{name: a, ratio: \"0.1\"}, {name: b, weight: 2}]\n", false, "mix of ratio and weight"},
		{"two kinds on one receiver", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    receivers: [{name: a, ratio: \"0.1\", fixed: 5}]\n", false, "set at most one of"},
		{"receiver without a share", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    receivers: [{name: a}]\n", false, `receiver "a": set weight`},
		{"residue not listed", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    residue: boss\n    receivers: [{name: a, weight: 1}]\n", false,
			`test.yaml:6:14: split rule "s": residue: residue receiver "boss" is not among the receivers`},
		{"caps on the residue", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    receivers: [{name: merchant, min: 5}]\n", false, "takes the residue and takes no min or max"},
		{"caps on a fixed share", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    receivers: [{name: a, fixed: 5, max: 9}]\n", false, "a fixed share takes no min or max"},
		{"min above max", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    receivers: [{name: a, weight: 1, min: 9, max: 5}]\n", false, "min 9 above max 5"},
		{"duplicate receiver", "version: 1\n" + okDefault + "split:\n  - id: s\n    mode: auto\n    receivers: [{name: a, weight: 1}, {name: a, weight: 1}]\n", false, `receiver "a" listed twice`},
		{"fee with nothing", "version: 1\n" + okDefault + "fee:\n  - id: f\n    min: 1\n", false, "set rate, rate_ppm, fixed or tiers"},
		{"rate and rate_ppm", "version: 1\n" + okDefault + "fee:\n  - id: f\n    rate: \"0.1\"\n    rate_ppm: 5\n", false, "set rate or rate_ppm, not both"},
		{"rate above 1", "version: 1\n" + okDefault + "fee:\n  - id: f\n    rate: \"1.5\"\n", false, "ratio above 1"},
		{"rate_ppm above 1", "version: 1\n" + okDefault + "fee:\n  - id: f\n    rate_ppm: 1000001\n", false, "rate_ppm 1000001: want 0 to 1000000"},
		{"negative fixed", "version: 1\n" + okDefault + "fee:\n  - id: f\n    fixed: -3\n", false, "fixed -3 is negative"},
		{"unknown rounding", "version: 1\n" + okDefault + "fee:\n  - id: f\n    fixed: 3\n    rounding: bankers\n", false, `unknown rounding "bankers"`},
		{"tiers not increasing", "version: 1\n" + okDefault + "fee:\n  - id: f\n    tiers:\n      - {up_to: 500, rate_ppm: 1}\n      - {up_to: 400, rate_ppm: 2}\n      - {rate_ppm: 3}\n", false,
			"up_to 400: tiers must increase"},
		{"last tier bounded", "version: 1\n" + okDefault + "fee:\n  - id: f\n    tiers:\n      - {up_to: 500, rate_ppm: 1}\n", false, "the last tier takes every larger amount"},
		{"open tier in the middle", "version: 1\n" + okDefault + "fee:\n  - id: f\n    tiers:\n      - {rate_ppm: 1}\n      - {rate_ppm: 2}\n", false, "only the last tier may omit up_to"},
		{"tiers and a rate", "version: 1\n" + okDefault + "fee:\n  - id: f\n    rate_ppm: 4\n    tiers:\n      - {rate_ppm: 1}\n", false, "with tiers, set rate"},
		{"min above max fee", "version: 1\n" + okDefault + "fee:\n  - id: f\n    fixed: 1\n    min: 10\n    max: 5\n", false, "min 10 above max 5"},
		{"test expects nothing", "version: 1\n" + okDefault + "tests:\n  - name: t\n    tx: {amount: 1, currency: CNY, method: cashier}\n", false,
			`test.yaml:4:5: test "t": expect: expects nothing`},
		{"test fails", "version: 1\n" + okDefault + "tests:\n  - name: t\n    tx: {amount: 1, currency: CNY, method: cashier}\n    expect: {fee: 1, channel: haotian/main/alipay.qr}\n", false,
			`test.yaml:4:5: test "t": fee: want 1, got 0`},
		{"test names an unknown rule", "version: 1\n" + okDefault + "tests:\n  - name: t\n    tx: {amount: 1, currency: CNY, method: cashier}\n    expect: {rules: [ghost]}\n", false,
			`no rule with id "ghost"`},
		{"test with a bad time", "version: 1\n" + okDefault + "tests:\n  - name: t\n    tx: {amount: 1, currency: CNY, method: cashier, time: yesterday}\n    expect: {fee: 0}\n", false,
			`test.yaml:5:59: test "t": tx.time: want an RFC 3339 time`},
		{"duplicate test", "version: 1\n" + okDefault + "tests:\n  - name: t\n    tx: {amount: 1, currency: CNY, method: cashier}\n    expect: {fee: 0}\n  - name: t\n    tx: {amount: 1, currency: CNY, method: cashier}\n    expect: {fee: 0}\n", false,
			"duplicate test name"},
		{"expected error that does not happen", "version: 1\n" + okDefault + "tests:\n  - name: t\n    tx: {amount: 1, currency: CNY, method: cashier}\n    expect: {error: nope}\n", false,
			`want an error containing "nope", got a decision routed to [haotian/main/cashier]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{}
			if c.catalog {
				opts.Catalogue = testCatalogue(t)
			}
			iss := loadIssues(t, c.src, opts)
			var all []string
			for _, is := range iss {
				all = append(all, is.String())
			}
			joined := strings.Join(all, "\n")
			assert.Contains(t, joined, c.want)
			for _, is := range iss {
				assert.Equal(t, "test.yaml", is.File)
			}
		})
	}
}

func TestValidationAcceptsYAMLFeatures(t *testing.T) {
	src := `version: 1
x-fallback: &cny-fallback [haotian/main/*]
`
	// Unknown keys are refused even when only used as anchors ...
	iss := loadIssues(t, src+okDefault, Options{})
	assert.Contains(t, iss[0].String(), `unknown key "x-fallback"`)

	// ... but anchors, aliases and merge keys inside known keys work.
	src = `version: 1
routing:
  - &base
    id: a
    when: method == "alipay.qr"
    channel: adapay/main/alipay.qr
    fallback: &fb [haotian/main/*]
  - <<: *base
    id: b
    when: method == "wechat.mini"
    channel: adapay/main/wechat.mini
default_route:
  channels: *fb
`
	rs := mustLoad(t, src, Options{Catalogue: testCatalogue(t)})
	d := decide(t, rs, tx("p", 100, "CNY", "wechat.mini"))
	assert.Equal(t, "adapay/main/wechat.mini haotian/main/wechat.mini", route(d))
	assert.Equal(t, "b", d.Matched[0].RuleID)
}

func TestCanonicalHash(t *testing.T) {
	src := "version: 1\n" + okDefault
	a := mustLoad(t, src, Options{})
	b := mustLoad(t, "\xef\xbb\xbf"+strings.ReplaceAll(src, "\n", "\r\n"), Options{})
	c := mustLoad(t, src+"# a comment\n", Options{})
	assert.Equal(t, a.Hash(), b.Hash(), "BOM and CRLF do not change the hash")
	assert.NotEqual(t, a.Hash(), c.Hash(), "any other byte does")
	assert.Len(t, a.Hash(), 64)
}

func TestCatalogueFile(t *testing.T) {
	cat, err := ParseCatalogue("cat.yaml", []byte(`accounts:
  - plugin: hfpay
    account: dougong
    currencies: [CNY]
    limits: {max_split_receivers: 7}
    methods: [wechat.jsapi, alipay.qr]
`))
	require.NoError(t, err)
	info, ok := cat.LookupChannel(mustChannel(t, "hfpay/dougong/alipay.qr"))
	require.True(t, ok)
	assert.Equal(t, 7, info.Limits.MaxSplitReceivers)
	assert.Len(t, cat.Channels(), 2)
	_, ok = cat.LookupChannel(mustChannel(t, "hfpay/dougong/dcep.qr"))
	assert.False(t, ok)

	bad := []struct{ src, want string }{
		{"accounts:\n  - plugin: a\n    account: b\n    methods: [teleport]\n", `cat.yaml:4:15: account "a/b": methods: "a/b/teleport": unknown method "teleport"`},
		{"accounts:\n  - plugin: a\n    account: b\n    currencies: [XXX]\n    methods: [cashier]\n", `unknown currency "XXX"`},
		{"accounts:\n  - plugin: a\n    account: b\n    methods: [cashier, cashier]\n", "channel a/b/cashier listed twice"},
		{"accounts:\n  - plugin: a\n    account: b\n    methods: [cashier]\n    limits: {min_amount: 9, max_amount: 5}\n", "min_amount 9 above max_amount 5"},
		{"accounts:\n  - plugin: a\n    account: b\n", "at least one method is required"},
		{"accounts:\n  - plugin: a\n    acount: b\n    methods: [cashier]\n", `unknown key "acount"`},
	}
	for _, c := range bad {
		_, err := ParseCatalogue("cat.yaml", []byte(c.src))
		require.Error(t, err, c.src)
		assert.Contains(t, err.Error(), c.want)
	}
}
