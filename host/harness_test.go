package host_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/internal/testwasm"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/plugins/haotian/sim"
	"github.com/payhost/payhost/rules"
)

// world is one engine wired to a Haotian simulator, with a notification
// endpoint that hands notifications to the engine as the server would.
type world struct {
	t       *testing.T
	sim     *sim.Server
	gateway *httptest.Server
	inbox   *httptest.Server
	store   store.Store
	host    *host.Host
	opts    worldOpts
}

type worldOpts struct {
	rules     string // rule file; default routes everything to haotian/main
	wasm      bool
	store     store.Store
	simConfig func(*sim.Config)
	extra     func(*host.Config)
	wrapStore func(store.Store) store.Store // wraps the store the engine uses (not w.store)
}

const defaultRules = "version: 1\ndefault_route:\n  channel: haotian/main/*\n"

func newWorld(t *testing.T, o worldOpts) *world {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.NotifySchedule = []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond}
	if o.simConfig != nil {
		o.simConfig(&cfg)
	}
	w := &world{t: t, sim: sim.New(cfg)}
	w.gateway = httptest.NewServer(w.sim)
	t.Cleanup(func() { w.gateway.Close(); w.sim.Close() })

	w.store = o.store
	if w.store == nil {
		st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "payhost.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		w.store = st
	}
	// the notification endpoint of the server, minus the HTTP API
	var h *host.Host
	w.inbox = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		account := strings.TrimPrefix(r.URL.Path, "/v1/notify/")
		ack, err := h.HandleNotification(r.Context(), account, &core.ParseNotificationRequest{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header, Body: body})
		if err != nil {
			http.Error(rw, err.Error(), core.CodeOf(err).HTTPStatus())
			return
		}
		rw.Header().Set("Content-Type", ack.ContentType)
		rw.WriteHeader(ack.Status)
		io.WriteString(rw, ack.Body)
	}))
	t.Cleanup(w.inbox.Close)

	w.opts = o
	engineStore := w.store
	if o.wrapStore != nil {
		engineStore = o.wrapStore(engineStore)
	}
	h = w.newEngine(engineStore)
	w.host = h
	return w
}

// newEngineWith is newEngine with another configuration hook than the
// world's (a node configured differently).
func (w *world) newEngineWith(st store.Store, extra func(*host.Config)) *host.Host {
	o := w.opts
	defer func() { w.opts = o }()
	w.opts.extra = extra
	return w.newEngine(st)
}

// newEngine builds an engine on st wired to the world's simulator and
// notification endpoint, with the world's rules (a second node, for instance).
func (w *world) newEngine(st store.Store) *host.Host {
	t, o := w.t, w.opts
	pc := host.PluginConfig{Native: haotian.New()}
	if o.wasm {
		pc = host.PluginConfig{Path: testwasm.Build(t, "plugins/haotian/wasm")}
	}
	hc := host.Config{
		Store:    st,
		Plugins:  []host.PluginConfig{pc},
		Accounts: []host.AccountConfig{account("main", w.gateway.URL)},
		Keys: caps.NewKeyStore(nil).WithEnv(func(k string) string {
			if k == "HAOTIAN_SECRET" {
				return sim.DefaultMerchant.Secret
			}
			return ""
		}),
		PublicURL:       w.inbox.URL,
		Wasm:            plugin.WasmConfig{CacheDir: testwasm.CacheDir()},
		Poll:            host.PollConfig{Disabled: true, First: time.Millisecond, Max: 10 * time.Millisecond},
		IdempotencyWait: 5 * time.Second,
	}
	if o.extra != nil {
		o.extra(&hc)
	}
	if hc.Tenants == nil {
		hc.Tenants = everyAccount(hc)
	}
	h, err := host.New(context.Background(), hc)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close(context.Background()) })
	src := o.rules
	if src == "" {
		src = defaultRules
	}
	rs, err := rules.Load("rules.yaml", []byte(src), rules.Options{Catalogue: h, Health: h})
	require.NoError(t, err)
	h.SetDecider(rs)
	return h
}

// everyAccount is the tenants of tests that are not about tenancy: acme
// may use and pay out of every account of hc, globex may use them all and
// pay out of none.
func everyAccount(hc host.Config) []host.TenantConfig {
	var names, served []string
	seen := map[string]bool{}
	for _, a := range hc.Accounts {
		names, served, seen[a.Name] = append(names, a.Name), append(served, a.Name), true
	}
	for _, ci := range hc.UnavailableChannels {
		if !seen[ci.Channel.Account] {
			names, seen[ci.Channel.Account] = append(names, ci.Channel.Account), true
		}
	}
	return []host.TenantConfig{{Name: "acme", Accounts: names, Payouts: served}, {Name: "globex", Accounts: names}}
}

func account(name, url string) host.AccountConfig {
	return host.AccountConfig{
		Name: name, Plugin: "haotian",
		Endpoints: map[string]caps.EndpointConfig{"gateway": {URL: url, AllowPrivate: true, Timeout: 2 * time.Second}},
		Keys:      map[string]string{"app_secret": "env:HAOTIAN_SECRET"},
		Config:    map[string]string{"mch_no": sim.DefaultMerchant.MchNo, "app_id": sim.DefaultMerchant.AppID},
	}
}

// unifiedOrders counts the create calls the simulator received.
func (w *world) unifiedOrders() int {
	n := 0
	for _, r := range w.sim.Requests() {
		if r.Path == "/api/pay/unifiedOrder" {
			n++
		}
	}
	return n
}

func (w *world) create(in host.CreatePaymentInput) (*host.Payment, error) {
	if in.Tenant == "" {
		in.Tenant = "acme"
	}
	if in.Currency == "" {
		in.Currency = "CNY"
	}
	if in.Method == "" {
		in.Method = core.MethodAlipayQR
	}
	if in.Amount == 0 {
		in.Amount = 1000
	}
	return w.host.CreatePayment(context.Background(), in)
}

// eventually waits for cond, polling.
func (w *world) eventually(cond func() bool, what string) {
	w.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.t.Fatalf("timed out waiting for %s", what)
}

func (w *world) payment(id string) *host.Payment {
	w.t.Helper()
	p, err := w.host.GetPayment(context.Background(), "acme", id)
	require.NoError(w.t, err)
	return p
}

// poll runs one poller round once the first query is due (Poll.First is 1ms).
func (w *world) poll() {
	time.Sleep(5 * time.Millisecond)
	w.host.Poll(context.Background())
}
