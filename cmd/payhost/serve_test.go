package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/docs"
	"github.com/payhost/payhost/host/config"
	"github.com/payhost/payhost/internal/testwasm"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// Secrets of the serve tests, handed to payhost through its environment.
var serveEnv = map[string]string{
	"HAOTIAN_SECRET": sim.DefaultMerchant.Secret,
	"ACME_API_KEY":   "acme-api-key-0123456789abcdef",
	"GLOBEX_API_KEY": "globex-api-key-0123456789abcdef",
	"ADMIN_TOKEN":    "admin-token-0123456789abcdef",
}

// syncBuffer is an output the server writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gateway is the Haotian simulator behind an httptest server that can hold
// a create-payment request (to test shutdown with a request in flight).
type gateway struct {
	sim     *sim.Server
	srv     *httptest.Server
	hold    atomic.Bool
	arrived chan struct{}
}

func newGateway(t *testing.T) *gateway {
	cfg := sim.DefaultConfig()
	cfg.NotifySchedule = []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}
	g := &gateway{sim: sim.New(cfg), arrived: make(chan struct{}, 1)}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.hold.Load() && r.URL.Path == "/api/pay/unifiedOrder" {
			g.arrived <- struct{}{}
			time.Sleep(time.Second)
		}
		g.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { g.srv.Close(); g.sim.Close() })
	return g
}

// serveConfig writes testdata/serve/payhost.yaml, filled in, and the rule
// file into a temp dir; it returns the config path.
func serveConfig(t *testing.T, simURL string) string {
	t.Helper()
	wasm := testwasm.Build(t, "plugins/haotian/wasm")
	mod, err := os.ReadFile(wasm)
	require.NoError(t, err)
	sum := sha256.Sum256(mod)
	dir := t.TempDir()
	rules, err := os.ReadFile("testdata/serve/rules.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644))
	tmpl, err := os.ReadFile("testdata/serve/payhost.yaml")
	require.NoError(t, err)
	vars := map[string]string{"DB": filepath.Join(dir, "payhost.db"), "WASM": wasm, "WASM_SHA256": hex.EncodeToString(sum[:]),
		"SIM_URL": simURL, "RULES": filepath.Join(dir, "rules.yaml"), "AUDIT": filepath.Join(dir, "audit.jsonl"),
		"CACHE_DIR": testwasm.CacheDir()}
	filled := os.Expand(string(tmpl), func(k string) string {
		v, ok := vars[k]
		require.True(t, ok, "unknown placeholder %s", k)
		return v
	})
	path := filepath.Join(dir, "payhost.yaml")
	require.NoError(t, os.WriteFile(path, []byte(filled), 0o644))
	return path
}

// running is a `payhost serve` started in-process.
type running struct {
	url            string
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

func startServe(t *testing.T, path string, env map[string]string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		r.done <- run(ctx, &cmdEnv{stdout: r.stdout, stderr: r.stderr, getenv: func(k string) string { return env[k] }},
			[]string{"serve", "--config", path})
	}()
	deadline := time.After(2 * time.Minute)
	for r.url == "" {
		select {
		case code := <-r.done:
			cancel()
			t.Fatalf("payhost serve exited with %d:\n%s", code, r.stderr.String())
		case <-deadline:
			cancel()
			t.Fatalf("payhost serve did not start:\n%s", r.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if line, _, ok := strings.Cut(r.stdout.String(), "\n"); ok {
			var rd ready
			require.NoError(t, json.Unmarshal([]byte(line), &rd), "ready line %q", line)
			require.True(t, rd.Ready)
			r.url = rd.URL
		}
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("payhost serve did not stop")
		}
	})
	return r
}

// stop cancels the server (as SIGTERM does) and returns its exit code.
func (r *running) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		r.done <- code // for the cleanup
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("payhost serve did not stop")
		return -1
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(a.body, &m), "%s", a.body)
	return m
}

