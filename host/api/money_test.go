package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const receiverBody = `{"name":"platform","account":"main","kind":"personal","channel":"alipay","account_no":"2088102175953034",` +
	`"account_name":"李四","relation":"PARTNER","group_id":"100001","ratio_ppm":100000}`

// TestSplitRoutes: a receiver is registered, a paid payment is split to it
// through the API, and the split and the payment's ledger read back.
func TestSplitRoutes(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, req{method: "POST", path: "/v1/split_receivers", key: keyAcme, body: receiverBody})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	rc := r.json(t)
	assert.Equal(t, "bound", rc["status"])
	assert.Equal(t, "alipay", rc["channel"])
	assert.NotContains(t, string(r.body), "2088102175953034", "the account number is masked")
	assert.Equal(t, "/v1/split_receivers/"+rc["id"].(string), r.header.Get("Location"))
	r = e.do(t, req{method: "POST", path: "/v1/split_receivers", key: keyAcme, body: receiverBody})
	assert.Equal(t, http.StatusConflict, r.status, "the name is taken in that wallet")

	list := e.do(t, req{method: "GET", path: "/v1/split_receivers", key: keyAcme}).json(t)
	assert.Equal(t, "list", list["object"])
	assert.Len(t, list["data"], 1)
	assert.Empty(t, e.do(t, req{method: "GET", path: "/v1/split_receivers", key: keyGlobex}).json(t)["data"], "another tenant's")
	assert.Equal(t, http.StatusNotFound, e.do(t, req{method: "GET", path: "/v1/split_receivers/" + rc["id"].(string), key: keyGlobex}).status)

	p := e.createPayment(t, keyAcme, `{"amount":10000,"currency":"CNY","method":"alipay.barcode","payer":{"auth_code":"284567890123456789"},"metadata":{"split":"manual"}}`)
	require.Equal(t, "succeeded", p["status"])
	id := p["id"].(string)
	r = e.do(t, req{method: "POST", path: "/v1/payments/" + id + "/splits", key: keyAcme, idem: e.key(),
		body: `{"parts":[{"receiver":"platform","amount":700}]}`})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	sp := r.json(t)
	require.NotEqual(t, "failed", sp["status"], "%s", r.body)
	assert.Equal(t, "api", sp["source"])
	assert.EqualValues(t, 700, sp["amount"])
	waitFor(t, "the split to settle", func() bool {
		return e.do(t, req{method: "GET", path: "/v1/splits/" + sp["id"].(string) + "?refresh=true", key: keyAcme}).json(t)["status"] == "succeeded"
	})
	got := e.do(t, req{method: "GET", path: "/v1/payments/" + id, key: keyAcme}).json(t)
	ledger := got["ledger"].(map[string]any)
	assert.EqualValues(t, 700, ledger["split"])
	assert.Equal(t, true, ledger["balanced"])
	assert.Len(t, got["splits"], 1)

	bal := e.do(t, req{method: "GET", path: "/v1/balances?account=main&receiver=platform", key: keyAcme})
	require.Equal(t, http.StatusOK, bal.status, "%s", bal.body)
	data := bal.json(t)["data"].([]any)
	require.Len(t, data, 1)
	assert.EqualValues(t, 700, data[0].(map[string]any)["available"])

	// Haotian cannot take split money back: the route answers so, after
	// checking its input; a refund above what is not split says why
	spID := sp["id"].(string)
	r = e.do(t, req{method: "POST", path: "/v1/splits/" + spID + "/returns", key: keyAcme, idem: e.key(), body: `{"receiver":"platform","amount":100}`})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), `"code":"unsupported"`)
	r = e.do(t, req{method: "POST", path: "/v1/splits/" + spID + "/returns", key: keyAcme, idem: e.key(), body: `{"amount":100}`})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, string(r.body), `"param":"receiver"`)
	r = e.do(t, req{method: "POST", path: "/v1/splits/" + spID + "/returns", key: keyAcme, body: `{"receiver":"platform","amount":100}`})
	assert.Equal(t, http.StatusBadRequest, r.status, "no idempotency key")
	r = e.do(t, req{method: "POST", path: "/v1/splits/" + spID + "/returns", key: keyGlobex, idem: e.key(), body: `{"receiver":"platform","amount":100}`})
	assert.Equal(t, http.StatusNotFound, r.status, "another tenant's split")
	assert.Equal(t, http.StatusNotFound, e.do(t, req{method: "GET", path: "/v1/split_returns/srt_none", key: keyAcme}).status)
	r = e.do(t, req{method: "POST", path: "/v1/payments/" + id + "/refunds", key: keyAcme, idem: e.key(), body: `{"amount":9400}`})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, string(r.body), "700 is split to receivers")
}

