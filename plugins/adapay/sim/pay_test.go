package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newHTTPServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func payParams(orderNo, amount, channel string) map[string]any {
	return map[string]any{"app_id": DefaultMerchantAppID, "order_no": orderNo, "pay_channel": channel, "pay_amt": amount,
		"goods_title": "咖啡", "goods_desc": "美式咖啡"}
}

func TestPaymentsAndRefunds(t *testing.T) {
	ns := newNotifyServer(t, func(int) int { return 200 })
	e := newEnv(t, nil)
	p := payParams("o1", "10.00", "alipay_qr")
	p["notify_url"] = ns.url
	a := e.ok(e.do(http.MethodPost, "/v1/payments", p))
	id := a.str("id")
	assert.Equal(t, "pending", a.str("status"))
	assert.Equal(t, "10.00", a.str("pay_amt"))
	assert.Equal(t, map[string]any{"qrcode_url": e.hs.URL + "/sim/pay/" + id}, a.data["expend"])
	assert.Equal(t, "order_no_repeat", e.do(http.MethodPost, "/v1/payments", p).str("error_code"))
	for _, bad := range []struct{ field, value string }{{"pay_amt", "10"}, {"pay_amt", "0.00"}, {"pay_amt", "1.001"}, {"order_no", "o-2"}} {
		q := payParams("o2", "1.00", "alipay_qr")
		q[bad.field] = bad.value
		assert.Equal(t, bad.field, e.do(http.MethodPost, "/v1/payments", q).str("invalid_param"), bad.value)
	}
	assert.Equal(t, "pay_channel_not_support", e.do(http.MethodPost, "/v1/payments", payParams("o3", "1.00", "wx_scan")).str("error_code"))
	assert.Equal(t, "expend.open_id", e.do(http.MethodPost, "/v1/payments", payParams("o4", "1.00", "wx_pub")).str("invalid_param"))
	q := payParams("o5", "1.00", "alipay_qr")
	q["app_id"] = "app_other"
	assert.Equal(t, "app_id_not_exist", e.do(http.MethodPost, "/v1/payments", q).str("error_code"))

	// the payer scans the code
	res, err := http.Get(e.hs.URL + "/sim/pay/" + id)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	f := ns.next(t)
	assert.Equal(t, "payment.succeeded", f.Get("type"))
	assert.Equal(t, DefaultMerchantAppID, f.Get("app_id"))
	got := e.ok(e.do(http.MethodGet, "/v1/payments/"+id, nil))
	assert.Equal(t, "succeeded", got.str("status"))
	assert.Len(t, got.str("end_time"), 14)
	assert.JSONEq(t, f.Get("data"), got.dataText, "the notification's data is the payment object")
	assert.Equal(t, "status_error", e.do(http.MethodPost, "/v1/payments/"+id+"/close", map[string]any{"payment_id": id}).str("error_code"))

	r := e.ok(e.do(http.MethodPost, "/v1/payments/"+id+"/refunds", map[string]any{"refund_order_no": "r1", "refund_amt": "4.00"}))
	assert.Equal(t, "pending", r.str("status"))
	assert.Equal(t, "refund_amt_over", e.do(http.MethodPost, "/v1/payments/"+id+"/refunds", map[string]any{"refund_order_no": "r2", "refund_amt": "6.01"}).str("error_code"))
	assert.Equal(t, "refund.succeeded", ns.next(t).Get("type"))
	list := e.ok(e.do(http.MethodGet, "/v1/payments/refunds", map[string]any{"payment_id": id}))
	refunds := list.data["refunds"].([]any)
	require.Len(t, refunds, 1)
	assert.Equal(t, "S", refunds[0].(map[string]any)["trans_status"])
	e.ok(e.do(http.MethodPost, "/v1/payments/"+id+"/refunds", map[string]any{"refund_order_no": "r2", "refund_amt": "6.00"}))
}

