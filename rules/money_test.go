package rules

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/payhost/payhost/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFee(t *testing.T) {
	cases := []struct {
		name   string
		rule   string
		amount int64
		fee    int64
	}{
		{"rate half_up rounds .5 up", `rate: "0.0035"`, 3000, 11},
		{"rate down", "rate: \"0.0035\"\n    rounding: down", 3000, 10},
		{"rate up", "rate: \"0.0038\"\n    rounding: up", 10001, 39},
		{"half_even tie to even", "rate_ppm: 5000\n    rounding: half_even", 100, 0},
		{"half_even tie to even (odd)", "rate_ppm: 5000\n    rounding: half_even", 300, 2},
		{"unquoted rate", "rate: 0.0038", 10000, 38},
		{"fixed only", "fixed: 30", 5000, 30},
		{"rate and fixed", "rate: \"0.01\"\n    fixed: 5", 1000, 15},
		{"min", "rate: \"0.001\"\n    min: 10", 1000, 10},
		{"max", "rate: \"0.01\"\n    max: 500", 1_000_000, 500},
		{"fee never above amount", "fixed: 100", 60, 60},
		{"lower tier at its bound", "tiers:\n      - {up_to: 100000, rate: \"0.004\"}\n      - {rate: \"0.007\"}", 100000, 400},
		{"upper tier just above", "tiers:\n      - {up_to: 100000, rate: \"0.004\"}\n      - {rate: \"0.007\"}", 100001, 700},
		{"three tiers with fixed", "tiers:\n      - {up_to: 1000, rate_ppm: 0, fixed: 1}\n      - {up_to: 5000, rate_ppm: 10000}\n      - {rate_ppm: 5000, fixed: 3}", 1000, 1},
		{"three tiers middle", "tiers:\n      - {up_to: 1000, rate_ppm: 0, fixed: 1}\n      - {up_to: 5000, rate_ppm: 10000}\n      - {rate_ppm: 5000, fixed: 3}", 4000, 40},
		{"three tiers top", "tiers:\n      - {up_to: 1000, rate_ppm: 0, fixed: 1}\n      - {up_to: 5000, rate_ppm: 10000}\n      - {rate_ppm: 5000, fixed: 3}", 9000, 48},
		{"huge amount, full rate", "rate_ppm: 1000000", math.MaxInt64, math.MaxInt64},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "version: 1\ndefault_route: {channel: haotian/main/*}\nfee:\n  - id: f\n    " + c.rule + "\n"
			rs := mustLoad(t, src, Options{})
			d := decide(t, rs, tx("p", c.amount, "CNY", "alipay.qr"))
			assert.Equal(t, c.fee, d.Fee)
			total, err := core.SumAmounts(d.Fee, d.Splits[0].Amount)
			require.NoError(t, err)
			assert.Equal(t, c.amount, total)
		})
	}
}

func TestFeeOverflow(t *testing.T) {
	rs := mustLoad(t, "version: 1\ndefault_route: {channel: haotian/main/*}\nfee:\n  - id: f\n    rate_ppm: 1000000\n    fixed: 1\n", Options{})
	_, err := rs.Decide(t.Context(), tx("p", math.MaxInt64, "CNY", "alipay.qr"))
	require.Error(t, err)
	assert.ErrorIs(t, err, core.ErrOverflow)
}

