package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/plugins/adapay"
	adapaysim "github.com/payhost/payhost/plugins/adapay/sim"
)

// newOnboardingEnv is an API server on an engine with the native Adapay
// plugin (account "app") against an Adapay simulator whose onboarding
// steps wait for Advance; providers notify the server itself.
func newOnboardingEnv(t *testing.T) (*env, *adapaysim.Server) {
	ctx := context.Background()
	cfg := adapaysim.DefaultConfig()
	cfg.Manual = true
	cfg.NotifySchedule = []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond}
	s := adapaysim.New(cfg)
	gw := httptest.NewServer(s)
	st, err := sqlstore.OpenSQLite(ctx, ":memory:")
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(nil)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := host.New(ctx, host.Config{
		Store:     st,
		Plugins:   []host.PluginConfig{{Native: adapay.New()}},
		PublicURL: "http://" + srv.Listener.Addr().String(),
		Logger:    log,
		Poll:      host.PollConfig{Disabled: true, First: time.Millisecond, Max: 5 * time.Millisecond},
		Keys: caps.NewKeyStore(nil).WithEnv(func(k string) string {
			switch k {
			case "ADAPAY_PRIVATE":
				return adapaysim.DefaultMerchantKey().PrivateKeyPEM()
			case "ADAPAY_PUBLIC":
				return s.PublicKeyBase64()
			}
			return ""
		}),
		Accounts: []host.AccountConfig{{Name: "app", Plugin: adapay.Name,
			Endpoints: map[string]caps.EndpointConfig{"api": {URL: gw.URL, AllowPrivate: true, Timeout: 5 * time.Second}},
			Keys:      map[string]string{"merchant_private": "env:ADAPAY_PRIVATE", "adapay_public": "env:ADAPAY_PUBLIC"},
			Config: map[string]string{"api_key": adapaysim.DefaultMerchantAPIKey, "app_id": adapaysim.DefaultMerchantAppID,
				"base_url": gw.URL}}},
		Tenants: []host.TenantConfig{{Name: "acme", Accounts: []string{"app"}}, {Name: "globex", Accounts: []string{"app"}}},
	})
	require.NoError(t, err)
	a, err := New(Config{Host: h, Logger: log, Tenants: []Tenant{{Name: "acme", APIKeys: []string{keyAcme}}, {Name: "globex", APIKeys: []string{keyGlobex}}}})
	require.NoError(t, err)
	srv.Config.Handler = a
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		gw.Close()
		s.Close()
		require.NoError(t, h.Close(ctx))
		require.NoError(t, st.Close())
	})
	return &env{srv: srv, api: a, host: h, logs: logs}, s
}

const applicationJSON = `{"kind":"enterprise","name":"上海测试科技有限公司","short_name":"测试商户",
	"license":{"code":"91310000MA1FL0000X","start":"20200101","end":"forever"},
	"registered_address":"上海市徐汇区宜山路700号","business_address":"上海市徐汇区宜山路700号","phone":"021-12345678",
	"legal":{"name":"史万福","id_type":"id_card","id_number":"321121198606115128","id_start":"20160101","id_end":"20360101","mobile":"13333333344"},
	"contact":{"name":"李四","mobile":"13333333344","email":"ops@example.com"},
	"settlement":{"type":"corporate","number":"6222021001115704287","name":"上海测试科技有限公司","bank_code":"01020000","province":"0031","area":"3100"},
	"fee_rates":[{"channel":"wx_pub_online","rate_ppm":3000},{"channel":"alipay_qr_online","rate_ppm":3800}]}`

var personalNumbers = []string{"321121198606115128", "13333333344", "6222021001115704287", "310101199001011234", "6222021001115709999"}

var picture = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")

func documentBody(typ string, content []byte) string {
	return `{"type":"` + typ + `","file_name":"` + typ + `.png","content_type":"image/png","content":"` +
		base64.StdEncoding.EncodeToString(content) + `"}`
}

