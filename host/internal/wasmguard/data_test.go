package wasmguard

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// seg is a data segment of a test: active at an i32.const offset unless
// raw is set (the segment's encoding as it is).
type seg struct {
	offset int32
	init   string
	raw    []byte
}

func dataBody(segs ...seg) []byte {
	out := binary.AppendUvarint(nil, uint64(len(segs)))
	for _, s := range segs {
		if s.raw != nil {
			out = append(out, s.raw...)
			continue
		}
		out = append(out, 0x00, 0x41)
		out = appendSleb32(out, s.offset)
		out = append(out, opEnd)
		out = binary.AppendUvarint(out, uint64(len(s.init)))
		out = append(out, s.init...)
	}
	return out
}

var errOutOfBounds = errors.New("out of bounds")

// applyData is what instantiating a data section of active segments does
// to a memory of size bytes.
func applyData(t *testing.T, body []byte, size int) ([]byte, error) {
	t.Helper()
	mem := make([]byte, size)
	r := &reader{b: body}
	n, err := r.u32()
	require.NoError(t, err)
	for range n {
		flag, _ := r.u32()
		require.Zero(t, flag)
		_, _ = r.byte()
		off, err := r.sleb(32)
		require.NoError(t, err)
		_, _ = r.byte()
		l, _ := r.u32()
		start := r.pos
		require.NoError(t, r.skip(l))
		o := uint64(uint32(int32(off)))
		if o+uint64(l) > uint64(size) {
			return nil, errOutOfBounds
		}
		copy(mem[o:], r.b[start:r.pos])
	}
	return mem, nil
}

func count(body []byte) uint32 {
	n, _ := (&reader{b: body}).u32()
	return n
}

// TestMergeData: merged segments put the same bytes in memory, and are out
// of bounds exactly when the originals are; sections whose segments
// cannot be merged without changing that are left alone.
func TestMergeData(t *testing.T) {
	zeros := func(n int) string { return string(make([]byte, n)) }
	tests := []struct {
		name  string
		segs  []seg
		merge uint32 // segments after the merge; 0 = left alone
	}{
		{"adjacent and close, out of order", []seg{{40, "cd", nil}, {0, "ab", nil}, {2 + MergeGap, "xy", nil}, {42, "ef", nil}}, 1},
		{"a wide gap keeps two", []seg{{0, "ab", nil}, {2 + MergeGap + 1, "cd", nil}, {2 + MergeGap + 3, "ef", nil}}, 2},
		{"zeros in the data", []seg{{0, "a" + zeros(10) + "b", nil}, {13, "c", nil}}, 1},
		{"empty segments", []seg{{5, "", nil}, {0, "abc", nil}, {60, "", nil}}, 1},
		{"out of bounds at the end", []seg{{0, "ab", nil}, {65530, "0123456789", nil}, {65500, "x", nil}}, 2},
		{"empty segment past the end", []seg{{65530, "ab", nil}, {65537, "", nil}}, 1},
		{"negative offset (past 2 GiB), far from the rest", []seg{{0, "ab", nil}, {-1, "z", nil}}, 0},
		{"overlapping", []seg{{0, "abcd", nil}, {2, "xy", nil}}, 0},
		{"one segment", []seg{{0, "ab", nil}}, 0},
		{"passive segment", []seg{{0, "ab", nil}, {raw: []byte{0x01, 0x01, 'p'}}}, 0},
		{"offset from a global", []seg{{0, "ab", nil}, {raw: []byte{0x00, 0x23, 0x00, opEnd, 0x01, 'g'}}}, 0},
		{"explicit memory index", []seg{{0, "ab", nil}, {raw: []byte{0x02, 0x00, 0x41, 0x04, opEnd, 0x01, 'm'}}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := dataBody(tt.segs...)
			got := mergeData(body)
			if tt.merge == 0 {
				assert.Nil(t, got, "left alone")
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, tt.merge, count(got))
			want, wantErr := applyData(t, body, 65536)
			have, haveErr := applyData(t, got, 65536)
			assert.Equal(t, wantErr, haveErr, "out of bounds")
			assert.True(t, bytes.Equal(want, have), "memory after the merge differs")
		})
	}
}

// dataModule is a module with one memory page, exported, and the data
// segments; importMemory makes the memory imported instead.
func dataModule(importMemory bool, segs ...seg) []byte {
	imports := append([]byte{0x01}, importYield...)
	secs := [][]byte{typeSec}
	if importMemory {
		imports = append(append([]byte{0x02}, importYield...), 0x03, 'e', 'n', 'v', 0x03, 'm', 'e', 'm', 0x02, 0x00, 0x01)
		secs = append(secs, sec(2, imports...))
	} else {
		secs = append(secs, sec(2, imports...), sec(5, 0x01, 0x00, 0x01))
	}
	secs = append(secs, sec(7, 0x01, 0x03, 'm', 'e', 'm', 0x02, 0x00), sec(11, dataBody(segs...)...))
	return module(secs...)
}

// TestPrepareMergesData: a prepared module holds the same memory as the
// original once instantiated, or fails to instantiate as it does.
func TestPrepareMergesData(t *testing.T) {
	ctx := context.Background()
	instantiate := func(t *testing.T, bin []byte) ([]byte, error) {
		r := wazero.NewRuntime(ctx)
		t.Cleanup(func() { _ = r.Close(ctx) })
		_, err := r.NewHostModuleBuilder("payhost").NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
			stack[0] = Quantum
		}), nil, []api.ValueType{api.ValueTypeI32}).Export("yield").Instantiate(ctx)
		require.NoError(t, err)
		mod, err := r.Instantiate(ctx, bin)
		if err != nil {
			return nil, err
		}
		b, ok := mod.ExportedMemory("mem").Read(0, 65536)
		require.True(t, ok)
		return bytes.Clone(b), nil
	}
	var many []seg
	for i := range 100 {
		many = append(many, seg{int32(i * 20), fmt.Sprintf("seg%02d", i), nil})
	}
	tests := []struct {
		name   string
		segs   []seg
		merged bool
	}{
		{"many segments", many, true},
		{"out of bounds", []seg{{65530, "ab", nil}, {65535, "cd", nil}}, true},
		{"far apart", []seg{{0, "ab", nil}, {30000, "cd", nil}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := dataModule(false, tt.segs...)
			m, err := Prepare(bin, testYield)
			require.NoError(t, err)
			assert.Equal(t, tt.merged, !bytes.Contains(m.Binary, sec(11, dataBody(tt.segs...)...)), "merged")
			want, wantErr := instantiate(t, bin)
			got, gotErr := instantiate(t, m.Binary)
			assert.Equal(t, wantErr != nil, gotErr != nil, "instantiation fails alike: %v, %v", wantErr, gotErr)
			assert.True(t, bytes.Equal(want, got), "memory differs")
		})
	}
	t.Run("imported memory is left alone", func(t *testing.T) {
		bin := dataModule(true, many...)
		m, err := Prepare(bin, testYield)
		require.NoError(t, err)
		assert.True(t, bytes.Contains(m.Binary, sec(11, dataBody(many...)...)), "the data section was rewritten")
	})
}
