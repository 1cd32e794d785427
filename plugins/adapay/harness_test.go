package adapay_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/internal/testwasm"
	"github.com/payhost/payhost/plugins/adapay"
	"github.com/payhost/payhost/plugins/adapay/sim"
)

// env is one plugin, over one transport, bound to an account of a fresh simulator.
type env struct {
	t      *testing.T
	sim    *sim.Server
	gw     *httptest.Server
	p      plugin.Plugin
	h      *caps.Binding
	notify *recorder
}

// recorder is the merchant's notification endpoint: it keeps every body and
// answers HTTP 200.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	taken  map[int]bool // bodies returned by waitType
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) url() string { return r.srv.URL + "/notify" }

// waitType returns the oldest notification of type typ not returned yet,
// waiting for it to arrive (notifications of concurrent steps arrive in any
// order).
func (r *recorder) waitType(t *testing.T, typ string) []byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for i, b := range r.bodies {
			if r.taken[i] {
				continue
			}
			v, err := url.ParseQuery(string(b))
			if err == nil && v.Get("type") == typ {
				if r.taken == nil {
					r.taken = map[int]bool{}
				}
				r.taken[i] = true
				r.mu.Unlock()
				return b
			}
		}
		r.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no notification %s arrived", typ)
	return nil
}

// transports are the ways the same plugin is served.
var transports = map[string]func(t testing.TB) plugin.Plugin{
	"native": func(t testing.TB) plugin.Plugin {
		p, err := plugin.NewNative(adapay.New())
		require.NoError(t, err)
		return p
	},
	"wasm": func(t testing.TB) plugin.Plugin {
		p, err := plugin.LoadWasmFile(context.Background(), testwasm.Build(t, "plugins/adapay/wasm"),
			plugin.WasmConfig{CacheDir: testwasm.CacheDir()})
		require.NoError(t, err)
		return p
	},
}

var loaded sync.Map // transport name → plugin.Plugin, shared by the tests of a run

func loadTransport(t testing.TB, name string) plugin.Plugin {
	if p, ok := loaded.Load(name); ok {
		return p.(plugin.Plugin)
	}
	p := transports[name](t)
	actual, _ := loaded.LoadOrStore(name, p)
	return actual.(plugin.Plugin)
}

// newEnv starts a simulator (Manual: onboarding steps wait for Advance) and
// binds the plugin to its default merchant.
func newEnv(t *testing.T, transport string, mutate func(*sim.Config)) *env {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.Manual = true
	cfg.NotifySchedule = []time.Duration{0, 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	s := sim.New(cfg)
	gw := httptest.NewServer(s)
	t.Cleanup(func() { gw.Close(); s.Close() })
	p := loadTransport(t, transport)
	h := bindAccount(t, p.Manifest(), gw.URL, nil, time.Now)
	return &env{t: t, sim: s, gw: gw, p: p, h: h, notify: newRecorder(t)}
}

// account is the default merchant's configuration; change fields to bind
// a different one.
type account struct {
	private, public string
	config          map[string]string
}

func defaultAccount(url string) account {
	return account{private: sim.DefaultMerchantKey().PrivateKeyPEM(), public: sim.SimulatorKey().PublicKeyBase64(),
		config: map[string]string{"api_key": sim.DefaultMerchantAPIKey, "app_id": sim.DefaultMerchantAppID, "base_url": url}}
}

func bindAccount(t testing.TB, m core.Manifest, url string, change func(*account), now func() time.Time) *caps.Binding {
	a := defaultAccount(url)
	if change != nil {
		change(&a)
	}
	ks := caps.NewKeyStore(nil).WithEnv(func(k string) string {
		switch k {
		case "ADAPAY_PRIVATE":
			return a.private
		case "ADAPAY_PUBLIC":
			return a.public
		}
		return ""
	})
	h, err := caps.Bind(m, caps.AccountConfig{
		Name: "main", Plugin: adapay.Name,
		Endpoints: map[string]caps.EndpointConfig{"api": {URL: url, AllowPrivate: true, Timeout: 2 * time.Second}},
		Keys:      map[string]string{"merchant_private": "env:ADAPAY_PRIVATE", "adapay_public": "env:ADAPAY_PUBLIC"},
		Config:    a.config,
	}, caps.Deps{Keys: ks, Now: now})
	require.NoError(t, err)
	return h
}

func call[Resp any](e *env, op core.Op, req any) (*Resp, error) {
	return plugin.Call[Resp](context.Background(), e.p, e.h, op, req)
}

func (e *env) parse(body []byte) (*core.ParseNotificationResponse, error) {
	return call[core.ParseNotificationResponse](e, core.OpNotificationParse,
		&core.ParseNotificationRequest{Method: "POST", Path: "/v1/notify/main", Body: body,
			Header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}})
}

// mustParse parses a notification that must verify.
func (e *env) mustParse(t *testing.T, body []byte) []core.Event {
	t.Helper()
	resp, err := e.parse(body)
	require.NoError(t, err)
	require.Equal(t, 200, resp.Ack.Status)
	return resp.Events
}

// forEachTransport runs a test body once per transport.
func forEachTransport(t *testing.T, fn func(t *testing.T, transport string)) {
	for _, name := range []string{"native", "wasm"} {
		t.Run(name, func(t *testing.T) { fn(t, name) })
	}
}
