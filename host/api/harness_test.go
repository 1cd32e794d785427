package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// Test credentials.
const (
	keyAcme    = "acme-key-0123456789abcdef"
	keyGlobex  = "globex-key-0123456789abcdef"
	keyInitech = "initech-key-0123456789abcdef"
	adminTok   = "admin-token-0123456789abcdef"
)

// testDecider routes every payment to haotian/main with its own method,
// like a default route, and refuses methods the account does not serve as
// the rules do (unsupported).
type testDecider struct{ h *host.Host }

func (d testDecider) Decide(_ context.Context, tx core.Transaction) (core.Decision, error) {
	var channels []core.Channel
	for _, account := range []string{"main", "side"} { // side: the tenancy tests' second account
		c := core.Channel{Plugin: haotian.Name, Account: account, Method: tx.Method}
		if _, ok := d.h.LookupChannel(c); ok {
			channels = append(channels, c)
		}
	}
	if len(channels) == 0 {
		return core.Decision{}, &core.Error{Code: core.CodeUnsupported, Message: "rules: no eligible channel for " + string(tx.Method)}
	}
	fee := tx.Amount / 100
	dec := core.Decision{RulesetHash: "0123456789abcdef", Amount: tx.Amount, Fee: fee, Channels: channels,
		SplitMode: core.SplitNone, Splits: []core.Share{{Receiver: core.MerchantReceiver, Amount: tx.Amount - fee}},
		Matched: []core.RuleMatch{{Kind: "routing", RuleID: "default"}}}
	if tx.Metadata["split"] == "manual" { // like a split rule of mode manual: 10% to "platform"
		part := (tx.Amount - fee) / 10
		dec.SplitMode, dec.Splits = core.SplitManual, []core.Share{{Receiver: "platform", Amount: part}, {Receiver: core.MerchantReceiver, Amount: tx.Amount - fee - part}}
	}
	return dec, nil
}

// syncBuffer is a log sink tests read while the server writes.
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

// env is an API server on a real engine (SQLite in memory, the native
// Haotian plugin) against a Haotian simulator.
type env struct {
	sim   *sim.Server
	gw    *httptest.Server
	srv   *httptest.Server
	api   *Server
	host  *host.Host
	logs  *syncBuffer
	rules *fakeRules
	seq   atomic.Int64
}

type envOptions struct {
	noDecider bool
	// tenancy adds account "side" (the same simulator) and tenant initech:
	// acme uses and pays out of main, globex side, initech uses main and
	// pays out of nothing.
	tenancy bool
	// store replaces the in-memory SQLite store (the test closes it).
	store store.Store
	// gateway wraps the simulator's handler (to act while a provider call
	// is in flight).
	gateway func(http.Handler) http.Handler
	// engine changes the engine's configuration.
	engine func(*host.Config)
}

func newEnv(t testing.TB, opts ...envOptions) *env {
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	cfg := sim.DefaultConfig()
	cfg.NotifySchedule = []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond}
	s := sim.New(cfg)
	var gwh http.Handler = s
	if o.gateway != nil {
		gwh = o.gateway(s)
	}
	gw := httptest.NewServer(gwh)
	st := o.store
	if st == nil {
		var err error
		st, err = sqlstore.OpenSQLite(ctx, ":memory:")
		require.NoError(t, err)
	}
	srv := httptest.NewUnstartedServer(nil)
	publicURL := "http://" + srv.Listener.Addr().String()

	logs := &syncBuffer{}
	red := caps.NewRedactor()
	for _, k := range []string{keyAcme, keyGlobex, keyInitech, adminTok} {
		red.AddSecret(k)
	}
	log := slog.New(red.Handler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	metrics, err := NewMetrics(nil)
	require.NoError(t, err)
	keys := caps.NewKeyStore(red).WithEnv(func(k string) string {
		if k == "HAOTIAN_SECRET" {
			return sim.DefaultMerchant.Secret
		}
		return ""
	})
	haotianAccount := func(name string) host.AccountConfig {
		return host.AccountConfig{Name: name, Plugin: haotian.Name,
			Endpoints: map[string]caps.EndpointConfig{"gateway": {URL: gw.URL, AllowPrivate: true, Timeout: 5 * time.Second}},
			Keys:      map[string]string{"app_secret": "env:HAOTIAN_SECRET"},
			Config:    map[string]string{"mch_no": sim.DefaultMerchant.MchNo, "app_id": sim.DefaultMerchant.AppID},
			Methods:   []core.Method{core.MethodAlipayQR, core.MethodWechatNative, core.MethodAlipayBarcode, core.MethodCashier}}
	}
	hc := host.Config{
		Store:     st,
		Plugins:   []host.PluginConfig{{Native: haotian.New()}},
		PublicURL: publicURL,
		Keys:      keys,
		Logger:    log,
		Observer:  metrics,
		Poll:      host.PollConfig{Disabled: true},
		Webhooks:  host.WebhookConfig{Disabled: true}, // nothing is delivered: the tests' endpoint URLs are not dialled
		Accounts:  []host.AccountConfig{haotianAccount("main")},
		Tenants: []host.TenantConfig{{Name: "acme", Accounts: []string{"main"}, Payouts: []string{"main"}},
			{Name: "globex", Accounts: []string{"main"}}},
	}
	tenants := []Tenant{
		{Name: "acme", APIKeys: []string{keyAcme}, MerchantID: "m-acme", Tags: []string{"franchise"}},
		{Name: "globex", APIKeys: []string{keyGlobex}},
	}
	if o.tenancy {
		hc.Accounts = append(hc.Accounts, haotianAccount("side"))
		hc.Tenants = []host.TenantConfig{{Name: "acme", Accounts: []string{"main"}, Payouts: []string{"main"}},
			{Name: "globex", Accounts: []string{"side"}, Payouts: []string{"side"}},
			{Name: "initech", Accounts: []string{"main"}}}
		tenants = append(tenants, Tenant{Name: "initech", APIKeys: []string{keyInitech}})
	}
	if o.engine != nil {
		o.engine(&hc)
	}
	h, err := host.New(ctx, hc)
	require.NoError(t, err)
	if !o.noDecider {
		h.SetDecider(testDecider{h})
	}
	fr := newFakeRules()
	a, err := New(Config{Host: h, Rules: fr, AdminToken: adminTok, Logger: log, Metrics: metrics, OpenAPI: []byte(`{"openapi":"3.0.3"}`),
		Tenants: tenants})
	require.NoError(t, err)
	srv.Config.Handler = a
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		gw.Close()
		s.Close()
		require.NoError(t, h.Close(ctx))
		if o.store == nil {
			require.NoError(t, st.Close())
		}
	})
	return &env{sim: s, gw: gw, srv: srv, api: a, host: h, logs: logs, rules: fr}
}

