package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The cross-tenant attempts of issue 10 through the HTTP API (the engine's
// tests, on SQLite and PostgreSQL, are host/tenancy_test.go). acme uses and
// pays out of main, globex side, initech takes payments through main only.

// forbidden asserts a 403 forbidden naming param.
func forbidden(t *testing.T, r response, param string) {
	t.Helper()
	require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
	eo := r.errorObj(t)
	assert.Equal(t, "forbidden", eo["code"])
	assert.Equal(t, param, eo["param"])
}

// TestTenantMoneyRoutes: payouts and balances of another tenant's account,
// or of an account shared without a payout grant, are 403; the refused
// request stores nothing, so its key serves a corrected request.
func TestTenantMoneyRoutes(t *testing.T) {
	e := newEnv(t, envOptions{tenancy: true})
	transfer := func(account string) string {
		return `{"account":"` + account + `","kind":"transfer","amount":950000,"currency":"CNY",` +
			`"destination":{"kind":"alipay","account_no":"2088102175953034","account_name":"李四"}}`
	}
	r := e.do(t, req{method: "POST", path: "/v1/payouts", key: keyGlobex, idem: "steal", body: transfer("main")})
	forbidden(t, r, "account")
	assert.Contains(t, r.errorObj(t)["message"], `account "main" is not one of your accounts`)
	for _, kind := range []string{"transfer", "withdrawal", "disbursement"} {
		body := strings.Replace(transfer("main"), `"transfer"`, `"`+kind+`"`, 1)
		forbidden(t, e.do(t, req{method: "POST", path: "/v1/payouts", key: keyInitech, idem: "steal-" + kind, body: body}), "account")
	}
	forbidden(t, e.do(t, req{method: "POST", path: "/v1/payouts", key: keyInitech, idem: "steal-cashout",
		body: `{"account":"main","kind":"cashout","receiver":"platform","amount":400000,"currency":"CNY"}`}), "account")
	for _, path := range []string{"/v1/balances?account=main", "/v1/balances?account=main&receiver=platform"} {
		forbidden(t, e.do(t, req{method: "GET", path: path, key: keyGlobex}), "account")
	}
	forbidden(t, e.do(t, req{method: "GET", path: "/v1/balances?account=main", key: keyInitech}), "account")
	for _, r := range e.sim.Requests() {
		assert.NotContains(t, r.Path, "transfer", "a refused payout reached the provider")
		assert.NotContains(t, r.Path, "Balance", "a refused balance query reached the provider")
	}

	r = e.do(t, req{method: "POST", path: "/v1/payouts", key: keyGlobex, idem: "steal", body: transfer("side")})
	require.Equal(t, http.StatusCreated, r.status, "the refused request left no key behind: %s", r.body)
	assert.Equal(t, "side", r.json(t)["account"])
}

// TestTenantReceiverRoutes: naming another tenant's provider receiver id
// is 409 and stores nothing; an id the provider cannot confirm is pending
// until the operator binds it through the admin API.
func TestTenantReceiverRoutes(t *testing.T) {
	e := newEnv(t, envOptions{tenancy: true})
	r := e.do(t, req{method: "POST", path: "/v1/split_receivers", key: keyAcme, body: receiverBody})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	victim := r.json(t)
	require.Equal(t, "bound", victim["status"])
	claim := func(key, account, name, id string) response {
		return e.do(t, req{method: "POST", path: "/v1/split_receivers", key: key,
			body: `{"name":"` + name + `","account":"` + account + `","provider_receiver_id":"` + id + `"}`})
	}

	r = claim(keyInitech, "main", "mine", victim["provider_receiver_id"].(string))
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	assert.Equal(t, "conflict", r.errorObj(t)["code"])
	assert.Equal(t, "provider_receiver_id", r.errorObj(t)["param"])
	assert.Empty(t, e.do(t, req{method: "GET", path: "/v1/split_receivers", key: keyInitech}).json(t)["data"], "nothing stored")
	forbidden(t, claim(keyGlobex, "main", "mine", "123456"), "account")

	r = claim(keyInitech, "main", "shop", "909090")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	shop := r.json(t)
	assert.Equal(t, "pending", shop["status"], "Haotian cannot confirm it")
	id := shop["id"].(string)

	assert.Equal(t, http.StatusUnauthorized, e.do(t, req{method: "POST", path: "/admin/split_receivers/" + id + "/bind", key: keyInitech}).status,
		"a tenant cannot bind its own claim")
	list := e.do(t, req{method: "GET", path: "/admin/split_receivers", key: adminTok})
	require.Equal(t, http.StatusOK, list.status, "%s", list.body)
	data := list.json(t)["data"].([]any)
	require.Len(t, data, 1)
	assert.Equal(t, "initech", data[0].(map[string]any)["tenant"])
	assert.Equal(t, id, data[0].(map[string]any)["id"])
	assert.Equal(t, http.StatusBadRequest, e.do(t, req{method: "GET", path: "/admin/split_receivers?status=lost", key: adminTok}).status)

	r = e.do(t, req{method: "POST", path: "/admin/split_receivers/" + id + "/bind", key: adminTok})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "bound", r.json(t)["status"])
	assert.Equal(t, "bound", e.do(t, req{method: "GET", path: "/v1/split_receivers/" + id, key: keyInitech}).json(t)["status"])
	assert.Equal(t, http.StatusNotFound, e.do(t, req{method: "POST", path: "/admin/split_receivers/rcv_none/bind", key: adminTok}).status)
}

// TestTenantTerminalAndRoutingRoutes: a payment names only the caller's
// own terminal (403 otherwise, nothing stored); its channels are the
// caller's accounts only.
func TestTenantTerminalAndRoutingRoutes(t *testing.T) {
	e := newEnv(t, envOptions{tenancy: true})
	r := e.do(t, req{method: "POST", path: "/v1/terminals", key: keyAcme, body: `{"account":"main","device_no":"POS001"}`})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	forbidden(t, e.do(t, req{method: "POST", path: "/v1/terminals", key: keyGlobex, body: `{"account":"main","device_no":"POS002"}`}), "account")

	body := `{"amount":1500,"currency":"CNY","method":"alipay.barcode","terminal_id":"POS001","payer":{"auth_code":"284567890123456789"}}`
	forbidden(t, e.do(t, req{method: "POST", path: "/v1/payments", key: keyInitech, idem: "pos-1", body: body}), "terminal_id")
	for _, r := range e.sim.Requests() {
		assert.NotEqual(t, "/api/pos/pay", r.Path, "a refused device payment reached the provider")
	}
	p := e.createPayment(t, keyAcme, body)
	assert.Equal(t, "haotian/main/alipay.barcode", p["channel"])

	g := e.createPayment(t, keyGlobex, `{"amount":1000,"currency":"CNY","method":"wechat.native"}`)
	assert.Equal(t, "haotian/side/wechat.native", g["channel"])
	assert.Equal(t, []any{"haotian/side/wechat.native"}, g["decision"].(map[string]any)["channels"], "no other tenant's channel is shown")
}