func TestSplit(t *testing.T) {
	cases := []struct {
		name   string
		rule   string
		amount int64
		want   string // receiver=amount in decision order
	}{
		{"ratio with residue to merchant", "receivers: [{name: platform, ratio: \"0.05\"}]", 10000, "platform=500 merchant=9500"},
		{"ratio_ppm", "receivers: [{name: platform, ratio_ppm: 50000}]", 10000, "platform=500 merchant=9500"},
		{"largest remainder", "receivers: [{name: a, ratio: \"0.333333\"}, {name: b, ratio: \"0.333333\"}, {name: merchant, ratio: \"0.333334\"}]", 100,
			"a=33 b=33 merchant=34"},
		{"weights 1:1:1, tie goes to the residue receiver", "receivers: [{name: a, weight: 1}, {name: b, weight: 1}, {name: merchant, weight: 1}]", 100,
			"a=33 b=33 merchant=34"},
		{"weights tie to file order without residue weight", "residue: c\n    receivers: [{name: a, weight: 1}, {name: b, weight: 1}, {name: c}]", 101,
			"a=51 b=50"},
		{"weights 3:1:16", "receivers: [{name: brand, weight: 3}, {name: region, weight: 1}, {name: merchant, weight: 16}]", 9963,
			"brand=1495 region=498 merchant=7970"},
		{"fixed then ratio of the rest", "receivers: [{name: agent, fixed: 200}, {name: platform, ratio: \"0.1\"}]", 1200, "agent=200 platform=100 merchant=900"},
		{"fixed limited to what is left", "receivers: [{name: agent, fixed: 200}, {name: other, fixed: 200}]", 300, "agent=200 other=100"},
		{"min raised from the residue", "receivers: [{name: platform, ratio: \"0.05\", min: 100}]", 1000, "platform=100 merchant=900"},
		{"min limited by the residue", "receivers: [{name: platform, ratio: \"0.05\", min: 100}]", 60, "platform=60"},
		{"max gives the excess to the residue", "receivers: [{name: platform, ratio: \"0.5\", max: 100}]", 1000, "platform=100 merchant=900"},
		{"named residue receiver", "residue: platform\n    receivers: [{name: platform}, {name: merchant, ratio: \"0.9\"}]", 1001, "platform=100 merchant=901"},
		{"zero shares are left out (tie goes to the residue receiver)", "receivers: [{name: platform, ratio: \"0.01\"}]", 50, "merchant=50"},
		{"tiny amount", "receivers: [{name: platform, ratio: \"0.01\"}]", 1, "merchant=1"},
		{"huge amount", "receivers: [{name: platform, ratio: \"0.5\"}]", math.MaxInt64, "platform=4611686018427387903 merchant=4611686018427387904"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "version: 1\ndefault_route: {channel: haotian/main/*}\nsplit:\n  - id: s\n    mode: auto\n    " + c.rule + "\n"
			rs := mustLoad(t, src, Options{})
			d := decide(t, rs, tx("p", c.amount, "CNY", "alipay.qr"))
			var got []string
			for _, s := range d.Splits {
				got = append(got, fmt.Sprintf("%s=%d", s.Receiver, s.Amount))
			}
			assert.Equal(t, c.want, strings.Join(got, " "))
			assert.Equal(t, core.SplitAuto, d.SplitMode)
		})
	}
	t.Run("modes", func(t *testing.T) {
		for _, m := range []core.SplitMode{core.SplitAuto, core.SplitManual, core.SplitInline} {
			rs := mustLoad(t, "version: 1\ndefault_route: {channel: haotian/main/*}\nsplit:\n  - id: s\n    mode: "+string(m)+"\n    receivers: [{name: p, weight: 1}]\n", Options{})
			assert.Equal(t, m, decide(t, rs, tx("p", 10, "CNY", "alipay.qr")).SplitMode)
		}
	})
	t.Run("no split rule: merchant keeps the rest", func(t *testing.T) {
		rs := mustLoad(t, "version: 1\ndefault_route: {channel: haotian/main/*}\nfee:\n  - id: f\n    fixed: 3\n", Options{})
		d := decide(t, rs, tx("p", 10, "CNY", "alipay.qr"))
		assert.Equal(t, core.SplitNone, d.SplitMode)
		assert.Equal(t, []core.Share{{Receiver: "merchant", Amount: 7}}, d.Splits)
	})
	t.Run("fee takes everything", func(t *testing.T) {
		rs := mustLoad(t, "version: 1\ndefault_route: {channel: haotian/main/*}\nfee:\n  - id: f\n    fixed: 30\nsplit:\n  - id: s\n    mode: auto\n    receivers: [{name: p, ratio: \"0.5\"}]\n", Options{})
		d := decide(t, rs, tx("p", 10, "CNY", "alipay.qr"))
		assert.Equal(t, int64(10), d.Fee)
		assert.Equal(t, []core.Share{{Receiver: "merchant", Amount: 0}}, d.Splits)
	})
}