// response is a decoded API answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

func (r response) errorObj(t testing.TB) map[string]any {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	require.True(t, ok, "no error object in %s", r.body)
	return e
}

// req is one request to the API.
type req struct {
	method, path string
	body         string
	key          string            // bearer token; "" sends none
	idem         string            // Idempotency-Key; "" sends none
	ctype        string            // Content-Type; "" = application/json when there is a body
	header       map[string]string // more headers
}

func (e *env) do(t testing.TB, r req) response {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, body)
	require.NoError(t, err)
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	if r.idem != "" {
		hr.Header.Set("Idempotency-Key", r.idem)
	}
	switch {
	case r.ctype != "":
		hr.Header.Set("Content-Type", r.ctype)
	case r.body != "":
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(hr)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// key returns a fresh idempotency key.
func (e *env) key() string {
	return "k-" + time.Now().Format("150405.000000") + "-" + itoa(e.seq.Add(1))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// createPayment creates a payment for a tenant and returns it decoded.
func (e *env) createPayment(t testing.TB, tenantKey, body string) map[string]any {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/payments", key: tenantKey, idem: e.key(), body: body})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	return r.json(t)
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// fakeRules is a RulesAdmin with one file format: a list of rule ids, one
// per line ("routing:id"); a line "bad" is refused at its line.
type fakeRules struct {
	mu      sync.Mutex
	active  *RulesetInfo
	history []*RulesetInfo
	st      RulesStatus
}

func newFakeRules() *fakeRules {
	f := &fakeRules{}
	info, err := f.load("rules.yaml", []byte("routing:default\nfee:std\n"))
	if err != nil {
		panic(err)
	}
	f.active = info
	f.st.Successes = 1
	return f
}

func (f *fakeRules) load(source string, data []byte) (*RulesetInfo, error) {
	info := &RulesetInfo{Hash: "h-" + strings.ReplaceAll(strings.TrimSpace(string(data)), "\n", "|"), Source: source, Rules: []RuleRef{}}
	var refused RulesRefused
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		kind, id, ok := strings.Cut(line, ":")
		if !ok {
			refused.Issues = append(refused.Issues, RuleIssue{File: source, Line: i + 1, Column: 1, Kind: "routing", RuleID: line,
				Message: "not kind:id", Text: source + ":" + itoa(int64(i+1)) + ":1: routing rule \"" + line + "\": not kind:id"})
			continue
		}
		info.Rules = append(info.Rules, RuleRef{Kind: kind, ID: id})
	}
	if len(refused.Issues) > 0 {
		return nil, &refused
	}
	info.Tests = &RulesTests{Passed: 1, RulesHit: len(info.Rules), RulesTotal: len(info.Rules),
		Results: []RulesTestResult{{Name: "t1", Line: 1, Passed: true}}}
	return info, nil
}

func (f *fakeRules) Status() RulesStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st
	st.Active = f.active
	for i := len(f.history) - 1; i >= 0; i-- {
		st.History = append(st.History, f.history[i].Hash)
	}
	return st
}

func (f *fakeRules) Activate(source string, data []byte) (*RulesetInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info, err := f.load(source, data)
	if err != nil {
		f.st.Failures++
		return nil, err
	}
	if f.active != nil {
		f.history = append(f.history, f.active)
	}
	f.active = info
	f.st.Successes++
	return info, nil
}

func (f *fakeRules) DryRun(source string, data []byte) (*RulesetInfo, error) {
	return f.load(source, data)
}

func (f *fakeRules) Rollback() (*RulesetInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.history) == 0 {
		return nil, ErrNoPreviousRuleset
	}
	f.active = f.history[len(f.history)-1]
	f.history = f.history[:len(f.history)-1]
	f.st.Rollbacks++
	return f.active, nil
}

// serve calls h in-process.
func serve(h http.Handler, method, path, token string) response {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	h.ServeHTTP(rec, r)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}
