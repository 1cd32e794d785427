package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/internal/testwasm"
	adapaysim "github.com/payhost/payhost/plugins/adapay/sim"
	haotiansim "github.com/payhost/payhost/plugins/haotian/sim"
)

// startSimulatorsCmd runs `payhost simulators ARGS` in-process and waits
// for its ready line.
func startSimulatorsCmd(t *testing.T, args ...string) (*running, simulatorsReady) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		r.done <- run(ctx, &cmdEnv{stdout: r.stdout, stderr: r.stderr, getenv: func(string) string { return "" }},
			append([]string{"simulators"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("payhost simulators did not stop")
		}
	})
	var rd simulatorsReady
	deadline := time.After(time.Minute)
	for !rd.Ready {
		select {
		case code := <-r.done:
			r.done <- code
			t.Fatalf("payhost simulators exited with %d:\n%s", code, r.stderr.String())
		case <-deadline:
			t.Fatalf("payhost simulators did not start:\n%s", r.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if line, _, ok := strings.Cut(r.stdout.String(), "\n"); ok {
			require.NoError(t, json.Unmarshal([]byte(line), &rd), "the first line is JSON: %q", line)
		}
	}
	return r, rd
}

// TestSimulatorsCommand: `payhost simulators` serves both simulators,
// writes the merchants' keys (owner-only files, never printed) and an
// accounts section that a `payhost serve` in another process runs on; the
// payments that server makes show in each simulator's GET /sim/state.
func TestSimulatorsCommand(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	sims, rd := startSimulatorsCmd(t, "--keys", keys, "--fast")
	assert.Equal(t, haotiansim.DefaultMerchant.MchNo, rd.Haotian.MchNo)
	assert.Equal(t, adapaysim.DefaultMerchantAPIKey, rd.Adapay.APIKey)
	assert.True(t, strings.HasPrefix(rd.Haotian.URL, "http://127.0.0.1:"), rd.Haotian.URL)
	assert.True(t, strings.HasPrefix(rd.Adapay.URL, "http://127.0.0.1:"), rd.Adapay.URL)
	assert.NotEqual(t, rd.Haotian.URL, rd.Adapay.URL)
	for _, ref := range []string{rd.Haotian.AppSecret, rd.Adapay.MerchantPrivate, rd.Adapay.AdapayPublic} {
		path, ok := strings.CutPrefix(ref, "file:")
		require.True(t, ok, "a secret is a file reference: %s", ref)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), path)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.NotContains(t, sims.stdout.String(), strings.TrimSpace(string(b)), "no secret is printed")
	}
	assert.Equal(t, filepath.Join(keys, simAccountsConfig), rd.Accounts)
	assert.Contains(t, sims.stdout.String(), rd.Haotian.URL+"/sim/state")

	// a payhost serve on the generated accounts, in another "process"
	accounts, err := os.ReadFile(rd.Accounts)
	require.NoError(t, err)
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte(`version: 1
routing:
  - id: alipay-qr-adapay
    when: method == "alipay.qr"
    channel: adapay/app/alipay.qr
default_route:
  channel: haotian/main/*
`), 0o644))
	cfg := string(accounts) + `server:
  addr: 127.0.0.1:0
store:
  driver: sqlite
  path: ` + quoteYAML(filepath.Join(dir, "payhost.db")) + `
plugins:
  - path: ` + quoteYAML(testwasm.Build(t, "plugins/haotian/wasm")) + `
  - path: ` + quoteYAML(testwasm.Build(t, "plugins/adapay/wasm")) + `
wasm:
  cache_dir: ` + quoteYAML(testwasm.CacheDir()) + `
tenants:
  - name: shop
    api_keys: [env:SHOP_KEY]
    accounts: [main, app]
rules:
  file: ` + quoteYAML(rules) + `
poll:
  interval: 100ms
  first: 200ms
`
	path := filepath.Join(dir, "payhost.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	srv := startServe(t, path, map[string]string{"SHOP_KEY": "sk_shop_0123456789"})

	bar := call(t, http.MethodPost, srv.url+"/v1/payments", "sk_shop_0123456789", "k-bar",
		`{"amount":1200,"currency":"CNY","method":"wechat.barcode","payer":{"auth_code":"134567890123456789"}}`)
	require.Equal(t, http.StatusCreated, bar.status, "%s", bar.body)
	assert.Equal(t, "succeeded", bar.obj(t)["status"], "%s", bar.body)
	qr := call(t, http.MethodPost, srv.url+"/v1/payments", "sk_shop_0123456789", "k-qr",
		`{"amount":800,"currency":"CNY","method":"alipay.qr"}`)
	require.Equal(t, http.StatusCreated, qr.status, "%s", qr.body)
	assert.Equal(t, "adapay/app/alipay.qr", qr.obj(t)["channel"])

	var hs haotiansim.State
	getJSON(t, rd.Haotian.URL+"/sim/state", &hs)
	require.Len(t, hs.Orders, 1)
	assert.Equal(t, bar.obj(t)["id"], hs.Orders[0].MchOrderNo)
	assert.Equal(t, int64(1200), hs.Orders[0].Amount)
	var as adapaysim.State
	getJSON(t, rd.Adapay.URL+"/sim/state", &as)
	require.Len(t, as.Payments, 1)
	assert.Equal(t, qr.obj(t)["id"], as.Payments[0].OrderNo)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NoError(t, json.NewDecoder(res.Body).Decode(v))
}

