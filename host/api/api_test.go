package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/docs"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

const qrBody = `{"amount":1000,"currency":"CNY","method":"alipay.qr","merchant_order_id":"o-1","description":"tea","metadata":{"k":"v"}}`

func TestPaymentLifecycle(t *testing.T) {
	e := newEnv(t)
	key := e.key()
	r := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: key, body: qrBody})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	p := r.json(t)
	id := p["id"].(string)
	assert.Equal(t, "/v1/payments/"+id, r.header.Get("Location"))
	assert.Equal(t, "payment", p["object"])
	assert.Equal(t, "processing", p["status"])
	assert.Equal(t, "haotian/main/alipay.qr", p["channel"])
	assert.Equal(t, "haotian", p["provider"])
	assert.Equal(t, float64(1000), p["amount"])
	assert.Equal(t, map[string]any{"k": "v"}, p["metadata"])
	require.NotNil(t, p["pay_info"], "a QR payment tells how to pay")
	dec := p["decision"].(map[string]any)
	assert.Equal(t, "0123456789abcdef", dec["ruleset_hash"])
	assert.Equal(t, float64(10), dec["fee"])

	t.Run("same key and body replays the payment", func(t *testing.T) {
		again := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: key, body: qrBody})
		require.Equal(t, http.StatusCreated, again.status, "%s", again.body)
		assert.Equal(t, id, again.json(t)["id"])
	})
	t.Run("same key with another body is refused", func(t *testing.T) {
		other := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: key, body: strings.Replace(qrBody, "1000", "1001", 1)})
		assert.Equal(t, http.StatusUnprocessableEntity, other.status)
		assert.Equal(t, "idempotency_mismatch", other.errorObj(t)["code"])
	})

	// the payer pays; the simulator notifies /v1/notify/main
	require.NoError(t, e.sim.Pay(p["provider_payment_id"].(string)))
	waitFor(t, "the payment to succeed", func() bool {
		got := e.do(t, req{method: "GET", path: "/v1/payments/" + id, key: keyAcme})
		return got.status == http.StatusOK && got.json(t)["status"] == "succeeded"
	})
	waitFor(t, "the notification's log line", func() bool { return strings.Contains(e.logs.String(), `"route":"/v1/notify/{account}"`) })

	r = e.do(t, req{method: "POST", path: "/v1/payments/" + id + "/refunds", key: keyAcme, idem: e.key(), body: `{"amount":400,"reason":"broken cup"}`})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	ref := r.json(t)
	refID := ref["id"].(string)
	assert.Equal(t, "/v1/refunds/"+refID, r.header.Get("Location"))
	assert.Equal(t, "refund", ref["object"])
	assert.Equal(t, id, ref["payment_id"])
	assert.Equal(t, float64(400), ref["amount"])

	waitFor(t, "the refund to succeed", func() bool {
		got := e.do(t, req{method: "GET", path: "/v1/refunds/" + refID + "?refresh=true", key: keyAcme})
		return got.status == http.StatusOK && got.json(t)["status"] == "succeeded"
	})
	got := e.do(t, req{method: "GET", path: "/v1/payments/" + id + "?refresh=true", key: keyAcme}).json(t)
	assert.Equal(t, "succeeded", got["status"])
	assert.Equal(t, float64(400), got["refunded_amount"])
	refunds := got["refunds"].([]any)
	require.Len(t, refunds, 1)
	assert.Equal(t, refID, refunds[0].(map[string]any)["id"])
}

func TestClosePayment(t *testing.T) {
	e := newEnv(t)
	p := e.createPayment(t, keyAcme, `{"amount":500,"currency":"CNY","method":"wechat.native"}`)
	id := p["id"].(string)
	tests := []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"without a key", req{method: "POST", path: "/v1/payments/" + id + "/close", key: keyAcme}, 400, "invalid_request"},
		{"with a body that is not {}", req{method: "POST", path: "/v1/payments/" + id + "/close", key: keyAcme, idem: "c1", body: `{"now":true}`}, 400, "invalid_request"},
		{"closes", req{method: "POST", path: "/v1/payments/" + id + "/close", key: keyAcme, idem: "c2"}, 200, ""},
		{"again with {}", req{method: "POST", path: "/v1/payments/" + id + "/close", key: keyAcme, idem: "c3", body: `{}`}, 200, ""},
		{"a closed payment cannot be refunded", req{method: "POST", path: "/v1/payments/" + id + "/refunds", key: keyAcme, idem: "r1",
			body: `{"amount":100}`}, 409, "conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.r)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			if tt.code != "" {
				assert.Equal(t, tt.code, r.errorObj(t)["code"])
				return
			}
			assert.Equal(t, "closed", r.json(t)["status"])
		})
	}
}

