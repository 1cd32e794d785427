package plugin

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
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
	"github.com/payhost/payhost/internal/testwasm"
)

func loadHostile(t *testing.T, cfg WasmConfig) Plugin {
	t.Helper()
	cfg.CacheDir = testwasm.CacheDir()
	p, err := LoadWasmFile(context.Background(), testwasm.Build(t, "host/plugin/testdata/hostile"), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func bindHostile(t testing.TB, m core.Manifest, apiURL string) *caps.Binding {
	t.Helper()
	ks := caps.NewKeyStore(nil).WithEnv(func(string) string { return "EWEFD123RGSRETYDFNGFGFGSHDFGH" })
	b, err := caps.Bind(m, caps.AccountConfig{Name: "test", Keys: map[string]string{"secret": "env:SECRET"},
		Endpoints: map[string]caps.EndpointConfig{"api": {URL: apiURL, AllowPrivate: true}}},
		caps.Deps{Keys: ks, Now: func() time.Time { return time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	return b
}

func create(ctx context.Context, p Plugin, h *caps.Binding, subject string) (*core.CreatePaymentResponse, error) {
	return Call[core.CreatePaymentResponse](ctx, p, h, core.OpPaymentCreate, &core.CreatePaymentRequest{
		PaymentID: "pay_1", Amount: 100, Currency: "CNY", Method: core.MethodAlipayQR, Subject: subject, Description: "amount=1"})
}

func TestWasmLoadAndManifest(t *testing.T) {
	p := loadHostile(t, WasmConfig{})
	m := p.Manifest()
	assert.Equal(t, "hostile", m.Name)
	assert.Equal(t, core.ABIVersion, m.ABIVersion)
	assert.Equal(t, []core.Op{core.OpPaymentCreate, core.OpPaymentQuery}, m.Operations, "operations come from the implemented interfaces")
	assert.Equal(t, TransportWasm, p.Transport())
}

// TestHostilePlugins: every misbehaviour is contained, reported with the
// canonical code, and the host keeps serving other calls afterwards.
func TestHostilePlugins(t *testing.T) {
	var mu sync.Mutex
	var received []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received = append(received, r.URL.Path)
		mu.Unlock()
		w.Write([]byte("pong"))
	}))
	defer api.Close()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Errorf("evil host reached: %s", r.URL) }))
	defer evil.Close()

	p := loadHostile(t, WasmConfig{MaxInstances: 2, MemoryLimit: 64 << 20})
	h := bindHostile(t, p.Manifest(), api.URL)

	tests := []struct {
		subject string
		timeout time.Duration
		code    core.Code
		msg     string
	}{
		{"loop", 300 * time.Millisecond, core.CodePluginFailure, "deadline"},
		{"sleep", 300 * time.Millisecond, core.CodePluginFailure, "deadline"},
		{"alloc", 20 * time.Second, core.CodePluginFailure, "trapped"},
		{"panic", 5 * time.Second, core.CodePluginFailure, "boom"},
		{"crash", 5 * time.Second, core.CodePluginFailure, "trapped"},
		{"exit", 5 * time.Second, core.CodePluginFailure, "trapped"},
		{"error", 5 * time.Second, core.CodeDeclined, "declined on request"},
		{"http:evil|/steal", 5 * time.Second, core.CodeInvalidRequest, `no endpoint "evil"`},
		{"http:api|//" + strings.TrimPrefix(evil.URL, "http://") + "/steal", 5 * time.Second, core.CodeInvalidRequest, "single '/'"},
		{"http-then-loop:api|/pay", 300 * time.Millisecond, core.CodeUnknownOutcome, "after sending a request"},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			_, err := create(ctx, p, h, tt.subject)
			require.Error(t, err)
			assert.Equal(t, tt.code, core.CodeOf(err), err.Error())
			assert.Contains(t, err.Error(), tt.msg)
			assert.Equal(t, "hostile", core.AsError(err).Provider)

			// the host keeps serving
			resp, err := create(context.Background(), p, h, "ok")
			require.NoError(t, err)
			assert.Equal(t, "pay_1", resp.Payment.ID)
		})
	}
	mu.Lock()
	assert.Equal(t, []string{"/pay"}, received)
	mu.Unlock()
	st := p.Stats()
	assert.GreaterOrEqual(t, st.Discards["timeout"], int64(3))
	assert.GreaterOrEqual(t, st.Discards["trap"], int64(3))
	assert.LessOrEqual(t, st.InUse+st.Idle, 2, "the pool stays bounded")
}

