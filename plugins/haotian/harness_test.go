package haotian_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/internal/testwasm"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/plugins/haotian/sim"
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
// answers SUCCESS.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
		w.Write([]byte("SUCCESS"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// wait returns the n-th notification body, waiting for it to arrive.
func (r *recorder) wait(t *testing.T, n int) []byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.bodies) > n {
			b := r.bodies[n]
			r.mu.Unlock()
			return b
		}
		r.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("notification %d never arrived", n)
	return nil
}

// transports are the ways the same plugin is served.
var transports = map[string]func(t testing.TB) plugin.Plugin{
	"native": func(t testing.TB) plugin.Plugin {
		p, err := plugin.NewNative(haotian.New())
		require.NoError(t, err)
		return p
	},
	"wasm": func(t testing.TB) plugin.Plugin {
		p, err := plugin.LoadWasmFile(context.Background(), testwasm.Build(t, "plugins/haotian/wasm"),
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

func newEnv(t *testing.T, transport string, mutate func(*sim.Config)) *env {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.NotifySchedule = []time.Duration{0, 5 * time.Millisecond, 5 * time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	s := sim.New(cfg)
	gw := httptest.NewServer(s)
	t.Cleanup(func() { gw.Close(); s.Close() })
	p := loadTransport(t, transport)
	h := bindAccount(t, p.Manifest(), gw.URL, time.Now)
	return &env{t: t, sim: s, gw: gw, p: p, h: h, notify: newRecorder(t)}
}

func bindAccount(t testing.TB, m core.Manifest, url string, now func() time.Time) *caps.Binding {
	ks := caps.NewKeyStore(nil).WithEnv(func(k string) string {
		if k == "HAOTIAN_SECRET" {
			return sim.DefaultMerchant.Secret
		}
		return ""
	})
	h, err := caps.Bind(m, caps.AccountConfig{
		Name: "main", Plugin: haotian.Name,
		Endpoints: map[string]caps.EndpointConfig{"gateway": {URL: url, AllowPrivate: true, Timeout: 2 * time.Second}},
		Keys:      map[string]string{"app_secret": "env:HAOTIAN_SECRET"},
		Config:    map[string]string{"mch_no": sim.DefaultMerchant.MchNo, "app_id": sim.DefaultMerchant.AppID},
	}, caps.Deps{Keys: ks, Now: now})
	require.NoError(t, err)
	return h
}

func (e *env) create(req core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
	if req.Currency == "" {
		req.Currency = "CNY"
	}
	if req.NotifyURL == "" {
		req.NotifyURL = e.notify.srv.URL + "/notify"
	}
	return plugin.Call[core.CreatePaymentResponse](context.Background(), e.p, e.h, core.OpPaymentCreate, &req)
}

func (e *env) query(ref core.PaymentRef) (*core.QueryPaymentResponse, error) {
	return plugin.Call[core.QueryPaymentResponse](context.Background(), e.p, e.h, core.OpPaymentQuery, &core.QueryPaymentRequest{Payment: ref})
}

func (e *env) refund(req core.CreateRefundRequest) (*core.CreateRefundResponse, error) {
	if req.NotifyURL == "" {
		req.NotifyURL = e.notify.srv.URL + "/notify"
	}
	return plugin.Call[core.CreateRefundResponse](context.Background(), e.p, e.h, core.OpRefundCreate, &req)
}

func (e *env) parse(body []byte) (*core.ParseNotificationResponse, error) {
	return plugin.Call[core.ParseNotificationResponse](context.Background(), e.p, e.h, core.OpNotificationParse,
		&core.ParseNotificationRequest{Method: "POST", Path: "/v1/notify/main", Body: body,
			Header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}})
}

// forEachTransport runs a test body once per transport.
func forEachTransport(t *testing.T, fn func(t *testing.T, transport string)) {
	for _, name := range []string{"native", "wasm"} {
		t.Run(name, func(t *testing.T) { fn(t, name) })
	}
}
