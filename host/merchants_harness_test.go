package host_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
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
	"github.com/payhost/payhost/plugins/adapay"
	adapaysim "github.com/payhost/payhost/plugins/adapay/sim"
	"github.com/payhost/payhost/plugins/haotian"
	haotiansim "github.com/payhost/payhost/plugins/haotian/sim"
)

// onboardingWorld is one engine with the native Adapay plugin on account
// "app", wired to an Adapay simulator whose onboarding steps wait for
// Advance, with the server's notification endpoint in front of the engine
// (which can be told to drop what arrives). Account "main" is a Haotian
// account: a plugin that does not onboard.
type onboardingWorld struct {
	t         *testing.T
	sim       *adapaysim.Server
	gw        *httptest.Server
	inbox     *httptest.Server
	drop      atomic.Bool // the inbox answers 503 without telling the engine
	store     store.Store
	host      *host.Host
	logs      *logBuffer
	publicURL string
}

type onboardingOpts struct {
	store     store.Store
	noNotify  bool // no PublicURL: providers are given no notification URL, so only the poller settles
	simConfig func(*adapaysim.Config)
}

// logBuffer collects the engine's log lines, for tests that look for
// personal data in them.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newOnboardingWorld(t *testing.T, o onboardingOpts) *onboardingWorld {
	t.Helper()
	cfg := adapaysim.DefaultConfig()
	cfg.Manual = true
	cfg.NotifySchedule = []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond}
	if o.simConfig != nil {
		o.simConfig(&cfg)
	}
	w := &onboardingWorld{t: t, sim: adapaysim.New(cfg), logs: &logBuffer{}}
	w.gw = httptest.NewServer(w.sim)
	t.Cleanup(func() { w.gw.Close(); w.sim.Close() })

	w.store = o.store
	if w.store == nil {
		st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "payhost.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		w.store = st
	}
	var h *host.Host
	w.inbox = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if w.drop.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		account := strings.TrimPrefix(r.URL.Path, "/v1/notify/")
		ack, err := h.HandleNotification(r.Context(), account, &core.ParseNotificationRequest{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header, Body: body})
		if err != nil {
			http.Error(rw, err.Error(), core.CodeOf(err).HTTPStatus())
			return
		}
		rw.WriteHeader(ack.Status)
		io.WriteString(rw, ack.Body)
	}))
	t.Cleanup(w.inbox.Close)

	w.publicURL = w.inbox.URL
	if o.noNotify {
		w.publicURL = ""
	}
	h = w.newEngine(w.store)
	w.host = h
	return w
}

// Personal data of the test application: none of it may appear in full in
// a log line, an API answer or an event.
const (
	legalID     = "321121198606115128"
	legalMobile = "13333333344"
	cardNumber  = "6222021001115704287"
	contactID   = "310101199001011234"
	newCard     = "6222021001115709999"
)

var personalData = []string{legalID, legalMobile, cardNumber, contactID, newCard}

// enterprise is a complete Adapay enterprise application named name.
func enterpriseApplication(name string) core.MerchantApplication {
	return core.MerchantApplication{
		Kind: core.MerchantEnterprise, Name: name, ShortName: "测试商户",
		License:           core.License{Code: "91310000MA1FL0000X", Start: "20200101", End: "forever"},
		RegisteredAddress: "上海市徐汇区宜山路700号", BusinessAddress: "上海市徐汇区宜山路700号", Phone: "021-12345678",
		Legal: core.Person{Name: "史万福", IDType: "id_card", IDNumber: legalID, IDStart: "20160101", IDEnd: "20360101",
			Mobile: legalMobile},
		Contact: core.Person{Name: "李四", Mobile: legalMobile, Email: "ops@example.com"},
		Settlement: core.BankAccount{Type: "corporate", Number: cardNumber, Name: "上海测试科技有限公司", BankCode: "01020000",
			Province: "0031", Area: "3100"},
		FeeRates: []core.FeeRate{{Channel: "wx_pub_online", RatePPM: 3000}, {Channel: "alipay_qr_online", RatePPM: 3800}},
		Extra:    map[string]string{"usr_phone": legalMobile},
	}
}

var obSeq atomic.Int64