func TestSimulatorsBadFlags(t *testing.T) {
	code, _, stderr := runCmd(t, "simulators", "extra")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "usage: payhost simulators")
	code, _, stderr = runCmd(t, "simulators", "--haotian", "256.0.0.1:1", "--keys", t.TempDir())
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "haotian simulator")
	code, _, stderr = runCmd(t, "simulators", "--latency", "-1ms", "--keys", t.TempDir())
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--latency must not be negative")
	code, _, _ = runCmd(t, "simulators", "--latency", "fast", "--keys", t.TempDir())
	assert.Equal(t, 2, code)
}

// TestSimulatorsLatency: with --latency, each simulator answers no sooner
// than that after the request.
func TestSimulatorsLatency(t *testing.T) {
	const latency = 50 * time.Millisecond
	_, rd := startSimulatorsCmd(t, "--keys", filepath.Join(t.TempDir(), "keys"), "--latency", latency.String())
	for _, url := range []string{rd.Haotian.URL, rd.Adapay.URL} {
		start := time.Now()
		res, err := http.Get(url + "/sim/state")
		require.NoError(t, err)
		_ = res.Body.Close()
		took := time.Since(start)
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.GreaterOrEqual(t, took, latency, url)
	}
}

// TestDelayedSideBySide: requests wait out the latency side by side, not
// one after the other: every request is inside its wait before any is
// let through; a request whose wait was cut short gets no answer.
func TestDelayedSideBySide(t *testing.T) {
	const n = 4
	entered, release := make(chan struct{}, n), make(chan struct{})
	wait := func(ctx context.Context, d time.Duration) bool {
		assert.Equal(t, time.Minute, d)
		entered <- struct{}{}
		select {
		case <-release:
			return true
		case <-ctx.Done():
			return false
		}
	}
	h := delayed(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }), time.Minute, wait)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	codes := make(chan int, n)
	for range n {
		go func() {
			res, err := http.Get(srv.URL)
			if err != nil {
				codes <- 0
				return
			}
			_ = res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	for i := range n {
		select {
		case <-entered:
		case <-time.After(time.Minute):
			t.Fatalf("only %d of %d requests are waiting: they wait one after the other", i, n)
		}
	}
	close(release)
	for range n {
		assert.Equal(t, http.StatusOK, <-codes)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, sleep(cancelled, time.Hour), "a cancelled request stops waiting")
	assert.True(t, sleep(context.Background(), time.Millisecond))
	rec := httptest.NewRecorder()
	delayed(http.NotFoundHandler(), 0, func(context.Context, time.Duration) bool {
		t.Error("no latency: no wait")
		return false
	}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}
