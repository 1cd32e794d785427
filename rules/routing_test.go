package rules

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const routingFile = `version: 1
routing:
  - id: intl
    when: currency != "CNY"
    channel: intl/main/*
  - id: vip-merchant
    when: merchant_id == "m-vip" && method == "alipay.qr"
    channel: big/main/alipay.qr
    fallback: [haotian/main/alipay.qr]
  - id: wx-hf
    when: method == "wechat.jsapi" && healthy("hfpay/dougong/wechat.jsapi")
    channels: [hfpay/dougong/wechat.jsapi, adapay/main/wechat.jsapi, haotian/main/wechat.jsapi]
  - id: ali
    when: method == "alipay.qr"
    channels: [adapay/main/alipay.qr, haotian/main/alipay.qr]
    fallback: [haotian/main/*]
  - id: mini
    when: method in ["wechat.mini"] && health("hfpay/dougong/wechat.mini").success_rate_ppm >= 900000
    weighted:
      - {channel: hfpay/dougong/wechat.mini, weight: 3}
      - {channel: adapay/main/wechat.mini, weight: 1}
    fallback: [haotian/main/*]
  - id: night
    when: hour >= 0 && hour < 6 && weekday in ["sat", "sun"]
    channel: haotian/main/cashier
  - id: tagged
    when: '"key-account" in merchant_tags && metadata["channel"] == "app"'
    channel: haotian/main/alipay.wap
default_route:
  channel: haotian/main/*
`

func TestRouting(t *testing.T) {
	cat := testCatalogue(t)
	sat3am := time.Date(2025, 6, 7, 3, 0, 0, 0, time.UTC) // a Saturday
	cases := []struct {
		name   string
		tx     core.Transaction
		health staticHealth
		route  string
		rule   string
	}{
		{"non-CNY goes to intl with its own method", tx("p1", 5000, "PHP", "intl.gcash"), nil, "intl/main/intl.gcash", "intl"},
		{"single channel with fallback", core.Transaction{PaymentID: "p2", Amount: 500, Currency: "CNY", Method: "alipay.qr", MerchantID: "m-vip"}, nil,
			"big/main/alipay.qr haotian/main/alipay.qr", "vip-merchant"},
		{"priority list when healthy", tx("p3", 500, "CNY", "wechat.jsapi"), nil,
			"hfpay/dougong/wechat.jsapi adapay/main/wechat.jsapi haotian/main/wechat.jsapi", "wx-hf"},
		{"open circuit skips the rule", tx("p4", 500, "CNY", "wechat.jsapi"),
			staticHealth{"hfpay/dougong/wechat.jsapi": {Circuit: core.CircuitOpen}}, "haotian/main/wechat.jsapi", "default"},
		{"half-open circuit counts as healthy", tx("p4", 500, "CNY", "wechat.jsapi"),
			staticHealth{"hfpay/dougong/wechat.jsapi": {Circuit: core.CircuitHalfOpen}}, "hfpay/dougong/wechat.jsapi adapay/main/wechat.jsapi haotian/main/wechat.jsapi", "wx-hf"},
		{"duplicates are dropped", tx("p5", 500, "CNY", "alipay.qr"), nil, "adapay/main/alipay.qr haotian/main/alipay.qr", "ali"},
		{"low success rate falls through", tx("p6", 500, "CNY", "wechat.mini"),
			staticHealth{"hfpay/dougong/wechat.mini": {SuccessRatePPM: 899_999, Circuit: core.CircuitClosed}}, "haotian/main/wechat.mini", "default"},
		{"time of day and weekday", core.Transaction{PaymentID: "p7", Amount: 500, Currency: "CNY", Method: "alipay.wap", Time: sat3am}, nil, "haotian/main/cashier", "night"},
		{"no time: hour is -1", tx("p8", 500, "CNY", "alipay.wap"), nil, "haotian/main/alipay.wap", "default"},
		{"tags and metadata", core.Transaction{PaymentID: "p9", Amount: 500, Currency: "CNY", Method: "cashier", MerchantTags: []string{"x", "key-account"}, Metadata: map[string]string{"channel": "app"}}, nil,
			"haotian/main/alipay.wap", "tagged"},
		{"missing metadata key does not match", core.Transaction{PaymentID: "p9", Amount: 500, Currency: "CNY", Method: "cashier", MerchantTags: []string{"key-account"}}, nil,
			"haotian/main/cashier", "default"},
		{"default keeps the method", tx("p10", 500, "CNY", "alipay.wap"), nil, "haotian/main/alipay.wap", "default"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{Catalogue: cat}
			if c.health != nil {
				opts.Health = c.health
			}
			rs := mustLoad(t, routingFile, opts)
			d := decide(t, rs, c.tx)
			assert.Equal(t, c.route, route(d))
			require.NotEmpty(t, d.Matched)
			assert.Equal(t, "routing", d.Matched[0].Kind)
			assert.Equal(t, c.rule, d.Matched[0].RuleID)
			assert.Equal(t, rs.Hash(), d.RulesetHash)
		})
	}
}