func call(t *testing.T, method, url, token, idem, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestServeEndToEnd runs `payhost serve` on a config pointing at a Haotian
// simulator, with the wasm plugin: a payment over HTTP, paid by the
// simulated payer, settled by the notification the simulator posts to
// /v1/notify/main, refunded, and both read back.
func TestServeEndToEnd(t *testing.T) {
	gw := newGateway(t)
	srv := startServe(t, serveConfig(t, gw.srv.URL), serveEnv)
	acme, globex, admin := serveEnv["ACME_API_KEY"], serveEnv["GLOBEX_API_KEY"], serveEnv["ADMIN_TOKEN"]

	r := call(t, "GET", srv.url+"/readyz", "", "", "")
	require.Equal(t, 200, r.status, "%s", r.body)

	r = call(t, "POST", srv.url+"/v1/payments", acme, "order-1001-create",
		`{"amount":10000,"currency":"CNY","method":"alipay.qr","merchant_order_id":"order-1001","description":"Tea","metadata":{"cart":"42"}}`)
	require.Equal(t, 201, r.status, "%s", r.body)
	p := r.obj(t)
	id := p["id"].(string)
	assert.Equal(t, "processing", p["status"])
	assert.Equal(t, "haotian/main/alipay.qr", p["channel"])
	assert.Equal(t, "payer", p["pending_reason"])
	dec := p["decision"].(map[string]any)
	assert.Equal(t, float64(38), dec["fee"], "the alipay-fee rule")
	assert.Equal(t, "manual", dec["split_mode"], "acme is a franchise tenant")
	require.NotNil(t, p["pay_info"])

	require.NoError(t, gw.sim.Pay(p["provider_payment_id"].(string)))
	eventually(t, "the notification to settle the payment", func() bool {
		return call(t, "GET", srv.url+"/v1/payments/"+id, acme, "", "").obj(t)["status"] == "succeeded"
	})
	notes := gw.sim.Notifications()
	require.NotEmpty(t, notes)
	assert.Equal(t, srv.url+"/v1/notify/main", notes[0].URL)
	eventually(t, "the simulator to see the acknowledgement", func() bool {
		n := gw.sim.Notifications()[0]
		return n.Delivered && n.LastBody == "SUCCESS"
	})

	r = call(t, "POST", srv.url+"/v1/payments/"+id+"/refunds", acme, "order-1001-refund-1", `{"amount":2500,"reason":"one cup broken"}`)
	require.Equal(t, 201, r.status, "%s", r.body)
	refID := r.obj(t)["id"].(string)
	eventually(t, "the refund to succeed", func() bool {
		return call(t, "GET", srv.url+"/v1/refunds/"+refID, acme, "", "").obj(t)["status"] == "succeeded"
	})

	got := call(t, "GET", srv.url+"/v1/payments/"+id+"?refresh=true", acme, "", "")
	require.Equal(t, 200, got.status, "%s", got.body)
	pay := got.obj(t)
	assert.Equal(t, "succeeded", pay["status"])
	assert.Equal(t, float64(2500), pay["refunded_amount"])
	assert.NotEmpty(t, pay["paid_at"])
	refunds := pay["refunds"].([]any)
	require.Len(t, refunds, 1)
	assert.Equal(t, refID, refunds[0].(map[string]any)["id"])
	ref := call(t, "GET", srv.url+"/v1/refunds/"+refID, acme, "", "").obj(t)
	assert.Equal(t, id, ref["payment_id"])
	assert.Equal(t, float64(2500), ref["amount"])

	// another tenant sees nothing, and moves nothing out of main (tenants[1] has no payouts)
	assert.Equal(t, 404, call(t, "GET", srv.url+"/v1/payments/"+id, globex, "", "").status)
	assert.Equal(t, 404, call(t, "GET", srv.url+"/v1/refunds/"+refID, globex, "", "").status)
	steal := call(t, "POST", srv.url+"/v1/payouts", globex, "steal-1",
		`{"account":"main","kind":"transfer","amount":950000,"currency":"CNY","destination":{"kind":"alipay","account_no":"2088102175953034","account_name":"x"}}`)
	assert.Equal(t, 403, steal.status, "%s", steal.body)
	assert.Contains(t, string(steal.body), `"code":"forbidden"`)

	// operations
	r = call(t, "GET", srv.url+"/admin/plugins", admin, "", "")
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), `"transport":"wasm"`)
	r = call(t, "GET", srv.url+"/openapi.json", "", "", "")
	assert.Equal(t, docs.OpenAPI, r.body)
	metrics := string(call(t, "GET", srv.url+"/metrics", "", "", "").body)
	for _, want := range []string{
		`payhost_http_requests_total{method="POST",route="/v1/payments",status="201"} 1`,
		`payhost_http_requests_total{method="POST",route="/v1/notify/{account}",status="200"}`,
		`payhost_provider_calls_total{account="main",op="payment.create",outcome="ok",plugin="haotian"} 1`,
		`payhost_plugin_instances{plugin="haotian",state="idle"}`,
		`payhost_rule_reloads_total{outcome="activated"} 1`,
		"# TYPE payhost_store_commits_total counter",
		"# TYPE payhost_store_statements_total counter",
	} {
		assert.Contains(t, metrics, want)
	}
	assert.NotContains(t, metrics, "payhost_store_commits_total 0\n", "payments and refunds were committed")

	require.Equal(t, 0, srv.stop(t))
	logs := srv.stderr.String()
	assert.Contains(t, logs, `"msg":"request"`)
	assert.Contains(t, logs, `"msg":"payhost stopped"`)
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		assert.True(t, json.Valid([]byte(line)), "log line is not JSON: %s", line)
	}
	for name, secret := range serveEnv {
		assert.NotContains(t, logs, secret, "%s leaked into the log", name)
	}
}

