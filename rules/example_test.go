package rules_test

import (
	"context"
	"fmt"
	"log"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/rules"
)

const exampleFile = `version: 1
routing:
  - id: alipay-qr
    when: currency == "CNY" && method == "alipay.qr"
    channel: adapay/main/alipay.qr
    fallback: [haotian/main/alipay.qr]
default_route:
  channel: haotian/main/*
fee:
  - id: alipay-qr-online
    when: method == "alipay.qr"
    rate: "0.0038"
split:
  - id: platform-5pct
    when: '"marketplace" in merchant_tags'
    mode: auto
    receivers:
      - {name: platform, ratio: "0.05", min: 100}
tests:
  - name: alipay qr
    tx: {amount: 20000, currency: CNY, method: alipay.qr, merchant_tags: [marketplace]}
    expect: {channel: adapay/main/alipay.qr, fee: 76, splits: {platform: 996, merchant: 18928}}
`

// Load a rule file and decide a transaction with it.
func Example() {
	rs, err := rules.Load("rules.yaml", []byte(exampleFile), rules.Options{})
	if err != nil {
		log.Fatal(err)
	}
	d, err := rs.Decide(context.Background(), core.Transaction{
		PaymentID: "pay_1", Amount: 20000, Currency: "CNY", Method: "alipay.qr",
		MerchantTags: []string{"marketplace"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("route:", d.Channels[0], "then", d.Channels[1])
	fmt.Println("fee:", d.Fee)
	for _, s := range d.Splits {
		fmt.Printf("%s: %d\n", s.Receiver, s.Amount)
	}
	for _, m := range d.Matched {
		fmt.Printf("%s rule %s read %v\n", m.Kind, m.RuleID, m.Inputs)
	}
	// Output:
	// route: adapay/main/alipay.qr then haotian/main/alipay.qr
	// fee: 76
	// platform: 996
	// merchant: 18928
	// routing rule alipay-qr read map[currency:CNY method:alipay.qr]
	// fee rule alipay-qr-online read map[method:alipay.qr]
	// split rule platform-5pct read map[merchant_tags:marketplace]
}

// A broken rule file is refused with the position of every problem.
func ExampleLoad_invalid() {
	_, err := rules.Load("rules.yaml", []byte(`version: 1
routing:
  - id: big
    when: amount / 100 > 500
    channel: haotian/main/cashier
default_route:
  channel: haotian/main/*
`), rules.Options{})
	fmt.Println(err)
	// Output:
	// rules.yaml:4:11: routing rule "big": when (expression column 8): division is not allowed: it yields a float; compare against integer bounds instead
}

// A Holder serves the current ruleset and swaps in validated ones.
func ExampleHolder() {
	h := rules.NewHolder(rules.HolderOptions{})
	if _, err := h.Activate(rules.SourceAdmin, []byte(exampleFile)); err != nil {
		log.Fatal(err)
	}
	// A broken candidate is refused; the current rules keep serving.
	_, err := h.Activate(rules.SourceAdmin, []byte("version: 1\nrouting: {}\n"))
	fmt.Println("refused:", err != nil)
	d, err := h.Decide(context.Background(), core.Transaction{PaymentID: "p", Amount: 1000, Currency: "CNY", Method: "wechat.jsapi"})
	if err != nil {
		log.Fatal(err)
	}
	st := h.Status()
	fmt.Println(d.Channels[0], st.Successes, st.Failures)
	// Output:
	// refused: true
	// haotian/main/wechat.jsapi 1 1
}
