package rules

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/payhost/payhost/core"
)

// Money is computed here, in Go, with checked integer arithmetic: never
// inside an expression, never with floats.

// tier is one amount bracket of a fee rule. The bracket's rate applies to
// the whole amount (flat by bracket, not progressive).
type tier struct {
	upTo  int64 // inclusive upper bound in minor units; 0 with open
	open  bool  // no upper bound (the last tier)
	ppm   int64
	fixed int64
}

type feeRule struct {
	id       string
	cond     *cond
	tiers    []tier // one open tier when the rule has no tiers
	min      int64
	max      int64 // 0 = no maximum
	rounding core.Rounding
}

// compute returns the fee for amount and a one-line explanation.
func (f *feeRule) compute(amount int64) (int64, string, error) {
	t := f.tiers[len(f.tiers)-1]
	for _, c := range f.tiers {
		if c.open || amount <= c.upTo {
			t = c
			break
		}
	}
	pct, err := core.MulDiv(amount, t.ppm, core.PPM, f.rounding)
	if err != nil {
		return 0, "", fmt.Errorf("fee rule %q: %w", f.id, err)
	}
	fee, err := core.AddAmounts(pct, t.fixed)
	if err != nil {
		return 0, "", fmt.Errorf("fee rule %q: %w", f.id, err)
	}
	detail := fmt.Sprintf("%d ppm of %d", t.ppm, amount)
	if len(f.tiers) > 1 {
		if t.open {
			detail = fmt.Sprintf("tier above %d: %s", f.tiers[len(f.tiers)-2].upTo, detail)
		} else {
			detail = fmt.Sprintf("tier up to %d: %s", t.upTo, detail)
		}
	}
	detail += fmt.Sprintf(" = %d (%s)", pct, f.rounding)
	if t.fixed != 0 {
		detail += fmt.Sprintf(" + fixed %d", t.fixed)
	}
	if fee < f.min {
		fee = f.min
		detail += fmt.Sprintf(", raised to min %d", f.min)
	}
	if f.max > 0 && fee > f.max {
		fee = f.max
		detail += fmt.Sprintf(", lowered to max %d", f.max)
	}
	if fee > amount {
		fee = amount
		detail += ", limited to the amount"
	}
	return fee, detail + fmt.Sprintf(": fee %d", fee), nil
}

type recvKind int

const (
	recvRest   recvKind = iota // only what is left (the residue receiver)
	recvFixed                  // a fixed amount
	recvRatio                  // parts per million of the pool
	recvWeight                 // an integer weight among the weighted receivers
)

type receiver struct {
	name  string
	kind  recvKind
	value int64 // amount, ppm or weight
	min   int64
	max   int64 // 0 = no maximum
}

type splitRule struct {
	id        string
	cond      *cond
	mode      core.SplitMode
	receivers []receiver
	residue   int // index of the receiver that takes the residue
	ratioMode bool
	// others is the receiver count excluding the merchant's own share,
	// checked against a channel's MaxSplitReceivers.
	others int
}

// allocate splits base among the receivers of a rule:
//
//  1. fixed receivers take their amount in file order, each limited to what
//     is left;
//  2. the pool (what is left) is divided among ratio or weight receivers by
//     the largest-remainder method: each takes the floor of its exact share,
//     then the units left over go one each to the largest remainders, ties
//     to the residue receiver first, then in file order. In ratio mode the
//     residue receiver also holds the ppm the other ratios leave unassigned;
//  3. caps: a share above its max gives the excess to the residue receiver;
//     a share below its min is raised from the residue receiver's share, as
//     far as that share goes.
//
// The shares always sum to base and none is negative.
func allocate(base int64, rs []receiver, residue int, ratioMode bool) ([]int64, error) {
	if base < 0 {
		return nil, fmt.Errorf("split base %d is negative", base)
	}
	shares := make([]int64, len(rs))
	left := base
	for i, r := range rs {
		if r.kind == recvFixed {
			s := min(r.value, left)
			shares[i] = s
			left -= s
		}
	}
	pool := left
	nums := make([]int64, len(rs))
	var den int64
	for i, r := range rs {
		switch {
		case ratioMode && r.kind == recvRatio, !ratioMode && r.kind == recvWeight:
			nums[i] = r.value
			den += r.value
		}
	}
	if ratioMode {
		nums[residue] += core.PPM - den
		den = core.PPM
	}
	if den == 0 {
		shares[residue] += pool
	} else {
		type part struct {
			i   int
			rem uint64
		}
		parts := make([]part, 0, len(rs))
		var given int64
		for i, n := range nums {
			if n == 0 {
				continue
			}
			q, rem, err := mulDivRem(pool, n, den)
			if err != nil {
				return nil, err
			}
			shares[i] += q
			given += q
			parts = append(parts, part{i, rem})
		}
		slices.SortStableFunc(parts, func(a, b part) int {
			switch {
			case a.rem != b.rem:
				if a.rem > b.rem {
					return -1
				}
				return 1
			case (a.i == residue) != (b.i == residue):
				if a.i == residue {
					return -1
				}
				return 1
			}
			return a.i - b.i
		})
		for k := pool - given; k > 0; k-- {
			if len(parts) == 0 {
				return nil, fmt.Errorf("split: %d units left with no receiver", k)
			}
			shares[parts[0].i]++
			parts = parts[1:]
		}
	}
	for i, r := range rs {
		if i != residue && r.max > 0 && shares[i] > r.max {
			shares[residue] += shares[i] - r.max
			shares[i] = r.max
		}
	}
	for i, r := range rs {
		if i != residue && shares[i] < r.min {
			take := min(r.min-shares[i], shares[residue])
			shares[i] += take
			shares[residue] -= take
		}
	}
	total, err := core.SumAmounts(shares...)
	if err != nil || total != base {
		return nil, fmt.Errorf("split: shares sum to %d, want %d", total, base)
	}
	return shares, nil
}

// mulDivRem returns floor(x*num/den) and the remainder, with a 128-bit
// product. x and num are non-negative, den positive. The quotient is
// core.MulDiv's (rounded down); core has no remainder helper, so the
// remainder is computed here with math/bits.
func mulDivRem(x, num, den int64) (int64, uint64, error) {
	q, err := core.MulDiv(x, num, den, core.RoundDown)
	if err != nil {
		return 0, 0, err
	}
	hi, lo := bits.Mul64(uint64(x), uint64(num))
	_, rem := bits.Div64(hi, lo, uint64(den))
	return q, rem, nil
}