// TestServeGracefulShutdown: SIGTERM (ctx cancelled) while a payment is
// being created: the request finishes, then the server stops accepting and
// exits 0.
func TestServeGracefulShutdown(t *testing.T) {
	gw := newGateway(t)
	srv := startServe(t, serveConfig(t, gw.srv.URL), serveEnv)
	gw.hold.Store(true)
	result := make(chan answer, 1)
	go func() {
		result <- call(t, "POST", srv.url+"/v1/payments", serveEnv["ACME_API_KEY"], "slow-1",
			`{"amount":1000,"currency":"CNY","method":"wechat.native"}`)
	}()
	select {
	case <-gw.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the create never reached the provider")
	}
	srv.cancel() // as SIGTERM: the request is in flight at the provider
	r := <-result
	assert.Equal(t, 201, r.status, "the in-flight request finished: %s", r.body)
	assert.Equal(t, 0, srv.stop(t))
	_, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.url, "http://"), time.Second)
	assert.Error(t, err, "the server still accepts connections")
	assert.Contains(t, srv.stderr.String(), "shutting down")
}

// TestServeRulesAdmin drives the real rules holder through the admin API:
// a refused file lists file:line and rule, a dry run changes nothing, an
// activation and a rollback are audited and counted.
func TestServeRulesAdmin(t *testing.T) {
	gw := newGateway(t)
	cfgPath := serveConfig(t, gw.srv.URL)
	srv := startServe(t, cfgPath, serveEnv)
	admin := serveEnv["ADMIN_TOKEN"]
	post := func(query, body string) answer {
		req, err := http.NewRequest("POST", srv.url+"/admin/rules"+query, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/yaml")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{status: resp.StatusCode, body: b}
	}
	status := call(t, "GET", srv.url+"/admin/rules", admin, "", "").obj(t)
	active := status["active"].(map[string]any)
	first := active["hash"].(string)
	assert.Equal(t, filepath.Join(filepath.Dir(cfgPath), "rules.yaml"), active["source"])
	assert.NotEmpty(t, active["loaded_at"])

	orig, err := os.ReadFile("testdata/serve/rules.yaml")
	require.NoError(t, err)
	broken := strings.Replace(string(orig), `when: method in ["alipay.qr", "alipay.barcode"]`, `when: methd == "alipay.qr"`, 1)
	for _, q := range []string{"", "?dry_run=true"} {
		r := post(q, broken)
		require.Equal(t, 400, r.status, "%s", r.body)
		var eb struct {
			Error  map[string]any   `json:"error"`
			Issues []map[string]any `json:"issues"`
		}
		require.NoError(t, json.Unmarshal(r.body, &eb))
		require.NotEmpty(t, eb.Issues)
		assert.Equal(t, "admin", eb.Issues[0]["file"])
		assert.Equal(t, float64(9), eb.Issues[0]["line"])
		assert.Equal(t, "alipay-fee", eb.Issues[0]["rule_id"])
		assert.Contains(t, eb.Error["message"], `admin:9:`)
	}

	cheaper := strings.Replace(string(orig), `rate: "0.0038"`, `rate: "0.0030"`, 1)
	cheaper = strings.Replace(cheaper, "fee: 38", "fee: 30", 1)
	r := post("?dry_run=true", cheaper)
	require.Equal(t, 200, r.status, "%s", r.body)
	dry := r.obj(t)
	assert.Equal(t, true, dry["dry_run"])
	assert.Equal(t, true, dry["changed"])
	assert.Equal(t, first, dry["previous_hash"])
	assert.Equal(t, float64(2), dry["ruleset"].(map[string]any)["tests"].(map[string]any)["passed"])
	assert.Equal(t, first, call(t, "GET", srv.url+"/admin/rules", admin, "", "").obj(t)["active"].(map[string]any)["hash"])

	r = post("", cheaper)
	require.Equal(t, 200, r.status, "%s", r.body)
	second := r.obj(t)["ruleset"].(map[string]any)["hash"].(string)
	assert.NotEqual(t, first, second)
	p := call(t, "POST", srv.url+"/v1/payments", serveEnv["GLOBEX_API_KEY"], "after-activation",
		`{"amount":10000,"currency":"CNY","method":"alipay.qr"}`).obj(t)
	assert.Equal(t, second, p["decision"].(map[string]any)["ruleset_hash"])
	assert.Equal(t, float64(30), p["decision"].(map[string]any)["fee"])

	r = call(t, "POST", srv.url+"/admin/rules/rollback", admin, "", "")
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, first, r.obj(t)["ruleset"].(map[string]any)["hash"])

	metrics := string(call(t, "GET", srv.url+"/metrics", "", "", "").body)
	assert.Contains(t, metrics, `payhost_rule_reloads_total{outcome="activated"} 2`)
	assert.Contains(t, metrics, `payhost_rule_reloads_total{outcome="refused"} 1`)
	assert.Contains(t, metrics, `payhost_rule_reloads_total{outcome="rolled_back"} 1`)
	assert.Contains(t, metrics, `payhost_rules_active_info{hash="`+first+`"} 1`)

	audit, err := os.ReadFile(filepath.Join(filepath.Dir(cfgPath), "audit.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 4, strings.Count(string(audit), "\n"), "activation at start, refusal, activation, rollback:\n%s", audit)
}

// TestServeWatchesRules: with rules.watch, an edit of the rule file is
// activated; a broken edit is refused and the old rules keep serving.
func TestServeWatchesRules(t *testing.T) {
	gw := newGateway(t)
	cfgPath := serveConfig(t, gw.srv.URL)
	srv := startServe(t, cfgPath, serveEnv)
	admin := serveEnv["ADMIN_TOKEN"]
	hash := func() string {
		return call(t, "GET", srv.url+"/admin/rules", admin, "", "").obj(t)["active"].(map[string]any)["hash"].(string)
	}
	first := hash()
	file := filepath.Join(filepath.Dir(cfgPath), "rules.yaml")
	orig, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte("this: [is not a rule file\n"), 0o644))
	eventually(t, "the broken edit to be refused", func() bool {
		return call(t, "GET", srv.url+"/admin/rules", admin, "", "").obj(t)["failures"] == float64(1)
	})
	assert.Equal(t, first, hash())
	require.NoError(t, os.WriteFile(file, append(orig, []byte("# edited\n")...), 0o644))
	eventually(t, "the edit to be activated", func() bool { return hash() != first })
}