// TestLoopUnderGCPressure: compiled wasm cannot be preempted, so a guest
// looping without ever calling into Go would block the garbage collector's
// stop-the-world and freeze the whole host. The fuel check calls into Go,
// so collections proceed and the deadline still stops the loop.
func TestLoopUnderGCPressure(t *testing.T) {
	p := loadHostile(t, WasmConfig{})
	h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
	stop := make(chan struct{})
	var gcs atomic.Int64
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				gcs.Add(1)
			}
		}
	}()
	defer close(stop)
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := create(ctx, p, h, "loop")
		cancel()
		assert.Equal(t, core.CodePluginFailure, core.CodeOf(err))
	}
	assert.Greater(t, gcs.Load(), int64(3), "collections ran while the guest looped")
}

func TestCapabilitiesReachTheGuest(t *testing.T) {
	p := loadHostile(t, WasmConfig{})
	h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
	resp, err := create(context.Background(), p, h, "ok")
	require.NoError(t, err)
	d := resp.Payment.ProviderData
	assert.Equal(t, "hello", d["greeting"], "config default")
	assert.Equal(t, "cached", d["cached"])
	assert.Equal(t, "2026-11-22T08:00:00Z", d["now"], "the host clock, not the guest's")
	assert.Len(t, d["sign"], 32)
}

func TestGuestSeesNoEnvironment(t *testing.T) {
	t.Setenv("PAYHOST_SECRET_PROBE", "should-not-leak")
	p := loadHostile(t, WasmConfig{})
	h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
	resp, err := create(context.Background(), p, h, "env")
	require.NoError(t, err)
	d := resp.Payment.ProviderData
	assert.Empty(t, d["environ"])
	assert.Empty(t, d["args"])
	assert.Empty(t, d["home"])
	assert.Empty(t, d["path"])
	assert.NotEmpty(t, os.Getenv("PATH"), "the host process has an environment the guest does not see")
}