// obKey returns a fresh idempotency key.
func obKey(prefix string) string { return prefix + "-" + strconv.FormatInt(obSeq.Add(1), 10) }

func (w *onboardingWorld) create(tenant, name string) *host.Merchant {
	w.t.Helper()
	m, err := w.host.CreateMerchant(context.Background(), host.CreateMerchantInput{Tenant: tenant, IdempotencyKey: obKey("create"),
		Account: "app", Application: enterpriseApplication(name)})
	require.NoError(w.t, err)
	return m
}

func (w *onboardingWorld) merchant(tenant, id string) *host.Merchant {
	w.t.Helper()
	m, err := w.host.GetMerchant(context.Background(), tenant, id)
	require.NoError(w.t, err)
	return m
}

// pngPicture is the smallest picture the simulator takes.
var pngPicture = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")

func (w *onboardingWorld) upload(tenant, id, typ string) *host.Merchant {
	w.t.Helper()
	m, err := w.host.UploadMerchantDocument(context.Background(), host.UploadMerchantDocumentInput{Tenant: tenant,
		IdempotencyKey: obKey("doc"), MerchantID: id, Type: typ, FileName: typ + ".png", ContentType: "image/png", Content: pngPicture})
	require.NoError(w.t, err)
	return m
}

// submitDocuments uploads what Adapay's review needs and submits it.
func (w *onboardingWorld) submitDocuments(tenant, id string) *host.Merchant {
	w.t.Helper()
	for _, typ := range []string{"license", "legal_id_front", "legal_id_back", "account_permit", "store"} {
		w.upload(tenant, id, typ)
	}
	m, err := w.host.SubmitMerchant(context.Background(), host.SubmitMerchantInput{Tenant: tenant, IdempotencyKey: obKey("submit"),
		MerchantID: id, Extra: map[string]string{"businessAdd": "https://shop.example.com"}})
	require.NoError(w.t, err)
	return m
}

func (w *onboardingWorld) activate(tenant string, m *host.Merchant) *host.Merchant {
	w.t.Helper()
	appID, _, _ := strings.Cut(m.Issued["app_ids"], ",")
	require.NotEmpty(w.t, appID, "the merchant's first application")
	out, err := w.host.ActivateMerchantChannels(context.Background(), host.ActivateMerchantChannelsInput{Tenant: tenant,
		IdempotencyKey: obKey("channels"), MerchantID: m.ID, Category: "4828",
		Channels: []core.ChannelActivation{{Channel: "wx_pub", AppID: "wx2421b1c4370ec43b", Path: "https://shop.example.com/pay/"},
			{Channel: "alipay_qr"}},
		Extra: map[string]string{"fee_type": "01", "app_id": appID, "cls_id": "5311", "model_type": "1", "mer_type": "3",
			"province_code": "310000", "city_code": "310100", "district_code": "310104"}})
	require.NoError(w.t, err)
	return out
}

// realName uploads the pictures Adapay's real-name authentication needs
// and applies for both wallets, confirmed by the legal person.
func (w *onboardingWorld) realName(tenant, id string) *host.Merchant {
	w.t.Helper()
	for _, typ := range []string{"license", "legal_id_front", "legal_id_back", "contact_id_front", "contact_id_back"} {
		w.upload(tenant, id, typ)
	}
	m, err := w.host.RequestRealName(context.Background(), host.RealNameInput{Tenant: tenant, IdempotencyKey: obKey("realname"),
		MerchantID: id, Wallet: "all", ContactType: "legal",
		Contact: core.Person{Name: "李四", IDNumber: contactID, IDStart: "20200101", IDEnd: "forever"},
		Extra:   map[string]string{"legal_address": "上海市徐汇区宜山路700号"}})
	require.NoError(w.t, err)
	return m
}

func (w *onboardingWorld) changeCard(tenant, id string) *host.Merchant {
	w.t.Helper()
	m, err := w.host.ChangeSettlementAccount(context.Background(), host.SettlementAccountInput{Tenant: tenant,
		IdempotencyKey: obKey("card"), MerchantID: id,
		Account: core.BankAccount{Type: "corporate", Number: newCard, BankCode: "01030000", Province: "0031", Area: "3100"}})
	require.NoError(w.t, err)
	return m
}

