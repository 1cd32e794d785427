package wasmguard

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

var testYield = Yield{Module: "payhost", Name: "yield"}

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

var (
	typeSec     = sec(1, 0x02, 0x60, 0x00, 0x00, 0x60, 0x00, 0x01, 0x7F) // t0: () -> (), t1: () -> i32
	importYield = []byte{0x07, 'p', 'a', 'y', 'h', 'o', 's', 't', 0x05, 'y', 'i', 'e', 'l', 'd', 0x00, 0x01}
	importG     = []byte{0x03, 'e', 'n', 'v', 0x01, 'g', 0x03, 0x7F, 0x00} // env.g: const i32
	funcSec     = sec(3, 0x01, 0x00)
	exportSpin  = sec(7, 0x01, 0x04, 's', 'p', 'i', 'n', 0x00, 0x01) // func 1 (after the import)
)

// spinModule exports "spin": an endless loop with a nested block.
func spinModule(withGlobal, withExport, withImportedGlobal bool) []byte {
	imports := append([]byte{0x01}, importYield...)
	if withImportedGlobal {
		imports = append(append([]byte{0x02}, importYield...), importG...)
	}
	secs := [][]byte{typeSec, sec(2, imports...), funcSec}
	if withGlobal {
		secs = append(secs, sec(6, 0x01, 0x7F, 0x00, 0x41, 0x07, 0x0B)) // global i32 const 7
	}
	if withExport {
		secs = append(secs, exportSpin)
	}
	// loop (block (i32.const -1 drop)) br 0 end
	body := []byte{0x00, 0x03, 0x40, 0x02, 0x40, 0x41, 0x7F, 0x1A, 0x0B, 0x0C, 0x00, 0x0B, 0x0B}
	code := append([]byte{0x01}, binary.AppendUvarint(nil, uint64(len(body)))...)
	return module(append(secs, sec(10, append(code, body...)...))...)
}

func TestPrepareValidates(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		global, export, imGlob bool
	}{{"all sections", true, true, true}, {"no global section", false, true, false}, {"no export section", true, false, false}, {"neither", false, false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Prepare(spinModule(tc.global, tc.export, tc.imGlob), testYield)
			require.NoError(t, err)
			assert.Equal(t, 1, m.Loops)
			assert.Equal(t, Import{Module: "payhost", Name: "yield", Kind: KindFunc}, m.Imports[0])
			ctx := context.Background()
			r := wazero.NewRuntime(ctx)
			defer r.Close(ctx)
			_, err = r.CompileModule(ctx, m.Binary)
			require.NoError(t, err, "the instrumented module must still validate")
		})
	}
}

// TestFuelStopsEndlessLoop: the loop calls yield every Quantum iterations;
// a yield that traps stops it.
func TestFuelStopsEndlessLoop(t *testing.T) {
	m, err := Prepare(spinModule(false, true, false), testYield)
	require.NoError(t, err)
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	calls := 0
	_, err = r.NewHostModuleBuilder("payhost").NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, _ api.Module, stack []uint64) {
		calls++
		if calls == 4 {
			panic(errors.New("deadline passed"))
		}
		stack[0] = Quantum
	}), nil, []api.ValueType{api.ValueTypeI32}).Export("yield").Instantiate(ctx)
	require.NoError(t, err)
	mod, err := r.Instantiate(ctx, m.Binary)
	require.NoError(t, err)
	_, err = mod.ExportedFunction("spin").Call(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deadline passed")
	assert.Equal(t, 4, calls)
}

func TestPrepareRefuses(t *testing.T) {
	imports := sec(2, append([]byte{0x01}, importYield...)...)
	tests := map[string][]byte{
		"not wasm":     []byte("hello"),
		"truncated":    module(sec(1, 0x01, 0x60))[:11],
		"no yield":     module(typeSec, funcSec, sec(10, 0x01, 0x02, 0x00, 0x0B)),
		"simd":         module(typeSec, imports, funcSec, sec(10, 0x01, 0x04, 0x00, 0xFD, 0x0C, 0x0B)),
		"bad opcode":   module(typeSec, imports, funcSec, sec(10, 0x01, 0x03, 0x00, 0xFF, 0x0B)),
		"out of order": module(funcSec, typeSec),
		"bad section":  module(sec(42, 0x00)),
	}
	for name, bin := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Prepare(bin, testYield)
			assert.Error(t, err)
		})
	}
}

func TestAppendSleb32(t *testing.T) {
	for v, want := range map[int32][]byte{0: {0}, 1: {1}, 63: {0x3f}, 64: {0xc0, 0x00}, 1 << 14: {0x80, 0x80, 0x01}, -1: {0x7f}} {
		assert.Equal(t, want, appendSleb32(nil, v), v)
	}
}