// decodeMerchant reads a merchant answer.
func decodeMerchant(t *testing.T, r response) host.Merchant {
	t.Helper()
	var m host.Merchant
	require.NoError(t, json.Unmarshal(r.body, &m), "%s", r.body)
	return m
}

// TestMerchantAPI walks an Adapay merchant through onboarding over HTTP:
// the application, its documents (base64 JSON), the review, channels, real
// name with its QR codes, a settlement card change; answers mask personal
// data and log lines never hold it.
func TestMerchantAPI(t *testing.T) {
	e, sim := newOnboardingEnv(t)
	post := func(path, body string) response {
		return e.do(t, req{method: "POST", path: path, key: keyAcme, idem: e.key(), body: body})
	}
	get := func(id string, refresh bool) host.Merchant {
		path := "/v1/merchants/" + id
		if refresh {
			path += "?refresh=true"
		}
		r := e.do(t, req{method: "GET", path: path, key: keyAcme})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		return decodeMerchant(t, r)
	}

	r := post("/v1/merchants", `{"account":"app","application":`+applicationJSON+`}`)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	m := decodeMerchant(t, r)
	assert.Equal(t, "/v1/merchants/"+m.ID, r.header.Get("Location"))
	assert.Equal(t, core.OnboardingSubmitted, m.Status)
	for _, n := range personalNumbers {
		assert.NotContains(t, string(r.body), n)
	}
	assert.Contains(t, string(r.body), `"id_number":"3211**********5128"`)

	require.Equal(t, 1, sim.Advance())
	waitFor(t, "approved", func() bool { return get(m.ID, false).Status == core.OnboardingApproved })

	for _, typ := range []string{"license", "legal_id_front", "legal_id_back", "account_permit", "store", "contact_id_front", "contact_id_back"} {
		r = post("/v1/merchants/"+m.ID+"/documents", documentBody(typ, picture))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	}
	m = decodeMerchant(t, r)
	require.Len(t, m.Documents, 7)
	var audit []string
	for _, d := range m.Documents {
		if !strings.HasPrefix(d.Type, "contact_") {
			audit = append(audit, d.ID)
		}
	}
	docs, _ := json.Marshal(audit)
	r = post("/v1/merchants/"+m.ID+"/submit", `{"documents":`+string(docs)+`,"extra":{"businessAdd":"https://shop.example.com"}}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, core.OnboardingReviewing, decodeMerchant(t, r).Status)
	require.Equal(t, 1, sim.Advance())
	assert.Equal(t, core.OnboardingApproved, get(m.ID, true).Status, "refresh asks the provider")

	m = get(m.ID, false)
	appID, _, _ := strings.Cut(m.Issued["app_ids"], ",")
	r = post("/v1/merchants/"+m.ID+"/channels", `{"channels":[{"channel":"wx_pub","app_id":"wx2421b1c4370ec43b","path":"https://shop.example.com/pay/"},{"channel":"alipay_qr"}],
		"category":"4828","extra":{"fee_type":"01","app_id":"`+appID+`","cls_id":"5311","model_type":"1","mer_type":"3","province_code":"310000","city_code":"310100","district_code":"310104"}}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, 1, sim.Advance())
	waitFor(t, "channels approved", func() bool { return lastRequest(get(m.ID, false), "channels").Status == core.OnboardingApproved })

	r = post("/v1/merchants/"+m.ID+"/realname", `{"wallet":"wechat","contact_type":"legal",
		"contact":{"name":"李四","id_number":"310101199001011234","id_start":"20200101","id_end":"forever"},"extra":{"legal_address":"上海市徐汇区宜山路700号"}}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, 1, sim.Advance())
	rn := lastRequest(get(m.ID, true), "realname")
	require.Equal(t, core.OnboardingNeedsInfo, rn.Status)
	require.Len(t, rn.Items, 1, "%+v", rn.Items)
	require.NotEmpty(t, rn.Items[0].QRCode)
	scan, err := http.Get(rn.Items[0].QRCode)
	require.NoError(t, err)
	scan.Body.Close()
	waitFor(t, "real name approved", func() bool { return lastRequest(get(m.ID, false), "realname").Status == core.OnboardingApproved })

	r = post("/v1/merchants/"+m.ID+"/settlement_account", `{"account":{"type":"corporate","number":"6222021001115709999","bank_code":"01030000","province":"0031","area":"3100"}}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, 2, sim.Advance(), "the card change, and the real name's confirmation step (done by the scan)")
	waitFor(t, "card changed", func() bool {
		return lastRequest(get(m.ID, false), "settlement_account").Status == core.OnboardingApproved
	})

	final := e.do(t, req{method: "GET", path: "/v1/merchants/" + m.ID, key: keyAcme})
	for _, n := range personalNumbers {
		assert.NotContains(t, string(final.body), n, "the answer")
		assert.NotContains(t, e.logs.String(), n, "the log")
	}
	// another tenant sees nothing
	assert.Equal(t, http.StatusNotFound, e.do(t, req{method: "GET", path: "/v1/merchants/" + m.ID, key: keyGlobex}).status)
	assert.Equal(t, http.StatusNotFound, e.do(t, req{method: "POST", path: "/v1/merchants/" + m.ID + "/submit", key: keyGlobex, idem: e.key()}).status)
}

