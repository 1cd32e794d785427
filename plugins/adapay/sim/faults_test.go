package sim

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// raw sends a signed payment creation and returns the HTTP status and body,
// or the transport error.
func (e *env) rawCreate(orderNo string) (int, string, error) {
	body := `{"app_id":"` + DefaultMerchantAppID + `","order_no":"` + orderNo + `","pay_channel":"alipay_qr","pay_amt":"1.00","goods_title":"t","goods_desc":"d"}`
	req, err := http.NewRequest(http.MethodPost, e.hs.URL+"/v1/payments", strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Authorization", e.api)
	req.Header.Set("Signature", Sign(e.key, e.hs.URL+"/v1/payments"+body))
	res, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

func TestFaults(t *testing.T) {
	stored := func(e *env, no string) bool {
		_, ok := e.s.PaymentByOrderNo(DefaultMerchantAppID, no)
		return ok
	}
	t.Run("latency, once", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultLatency, Latency: 20 * time.Millisecond, Count: 1})
		start := time.Now()
		status, _, err := e.rawCreate("l1")
		require.NoError(t, err)
		assert.Equal(t, 200, status)
		assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
		assert.Empty(t, e.s.Faults(), "count 1 is used up")
		rs := e.s.Requests()
		assert.Equal(t, []string{"latency"}, rs[len(rs)-1].Faults)
	})
	t.Run("timeout after processing", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultTimeoutAfterProcessing})
		_, _, err := e.rawCreate("t1")
		assert.Error(t, err)
		assert.True(t, stored(e, "t1"))
	})
	t.Run("5xx before", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultHTTP5xxBefore, PathPrefix: "/v1/payments"})
		status, _, err := e.rawCreate("b1")
		require.NoError(t, err)
		assert.Equal(t, 503, status)
		assert.False(t, stored(e, "b1"))
	})
	t.Run("5xx after", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultHTTP5xxAfter, Status: 504})
		status, body, err := e.rawCreate("a1")
		require.NoError(t, err)
		assert.Equal(t, 504, status)
		assert.Contains(t, body, "<html>")
		assert.True(t, stored(e, "a1"))
	})
	t.Run("bad sign", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultBadSign})
		a := e.do(http.MethodPost, "/v1/payments", payParams("s1", "1.00", "alipay_qr"))
		assert.Equal(t, 200, a.status)
		assert.False(t, Verify(&e.s.key.PublicKey, a.dataText, a.signature))
	})
	t.Run("malformed", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultMalformed})
		status, body, err := e.rawCreate("m1")
		require.NoError(t, err)
		assert.Equal(t, 200, status)
		assert.False(t, json2Valid(body))
		assert.True(t, stored(e, "m1"))
	})
	t.Run("path prefix spares other paths", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultHTTP5xxBefore, PathPrefix: "/v1/batchEntrys"})
		status, _, err := e.rawCreate("p1")
		require.NoError(t, err)
		assert.Equal(t, 200, status)
	})
}

// TestNotificationRetries: a notification is retried on the schedule until
// HTTP 200, or given up; a duplicate is the same form again.
func TestNotificationRetries(t *testing.T) {
	ns := newNotifyServer(t, func(n int) int {
		if n < 3 {
			return 500
		}
		return 200
	})
	e := newEnv(t, nil)
	p := payParams("n1", "1.00", "alipay_qr")
	p["notify_url"] = ns.url
	a := e.ok(e.do(http.MethodPost, "/v1/payments", p))
	e.s.SetFaults(Fault{Kind: FaultDuplicateNotify})
	require.NoError(t, e.s.Pay(a.str("id")))
	first := ns.next(t)
	for i := 0; i < 3; i++ {
		assert.Equal(t, first, ns.next(t), "retries and the duplicate are the same form")
	}
	eventually(t, func() bool { return len(e.s.PendingNotifications()) == 0 }, "delivered")
	notes := e.s.Notifications()
	require.Len(t, notes, 2)
	assert.Equal(t, 3, notes[0].Attempts)
	assert.True(t, notes[0].Delivered)
	assert.True(t, notes[1].Duplicate)
	assert.Equal(t, 1, notes[1].Attempts)

	never := newNotifyServer(t, func(int) int { return 404 })
	q := payParams("n2", "1.00", "alipay_qr")
	q["notify_url"] = never.url
	b := e.ok(e.do(http.MethodPost, "/v1/payments", q))
	require.NoError(t, e.s.Pay(b.str("id")))
	eventually(t, func() bool {
		ns := e.s.Notifications()
		return ns[len(ns)-1].GaveUp
	}, "given up")
	ns2 := e.s.Notifications()
	assert.Equal(t, 4, ns2[len(ns2)-1].Attempts, "a first attempt and 3 retries")
}

func json2Valid(s string) bool { return jsonUnmarshal(s, new(any)) == nil }
