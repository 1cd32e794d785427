package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/payhost/payhost/core"
)

var benchMethods = []string{"alipay.qr", "wechat.jsapi", "wechat.mini", "alipay.wap"}

// benchFile builds a rule file with n routing rules of the kind operations
// write by the hundreds: per-merchant overrides on method and currency,
// some with an amount or health condition, plus a handful of fee and
// split rules. The benchmark transaction matches the last routing rule.
// With indexed false the merchant condition is written so the index
// cannot use it (a starts-with), to show what scanning costs.
func benchFile(n int, indexed bool) string {
	var b strings.Builder
	b.WriteString("version: 1\nrouting:\n")
	for i := range n {
		m := benchMethods[i%len(benchMethods)]
		merchant := fmt.Sprintf(`merchant_id == "m%05d"`, i)
		if !indexed {
			merchant = fmt.Sprintf(`merchant_id startsWith "m%05d"`, i)
		}
		fmt.Fprintf(&b, "  - id: r%d\n    when: '%s && currency == \"CNY\" && method == \"%s\"", i, merchant, m)
		switch i % 3 {
		case 1:
			b.WriteString(" && amount >= 100")
		case 2:
			fmt.Fprintf(&b, ` && healthy("haotian/main/%s")`, m)
		}
		fmt.Fprintf(&b, "'\n    channels: [haotian/main/%s, haotian/backup/%s]\n", m, m)
	}
	b.WriteString(`default_route:
  channel: haotian/main/*
fee:
  - id: unionpay
    when: method == "unionpay.qr"
    tiers: [{up_to: 100000, rate: "0.004"}, {rate: "0.007"}]
  - id: wechat
    when: method in ["wechat.jsapi", "wechat.mini"]
    rate: "0.003"
  - id: alipay
    when: method in ["alipay.qr", "alipay.wap"]
    rate: "0.0038"
split:
  - id: franchise
    when: '"franchise" in merchant_tags'
    mode: manual
    receivers: [{name: brand, weight: 3}, {name: region, weight: 1}, {name: merchant, weight: 16}]
  - id: marketplace
    when: '"marketplace" in merchant_tags'
    mode: auto
    receivers: [{name: platform, ratio: "0.05", min: 100}]
`)
	return b.String()
}

func benchDecide(b *testing.B, n int, indexed bool) {
	rs, err := Load("bench.yaml", []byte(benchFile(n, indexed)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	last := n - 1
	x := core.Transaction{
		PaymentID: "pay_bench", Amount: 12_800, Currency: "CNY",
		Method:       core.Method(benchMethods[last%len(benchMethods)]),
		MerchantID:   fmt.Sprintf("m%05d", last),
		MerchantTags: []string{"marketplace"},
	}
	d, err := rs.Decide(context.Background(), x)
	if err != nil {
		b.Fatal(err)
	}
	if got := d.Matched[0].RuleID; got != fmt.Sprintf("r%d", last) {
		b.Fatalf("matched %s, want r%d", got, last)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := rs.Decide(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecide measures one decision on rule files of 10, 100 and 1,000
// routing rules, the transaction matching the last rule.
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) { benchDecide(b, n, true) })
	}
}

// BenchmarkDecideUnindexed is the same with conditions the index cannot
// use, so every rule before the match is evaluated.
func BenchmarkDecideUnindexed(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) { benchDecide(b, n, false) })
	}
}

// BenchmarkLoad measures compiling and validating a rule file.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{10, 1000} {
		src := []byte(benchFile(n, true))
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Load("bench.yaml", src, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