func lastRequest(m host.Merchant, kind string) host.MerchantRequest {
	for i := len(m.Requests) - 1; i >= 0; i-- {
		if m.Requests[i].Kind == kind {
			return m.Requests[i]
		}
	}
	return host.MerchantRequest{}
}

// TestBadMerchantInput: strict decoding, required fields, bounds, and the
// engine's refusals, each with its status and param.
func TestBadMerchantInput(t *testing.T) {
	e, sim := newOnboardingEnv(t)
	r := e.do(t, req{method: "POST", path: "/v1/merchants", key: keyAcme, idem: e.key(), body: `{"account":"app","application":` + applicationJSON + `}`})
	require.Equal(t, http.StatusCreated, r.status)
	pending := decodeMerchant(t, r)
	huge := make([]byte, 6<<20)
	tests := []struct {
		name   string
		path   string
		body   string
		ctype  string
		noIdem bool
		status int
		param  string
	}{
		{"no idempotency key", "/v1/merchants", `{"account":"app","application":` + applicationJSON + `}`, "", true, 400, "Idempotency-Key"},
		{"unknown field", "/v1/merchants", `{"account":"app","accounts":"x","application":` + applicationJSON + `}`, "", false, 400, "accounts"},
		{"unknown nested field", "/v1/merchants", `{"account":"app","application":{"kind":"enterprise","name":"x","legal":{"idno":"1"}}}`, "", false, 400, "application.legal.idno"},
		{"no account", "/v1/merchants", `{"application":` + applicationJSON + `}`, "", false, 400, "account"},
		{"unknown account", "/v1/merchants", `{"account":"nope","application":` + applicationJSON + `}`, "", false, 403, "account"},
		{"no application", "/v1/merchants", `{"account":"app"}`, "", false, 400, "application"},
		{"no kind", "/v1/merchants", `{"account":"app","application":{"name":"x"}}`, "", false, 400, "application.kind"},
		{"fractional rate", "/v1/merchants", `{"account":"app","application":{"kind":"enterprise","name":"x","fee_rates":[{"channel":"a","rate_ppm":1.5}]}}`, "", false, 400, "application.fee_rates.rate_ppm"},
		{"not JSON", "/v1/merchants", `account=app`, "application/x-www-form-urlencoded", false, 415, "Content-Type"},
		{"bad base64", "/v1/merchants/" + pending.ID + "/documents", `{"type":"license","file_name":"l.png","content":"***"}`, "", false, 400, "content"},
		{"no content", "/v1/merchants/" + pending.ID + "/documents", `{"type":"license","file_name":"l.png"}`, "", false, 400, "content"},
		{"document too large", "/v1/merchants/" + pending.ID + "/documents", documentBody("license", huge), "", false, 413, "body"},
		{"document before the merchant is opened", "/v1/merchants/" + pending.ID + "/documents", documentBody("license", picture), "", false, 409, ""},
		{"unknown merchant", "/v1/merchants/mer_nope/documents", documentBody("license", picture), "", false, 404, "id"},
		{"submit unknown field", "/v1/merchants/" + pending.ID + "/submit", `{"docs":[]}`, "", false, 400, "docs"},
		{"channels before opening", "/v1/merchants/" + pending.ID + "/channels", `{"channels":[{"channel":"alipay_qr"}]}`, "", false, 409, ""},
		{"real name without wallet", "/v1/merchants/" + pending.ID + "/realname", `{"contact_type":"legal"}`, "", false, 400, "wallet"},
		{"settlement without account", "/v1/merchants/" + pending.ID + "/settlement_account", `{}`, "", false, 400, "account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rq := req{method: "POST", path: tt.path, key: keyAcme, body: tt.body, ctype: tt.ctype}
			if !tt.noIdem {
				rq.idem = e.key()
			}
			r := e.do(t, rq)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			if eo := r.errorObj(t); tt.param == "" {
				assert.Nil(t, eo["param"], "%s", r.body)
			} else {
				assert.Equal(t, tt.param, eo["param"], "%s", r.body)
			}
		})
	}
	assert.Equal(t, http.StatusBadRequest, e.do(t, req{method: "GET", path: "/v1/merchants/" + pending.ID + "?refresh=maybe", key: keyAcme}).status)
	assert.Equal(t, http.StatusMethodNotAllowed, e.do(t, req{method: "DELETE", path: "/v1/merchants/" + pending.ID, key: keyAcme}).status)
	assert.Equal(t, 1, countEntries(sim), "only the first application reached the provider")
}

