package sim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func formParams(v url.Values) map[string]string {
	p := map[string]string{}
	for k := range v {
		p[k] = v.Get(k)
	}
	return p
}

func TestNotificationRetriedUntilSuccess(t *testing.T) {
	h := newHook(t, 3)
	e := newEnv(t, nil)
	d := e.order("WX_NATIVE", 2500, map[string]string{"notifyUrl": h.srv.URL + "/notify?x=1", "extParam": "e1"})
	assert.Empty(t, h.forms(), "no notification before a terminal state")
	require.NoError(t, e.s.Pay(d["payOrderId"]))
	e.settled()

	ns := e.s.Notifications()
	require.Len(t, ns, 1)
	n := ns[0]
	assert.True(t, n.Delivered)
	assert.Equal(t, 3, n.Attempts, "answered SUCCESS on the third attempt")
	assert.Equal(t, "pay", n.Kind)
	assert.Equal(t, d["payOrderId"], n.OrderID)

	forms := h.forms()
	require.Len(t, forms, 3)
	q := e.ok(e.call("/api/pay/query", map[string]string{"payOrderId": d["payOrderId"]})).Data
	for _, f := range forms {
		p := formParams(f)
		assert.True(t, Verify(p, e.m.Secret), "notification signed: %v", p)
		assert.NotEmpty(t, p["reqTime"])
		for k, v := range q {
			assert.Equal(t, v, p[k], "notification field %s equals the query's", k)
		}
	}
}

func TestNotificationGivenUp(t *testing.T) {
	h := newHook(t, 0) // never acknowledges
	e := newEnv(t, nil)
	id := e.order("WX_NATIVE", 100, map[string]string{"notifyUrl": h.srv.URL})["payOrderId"]
	require.NoError(t, e.s.Fail(id, "USERPAYING", "用户支付中"))
	e.settled()
	n := e.s.Notifications()[0]
	assert.True(t, n.GaveUp)
	assert.False(t, n.Delivered)
	assert.Equal(t, 3, n.Attempts, "one attempt per schedule entry")
	assert.Equal(t, http.StatusInternalServerError, n.LastStatus)
	assert.Len(t, h.forms(), 3)
}

func TestNotificationAcknowledgement(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"SUCCESS", 200, "SUCCESS", true},
		{"lower case", 200, "success", false},
		{"trailing newline", 200, "SUCCESS\n", false},
		{"other body", 200, "OK", false},
		{"SUCCESS with 201", 201, "SUCCESS", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}))
			defer srv.Close()
			e := newEnv(t, func(cfg *Config) { cfg.NotifySchedule = []time.Duration{0} })
			e.order("WX_BAR", 100, map[string]string{"notifyUrl": srv.URL})
			e.settled()
			assert.Equal(t, c.ok, e.s.Notifications()[0].Delivered)
		})
	}
}

func TestNotificationKinds(t *testing.T) {
	h := newHook(t, 1)
	e := newEnv(t, func(c *Config) { c.Merchants[0].OpeningBalance = 10000 })
	e.order("WX_NATIVE", 100, nil) // no notifyUrl: nothing is sent
	id := e.paid(1000, 0)
	e.ok(e.refund(id, 100, map[string]string{"notifyUrl": h.srv.URL}))
	e.ok(e.transfer(500, map[string]string{"notifyUrl": h.srv.URL}))
	e.settled()
	kinds := map[string]int{}
	for _, n := range e.s.Notifications() {
		kinds[n.Kind]++
		assert.True(t, Verify(n.Params, e.m.Secret))
	}
	assert.Equal(t, map[string]int{"refund": 1, "transfer": 1}, kinds)
}

func TestCloseStopsDelivery(t *testing.T) {
	h := newHook(t, 0)
	e := newEnv(t, func(c *Config) { c.NotifySchedule = []time.Duration{0, time.Hour} })
	e.order("WX_BAR", 100, map[string]string{"notifyUrl": h.srv.URL})
	eventually(t, func() bool { return len(h.forms()) == 1 }, "first attempt")
	e.s.Close()
	n := e.s.Notifications()[0]
	assert.True(t, n.Pending(), "closed while waiting for the next attempt")
	e.s.Close() // idempotent
}