// TestAllocateProperty checks, over many random rules and amounts, that the
// parts always sum to the amount and none is negative, through the whole
// decision (fee first, then the split).
func TestAllocateProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(2025, 6))
	n := 5000
	if testing.Short() {
		n = 500
	}
	amounts := func() int64 {
		switch r.IntN(4) {
		case 0:
			return 1 + r.Int64N(100)
		case 1:
			return 1 + r.Int64N(10_000_000)
		case 2:
			return math.MaxInt64 - r.Int64N(1000)
		}
		return 1 + r.Int64N(math.MaxInt64/1000)
	}
	for i := range n {
		nrec := 1 + r.IntN(9)
		ratioMode := r.IntN(2) == 0
		residue := r.IntN(nrec + 1) // nrec = implicit merchant
		rs := make([]receiver, 0, nrec+1)
		var ppmLeft int64 = core.PPM
		for j := range nrec {
			rc := receiver{name: fmt.Sprintf("r%d", j)}
			switch {
			case j == residue:
				rc.kind = recvRest
			case r.IntN(5) == 0:
				rc.kind, rc.value = recvFixed, 1+r.Int64N(100_000)
			case ratioMode:
				rc.kind, rc.value = recvRatio, r.Int64N(ppmLeft+1)
				ppmLeft -= rc.value
			default:
				rc.kind, rc.value = recvWeight, 1+r.Int64N(1_000_000_000)
			}
			if j != residue && rc.kind != recvFixed {
				if r.IntN(3) == 0 {
					rc.min = r.Int64N(50_000)
				}
				if r.IntN(3) == 0 {
					rc.max = rc.min + 1 + r.Int64N(1_000_000)
				}
			}
			rs = append(rs, rc)
		}
		if residue == nrec {
			rs = append(rs, receiver{name: "merchant", kind: recvRest})
		}
		amount := amounts()
		fr := feeRule{id: "f", rounding: []core.Rounding{core.RoundDown, core.RoundUp, core.RoundHalfUp, core.RoundHalfEven}[r.IntN(4)],
			tiers: []tier{{open: true, ppm: r.Int64N(core.PPM / 10), fixed: r.Int64N(1000)}}, min: r.Int64N(100)}
		fee, _, err := fr.compute(amount)
		if err != nil {
			require.ErrorIs(t, err, core.ErrOverflow, "case %d", i)
			continue
		}
		shares, err := allocate(amount-fee, rs, residue, ratioMode)
		require.NoError(t, err, "case %d", i)
		d := core.Decision{Amount: amount, Fee: fee}
		for j, s := range shares {
			require.GreaterOrEqual(t, s, int64(0), "case %d receiver %d", i, j)
			d.Splits = append(d.Splits, core.Share{Receiver: rs[j].name, Amount: s})
		}
		require.NoError(t, d.Check(), "case %d: amount %d fee %d shares %v", i, amount, fee, shares)
		for j, rc := range rs {
			if rc.max > 0 && j != residue {
				require.LessOrEqual(t, shares[j], rc.max, "case %d: max", i)
			}
		}
	}
}

// TestDecideProperty runs random rule files end to end.
func TestDecideProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	files := 60
	if testing.Short() {
		files = 10
	}
	for f := range files {
		var b strings.Builder
		b.WriteString("version: 1\ndefault_route: {channel: haotian/main/*}\nfee:\n  - id: f\n")
		fmt.Fprintf(&b, "    rate_ppm: %d\n    fixed: %d\n    rounding: %s\n", r.Int64N(100_000), r.Int64N(500),
			[]string{"down", "up", "half_up", "half_even"}[r.IntN(4)])
		b.WriteString("split:\n  - id: s\n    mode: auto\n    receivers:\n")
		for j := range 1 + r.IntN(6) {
			fmt.Fprintf(&b, "      - {name: w%d, weight: %d}\n", j, 1+r.Int64N(1000))
		}
		rs := mustLoad(t, b.String(), Options{})
		for i := range 100 {
			amount := 1 + r.Int64N(1_000_000_000)
			d, err := rs.Decide(t.Context(), tx(fmt.Sprintf("p%d-%d", f, i), amount, "CNY", "alipay.qr"))
			require.NoError(t, err)
			sum := d.Fee
			for _, s := range d.Splits {
				require.GreaterOrEqual(t, s.Amount, int64(0))
				sum += s.Amount
			}
			require.Equal(t, amount, sum)
		}
	}
}
