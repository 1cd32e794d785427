package rules

import "math/bits"

// index finds the rules of one list whose indexed constraints a
// transaction meets, as a bitset in rule order, so that first-match
// evaluation only runs the conditions of candidate rules.
//
// For every field that at least one rule constrains, the index keeps the
// set of rules that do not constrain it (wild) and, per value, the rules
// that allow that value. The candidates are the intersection over those
// fields of (wild ∪ byValue[tx value]).
type index struct {
	n      int
	words  int
	fields []fieldIndex
	all    []uint64
}

type fieldIndex struct {
	f       field
	wild    []uint64
	byValue map[string][]uint64
}

func newIndex(conds []*cond) *index {
	ix := &index{n: len(conds), words: (len(conds) + 63) / 64}
	ix.all = make([]uint64, ix.words)
	for i := range conds {
		ix.all[i/64] |= 1 << (i % 64)
	}
	for f := range numFields {
		used := false
		for _, c := range conds {
			if c.eq[f] != nil {
				used = true
				break
			}
		}
		if !used {
			continue
		}
		fi := fieldIndex{f: f, wild: make([]uint64, ix.words), byValue: map[string][]uint64{}}
		for i, c := range conds {
			if c.eq[f] == nil {
				fi.wild[i/64] |= 1 << (i % 64)
				continue
			}
			for _, v := range c.eq[f] {
				set := fi.byValue[v]
				if set == nil {
					set = make([]uint64, ix.words)
					fi.byValue[v] = set
				}
				set[i/64] |= 1 << (i % 64)
			}
		}
		ix.fields = append(ix.fields, fi)
	}
	return ix
}

// candidates writes the candidate bitset for e into buf (grown as needed)
// and returns it.
func (ix *index) candidates(e *evalEnv, buf []uint64) []uint64 {
	if cap(buf) < ix.words {
		buf = make([]uint64, ix.words)
	}
	buf = buf[:ix.words]
	copy(buf, ix.all)
	for i := range ix.fields {
		fi := &ix.fields[i]
		vals := fi.byValue[e.field(fi.f)]
		if vals == nil {
			for w := range buf {
				buf[w] &= fi.wild[w]
			}
			continue
		}
		for w := range buf {
			buf[w] &= fi.wild[w] | vals[w]
		}
	}
	return buf
}

// next returns the first set bit at or after i, or -1.
func nextBit(set []uint64, i int) int {
	w := i / 64
	if w >= len(set) {
		return -1
	}
	word := set[w] >> (i % 64)
	if word != 0 {
		return i + bits.TrailingZeros64(word)
	}
	for w++; w < len(set); w++ {
		if set[w] != 0 {
			return w*64 + bits.TrailingZeros64(set[w])
		}
	}
	return -1
}