// TestBadPaymentInput sends each kind of bad input; each gets a clear 4xx
// with a canonical code, and nothing is stored: no request reaches the
// provider and the idempotency key stays free for a good request.
func TestBadPaymentInput(t *testing.T) {
	e := newEnv(t)
	big := `{"amount":1000,"currency":"CNY","method":"alipay.qr","description":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`
	tests := []struct {
		name   string
		r      req
		status int
		code   string
		param  string
	}{
		{"malformed JSON", req{body: `{"amount":1000,"currency":`}, 400, "invalid_request", "body"},
		{"not JSON at all", req{body: `amount=1000`}, 400, "invalid_request", "body"},
		{"empty body", req{body: " ", ctype: "application/json"}, 400, "invalid_request", "body"},
		{"an array", req{body: `[1000]`}, 400, "invalid_request", "body"},
		{"trailing data", req{body: qrBody + `{}`}, 400, "invalid_request", "body"},
		{"unknown field", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.qr","tip":5}`}, 400, "invalid_request", "tip"},
		{"field in another case", req{body: `{"AMOUNT":1000,"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "AMOUNT"},
		{"repeated field", req{body: `{"amount":1,"amount":1000,"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"unknown payer field", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.qr","payer":{"ssn":"1"}}`}, 400, "invalid_request", "payer.ssn"},
		{"wrong content type", req{body: qrBody, ctype: "text/plain"}, 415, "invalid_request", "Content-Type"},
		{"form content type", req{body: qrBody, ctype: "application/x-www-form-urlencoded"}, 415, "invalid_request", "Content-Type"},
		{"odd charset", req{body: qrBody, ctype: "application/json; charset=latin1"}, 415, "invalid_request", "Content-Type"},
		{"body too large", req{body: big}, 413, "invalid_request", "body"},
		{"negative amount", req{body: `{"amount":-1,"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"zero amount", req{body: `{"amount":0,"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"missing amount", req{body: `{"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"null amount", req{body: `{"amount":null,"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"exponent amount", req{body: `{"amount":1e3,"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"fractional amount", req{body: `{"amount":10.5,"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"integral fraction", req{body: `{"amount":1000.0,"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"amount beyond int64", req{body: `{"amount":99999999999999999999,"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"amount beyond 2^53", req{body: `{"amount":9007199254740993,"currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"amount as a string", req{body: `{"amount":"1000","currency":"CNY","method":"alipay.qr"}`}, 400, "invalid_request", "amount"},
		{"fractional expire_seconds", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.qr","expire_seconds":1.5}`}, 400, "invalid_request", "expire_seconds"},
		{"negative expire_seconds", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.qr","expire_seconds":-5}`}, 400, "invalid_request", "expire_seconds"},
		{"unknown currency", req{body: `{"amount":1000,"currency":"XXX","method":"alipay.qr"}`}, 400, "invalid_request", "currency"},
		{"missing currency", req{body: `{"amount":1000,"method":"alipay.qr"}`}, 400, "invalid_request", "currency"},
		{"unknown method", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.telepathy"}`}, 400, "invalid_request", "method"},
		{"method no channel supports", req{body: `{"amount":1000,"currency":"CNY","method":"wechat.jsapi"}`}, 422, "unsupported", ""},
		{"currency as a number", req{body: `{"amount":1000,"currency":156,"method":"alipay.qr"}`}, 400, "invalid_request", "currency"},
		{"metadata value not a string", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.qr","metadata":{"n":1}}`}, 400, "invalid_request", "metadata"},
		{"NUL in a string", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.qr","description":"a\u0000b"}`}, 400, "invalid_request", "description"},
		{"NUL in a metadata key", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.qr","metadata":{"a\u0000":"b"}}`}, 400, "invalid_request", "metadata"},
		{"invalid UTF-8 in a string", req{body: "{\"amount\":1000,\"currency\":\"CNY\",\"method\":\"alipay.qr\",\"description\":\"caf\xe9\"}"}, 400, "invalid_request", "description"},
		{"invalid UTF-8 in a metadata value", req{body: "{\"amount\":1000,\"currency\":\"CNY\",\"method\":\"alipay.qr\",\"metadata\":{\"note\":\"\xff\xfe\"}}"}, 400, "invalid_request", "metadata.note"},
		{"invalid UTF-8 in a metadata key", req{body: "{\"amount\":1000,\"currency\":\"CNY\",\"method\":\"alipay.qr\",\"metadata\":{\"k\xc0\":\"v\"}}"}, 400, "invalid_request", "metadata"},
		{"invalid UTF-8 in a nested string", req{body: "{\"amount\":1000,\"currency\":\"CNY\",\"method\":\"alipay.qr\",\"payer\":{\"open_id\":\"o\xed\xa0\x80\"}}"}, 400, "invalid_request", "payer.open_id"},
		{"invalid UTF-8 in a field name", req{body: "{\"amount\":1000,\"currency\":\"CNY\",\"method\":\"alipay.qr\",\"descr\xffiption\":\"x\"}"}, 400, "invalid_request", "body"},
		{"lone surrogate escape", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.qr","description":"a\ud800b"}`}, 400, "invalid_request", "description"},
		{"lone low surrogate escape", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.qr","merchant_order_id":"\udc00"}`}, 400, "invalid_request", "merchant_order_id"},
		{"barcode without the payer's code", req{body: `{"amount":1000,"currency":"CNY","method":"alipay.barcode"}`}, 400, "invalid_request", "payer.auth_code"},
		{"missing Idempotency-Key", req{body: qrBody, idem: "-"}, 400, "invalid_request", "Idempotency-Key"},
		{"Idempotency-Key with spaces", req{body: qrBody, idem: "a b"}, 400, "invalid_request", "Idempotency-Key"},
		{"Idempotency-Key too long", req{body: qrBody, idem: strings.Repeat("k", 256)}, 400, "invalid_request", "Idempotency-Key"},
		{"wrong API key", req{body: qrBody, key: "not-a-key-0123456789"}, 401, "auth_failed", ""},
		{"missing API key", req{body: qrBody, key: "-"}, 401, "auth_failed", ""},
		{"admin token is no API key", req{body: qrBody, key: adminTok}, 401, "auth_failed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.sim.Requests())
			key := e.key()
			r := tt.r
			r.method, r.path = "POST", "/v1/payments"
			switch r.key {
			case "":
				r.key = keyAcme
			case "-":
				r.key = ""
			}
			switch r.idem {
			case "":
				r.idem = key
			case "-":
				r.idem = ""
			default:
				key = r.idem
			}
			got := e.do(t, r)
			require.Equal(t, tt.status, got.status, "%s", got.body)
			assert.Equal(t, "application/json", got.header.Get("Content-Type"))
			eo := got.errorObj(t)
			assert.Equal(t, tt.code, eo["code"])
			assert.NotEmpty(t, eo["message"])
			if tt.param != "" {
				assert.Equal(t, tt.param, eo["param"], "message: %s", eo["message"])
			}
			if tt.status == 401 {
				assert.Contains(t, got.header.Get("WWW-Authenticate"), "Bearer")
			}
			if tt.code != "unsupported" {
				assert.Equal(t, before, len(e.sim.Requests()), "the provider was called")
			}
			// (a decision the engine refused, like unsupported, is the key's stored answer)
			if len(key) <= 255 && !strings.Contains(key, " ") && tt.status != 401 && tt.code != "unsupported" {
				ok := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: key, body: `{"amount":1000,"currency":"CNY","method":"alipay.qr"}`})
				assert.Equal(t, http.StatusCreated, ok.status, "the key was taken by the bad request: %s", ok.body)
			}
		})
	}
}

func TestBadRefundInput(t *testing.T) {
	e := newEnv(t)
	p := e.createPayment(t, keyAcme, qrBody)
	id := p["id"].(string)
	require.NoError(t, e.sim.Pay(p["provider_payment_id"].(string)))
	waitFor(t, "payment", func() bool {
		return e.do(t, req{method: "GET", path: "/v1/payments/" + id, key: keyAcme}).json(t)["status"] == "succeeded"
	})
	tests := []struct {
		name, body string
		status     int
		code       string
		param      string
	}{
		{"negative", `{"amount":-5}`, 400, "invalid_request", "amount"},
		{"zero", `{"amount":0}`, 400, "invalid_request", "amount"},
		{"fraction", `{"amount":2.5}`, 400, "invalid_request", "amount"},
		{"overflow", `{"amount":18446744073709551616}`, 400, "invalid_request", "amount"},
		{"more than was paid", `{"amount":1001}`, 400, "invalid_request", "amount"},
		{"unknown field", `{"amount":5,"why":"x"}`, 400, "invalid_request", "why"},
		{"reason too long", `{"amount":5,"reason":"` + strings.Repeat("r", 300) + `"}`, 400, "invalid_request", "reason"},
		{"malformed", `{"amount":`, 400, "invalid_request", "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := e.key()
			r := e.do(t, req{method: "POST", path: "/v1/payments/" + id + "/refunds", key: keyAcme, idem: key, body: tt.body})
			require.Equal(t, tt.status, r.status, "%s", r.body)
			eo := r.errorObj(t)
			assert.Equal(t, tt.code, eo["code"])
			assert.Equal(t, tt.param, eo["param"])
		})
	}
	got := e.do(t, req{method: "GET", path: "/v1/payments/" + id, key: keyAcme}).json(t)
	assert.Nil(t, got["refunds"], "no refund was stored")
	r := e.do(t, req{method: "POST", path: "/v1/payments/" + id + "/refunds", key: keyAcme, body: `{"amount":5}`})
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "Idempotency-Key", r.errorObj(t)["param"])
}

// TestTenantIsolation: another tenant's objects are not found (404, never
// 403), exactly like ids that do not exist.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	p := e.createPayment(t, keyAcme, qrBody)
	id := p["id"].(string)
	require.NoError(t, e.sim.Pay(p["provider_payment_id"].(string)))
	waitFor(t, "payment", func() bool {
		return e.do(t, req{method: "GET", path: "/v1/payments/" + id, key: keyAcme}).json(t)["status"] == "succeeded"
	})
	ref := e.do(t, req{method: "POST", path: "/v1/payments/" + id + "/refunds", key: keyAcme, idem: e.key(), body: `{"amount":100}`}).json(t)
	refID := ref["id"].(string)

	tests := []struct {
		name string
		r    req
	}{
		{"get payment", req{method: "GET", path: "/v1/payments/" + id}},
		{"refresh payment", req{method: "GET", path: "/v1/payments/" + id + "?refresh=true"}},
		{"close payment", req{method: "POST", path: "/v1/payments/" + id + "/close", idem: "g-close"}},
		{"refund payment", req{method: "POST", path: "/v1/payments/" + id + "/refunds", idem: "g-refund", body: `{"amount":100}`}},
		{"get refund", req{method: "GET", path: "/v1/refunds/" + refID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			r.key = keyGlobex
			got := e.do(t, r)
			require.Equal(t, http.StatusNotFound, got.status, "%s", got.body)
			assert.Equal(t, "not_found", got.errorObj(t)["code"])
			assert.NotContains(t, string(got.body), "acme")
			// the same answer as an id that does not exist
			missing := r
			missing.path = strings.NewReplacer(id, "pay_doesnotexist", refID, "re_doesnotexist").Replace(r.path)
			m := e.do(t, missing)
			assert.Equal(t, got.status, m.status)
			assert.Equal(t, got.errorObj(t)["code"], m.errorObj(t)["code"])
		})
	}
	// nothing changed for the owner
	got := e.do(t, req{method: "GET", path: "/v1/payments/" + id, key: keyAcme}).json(t)
	assert.Equal(t, "succeeded", got["status"])
	assert.Len(t, got["refunds"], 1)
}

// TestNotifications: a forged or replayed notification gets a 4xx and
// changes nothing; a duplicate is acknowledged and applied once.
func TestNotifications(t *testing.T) {
	e := newEnv(t)
	p := e.createPayment(t, keyAcme, qrBody)
	id, provID := p["id"].(string), p["provider_payment_id"].(string)

	// A genuine notification, signed as the gateway signs, but not sent yet.
	paid := map[string]string{"payOrderId": provID, "mchNo": sim.DefaultMerchant.MchNo, "appId": sim.DefaultMerchant.AppID,
		"mchOrderNo": id, "ifCode": "alipay", "wayCode": "ALI_QR", "amount": "1000", "currency": "cny", "state": "2",
		"createdAt": strconv.FormatInt(time.Now().UnixMilli(), 10), "successTime": strconv.FormatInt(time.Now().UnixMilli(), 10)}
	sign := func(m map[string]string, at time.Time) string {
		c := map[string]string{}
		for k, v := range m {
			c[k] = v
		}
		c["reqTime"] = strconv.FormatInt(at.UnixMilli(), 10)
		c["sign"] = sim.Sign(c, sim.DefaultMerchant.Secret)
		v := url.Values{}
		for k, x := range c {
			v.Set(k, x)
		}
		return v.Encode()
	}
	form := "application/x-www-form-urlencoded"
	status := func() string {
		return e.do(t, req{method: "GET", path: "/v1/payments/" + id, key: keyAcme}).json(t)["status"].(string)
	}
	forged := sign(paid, time.Now())
	forged = strings.Replace(forged, "amount=1000", "amount=1", 1)

	tests := []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"forged (changed after signing)", req{path: "/v1/notify/main", body: forged, ctype: form}, 400, "signature_invalid"},
		{"unsigned", req{path: "/v1/notify/main", body: "payOrderId=" + provID + "&state=2", ctype: form}, 400, "signature_invalid"},
		{"signed with another secret", req{path: "/v1/notify/main", ctype: form, body: func() string {
			c := map[string]string{"reqTime": strconv.FormatInt(time.Now().UnixMilli(), 10)}
			for k, v := range paid {
				c[k] = v
			}
			c["sign"] = sim.Sign(c, "not-the-secret")
			v := url.Values{}
			for k, x := range c {
				v.Set(k, x)
			}
			return v.Encode()
		}()}, 400, "signature_invalid"},
		{"replayed (old reqTime)", req{path: "/v1/notify/main", body: sign(paid, time.Now().Add(-2*time.Hour)), ctype: form}, 400, "invalid_request"},
		{"unknown account", req{path: "/v1/notify/nobody", body: sign(paid, time.Now()), ctype: form}, 404, "not_found"},
		{"too large", req{path: "/v1/notify/main", body: strings.Repeat("a", 1<<20+1), ctype: form}, 413, "invalid_request"},
		{"garbage", req{path: "/v1/notify/main", body: "%%%", ctype: form}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			r.method = "POST"
			got := e.do(t, r)
			require.Equal(t, tt.status, got.status, "%s", got.body)
			assert.Equal(t, tt.code, got.errorObj(t)["code"])
			assert.Equal(t, "processing", status(), "a refused notification changed the payment")
		})
	}
	assert.Contains(t, e.logs.String(), `"error_code":"signature_invalid"`, "the refusal reason is logged")

	require.NoError(t, e.sim.Pay(provID))
	genuine := sign(paid, time.Now())
	for i := range 2 { // the second is a duplicate: acknowledged, not applied again
		got := e.do(t, req{method: "POST", path: "/v1/notify/main", body: genuine, ctype: form})
		require.Equal(t, http.StatusOK, got.status, "attempt %d: %s", i, got.body)
		assert.Equal(t, "SUCCESS", string(got.body), "the acknowledgement is byte for byte the plugin's")
		assert.Equal(t, "text/plain; charset=utf-8", got.header.Get("Content-Type"))
	}
	assert.Equal(t, "succeeded", status())
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"unknown path", "GET", "/v2/payments", 404, ""},
		{"root", "GET", "/", 404, ""},
		{"GET on a POST route", "GET", "/v1/payments", 405, "POST"},
		{"DELETE on a GET route", "DELETE", "/v1/payments/pay_1", 405, "GET"},
		{"PUT on the admin rules", "PUT", "/admin/rules", 405, "GET, POST"},
		{"trailing slash", "GET", "/v1/refunds/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: tt.method, path: tt.path, key: keyAcme})
			require.Equal(t, tt.status, r.status, "%s", r.body)
			eo := r.errorObj(t)
			if tt.status == 404 {
				assert.Equal(t, "not_found", eo["code"])
			} else {
				assert.Equal(t, "invalid_request", eo["code"])
				assert.Equal(t, tt.allow, r.header.Get("Allow"))
			}
		})
	}
	assert.Contains(t, e.logs.String(), `"route":"unmatched"`)
}

func TestQueryParameters(t *testing.T) {
	e := newEnv(t)
	p := e.createPayment(t, keyAcme, qrBody)
	id := p["id"].(string)
	for _, q := range []string{"refresh=maybe", "refresh=true&refresh=false"} {
		r := e.do(t, req{method: "GET", path: "/v1/payments/" + id + "?" + q, key: keyAcme})
		assert.Equal(t, 400, r.status, q)
		assert.Equal(t, "refresh", r.errorObj(t)["param"])
	}
	for _, q := range []string{"refresh=false", "refresh=1", ""} {
		r := e.do(t, req{method: "GET", path: "/v1/payments/" + id + "?" + q, key: keyAcme})
		assert.Equal(t, 200, r.status, q)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, req{method: "GET", path: "/healthz"})
	require.Equal(t, 200, r.status)
	assert.Equal(t, "ok", r.json(t)["status"])
	r = e.do(t, req{method: "GET", path: "/readyz"})
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, "ready", r.json(t)["status"])

	notReady := newEnv(t, envOptions{noDecider: true})
	r = notReady.do(t, req{method: "GET", path: "/readyz"})
	require.Equal(t, 503, r.status)
	assert.Contains(t, r.errorObj(t)["message"], "no ruleset")
	r = notReady.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: "k", body: qrBody})
	assert.Equal(t, 500, r.status, "%s", r.body)
	assert.NotContains(t, string(r.body), "ruleset", "internal details stay in the log")
	assert.Contains(t, r.errorObj(t)["message"], r.header.Get("X-Request-Id"))
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, req{method: "GET", path: "/openapi.json"})
	require.Equal(t, 200, r.status)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.JSONEq(t, `{"openapi":"3.0.3"}`, string(r.body))

	a, err := New(Config{Host: e.host})
	require.NoError(t, err)
	rec := serve(a, "GET", "/openapi.json", "")
	require.Equal(t, 200, rec.status)
	assert.Equal(t, docs.OpenAPI, rec.body, "the served document is docs/openapi.json byte for byte")
}