func TestRefusedModules(t *testing.T) {
	tests := []struct {
		pkg  string
		want string
	}{
		{"host/plugin/testdata/forbidden", "forbidden WASI function path_open"},
		{"host/plugin/testdata/socket", "forbidden WASI function sock_accept"},
		{"host/plugin/testdata/noabi", "build it with the pdk"},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			_, err := LoadWasmFile(context.Background(), testwasm.Build(t, tt.pkg), WasmConfig{CacheDir: testwasm.CacheDir()})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	_, err := LoadWasm(context.Background(), []byte("not wasm"), WasmConfig{CacheDir: "-"})
	assert.ErrorContains(t, err, "not a WebAssembly")
}

func TestModuleVerification(t *testing.T) {
	path := testwasm.Build(t, "host/plugin/testdata/hostile")
	_, err := LoadWasmFile(context.Background(), path, WasmConfig{CacheDir: testwasm.CacheDir(), ExpectSHA256: strings.Repeat("0", 64)})
	assert.ErrorContains(t, err, "does not match")
}

func TestConcurrentCallsStayBounded(t *testing.T) {
	p := loadHostile(t, WasmConfig{MaxInstances: 2})
	h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
	var wg sync.WaitGroup
	var failures atomic.Int64
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := create(context.Background(), p, h, "ok"); err != nil {
				failures.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, failures.Load())
	st := p.Stats()
	assert.LessOrEqual(t, st.Instantiations, int64(1+2), "the load's instance, then at most MaxInstances")
	assert.Equal(t, int64(16), st.Calls)
}

func TestRecycleAfterCalls(t *testing.T) {
	p := loadHostile(t, WasmConfig{MaxCallsPerInstance: 3, MaxInstances: 1})
	h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
	for i := 0; i < 7; i++ {
		_, err := create(context.Background(), p, h, "ok")
		require.NoError(t, err)
	}
	assert.Equal(t, int64(2), p.Stats().Discards["calls"])
}

func TestUnsupportedAndWrongTypes(t *testing.T) {
	p := loadHostile(t, WasmConfig{})
	h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
	_, err := p.Invoke(context.Background(), h, core.OpRefundCreate, &core.CreateRefundRequest{})
	assert.Equal(t, core.CodeUnsupported, core.CodeOf(err))
	_, err = p.Invoke(context.Background(), h, core.OpPaymentCreate, &core.CreateRefundRequest{})
	assert.Equal(t, core.CodeInternal, core.CodeOf(err))
}

func TestCloseDrains(t *testing.T) {
	p := loadHostile(t, WasmConfig{Logger: slog.New(slog.DiscardHandler)})
	h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
	require.NoError(t, p.Close(context.Background()))
	_, err := create(context.Background(), p, h, "ok")
	assert.Equal(t, core.CodeProviderUnavailable, core.CodeOf(err))
}

// TestTailBuffer: a guest's stderr keeps only its last bytes, whatever the
// size of one write.
func TestTailBuffer(t *testing.T) {
	for _, writes := range [][]string{
		{"abc", "def"},
		{strings.Repeat("x", 10<<20) + "END"},
		{strings.Repeat("y", 4000), strings.Repeat("z", 200)},
	} {
		b := &tailBuffer{max: 4096}
		all := ""
		for _, w := range writes {
			n, err := b.Write([]byte(w))
			require.NoError(t, err)
			assert.Equal(t, len(w), n)
			all += w
		}
		want := all[max(0, len(all)-4096):]
		assert.Equal(t, want, b.String())
	}
}

// TestPoolGrowsAndShrinks: the pool starts empty, starts instances as
// calls need them (one per account here) and closes those idle for
// IdleTimeout, down to none.
func TestPoolGrowsAndShrinks(t *testing.T) {
	p := loadHostile(t, WasmConfig{IdleTimeout: 50 * time.Millisecond})
	st := p.Stats()
	assert.Zero(t, st.Idle+st.InUse, "instances after the load")
	a := newAccounts(t, p.Manifest(), "a1", "a2", "a3", "a4")
	for _, name := range []string{"a1", "a2", "a3", "a4"} {
		_, err := createWith(t, p, a.byKey[name], "ok", "")
		require.NoError(t, err)
	}
	assert.GreaterOrEqual(t, p.Stats().Instantiations, int64(4), "one instance per account")
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Idle > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st = p.Stats()
	assert.Zero(t, st.Idle, "idle instances are closed")
	assert.GreaterOrEqual(t, st.Discards["idle"], int64(4))
	_, err := createWith(t, p, a.byKey["a4"], "ok", "")
	require.NoError(t, err, "the pool still serves")
}

// TestValidationIsRemembered: a module that passed validation leaves a
// marker in the compilation cache, so a warm load (a restart) skips the
// validation as it skips the compilation; the marker is what is trusted.
func TestValidationIsRemembered(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join("testdata", "wat", "ok.wasm"))
	require.NoError(t, err)
	validated.Clear() // other tests loaded these modules in this process
	require.NoError(t, validate(context.Background(), good, 2048, dir))
	markers, err := filepath.Glob(filepath.Join(dir, "payhost-valid-*"))
	require.NoError(t, err)
	assert.Len(t, markers, 1)

	bad, err := os.ReadFile(filepath.Join("testdata", "wat", "meter_global_write.wasm")) // invalid as written
	require.NoError(t, err)
	require.Error(t, validate(context.Background(), bad, 2048, dir), "validated without a marker")
	validated.Clear()
	key := fmt.Sprintf("%x-%d-%s", sha256.Sum256(bad), 2048, wazeroVersion)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "payhost-valid-"+key), nil, 0o600))
	assert.NoError(t, validate(context.Background(), bad, 2048, dir), "the marker is trusted, like the compiled code beside it")
	validated.Clear()
	assert.Error(t, validate(context.Background(), bad, 2048, "-"), "without a cache, every load validates")
}