// FuzzPrepare: untrusted modules produce errors, never panics; and a
// module that validates stays valid once instrumented (the rewrite never
// breaks a good module, and never needs the runtime to catch it).
func FuzzPrepare(f *testing.F) {
	f.Add(spinModule(true, true, true))
	f.Add(spinModule(false, false, false))
	f.Add(dataModule(false, seg{0, "ab", nil}, seg{4, "cd", nil}, seg{100, "ef", nil}))
	if bin, err := os.ReadFile("testdata/exits.wasm"); err == nil {
		f.Add(bin)
	}
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesTailCall)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Prepare(b, testYield)
		if err != nil {
			return
		}
		r := wazero.NewRuntimeWithConfig(ctx, cfg)
		defer r.Close(ctx)
		if _, err := r.CompileModule(ctx, b); err != nil {
			return // not a valid module to begin with
		}
		_, err = r.CompileModule(ctx, m.Binary)
		require.NoError(t, err, "a valid module became invalid once instrumented")
	})
}

// exitsRuntime instantiates testdata/exits.wasm, instrumented or not, with
// tail calls enabled and a yield that traps after maxYields calls.
func exitsRuntime(t *testing.T, instrument bool, maxYields int) (api.Module, *int) {
	t.Helper()
	bin, err := os.ReadFile("testdata/exits.wasm")
	require.NoError(t, err)
	if instrument {
		m, err := Prepare(bin, testYield)
		require.NoError(t, err)
		bin = m.Binary
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2|experimental.CoreFeaturesTailCall))
	t.Cleanup(func() { _ = r.Close(ctx) })
	yields := new(int)
	_, err = r.NewHostModuleBuilder("payhost").NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, _ api.Module, stack []uint64) {
		*yields++
		if *yields > maxYields {
			panic(errors.New("deadline passed"))
		}
		stack[0] = Quantum
	}), nil, []api.ValueType{api.ValueTypeI32}).Export("yield").Instantiate(ctx)
	require.NoError(t, err)
	mod, err := r.Instantiate(ctx, bin)
	require.NoError(t, err, "the instrumented module must validate")
	return mod, yields
}

// TestEveryExitGivesBack: fall-through, return, a branch and a br_table to
// the function's label, several results out of a loop — a million calls
// leave the stack budget whole and compute what the original computes.
func TestEveryExitGivesBack(t *testing.T) {
	ctx := context.Background()
	plain, _ := exitsRuntime(t, false, 0)
	want, err := plain.ExportedFunction("run").Call(ctx, 200000)
	require.NoError(t, err)

	mod, yields := exitsRuntime(t, true, 1<<30)
	got, err := mod.ExportedFunction("run").Call(ctx, 200000)
	require.NoError(t, err)
	assert.Equal(t, want, got, "instrumentation changed what the code computes")
	assert.Equal(t, uint64(StackBudget), mod.ExportedGlobal(ExportStack).Get(), "a frame was not given back")
	assert.Positive(t, *yields, "a million calls spend more than one quantum of fuel")
}

// TestTailCallsAreMetered: a loop made only of tail calls pays at every
// entry, so the yield is reached and can stop it.
func TestTailCallsAreMetered(t *testing.T) {
	mod, yields := exitsRuntime(t, true, 3)
	_, err := mod.ExportedFunction("tail").Call(context.Background())
	require.ErrorContains(t, err, "deadline passed")
	assert.Equal(t, 4, *yields)
	assert.Equal(t, uint64(StackBudget), mod.ExportedGlobal(ExportStack).Get(), "a tail call replaces the frame, it does not stack it")
}

// TestRecursionOverdrawsTheStackBudget: an endless recursion traps on the
// budget, leaving it negative (how the host tells the reason).
func TestRecursionOverdrawsTheStackBudget(t *testing.T) {
	mod, _ := exitsRuntime(t, true, 1<<30)
	_, err := mod.ExportedFunction("deep").Call(context.Background(), 1)
	require.ErrorContains(t, err, "unreachable")
	assert.Negative(t, int32(uint32(mod.ExportedGlobal(ExportStack).Get())))
}

// TestGrowIsChargedByTheMemoryCopied: memory.grow costs fuel by the size
// of the memory after it.
func TestGrowIsChargedByTheMemoryCopied(t *testing.T) {
	mod, _ := exitsRuntime(t, true, 1<<30)
	fuel := mod.ExportedGlobal(ExportFuel)
	before := int32(uint32(fuel.Get()))
	_, err := mod.ExportedFunction("grow").Call(context.Background(), 3)
	require.NoError(t, err)
	spent := before - int32(uint32(fuel.Get()))
	assert.GreaterOrEqual(t, spent, int32((1+3)<<(16-BulkShift)), "four pages after the grow")
	assert.Less(t, spent, int32((1+3)<<(16-BulkShift))+16)
}