func TestRequestIDAndLog(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: e.key(), header: map[string]string{"X-Request-Id": "req-42.a:b"},
		body: `{"amount":1000,"currency":"CNY","method":"alipay.qr","description":"very-private-description","payer":{"card_no":"6222020000000000"}}`})
	require.Equal(t, 201, r.status, "%s", r.body)
	assert.Equal(t, "req-42.a:b", r.header.Get("X-Request-Id"))
	r2 := e.do(t, req{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "bad id with spaces"}})
	generated := r2.header.Get("X-Request-Id")
	assert.Regexp(t, `^[0-9a-f]{24}$`, generated)
	r3 := e.do(t, req{method: "GET", path: "/v1/payments/x", key: "wrong-key-0123456789"})
	require.Equal(t, 401, r3.status)

	var line map[string]any
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, `"request_id":"req-42.a:b"`) {
			require.NoError(t, json.Unmarshal([]byte(l), &line))
		}
	}
	require.NotNil(t, line, "one line for the request")
	assert.Equal(t, "request", line["msg"])
	assert.Equal(t, "POST", line["method"])
	assert.Equal(t, "/v1/payments", line["route"])
	assert.Equal(t, float64(201), line["status"])
	assert.Equal(t, "acme", line["tenant"])
	assert.Contains(t, line, "duration_ms")
	logs := e.logs.String()
	assert.Contains(t, logs, `"request_id":"`+generated+`"`)
	for _, secret := range []string{keyAcme, "wrong-key-0123456789", "very-private-description", "6222020000000000", sim.DefaultMerchant.Secret} {
		assert.NotContains(t, logs, secret)
	}
}

