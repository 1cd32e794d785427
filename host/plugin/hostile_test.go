package plugin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/caps"
)

// gcPressure runs the garbage collector back to back until stopped: a
// guest that never called into Go would block its stop-the-world, and with
// it every goroutine of the host.
func gcPressure(t *testing.T) (stop func() int64) {
	t.Helper()
	done := make(chan struct{})
	var gcs atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
				gcs.Add(1)
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return gcs.Load()
	}
}

func loadWat(t *testing.T, name string, cfg WasmConfig) (Plugin, error) {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join("testdata", "wat", name+".wasm"))
	require.NoError(t, err, "run `make hostile-wasm` after changing a .wat file")
	cfg.CacheDir = "-"
	return LoadWasm(context.Background(), bin, cfg)
}

// TestHostileModules loads each hand-written module of testdata/wat (the
// .wat source beside each says what it attempts). A module is refused at
// load with a clear error, or its calls end with the canonical error by
// their deadline; meanwhile, and afterwards, another plugin keeps
// answering while the garbage collector runs back to back.
func TestHostileModules(t *testing.T) {
	good := loadHostile(t, WasmConfig{MaxInstances: 2})
	gh := bindHostile(t, good.Manifest(), "http://127.0.0.1:1")
	serving := func(t *testing.T) {
		t.Helper()
		_, err := create(context.Background(), good, gh, "ok")
		require.NoError(t, err, "another plugin stopped answering")
	}

	tests := []struct {
		module string
		load   string // the load error, or "" when the module loads
		code   core.Code
		call   string // what the call's error says
	}{
		{"ok", "", core.CodeDeclined, "no"},
		// The meter is out of reach.
		{"meter_global_write", "invalid module", "", ""},
		{"meter_global_export", "invalid module", "", ""},
		{"meter_call_charge", "invalid module", "", ""},
		{"reserved_export", `reserved prefix "payhost:"`, "", ""},
		// Host memory asked for in one instruction or declaration.
		{"table_grow", "table.grow is not allowed", "", ""},
		{"big_table", "table of 100000000 elements exceeds", "", ""},
		{"tail_call", "invalid module", "", ""},
		// Guest code that runs while loading ends by the deadline.
		{"start_loop", "deadline exceeded", "", ""},
		{"start_recurse", "deadline exceeded", "", ""},
		{"init_loop", "deadline exceeded", "", ""},
		{"abi_loop", "deadline exceeded", "", ""},
		// Guest code that runs in a call ends by the deadline.
		{"call_loop", "", core.CodePluginFailure, "exceeded its deadline"},
		{"call_recurse", "", core.CodePluginFailure, "exceeded its deadline"},
		{"call_memfill", "", core.CodePluginFailure, "exceeded its deadline"},
		{"call_deep", "", core.CodePluginFailure, "call stack over its budget"},
		{"call_big_output", "", core.CodePluginFailure, "output of 15728640 bytes is over the 4194304-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			stopGC := gcPressure(t)
			p, err := loadWat(t, tt.module, WasmConfig{CallTimeout: 300 * time.Millisecond, MaxInstances: 1})
			if tt.load != "" {
				stopGC()
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.load)
				serving(t)
				return
			}
			require.NoError(t, err)
			defer p.Close(context.Background())
			h, err := caps.Bind(p.Manifest(), caps.AccountConfig{Name: "wat"}, caps.Deps{})
			require.NoError(t, err)

			// The hostile call runs while the other plugin serves.
			result := make(chan error, 1)
			go func() {
				_, err := create(context.Background(), p, h, "x")
				result <- err
			}()
			for range 3 {
				serving(t)
			}
			err = <-result
			gcs := stopGC()
			require.Error(t, err)
			assert.Equal(t, tt.code, core.CodeOf(err), err.Error())
			assert.Contains(t, err.Error(), tt.call)
			if strings.Contains(tt.call, "deadline") {
				assert.Positive(t, gcs, "collections ran while the guest ran to its deadline")
			}

			// Again: the instance was replaced and the pool is whole.
			_, err = create(context.Background(), p, h, "x")
			assert.Equal(t, tt.code, core.CodeOf(err))
			st := p.Stats()
			assert.LessOrEqual(t, st.InUse+st.Idle, 1, "the pool stays bounded")
			serving(t)
		})
	}
}

// TestWatSourcesMatch: every committed module is what its .wat source
// builds to, as `make hostile-wasm` builds it. It needs wabt's wat2wasm,
// which `make hostile-wasm` installs; without it the test is skipped.
func TestWatSourcesMatch(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm is not installed (`make hostile-wasm` installs wabt)")
	}
	sources, err := filepath.Glob("testdata/wat/*.wat")
	require.NoError(t, err)
	more, err := filepath.Glob("../internal/wasmguard/testdata/*.wat")
	require.NoError(t, err)
	sources = append(sources, more...)
	require.NotEmpty(t, sources)
	for _, src := range sources {
		t.Run(filepath.Base(src), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.wasm")
			args := []string{"--no-check", src, "-o", out}
			if base := filepath.Base(src); base == "tail_call.wat" || base == "exits.wat" {
				args = append(args, "--enable-tail-call")
			}
			msg, err := exec.Command(wat2wasm, args...).CombinedOutput()
			require.NoError(t, err, "%s", msg)
			built, err := os.ReadFile(out)
			require.NoError(t, err)
			committed, err := os.ReadFile(strings.TrimSuffix(src, ".wat") + ".wasm")
			require.NoError(t, err)
			assert.Equal(t, built, committed, "run `make hostile-wasm` and commit the result")
		})
	}
}