func TestRoutingWeighted(t *testing.T) {
	rs := mustLoad(t, routingFile, Options{Catalogue: testCatalogue(t)})
	counts := map[string]int{}
	for i := range 4000 {
		x := tx(fmt.Sprintf("pay-%d", i), 500, "CNY", "wechat.mini")
		d := decide(t, rs, x)
		require.Len(t, d.Channels, 3, "all weighted channels then the fallback")
		assert.Equal(t, "haotian/main/wechat.mini", d.Channels[2].String())
		counts[d.Channels[0].Plugin]++
		// A retry of the same payment gets the same order.
		again := decide(t, rs, x)
		assert.Equal(t, d.Channels, again.Channels)
	}
	// Weights 3:1 over 4000 payments: expect 3000 ± 5%.
	assert.InDelta(t, 3000, counts["hfpay"], 150)
	assert.InDelta(t, 1000, counts["adapay"], 150)
}

// TestRoutingFirstMatchOrder checks that the index keeps first-match order
// across indexed and unindexed rules.
func TestRoutingFirstMatchOrder(t *testing.T) {
	src := `version: 1
routing:
  - id: by-amount
    when: amount > 1000
    channel: haotian/main/cashier
  - id: by-method
    when: method == "alipay.qr"
    channel: adapay/main/alipay.qr
  - id: by-method-and-currency
    when: currency == "CNY" && method in ["alipay.qr", "wechat.jsapi"]
    channel: hfpay/dougong/alipay.qr
  - id: by-merchant
    when: merchant_id == "m1" || method == "wechat.jsapi"
    channel: hfpay/dougong/wechat.jsapi
default_route:
  channel: haotian/main/*
`
	rs := mustLoad(t, src, Options{Catalogue: testCatalogue(t)})
	cases := []struct {
		tx   core.Transaction
		rule string
	}{
		{tx("a", 2000, "CNY", "alipay.qr"), "by-amount"},
		{tx("b", 500, "CNY", "alipay.qr"), "by-method"},
		{tx("c", 500, "CNY", "wechat.jsapi"), "by-method-and-currency"},
		{core.Transaction{PaymentID: "d", Amount: 500, Currency: "CNY", Method: "alipay.wap", MerchantID: "m1"}, "by-merchant"},
		{tx("e", 500, "CNY", "alipay.wap"), "default"},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			d := decide(t, rs, c.tx)
			assert.Equal(t, c.rule, d.Matched[0].RuleID)
		})
	}
}

func TestEligibility(t *testing.T) {
	src := `version: 1
routing:
  - id: big-first
    when: method == "alipay.qr"
    channels: [big/main/alipay.qr, haotian/main/alipay.qr]
  - id: intl-cashier
    when: method == "cashier"
    channels: [intl/main/cashier, haotian/main/cashier]
default_route:
  channel: haotian/main/*
split:
  - id: eight
    when: merchant_id == "many"
    mode: auto
    receivers:
      - {name: a, weight: 1}
      - {name: b, weight: 1}
      - {name: c, weight: 1}
      - {name: d, weight: 1}
      - {name: e, weight: 1}
      - {name: f, weight: 1}
      - {name: g, weight: 1}
      - {name: h, weight: 1}
`
	rs := mustLoad(t, src, Options{Catalogue: testCatalogue(t)})
	cases := []struct {
		name  string
		tx    core.Transaction
		route string
		skip  string
	}{
		{"within limits", tx("a", 5000, "CNY", "alipay.qr"), "big/main/alipay.qr haotian/main/alipay.qr", ""},
		{"below min amount", tx("b", 99, "CNY", "alipay.qr"), "haotian/main/alipay.qr", "big/main/alipay.qr (amount below its min 100)"},
		{"above max amount", tx("c", 1_000_001, "CNY", "alipay.qr"), "haotian/main/alipay.qr", "big/main/alipay.qr (amount above its max 1000000)"},
		{"currency", tx("d", 500, "USD", "cashier"), "intl/main/cashier", "haotian/main/cashier (does not take USD)"},
		{"wildcard not in catalogue", tx("e", 500, "CNY", "unionpay.qr"), "", "haotian/main/unionpay.qr (not in catalogue)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := rs.Decide(context.Background(), c.tx)
			if c.route == "" {
				require.Error(t, err)
				assert.Equal(t, core.CodeUnsupported, core.CodeOf(err))
				assert.Contains(t, err.Error(), c.skip)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.route, route(d))
			if c.skip != "" {
				assert.Contains(t, d.Matched[0].Detail, "skipped "+c.skip)
			}
		})
	}
	t.Run("split receivers above a channel's limit", func(t *testing.T) {
		// Without a catalogue the file loads (the limit check needs one) ...
		rs := mustLoad(t, `version: 1
default_route:
  channels: [hfpay/dougong/alipay.qr, haotian/main/alipay.qr]
split:
  - id: eight
    mode: auto
    receivers: [{name: a, weight: 1}, {name: b, weight: 1}, {name: c, weight: 1}, {name: d, weight: 1},
                {name: e, weight: 1}, {name: f, weight: 1}, {name: g, weight: 1}, {name: h, weight: 1}]
`, Options{})
		d := decide(t, rs, tx("x", 800, "CNY", "alipay.qr"))
		assert.Equal(t, "hfpay/dougong/alipay.qr haotian/main/alipay.qr", route(d))
		// ... and with one, it is refused: hfpay takes at most 7 receivers.
		iss := loadIssues(t, `version: 1
default_route:
  channels: [hfpay/dougong/alipay.qr, haotian/main/alipay.qr]
split:
  - id: eight
    mode: auto
    receivers: [{name: a, weight: 1}, {name: b, weight: 1}, {name: c, weight: 1}, {name: d, weight: 1},
                {name: e, weight: 1}, {name: f, weight: 1}, {name: g, weight: 1}, {name: h, weight: 1}]
`, Options{Catalogue: testCatalogue(t)})
		require.Len(t, iss, 1)
		assert.Contains(t, iss[0].String(), `test.yaml:7:16: split rule "eight": receivers: 8 receivers besides the merchant, but routing rule "default" may send the same transactions to hfpay/dougong/alipay.qr, which takes at most 7`)
	})
}