func TestAdmin(t *testing.T) {
	e := newEnv(t)
	yaml := "application/yaml"
	t.Run("auth", func(t *testing.T) {
		for _, key := range []string{"", keyAcme, "nope-0123456789abcdef"} {
			for _, rt := range []req{{method: "GET", path: "/admin/rules"}, {method: "POST", path: "/admin/rules", body: "x:y", ctype: yaml},
				{method: "POST", path: "/admin/rules/rollback"}, {method: "GET", path: "/admin/plugins"}} {
				rt.key = key
				r := e.do(t, rt)
				assert.Equal(t, 401, r.status, "%s %s with %q", rt.method, rt.path, key)
				assert.Equal(t, "auth_failed", r.errorObj(t)["code"])
				assert.Contains(t, r.header.Get("WWW-Authenticate"), `Bearer realm="payhost"`)
			}
		}
	})
	t.Run("status", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/admin/rules", key: adminTok})
		require.Equal(t, 200, r.status, "%s", r.body)
		m := r.json(t)
		active := m["active"].(map[string]any)
		assert.Equal(t, "h-routing:default|fee:std", active["hash"])
		assert.Equal(t, []any{}, m["history"])
	})
	t.Run("dry run changes nothing", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: "/admin/rules?dry_run=true", key: adminTok, body: "routing:default\nsplit:royalty\n", ctype: yaml})
		require.Equal(t, 200, r.status, "%s", r.body)
		var c RulesChange
		require.NoError(t, json.Unmarshal(r.body, &c))
		assert.True(t, c.DryRun)
		assert.False(t, c.Activated)
		assert.True(t, c.Changed)
		assert.Equal(t, []RuleRef{{"split", "royalty"}}, c.Added)
		assert.Equal(t, []RuleRef{{"fee", "std"}}, c.Removed)
		assert.Equal(t, 1, c.Ruleset.Tests.Passed)
		assert.Equal(t, "h-routing:default|fee:std", e.rules.Status().Active.Hash)
	})
	t.Run("refused file lists file:line and rule", func(t *testing.T) {
		for _, q := range []string{"", "?dry_run=true"} {
			r := e.do(t, req{method: "POST", path: "/admin/rules" + q, key: adminTok, body: "routing:default\nbad\n", ctype: yaml})
			require.Equal(t, 400, r.status, "%s", r.body)
			var body ErrorBody
			require.NoError(t, json.Unmarshal(r.body, &body))
			assert.Equal(t, "invalid_request", string(body.Error.Code))
			assert.Contains(t, body.Error.Message, `admin:2:1: routing rule "bad"`)
			require.Len(t, body.Issues, 1)
			assert.Equal(t, RuleIssue{File: "admin", Line: 2, Column: 1, Kind: "routing", RuleID: "bad", Message: "not kind:id",
				Text: `admin:2:1: routing rule "bad": not kind:id`}, body.Issues[0])
		}
		assert.Equal(t, "h-routing:default|fee:std", e.rules.Status().Active.Hash)
	})
	t.Run("bad requests", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: "/admin/rules", key: adminTok, body: "routing:x", ctype: "multipart/form-data; boundary=x"})
		assert.Equal(t, 415, r.status)
		r = e.do(t, req{method: "POST", path: "/admin/rules", key: adminTok, ctype: yaml})
		assert.Equal(t, 400, r.status)
		r = e.do(t, req{method: "POST", path: "/admin/rules?dry_run=perhaps", key: adminTok, body: "a:b", ctype: yaml})
		assert.Equal(t, 400, r.status)
		assert.Equal(t, "dry_run", r.errorObj(t)["param"])
	})
	t.Run("activate and roll back", func(t *testing.T) {
		r := e.do(t, req{method: "POST", path: "/admin/rules", key: adminTok, body: "routing:default\nfee:std\nfee:promo\n", ctype: "text/plain"})
		require.Equal(t, 200, r.status, "%s", r.body)
		var c RulesChange
		require.NoError(t, json.Unmarshal(r.body, &c))
		assert.True(t, c.Activated)
		assert.Equal(t, "h-routing:default|fee:std", c.PreviousHash)
		assert.Equal(t, []RuleRef{{"fee", "promo"}}, c.Added)
		assert.Equal(t, "h-routing:default|fee:std|fee:promo", e.rules.Status().Active.Hash)

		r = e.do(t, req{method: "POST", path: "/admin/rules/rollback", key: adminTok})
		require.Equal(t, 200, r.status, "%s", r.body)
		require.NoError(t, json.Unmarshal(r.body, &c))
		assert.Equal(t, "h-routing:default|fee:std", c.Ruleset.Hash)
		assert.Equal(t, []RuleRef{{"fee", "promo"}}, c.Removed)

		r = e.do(t, req{method: "POST", path: "/admin/rules/rollback", key: adminTok})
		assert.Equal(t, 409, r.status)
		assert.Equal(t, "conflict", r.errorObj(t)["code"])
	})
	t.Run("plugins", func(t *testing.T) {
		r := e.do(t, req{method: "GET", path: "/admin/plugins", key: adminTok})
		require.Equal(t, 200, r.status, "%s", r.body)
		var pr PluginsResponse
		require.NoError(t, json.Unmarshal(r.body, &pr))
		require.Len(t, pr.Plugins, 1)
		assert.Equal(t, "haotian", pr.Plugins[0].Name)
		assert.Equal(t, []string{"main"}, pr.Plugins[0].Accounts)
		assert.Equal(t, "native", pr.Plugins[0].Transport)
	})
}

