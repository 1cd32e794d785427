package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// FuzzCreatePaymentBody sends any bytes as the body of POST /v1/payments
// to the real engine: the answer is a 2xx payment or a JSON 4xx error,
// never a panic or a 5xx, and text that is not valid UTF-8 is refused, not
// stored as U+FFFD.
func FuzzCreatePaymentBody(f *testing.F) {
	for _, seed := range []string{
		qrBody,
		`{"amount":1,"currency":"cny","method":"wechat.native"}`,
		`{"amount":1000,"currency":"CNY","method":"alipay.barcode","payer":{"auth_code":"284603488271381234"}}`,
		`{"amount":1000,"currency":"CNY","method":"cashier","expire_seconds":600,"return_url":"https://shop.example/back"}`,
		`{"amount":1000,"currency":"CNY","method":"alipay.qr","terminal_id":"T-1","country":"CN","metadata":{}}`,
		`{"amount":1e3}`, `{"amount":10.5}`, `{"amount":99999999999999999999}`, `{"amount":-1}`, `{"amount":"1"}`,
		`{"amount":1000,"currency":"JPY","method":"alipay.qr"}`, `{"amount":1000,"currency":"CNY","method":"wechat.jsapi"}`,
		`{"amount":1000,"currency":"CNY","method":"alipay.qr","description":"\u0000"}`,
		`{"amount":1000,"currency":"CNY","method":"alipay.qr","metadata":{"k":"` + string(bytes.Repeat([]byte("v"), 600)) + `"}}`,
		`{"Amount":1}`, `{"amount":1,"amount":2}`, `[]`, `null`, `"x"`, `{`, ``, "\xff\xfe", `{"payer":{"open_id":1}}`,
		"{\"amount\":1000,\"currency\":\"CNY\",\"method\":\"alipay.qr\",\"description\":\"caf\xe9\"}",
		`{"amount":1000,"currency":"CNY","method":"alipay.qr","metadata":{"k":"\ud800"}}`,
		`{"amount":1000,"currency":"CNY","method":"alipay.qr","description":"\ud83c\udf75"}`,
	} {
		f.Add([]byte(seed))
	}
	e := newEnv(f)
	n := 0
	f.Fuzz(func(t *testing.T, body []byte) {
		n++
		r := httptest.NewRequest(http.MethodPost, "/v1/payments", bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+keyAcme)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", "fuzz-"+strconv.Itoa(n))
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, r)
		if rec.Code >= 500 || rec.Code < 200 || (rec.Code >= 300 && rec.Code < 400) {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.Bytes())
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("content type %q", ct)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, rec.Body.Bytes())
		}
		if rec.Code >= 400 {
			eo, ok := out["error"].(map[string]any)
			if !ok || eo["code"] == "" || eo["message"] == "" {
				t.Fatalf("4xx without an error object: %s", rec.Body.Bytes())
			}
			return
		}
		if out["object"] != "payment" || out["id"] == "" {
			t.Fatalf("2xx without a payment: %s", rec.Body.Bytes())
		}
		if !bytes.Contains(body, []byte("\xef\xbf\xbd")) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) &&
			bytes.Contains(rec.Body.Bytes(), []byte("\xef\xbf\xbd")) {
			t.Fatalf("a payment stored with a replacement character the body did not hold: %q → %s", body, rec.Body.Bytes())
		}
	})
}