func TestDecideRefusesBadTransactions(t *testing.T) {
	rs := mustLoad(t, routingFile, Options{Catalogue: testCatalogue(t)})
	cases := []struct {
		name  string
		tx    core.Transaction
		param string
	}{
		{"no payment id", tx("", 500, "CNY", "alipay.qr"), "payment_id"},
		{"zero amount", tx("p", 0, "CNY", "alipay.qr"), "amount"},
		{"negative amount", tx("p", -1, "CNY", "alipay.qr"), "amount"},
		{"unknown currency", tx("p", 1, "XXX", "alipay.qr"), "currency"},
		{"unknown method", tx("p", 1, "CNY", "teleport"), "method"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := rs.Decide(context.Background(), c.tx)
			require.Error(t, err)
			e := core.AsError(err)
			assert.Equal(t, core.CodeInvalidRequest, e.Code)
			assert.Equal(t, c.param, e.Param)
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := rs.Decide(ctx, tx("p", 1, "CNY", "alipay.qr"))
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestExplainInputs(t *testing.T) {
	src := `version: 1
timezone: Asia/Shanghai
routing:
  - id: r
    when: >-
      amount >= 100 && currency == "CNY" && "vip" in merchant_tags
      && metadata.channel == "app" && metadata["missing"] == "" && hour == 9
      && healthy("hfpay/dougong/wechat.jsapi") && health("adapay/main/wechat.jsapi").circuit != "open"
    channel: haotian/main/wechat.jsapi
default_route:
  channel: haotian/main/*
fee:
  - id: f
    when: country == "CN" && terminal == "" && weekday == "mon" && merchant_id != "x"
    rate_ppm: 1000
`
	rs := mustLoad(t, src, Options{Catalogue: testCatalogue(t), Health: staticHealth{"adapay/main/wechat.jsapi": {SuccessRatePPM: 870_000, Circuit: core.CircuitHalfOpen, Samples: 42}}})
	x := core.Transaction{PaymentID: "p", Amount: 100_000, Currency: "CNY", Method: "wechat.jsapi", Country: "CN",
		MerchantTags: []string{"new", "vip"}, Metadata: map[string]string{"channel": "app"},
		Time: time.Date(2025, 6, 2, 1, 30, 0, 0, time.UTC)} // Monday 09:30 in Shanghai
	d := decide(t, rs, x)
	require.Equal(t, []string{"routing:r", "fee:f"}, matchedIDs(d))
	assert.Equal(t, map[string]string{
		"amount": "100000", "currency": "CNY", "merchant_tags": "new,vip", "metadata.channel": "app", "metadata.missing": "", "hour": "9",
		`healthy("hfpay/dougong/wechat.jsapi")`: "true",
		`health("adapay/main/wechat.jsapi")`:    "success_rate_ppm=870000 circuit=half_open samples=42",
	}, d.Matched[0].Inputs)
	assert.Equal(t, map[string]string{"country": "CN", "terminal": "", "weekday": "mon", "merchant_id": ""}, d.Matched[1].Inputs)
	assert.Equal(t, "1000 ppm of 100000 = 100 (half_up): fee 100", d.Matched[1].Detail)
}

func TestRuntimeErrorFailsTheDecision(t *testing.T) {
	rs := mustLoad(t, `version: 1
routing:
  - id: first-tag
    when: merchant_tags[0] == "vip"
    channel: haotian/main/cashier
default_route:
  channel: haotian/main/*
`, Options{})
	d := decide(t, rs, core.Transaction{PaymentID: "p", Amount: 1, Currency: "CNY", Method: "alipay.qr", MerchantTags: []string{"vip"}})
	assert.Equal(t, "first-tag", d.Matched[0].RuleID)
	_, err := rs.Decide(context.Background(), tx("p", 1, "CNY", "alipay.qr"))
	require.Error(t, err)
	assert.Equal(t, core.CodeInternal, core.CodeOf(err))
	assert.Contains(t, err.Error(), `routing rule "first-tag" failed: index out of range`)
}