// eventually waits for cond, polling every few milliseconds.
func (w *onboardingWorld) eventually(what string, cond func() bool) {
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

// pollUntil runs poller rounds until cond holds.
func (w *onboardingWorld) pollUntil(what string, cond func() bool) {
	w.t.Helper()
	w.eventually(what, func() bool {
		w.host.Poll(context.Background())
		return cond()
	})
}

// request returns the merchant's latest request of a kind.
func latestRequest(m *host.Merchant, kind string) *host.MerchantRequest {
	for i := len(m.Requests) - 1; i >= 0; i-- {
		if m.Requests[i].Kind == kind {
			return &m.Requests[i]
		}
	}
	return nil
}

func requestItem(r *host.MerchantRequest, name string) *host.MerchantRequestItem {
	if r == nil {
		return nil
	}
	for i := range r.Items {
		if r.Items[i].Name == name {
			return &r.Items[i]
		}
	}
	return nil
}

func requestStatus(m *host.Merchant, kind string) core.OnboardingStatus {
	if r := latestRequest(m, kind); r != nil {
		return r.Status
	}
	return ""
}

// replay hands a notification the simulator sent (and the inbox dropped)
// to the engine, as a late redelivery.
func (w *onboardingWorld) replay(typ string) string {
	w.t.Helper()
	for _, n := range w.sim.Notifications() {
		if n.Type != typ {
			continue
		}
		form := url.Values{}
		for k, v := range n.Form {
			form.Set(k, v)
		}
		_, err := w.host.HandleNotification(context.Background(), "app", &core.ParseNotificationRequest{Method: "POST",
			Path: "/v1/notify/app", Header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}},
			Body: []byte(form.Encode())})
		require.NoError(w.t, err)
		nt, err := w.store.GetNotification(context.Background(), "app", "onboarding:"+notificationObject(n.Form)+":approved")
		if err == nil {
			return nt.Result
		}
		return ""
	}
	w.t.Fatalf("the simulator sent no %s", typ)
	return ""
}

func notificationObject(form map[string]string) string {
	_, rest, _ := strings.Cut(form["data"], `"request_id":"`)
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

// newEngine builds an engine on st wired to the world's simulator and
// notification endpoint (a second node, for instance).
func (w *onboardingWorld) newEngine(st store.Store) *host.Host {
	t := w.t
	keys := caps.NewKeyStore(nil).WithEnv(func(k string) string {
		switch k {
		case "ADAPAY_PRIVATE":
			return adapaysim.DefaultMerchantKey().PrivateKeyPEM()
		case "ADAPAY_PUBLIC":
			return w.sim.PublicKeyBase64()
		case "HAOTIAN_SECRET":
			return haotiansim.DefaultMerchant.Secret
		}
		return ""
	})
	hc := host.Config{
		Store:   st,
		Plugins: []host.PluginConfig{{Native: adapay.New()}, {Native: haotian.New()}},
		Accounts: []host.AccountConfig{
			{Name: "app", Plugin: adapay.Name,
				Endpoints: map[string]caps.EndpointConfig{"api": {URL: w.gw.URL, AllowPrivate: true, Timeout: 2 * time.Second}},
				Keys:      map[string]string{"merchant_private": "env:ADAPAY_PRIVATE", "adapay_public": "env:ADAPAY_PUBLIC"},
				Config: map[string]string{"api_key": adapaysim.DefaultMerchantAPIKey, "app_id": adapaysim.DefaultMerchantAppID,
					"base_url": w.gw.URL}},
			{Name: "main", Plugin: haotian.Name,
				Endpoints: map[string]caps.EndpointConfig{"gateway": {URL: "http://127.0.0.1:1", AllowPrivate: true}},
				Keys:      map[string]string{"app_secret": "env:HAOTIAN_SECRET"},
				Config:    map[string]string{"mch_no": haotiansim.DefaultMerchant.MchNo, "app_id": haotiansim.DefaultMerchant.AppID}},
		},
		Keys:            keys,
		Logger:          slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PublicURL:       w.publicURL,
		Poll:            host.PollConfig{Disabled: true, First: time.Millisecond, Max: 5 * time.Millisecond},
		IdempotencyWait: 5 * time.Second,
	}
	hc.Tenants = everyAccount(hc)
	h, err := host.New(context.Background(), hc)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}