func TestServeErrors(t *testing.T) {
	gw := newGateway(t)
	good := serveConfig(t, gw.srv.URL)
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	variant := func(t *testing.T, from, to string) string {
		require.Contains(t, string(data), from)
		path := filepath.Join(t.TempDir(), "payhost.yaml")
		require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), from, to, 1)), 0o644))
		return path
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	brokenRules := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(brokenRules, []byte("version: 1\ndefault_route:\n  channel: haotian/nobody/*\n"), 0o644))

	tests := []struct {
		name   string
		args   func(t *testing.T) []string
		env    map[string]string
		code   int
		want   string
		secret string
	}{
		{"no config", func(*testing.T) []string { return nil }, serveEnv, 2, "usage: payhost serve --config FILE", ""},
		{"extra argument", func(*testing.T) []string { return []string{"--config", good, "now"} }, serveEnv, 2, "usage", ""},
		{"missing file", func(t *testing.T) []string { return []string{"--config", filepath.Join(t.TempDir(), "nope.yaml")} }, serveEnv, 1, "no such file", ""},
		{"unknown key", func(t *testing.T) []string { return []string{"--config", variant(t, "server:", "servr: {}\nserver:")} }, serveEnv, 1,
			"servr: unknown key", ""},
		{"inline secret", func(t *testing.T) []string {
			return []string{"--config", variant(t, "admin_token: env:ADMIN_TOKEN", "admin_token: inline-admin-token-0123456789")}
		}, serveEnv, 1, "admin_token: secrets are given as env:NAME or file:PATH", "inline-admin-token-0123456789"},
		{"unset secret", func(*testing.T) []string { return []string{"--config", good} },
			map[string]string{"HAOTIAN_SECRET": "x", "GLOBEX_API_KEY": serveEnv["GLOBEX_API_KEY"], "ADMIN_TOKEN": serveEnv["ADMIN_TOKEN"]}, 1,
			"tenants[0].api_keys[0]: env:ACME_API_KEY: the environment variable is empty or unset", serveEnv["ADMIN_TOKEN"]},
		{"unset account key", func(*testing.T) []string { return []string{"--config", good} },
			map[string]string{"ACME_API_KEY": serveEnv["ACME_API_KEY"], "GLOBEX_API_KEY": serveEnv["GLOBEX_API_KEY"], "ADMIN_TOKEN": serveEnv["ADMIN_TOKEN"]}, 1,
			"account main: key app_secret: env:HAOTIAN_SECRET: the environment variable is empty or unset", serveEnv["ADMIN_TOKEN"]},
		{"missing key file", func(t *testing.T) []string {
			return []string{"--config", variant(t, "app_secret: env:HAOTIAN_SECRET", "app_secret: file:"+filepath.Join(t.TempDir(), "haotian.key"))}
		}, serveEnv, 1, "account main: key app_secret: file:", ""},
		{"private endpoint without allow_private", func(t *testing.T) []string {
			return []string{"--config", variant(t, "allow_private: true", "allow_private: false")}
		}, serveEnv, 1, "accounts[0].endpoints.gateway.url: address 127.0.0.1 is not allowed: loopback (127.0.0.0/8); set allow_private to reach it", ""},
		{"address in use", func(t *testing.T) []string {
			return []string{"--config", variant(t, "127.0.0.1:0", busy.Addr().String())}
		},
			serveEnv, 1, "listen on " + busy.Addr().String(), ""},
		{"wrong plugin hash", func(t *testing.T) []string {
			return []string{"--config", variant(t, "sha256: ", "sha256: "+strings.Repeat("0", 64)+"\n    # was: ")}
		}, serveEnv, 1, "sha", ""},
		{"rules refused", func(t *testing.T) []string {
			return []string{"--config", variant(t, "file: "+filepath.Join(filepath.Dir(good), "rules.yaml"), "file: "+brokenRules)}
		}, serveEnv, 1, brokenRules + ":3:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmdEnv(t, tt.env, append([]string{"serve"}, tt.args(t)...)...)
			assert.Equal(t, tt.code, code, errOut)
			assert.Contains(t, errOut, tt.want)
			assert.NotContains(t, out, `"ready":true`)
			if tt.secret != "" {
				assert.NotContains(t, errOut, tt.secret)
			}
		})
	}
}