func countEntries(s *adapaysim.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == "/v1/batchEntrys/userEntry" && r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

// TestOpenAPIMerchantSchemas: the onboarding schemas have exactly the
// fields their Go types marshal (and require those always present).
func TestOpenAPIMerchantSchemas(t *testing.T) {
	d := loadOpenAPI(t)
	tests := []struct {
		schema       string
		typ          any
		checkRequire bool
	}{
		{"Merchant", host.Merchant{}, true},
		{"MerchantDocument", host.MerchantDocument{}, true},
		{"MerchantRequest", host.MerchantRequest{}, true},
		{"MerchantRequestItem", host.MerchantRequestItem{}, true},
		{"MerchantApplication", core.MerchantApplication{}, true},
		{"Person", core.Person{}, true},
		{"BankAccount", core.BankAccount{}, true},
		{"License", core.License{}, true},
		{"FeeRate", core.FeeRate{}, true},
		{"ChannelActivation", core.ChannelActivation{}, true},
		{"CreateMerchantRequest", CreateMerchantBody{}, false},
		{"UploadMerchantDocumentRequest", UploadDocumentBody{}, false},
		{"SubmitMerchantRequest", SubmitMerchantBody{}, false},
		{"ActivateChannelsRequest", ActivateChannelsBody{}, false},
		{"RealNameRequest", RealNameBody{}, false},
		{"SettlementAccountRequest", SettlementAccountBody{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			sc, ok := d.Components.Schemas[tt.schema]
			require.True(t, ok, "no schema %s", tt.schema)
			all, always := jsonFields(reflect.TypeOf(tt.typ))
			var props []string
			for p := range sc.Properties {
				props = append(props, p)
			}
			sort.Strings(props)
			assert.Equal(t, all, props, "properties of %s", tt.schema)
			if tt.checkRequire {
				req := slices.Clone(sc.Required)
				sort.Strings(req)
				assert.Equal(t, always, req, "required of %s", tt.schema)
			}
		})
	}
	assert.ElementsMatch(t, []string{"account", "application"}, d.Components.Schemas["CreateMerchantRequest"].Required)
	assert.ElementsMatch(t, []string{"type", "file_name", "content"}, d.Components.Schemas["UploadMerchantDocumentRequest"].Required)
}
