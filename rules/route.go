package rules

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/payhost/payhost/core"
)

// channelRef is a channel in a rule file: plugin/account/method, or
// plugin/account/* for "the transaction's own method".
type channelRef struct {
	ch       core.Channel // Method empty when wildcard
	wildcard bool
}

func (r channelRef) String() string {
	if r.wildcard {
		return r.ch.Plugin + "/" + r.ch.Account + "/*"
	}
	return r.ch.String()
}

func (r channelRef) resolve(m core.Method) core.Channel {
	if r.wildcard {
		return core.Channel{Plugin: r.ch.Plugin, Account: r.ch.Account, Method: m}
	}
	return r.ch
}

// parseChannelRef parses a channel of a rule file.
func parseChannelRef(s string) (channelRef, error) {
	if p, ok := strings.CutSuffix(s, "/*"); ok {
		parts := strings.Split(p, "/")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return channelRef{}, fmt.Errorf("channel %q: want plugin/account/method or plugin/account/*", s)
		}
		return channelRef{ch: core.Channel{Plugin: parts[0], Account: parts[1]}, wildcard: true}, nil
	}
	ch, err := core.ParseChannel(s)
	if err != nil {
		return channelRef{}, err
	}
	return channelRef{ch: ch}, nil
}

type targetKind int

const (
	targetList     targetKind = iota // channel or channels: a priority list
	targetWeighted                   // weighted volume split
)

type weightedRef struct {
	ref    channelRef
	weight int64
}

// target is where a routing rule sends a transaction.
type target struct {
	kind     targetKind
	list     []channelRef
	weighted []weightedRef
	fallback []channelRef
}

// refs lists every channel the target may produce.
func (t *target) refs() []channelRef {
	out := append([]channelRef(nil), t.list...)
	for _, w := range t.weighted {
		out = append(out, w.ref)
	}
	return append(out, t.fallback...)
}

type routeRule struct {
	id     string
	cond   *cond
	target target
}

// order returns the channel list for a transaction: the priority list as
// written, or for a weighted target all its channels in a weighted random
// order seeded by the payment id and the rule id (so a retry of the same
// payment gets the same order), then the fallbacks. Duplicates are dropped.
func (t *target) order(paymentID, ruleID string, m core.Method) ([]core.Channel, string) {
	out := make([]core.Channel, 0, len(t.list)+len(t.weighted)+len(t.fallback))
	add := func(c core.Channel) {
		for _, have := range out {
			if have == c {
				return
			}
		}
		out = append(out, c)
	}
	detail := "priority list"
	if t.kind == targetWeighted {
		rng := seedRNG(paymentID, ruleID)
		rest := append([]weightedRef(nil), t.weighted...)
		var total int64
		for _, w := range rest {
			total += w.weight
		}
		for first := true; len(rest) > 0; first = false {
			hi, _ := bits.Mul64(rng.next(), uint64(total))
			pick := int64(hi)
			i := 0
			for ; i < len(rest)-1; i++ {
				if pick < rest[i].weight {
					break
				}
				pick -= rest[i].weight
			}
			if first {
				detail = fmt.Sprintf("weighted pick %s (weight %d of %d)", rest[i].ref.resolve(m), rest[i].weight, total)
			}
			add(rest[i].ref.resolve(m))
			total -= rest[i].weight
			rest = append(rest[:i], rest[i+1:]...)
		}
	} else {
		for _, r := range t.list {
			add(r.resolve(m))
		}
	}
	for _, r := range t.fallback {
		add(r.resolve(m))
	}
	return out, detail
}

// splitMix64 is a small deterministic generator; its seed is the FNV-1a
// hash of the payment id and the rule id.
type splitMix64 struct{ s uint64 }

func seedRNG(paymentID, ruleID string) *splitMix64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(paymentID); i++ {
		h = (h ^ uint64(paymentID[i])) * 1099511628211
	}
	h *= 1099511628211 // a zero separator byte: ("ab","c") and ("a","bc") differ
	for i := 0; i < len(ruleID); i++ {
		h = (h ^ uint64(ruleID[i])) * 1099511628211
	}
	return &splitMix64{s: h}
}

func (r *splitMix64) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