// TestServeExampleConfig starts the server from examples/payhost.yaml with
// examples/rules.yaml and examples/catalogue.yaml, changing only what a
// test must: the plugin file (built here), the database, the audit log
// and the address.
func TestServeExampleConfig(t *testing.T) {
	cfg, err := config.Load("../../examples/payhost.yaml", config.Options{})
	require.NoError(t, err)
	dir := t.TempDir()
	cfg.Plugins[0].Path = testwasm.Build(t, "plugins/haotian/wasm")
	cfg.Store.Path = filepath.Join(dir, "payhost.db")
	cfg.Rules.AuditLog = filepath.Join(dir, "audit.jsonl")
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Wasm.CacheDir = testwasm.CacheDir()
	env := map[string]string{"HAOTIAN_APP_SECRET": "EWEFD123RGSRETYDFNGFGFGSHDFGH", "ACME_API_KEY": "acme-0123456789abcdef",
		"GLOBEX_API_KEY": "globex-0123456789abcdef", "ADMIN_TOKEN": "admin-0123456789abcdef"}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := startServer(ctx, cfg, &cmdEnv{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }})
	require.NoError(t, err, stderr.String())
	done := make(chan int, 1)
	go func() { done <- s.wait(ctx) }()

	r := call(t, "GET", s.url+"/readyz", "", "", "")
	assert.Equal(t, 200, r.status, "%s", r.body)
	st := call(t, "GET", s.url+"/admin/rules", env["ADMIN_TOKEN"], "", "").obj(t)
	active := st["active"].(map[string]any)
	assert.Equal(t, "Example routing, split and fee rules for hfpay, adapay, haotian and intl", active["description"])
	assert.Contains(t, stdout.String(), `"public_url":"https://pay.example.com"`)

	cancel()
	assert.Equal(t, 0, <-done)
}

// TestServeEnvironmentOverrides: PAYHOST_* variables override the file,
// strictly.
func TestServeEnvironmentOverrides(t *testing.T) {
	gw := newGateway(t)
	path := serveConfig(t, gw.srv.URL)
	defer func(orig func() []string) { environ = orig }(environ)

	environ = func() []string { return []string{"PAYHOST_SERVER__PORT=8080"} }
	code, _, errOut := runCmdEnv(t, serveEnv, "serve", "--config", path)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "PAYHOST_SERVER__PORT: unknown key server.port")

	environ = func() []string {
		return []string{"PAYHOST_LOG__FORMAT=text", "PAYHOST_SERVER__PUBLIC_URL=https://pay.example.org/"}
	}
	srv := startServe(t, path, serveEnv)
	assert.Contains(t, srv.stdout.String(), `"public_url":"https://pay.example.org"`)
	require.Equal(t, 0, srv.stop(t))
	assert.Contains(t, srv.stderr.String(), `level=INFO msg="payhost serving"`)
}
