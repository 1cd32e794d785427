package rules

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/payhost/payhost/core"
)

// FuzzLoad feeds arbitrary bytes to Load: it must return a ruleset or an
// error, never panic, and a ruleset it returns must decide without
// breaking the money invariant.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"../examples/rules.yaml"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(versionFile(3)))
	f.Add([]byte(routingFile))
	f.Add([]byte(exampleFileForFuzz))
	f.Add([]byte("version: 1\ndefault_route: {channel: a/b/*}\nx: &a [*a]\n"))
	f.Add([]byte("version: 1\nrouting:\n  - <<: {id: a, when: 'amount > 1'}\n    channel: a/b/cashier\ndefault_route:\n  weighted: [{channel: a/b/*, weight: 2}]\n"))
	f.Add([]byte("\xef\xbb\xbfversion: 1\r\ndefault_route: {channel: a/b/alipay.qr}\r\n"))
	cat := testCatalogue(f)
	txs := []core.Transaction{
		tx("fz-1", 1, "CNY", "alipay.qr"),
		tx("fz-2", 100_000, "CNY", "wechat.mini"),
		tx("fz-3", 9_223_372_036_854_775_807, "PHP", "intl.gcash"),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{{}, {Catalogue: cat}} {
			rs, err := Load("fuzz.yaml", data, opts)
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) || len(ve.Issues) == 0 {
					t.Fatalf("want a ValidationError with issues, got %T %v", err, err)
				}
				continue
			}
			for _, x := range txs {
				d, err := rs.Decide(context.Background(), x)
				if err != nil {
					continue
				}
				if err := d.Check(); err != nil {
					t.Fatalf("decision breaks the invariant: %v", err)
				}
			}
		}
	})
}

// FuzzParseCatalogue: catalogue files never panic the parser.
func FuzzParseCatalogue(f *testing.F) {
	if data, err := os.ReadFile("../examples/catalogue.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("accounts:\n  - {plugin: a, account: b, methods: [cashier], limits: {max_amount: 5}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cat, err := ParseCatalogue("fuzz.yaml", data)
		if err == nil {
			for _, in := range cat.Channels() {
				if _, ok := cat.LookupChannel(in.Channel); !ok {
					t.Fatalf("listed channel %s not found", in.Channel)
				}
			}
		}
	})
}

const exampleFileForFuzz = `version: 1
timezone: Asia/Shanghai
routing:
  - id: w
    when: method in ["wechat.mini"] && hour < 23 && healthy("hfpay/dougong/wechat.mini")
    weighted:
      - {channel: hfpay/dougong/wechat.mini, weight: 3}
      - {channel: adapay/main/wechat.mini, weight: 1}
default_route: {channel: haotian/main/*}
split:
  - id: s
    mode: auto
    receivers: [{name: a, fixed: 5}, {name: b, ratio_ppm: 100, min: 3, max: 90}]
fee:
  - id: f
    tiers: [{up_to: 100, rate_ppm: 5}, {rate: "0.01", fixed: 2}]
    min: 1
    max: 10000
    rounding: half_even
`
