package wasmguard

import (
	"encoding/binary"
	"sort"
)

// MergeGap is the widest run of zeros between two data segments that
// Prepare fills in to merge them (see mergeData).
const MergeGap = 64

// dataSegment is an active data segment of memory 0 at a constant offset.
type dataSegment struct {
	offset uint32
	init   []byte
}

// mergeData rewrites a data section into fewer segments, or returns nil to
// keep it as it is. The Go toolchain splits a program's data at every run
// of zeros, into some 58,000 segments of a few bytes for a plugin, and the
// runtime keeps a record of every segment for the module and another for
// each instance (megabytes of small objects): merged across gaps of at
// most MergeGap zeros, the same data takes a few dozen.
//
// The result is what the original puts in memory, and fails to
// instantiate exactly when the original does: it is used only when every
// segment is active, for memory 0, at an i32.const offset; when the
// segments are pairwise disjoint (so the order they are applied in does not
// matter, and a gap filled with zeros writes what a memory just created
// holds there); when the memory is the module's own (not imported: a
// failed instantiation leaves nothing of it behind); and when the module
// has no data count section (without one, no instruction may name a data
// segment, so renumbering them changes nothing). A merged segment reaches
// as far as the farthest of its parts, so it is out of bounds exactly when
// one of them is.
func mergeData(body []byte) []byte {
	r := &reader{b: body}
	n, err := r.u32()
	if err != nil || n < 2 {
		return nil
	}
	segs := make([]dataSegment, 0, n)
	for range n {
		flag, err := r.u32()
		if err != nil || flag != 0 {
			return nil
		}
		if op, err := r.byte(); err != nil || op != 0x41 { // i32.const
			return nil
		}
		off, err := r.sleb(32)
		if err != nil {
			return nil
		}
		if end, err := r.byte(); err != nil || end != opEnd {
			return nil
		}
		size, err := r.u32()
		if err != nil {
			return nil
		}
		start := r.pos
		if err := r.skip(size); err != nil {
			return nil
		}
		segs = append(segs, dataSegment{offset: uint32(int32(off)), init: r.b[start:r.pos]})
	}
	if r.pos != len(r.b) {
		return nil
	}
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].offset < segs[j].offset })
	type span struct{ start, end uint64 }
	var merged []span
	var parts [][]dataSegment
	for i, s := range segs {
		start, end := uint64(s.offset), uint64(s.offset)+uint64(len(s.init))
		if i > 0 && start < uint64(segs[i-1].offset)+uint64(len(segs[i-1].init)) {
			return nil // overlapping segments: the order they are applied in matters
		}
		if last := len(merged) - 1; last >= 0 && start <= merged[last].end+MergeGap {
			merged[last].end = max(merged[last].end, end)
			parts[last] = append(parts[last], s)
			continue
		}
		merged = append(merged, span{start, end})
		parts = append(parts, []dataSegment{s})
	}
	if len(merged) >= int(n) {
		return nil
	}
	out := binary.AppendUvarint(nil, uint64(len(merged)))
	for i, m := range merged {
		out = append(out, 0x00, 0x41) // active, memory 0, i32.const
		out = appendSleb32(out, int32(uint32(m.start)))
		out = append(out, opEnd)
		out = binary.AppendUvarint(out, m.end-m.start)
		at := len(out)
		out = append(out, make([]byte, m.end-m.start)...)
		for _, p := range parts[i] {
			copy(out[at+int(uint64(p.offset)-m.start):], p.init)
		}
	}
	return out
}