func TestBadMoneyInput(t *testing.T) {
	e := newEnv(t)
	p := e.createPayment(t, keyAcme, `{"amount":10000,"currency":"CNY","method":"alipay.barcode","payer":{"auth_code":"284567890123456789"}}`)
	splits := "/v1/payments/" + p["id"].(string) + "/splits"
	tests := []struct {
		name   string
		r      req
		status int
		code   string
		param  string
	}{
		{"receiver without name", req{method: "POST", path: "/v1/split_receivers", body: `{"account":"main"}`}, 400, "invalid_request", "name"},
		{"receiver unknown field", req{method: "POST", path: "/v1/split_receivers", body: `{"name":"x","account":"main","colour":"red"}`}, 400, "invalid_request", "colour"},
		{"receiver ratio as text", req{method: "POST", path: "/v1/split_receivers", body: `{"name":"x","account":"main","ratio_ppm":"5"}`}, 400, "invalid_request", "ratio_ppm"},
		{"receiver unknown account", req{method: "POST", path: "/v1/split_receivers", body: `{"name":"x","account":"nope"}`}, 403, "forbidden", "account"},
		{"receiver named merchant", req{method: "POST", path: "/v1/split_receivers", body: `{"name":"merchant","account":"main"}`}, 400, "invalid_request", "name"},
		{"split without key", req{method: "POST", path: splits, body: `{"parts":[{"receiver":"platform","amount":1}]}`}, 400, "invalid_request", "Idempotency-Key"},
		{"split amount fraction", req{method: "POST", path: splits, idem: "k1", body: `{"parts":[{"receiver":"platform","amount":1.5}]}`}, 400, "invalid_request", "parts[0].amount"},
		{"split unknown receiver", req{method: "POST", path: splits, idem: "k2", body: `{"parts":[{"receiver":"ghost","amount":1}]}`}, 400, "invalid_request", "parts.receiver"},
		{"split another tenant's payment", req{method: "POST", path: splits, idem: "k3", key: keyGlobex, body: `{}`}, 404, "not_found", "id"},
		{"payout without key", req{method: "POST", path: "/v1/payouts", body: `{"kind":"transfer","amount":1,"currency":"CNY"}`}, 400, "invalid_request", "Idempotency-Key"},
		{"payout amount as text", req{method: "POST", path: "/v1/payouts", idem: "k4", body: `{"kind":"transfer","amount":"1","currency":"CNY"}`}, 400, "invalid_request", "amount"},
		{"payout unknown kind", req{method: "POST", path: "/v1/payouts", idem: "k5", body: `{"kind":"gift","amount":1,"currency":"CNY","account":"main"}`}, 400, "invalid_request", "kind"},
		{"payout negative", req{method: "POST", path: "/v1/payouts", idem: "k6", body: `{"kind":"transfer","amount":-1,"currency":"CNY","account":"main"}`}, 400, "invalid_request", "amount"},
		{"payout destination unknown field", req{method: "POST", path: "/v1/payouts", idem: "k7", body: `{"kind":"transfer","amount":1,"currency":"CNY","destination":{"iban":"x"}}`}, 400, "invalid_request", "destination.iban"},
		{"balances twice", req{method: "GET", path: "/v1/balances?account=main&account=main"}, 400, "invalid_request", "account"},
		{"balances unknown account", req{method: "GET", path: "/v1/balances?account=nope"}, 403, "forbidden", "account"},
		{"terminal without device", req{method: "POST", path: "/v1/terminals", body: `{"account":"main"}`}, 400, "invalid_request", "device_no"},
		{"transactions bad time", req{method: "GET", path: "/v1/terminals/tml_x/transactions?from=yesterday"}, 400, "invalid_request", "from"},
		{"summary without date", req{method: "GET", path: "/v1/terminals/tml_x/summary"}, 400, "invalid_request", "date"},
		{"unknown terminal", req{method: "GET", path: "/v1/terminals/tml_x"}, 404, "not_found", "id"},
		{"unknown payout", req{method: "GET", path: "/v1/payouts/po_x"}, 404, "not_found", "id"},
		{"unknown split", req{method: "GET", path: "/v1/splits/spl_x"}, 404, "not_found", "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.r.key == "" {
				tt.r.key = keyAcme
			}
			r := e.do(t, tt.r)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			eo := r.errorObj(t)
			assert.Equal(t, tt.code, eo["code"])
			assert.Equal(t, tt.param, eo["param"])
		})
	}
	assert.Zero(t, countPath(e, "/api/transferOrder"), "no payout reached the provider")
	assert.Zero(t, countPath(e, "/api/division/exec"), "no split reached the provider")
}