func TestAdminDisabled(t *testing.T) {
	e := newEnv(t)
	a, err := New(Config{Host: e.host})
	require.NoError(t, err)
	for _, token := range []string{"", adminTok} {
		rec := serve(a, "GET", "/admin/plugins", token)
		assert.Equal(t, 401, rec.status)
	}
	rec := serve(a, "GET", "/healthz", "")
	assert.Equal(t, 200, rec.status)
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.createPayment(t, keyAcme, qrBody)
	e.do(t, req{method: "GET", path: "/v1/payments/pay_nope", key: keyAcme})
	r := e.do(t, req{method: "GET", path: "/metrics"})
	require.Equal(t, 200, r.status)
	text := string(r.body)
	for _, want := range []string{
		`payhost_http_requests_total{method="POST",route="/v1/payments",status="201"} 1`,
		`payhost_http_requests_total{method="GET",route="/v1/payments/{id}",status="404"} 1`,
		`payhost_http_request_duration_seconds_count{method="POST",route="/v1/payments",status="201"} 1`,
		`payhost_provider_calls_total{account="main",op="payment.create",outcome="ok",plugin="haotian"} 1`,
		`payhost_provider_call_duration_seconds_count{account="main",op="payment.create",outcome="ok",plugin="haotian"} 1`,
		`payhost_plugin_instances{plugin="haotian",state="in_use"} 0`,
		`payhost_plugin_calls_total{plugin="haotian"}`,
		`payhost_plugin_discards_total{plugin="haotian",reason="trap"} 0`,
		`payhost_plugin_instantiations_total{plugin="haotian"}`,
		`payhost_rule_reloads_total{outcome="activated"} 1`,
		`payhost_rule_reloads_total{outcome="refused"} 0`,
		`payhost_rule_reloads_total{outcome="rolled_back"} 0`,
		`payhost_rules_active_info{hash="h-routing:default|fee:std"} 1`,
		`go_goroutines`,
	} {
		assert.Contains(t, text, want)
	}
	_, err := New(Config{Host: e.host, Metrics: e.api.Metrics()})
	assert.Error(t, err, "one Metrics serves one server")
}

func TestNewRefusesBadTenants(t *testing.T) {
	e := newEnv(t)
	for _, ts := range [][]Tenant{
		{{Name: "", APIKeys: []string{"k"}}},
		{{Name: "a", APIKeys: []string{"k1"}}, {Name: "a", APIKeys: []string{"k2"}}},
		{{Name: "a", APIKeys: []string{""}}},
	} {
		_, err := New(Config{Host: e.host, Tenants: ts})
		assert.Error(t, err, fmt.Sprint(ts))
	}
	_, err := New(Config{})
	assert.Error(t, err)
}