func TestCloseExpireAndAutoPay(t *testing.T) {
	now := time.Date(2024, 5, 14, 12, 0, 0, 0, time.UTC)
	clock := now
	e := newEnv(t, func(c *Config) { c.Now = func() time.Time { return clock } })
	a := e.ok(e.do(http.MethodPost, "/v1/payments", payParams("c1", "1.00", "alipay_wap")))
	cl := e.ok(e.do(http.MethodPost, "/v1/payments/"+a.str("id")+"/close", map[string]any{"payment_id": a.str("id"), "reason": "取消"}))
	assert.Equal(t, "close", cl.str("object"))
	assert.Equal(t, "succeeded", cl.str("status"))
	assert.Equal(t, "closed", e.ok(e.do(http.MethodGet, "/v1/payments/"+a.str("id"), nil)).str("status"))
	assert.Error(t, e.s.Pay(a.str("id")))

	x := payParams("c2", "1.00", "alipay_qr")
	x["time_expire"] = now.Add(time.Minute).In(chinaTime).Format("20060102150405")
	b := e.ok(e.do(http.MethodPost, "/v1/payments", x))
	clock = now.Add(2 * time.Minute)
	assert.Equal(t, "closed", e.ok(e.do(http.MethodGet, "/v1/payments/"+b.str("id"), nil)).str("status"), "expired")
	x = payParams("c3", "1.00", "alipay_qr")
	x["time_expire"] = now.In(chinaTime).Format("20060102150405")
	assert.Equal(t, "time_expire", e.do(http.MethodPost, "/v1/payments", x).str("invalid_param"), "already past")

	auto := newEnv(t, func(c *Config) { c.AutoPayDelay = 5 * time.Millisecond })
	p := auto.ok(auto.do(http.MethodPost, "/v1/payments", payParams("a1", "1.00", "alipay_qr")))
	stuck := auto.ok(auto.do(http.MethodPost, "/v1/payments", payParams("a2", "666.02", "alipay_qr")))
	eventually(t, func() bool { pp, _ := auto.s.Payment(p.str("id")); return pp.Status == StatusSucceeded }, "auto-paid")
	time.Sleep(10 * time.Millisecond)
	sp, _ := auto.s.Payment(stuck.str("id"))
	assert.Equal(t, StatusPending, sp.Status, "the magic amount is never auto-paid")
	declined := auto.ok(auto.do(http.MethodPost, "/v1/payments", payParams("a3", "666.01", "alipay_qr")))
	assert.Equal(t, "failed", declined.str("status"))
	assert.Equal(t, "channel_declined", declined.str("error_code"))
	assert.Equal(t, "channel_error", declined.str("error_type"))
}

func TestStateRoute(t *testing.T) {
	e := newEnv(t, nil)
	assert.Equal(t, State{Payments: []Payment{}, Refunds: []Refund{}}, e.state())

	paid := e.ok(e.do(http.MethodPost, "/v1/payments", payParams("s1", "10.00", "alipay_qr"))).str("id")
	require.NoError(t, e.s.Pay(paid))
	refund := e.ok(e.do(http.MethodPost, "/v1/payments/"+paid+"/refunds", map[string]any{"refund_order_no": "sr1", "refund_amt": "4.00"})).str("id")
	pending := e.ok(e.do(http.MethodPost, "/v1/payments", payParams("s2", "666.02", "alipay_qr"))).str("id")

	st := e.state()
	require.Len(t, st.Payments, 2)
	byID := map[string]Payment{st.Payments[0].ID: st.Payments[0], st.Payments[1].ID: st.Payments[1]}
	assert.Equal(t, StatusSucceeded, byID[paid].Status)
	assert.Equal(t, "s1", byID[paid].OrderNo)
	assert.Equal(t, int64(1000), byID[paid].Amount)
	assert.Equal(t, StatusPending, byID[pending].Status)
	require.Len(t, st.Refunds, 1)
	assert.Equal(t, refund, st.Refunds[0].ID)
	assert.Equal(t, paid, st.Refunds[0].PaymentID)
	assert.Equal(t, "sr1", st.Refunds[0].RefundOrderNo)
	assert.Equal(t, int64(400), st.Refunds[0].Amount)
	want, err := json.Marshal(e.s.State())
	require.NoError(t, err)
	got, err := json.Marshal(st)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got), "the route serves State")

	res, err := http.Post(e.hs.URL+"/sim/state", "application/json", nil)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, "read-only")
}

// state reads GET /sim/state.
func (e *env) state() State {
	e.t.Helper()
	res, err := http.Get(e.hs.URL + "/sim/state")
	require.NoError(e.t, err)
	defer res.Body.Close()
	require.Equal(e.t, http.StatusOK, res.StatusCode)
	assert.Equal(e.t, "application/json", res.Header.Get("Content-Type"))
	var st State
	require.NoError(e.t, json.NewDecoder(res.Body).Decode(&st))
	return st
}
