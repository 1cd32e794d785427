package wasmguard

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

func sec(id byte, body ...byte) []byte {
	out := []byte{id}
	out = binary.AppendUvarint(out, uint64(len(body)))
	return append(out, body...)
}

func module(sections ...[]byte) []byte {
	out := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	for _, s := range sections {
		out = append(out, s...)
	}
	return out
}

// spinModule exports "spin", an endless loop, and optionally a global.
func spinModule(withGlobal, withExport bool) []byte {
	secs := [][]byte{
		sec(1, 0x01, 0x60, 0x00, 0x00),                                 // type: () -> ()
		sec(2, 0x01, 0x03, 'e', 'n', 'v', 0x01, 'g', 0x03, 0x7F, 0x00), // import env.g: i32 const
		sec(3, 0x01, 0x00),                                             // one function of type 0
	}
	if withGlobal {
		secs = append(secs, sec(6, 0x01, 0x7F, 0x00, 0x41, 0x07, 0x0B)) // global i32 const 7
	}
	if withExport {
		secs = append(secs, sec(7, 0x01, 0x04, 's', 'p', 'i', 'n', 0x00, 0x00))
	}
	// code: loop (br 0) end, with an i32.const and block inside to exercise the decoder
	body := []byte{0x00, 0x03, 0x40, 0x02, 0x40, 0x41, 0x7F, 0x1A, 0x0B, 0x0C, 0x00, 0x0B, 0x0B}
	code := append([]byte{0x01}, binary.AppendUvarint(nil, uint64(len(body)))...)
	code = append(code, body...)
	secs = append(secs, sec(10, code...))
	return module(secs...)
}

func TestPrepareInterruptsLoop(t *testing.T) {
	for _, tc := range []struct {
		name               string
		global, exportSect bool
	}{{"with sections", true, true}, {"no global section", false, true}, {"no export section", true, false}, {"neither", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Prepare(spinModule(tc.global, tc.exportSect))
			require.NoError(t, err)
			assert.Equal(t, 1, m.Loops)
			assert.Equal(t, []Import{{Module: "env", Name: "g", Kind: KindGlobal}}, m.Imports)

			// the instrumented module must still validate
			ctx := context.Background()
			r := wazero.NewRuntime(ctx)
			defer r.Close(ctx)
			_, err = r.CompileModule(ctx, m.Binary)
			require.NoError(t, err)
		})
	}
}

// TestPrepareStopsEndlessLoop runs an instrumented endless loop and stops it
// by setting the exported interrupt global from another goroutine.
func TestPrepareStopsEndlessLoop(t *testing.T) {
	bin := module(
		sec(1, 0x01, 0x60, 0x00, 0x00),
		sec(3, 0x01, 0x00),
		sec(7, 0x01, 0x04, 's', 'p', 'i', 'n', 0x00, 0x00),
		sec(10, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0C, 0x00, 0x0B, 0x0B),
	)
	m, err := Prepare(bin)
	require.NoError(t, err)
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, err := r.Instantiate(ctx, m.Binary)
	require.NoError(t, err)
	g, ok := mod.ExportedGlobal(InterruptExport).(api.MutableGlobal)
	require.True(t, ok, "interrupt global must be exported and mutable")
	time.AfterFunc(20*time.Millisecond, func() { g.Set(1) })
	_, err = mod.ExportedFunction("spin").Call(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unreachable")
}

func TestPrepareRefuses(t *testing.T) {
	tests := map[string][]byte{
		"not wasm":     []byte("hello"),
		"truncated":    module(sec(1, 0x01, 0x60))[:11],
		"simd":         module(sec(1, 0x01, 0x60, 0x00, 0x00), sec(3, 0x01, 0x00), sec(10, 0x01, 0x04, 0x00, 0xFD, 0x0C, 0x0B)),
		"bad opcode":   module(sec(1, 0x01, 0x60, 0x00, 0x00), sec(3, 0x01, 0x00), sec(10, 0x01, 0x03, 0x00, 0xFF, 0x0B)),
		"out of order": module(sec(3, 0x01, 0x00), sec(1, 0x01, 0x60, 0x00, 0x00)),
		"name clash":   module(sec(1, 0x01, 0x60, 0x00, 0x00), sec(3, 0x01, 0x00), sec(7, 0x01, byte(len(InterruptExport)))),
	}
	clash := append([]byte{0x01, byte(len(InterruptExport))}, InterruptExport...)
	clash = append(clash, 0x00, 0x00)
	tests["name clash"] = module(sec(1, 0x01, 0x60, 0x00, 0x00), sec(3, 0x01, 0x00), sec(7, clash...), sec(10, 0x01, 0x02, 0x00, 0x0B))
	for name, bin := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Prepare(bin)
			assert.Error(t, err)
		})
	}
}

// FuzzPrepare: untrusted modules must produce errors, never panics.
func FuzzPrepare(f *testing.F) {
	f.Add(spinModule(true, true))
	f.Add(spinModule(false, false))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Prepare(b)
	})
}