func countPath(e *env, path string) int {
	n := 0
	for _, r := range e.sim.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// TestPayoutAndTerminalRoutes: a transfer through the API, and a device
// registered, paying and listing its day.
func TestPayoutAndTerminalRoutes(t *testing.T) {
	e := newEnv(t)
	body := `{"account":"main","kind":"transfer","amount":500,"currency":"CNY",` +
		`"destination":{"kind":"alipay","account_no":"2088102175953034","account_name":"李四"},"description":"bonus"}`
	key := e.key()
	r := e.do(t, req{method: "POST", path: "/v1/payouts", key: keyAcme, idem: key, body: body})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	po := r.json(t)
	assert.NotContains(t, string(r.body), "2088102175953034")
	again := e.do(t, req{method: "POST", path: "/v1/payouts", key: keyAcme, idem: key, body: body})
	assert.Equal(t, po["id"], again.json(t)["id"], "idempotent")
	waitFor(t, "the transfer to succeed", func() bool {
		return e.do(t, req{method: "GET", path: "/v1/payouts/" + po["id"].(string) + "?refresh=true", key: keyAcme}).json(t)["status"] == "succeeded"
	})
	assert.Equal(t, http.StatusNotFound, e.do(t, req{method: "GET", path: "/v1/payouts/" + po["id"].(string), key: keyGlobex}).status)

	r = e.do(t, req{method: "POST", path: "/v1/terminals", key: keyAcme, body: `{"account":"main","device_no":"POS009","kind":"pos"}`})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	tm := r.json(t)
	id := tm["id"].(string)
	live := e.do(t, req{method: "GET", path: "/v1/terminals/" + id + "?refresh=true", key: keyAcme}).json(t)
	assert.NotEmpty(t, live["methods"])
	p := e.createPayment(t, keyAcme, `{"amount":2500,"currency":"CNY","method":"alipay.barcode","terminal_id":"POS009","payer":{"auth_code":"284567890123456789"}}`)
	assert.Equal(t, "succeeded", p["status"])
	assert.Equal(t, "POS009", p["terminal_id"])
	now := time.Now()
	q := url.Values{"from": {now.Add(-time.Hour).Format(time.RFC3339)}, "to": {now.Add(time.Hour).Format(time.RFC3339)}}
	list := e.do(t, req{method: "GET", path: "/v1/terminals/" + id + "/transactions?" + q.Encode(), key: keyAcme})
	require.Equal(t, http.StatusOK, list.status, "%s", list.body)
	assert.EqualValues(t, 1, list.json(t)["total"])
	day := now.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	sum := e.do(t, req{method: "GET", path: "/v1/terminals/" + id + "/summary?date=" + day, key: keyAcme}).json(t)
	assert.EqualValues(t, 2500, sum["payment_amount"])
	ts := e.do(t, req{method: "GET", path: "/v1/terminals", key: keyAcme}).json(t)
	assert.Len(t, ts["data"], 1)
	assert.True(t, strings.HasPrefix(id, "tml_"))
}
