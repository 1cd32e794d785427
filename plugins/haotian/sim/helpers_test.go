package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testMerchant is the merchant of every test server.
var testMerchant = Merchant{
	MchNo:          "M1700000000001",
	AppID:          "65f0c0ffee0000000000aaaa",
	Secret:         "TESTSECRET0123456789ABCDEFGHIJKL",
	Name:           "测试商户",
	OpeningBalance: 0,
}

// otherMerchant owns nothing of testMerchant's.
var otherMerchant = Merchant{
	MchNo:  "M1700000000002",
	AppID:  "65f0c0ffee0000000000bbbb",
	Secret: "OTHERSECRET",
}

// testClock is an adjustable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a test server with its HTTP front and clock.
type env struct {
	t     *testing.T
	s     *Server
	hs    *httptest.Server
	clock *testClock
	m     Merchant
}

// baseTime is the tests' clock start: 2024-05-14 10:00:00 +08:00.
var baseTime = time.Date(2024, 5, 14, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	clock := &testClock{t: baseTime}
	cfg := Config{
		Merchants: []Merchant{testMerchant, otherMerchant},
		Groups: []ReceiverGroup{
			{ID: 100001, MchNo: testMerchant.MchNo, Name: "auto", AutoDivision: true},
			{ID: 100002, MchNo: testMerchant.MchNo, Name: "manual"},
			{ID: 200001, MchNo: otherMerchant.MchNo, Name: "other"},
		},
		Now:            clock.Now,
		NotifySchedule: []time.Duration{0, time.Millisecond, 2 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	s := New(cfg)
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return &env{t: t, s: s, hs: hs, clock: clock, m: cfg.Merchants[0]}
}

// resp is a decoded envelope.
type resp struct {
	Code   int
	Msg    string
	Sign   string
	Data   map[string]string
	Status int
	Raw    []byte
}

// signed adds the common fields to params and signs them with the merchant.
func (e *env) signed(m Merchant, params map[string]string) map[string]string {
	p := map[string]string{
		"mchNo":    m.MchNo,
		"appId":    m.AppID,
		"reqTime":  strconv.FormatInt(e.clock.Now().UnixMilli(), 10),
		"version":  "1.0",
		"signType": "MD5",
	}
	for k, v := range params {
		p[k] = v
	}
	p["sign"] = Sign(p, m.Secret)
	return p
}

// call signs params as the test merchant and posts them as JSON; a code 0
// response must carry a valid signature.
func (e *env) call(path string, params map[string]string) resp {
	e.t.Helper()
	return e.post(path, "application/json", jsonBody(e.t, e.signed(e.m, params)), e.m)
}

// callForm is call with an application/x-www-form-urlencoded body.
func (e *env) callForm(path string, params map[string]string) resp {
	e.t.Helper()
	v := url.Values{}
	for k, x := range e.signed(e.m, params) {
		v.Set(k, x)
	}
	return e.post(path, "application/x-www-form-urlencoded", []byte(v.Encode()), e.m)
}

func jsonBody(t *testing.T, p map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(p)
	require.NoError(t, err)
	return b
}

func (e *env) post(path, contentType string, body []byte, m Merchant) resp {
	e.t.Helper()
	res, err := http.Post(e.hs.URL+path, contentType, bytes.NewReader(body))
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	r := resp{Status: res.StatusCode, Raw: raw}
	if res.StatusCode != http.StatusOK {
		return r
	}
	r = decodeEnvelope(e.t, raw)
	r.Status = res.StatusCode
	if r.Code == 0 {
		require.True(e.t, Verify(withSign(r.Data, r.Sign), m.Secret), "response sign of %s: %s", path, raw)
	}
	return r
}

func decodeEnvelope(t *testing.T, raw []byte) resp {
	t.Helper()
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &top), "envelope %s", raw)
	r := resp{Raw: raw}
	require.NoError(t, json.Unmarshal(top["code"], &r.Code))
	if m, ok := top["msg"]; ok {
		require.NoError(t, json.Unmarshal(m, &r.Msg))
	}
	if s, ok := top["sign"]; ok {
		require.NoError(t, json.Unmarshal(s, &r.Sign))
	}
	if d, ok := top["data"]; ok {
		r.Data = map[string]string{}
		require.NoError(t, parseJSONParams(d, r.Data))
	}
	return r
}

func withSign(data map[string]string, sign string) map[string]string {
	p := maps.Clone(data)
	if p == nil {
		p = map[string]string{}
	}
	p["sign"] = sign
	return p
}

// ok asserts a code 0 response.
func (e *env) ok(r resp) resp {
	e.t.Helper()
	require.Equal(e.t, 0, r.Code, "response %s", r.Raw)
	return r
}

// fails asserts a refused request with code and msg.
func (e *env) fails(r resp, code int, msg string) {
	e.t.Helper()
	require.Equal(e.t, code, r.Code, "response %s", r.Raw)
	require.Equal(e.t, msg, r.Msg)
	require.Nil(e.t, r.Data)
	require.Empty(e.t, r.Sign)
}

var orderSeq int

// order creates a unified order and returns its data.
func (e *env) order(wayCode string, amount int64, extra map[string]string) map[string]string {
	e.t.Helper()
	orderSeq++
	p := map[string]string{
		"mchOrderNo": "mho" + strconv.Itoa(orderSeq) + "-" + e.t.Name(),
		"wayCode":    wayCode,
		"amount":     strconv.FormatInt(amount, 10),
		"currency":   "cny",
		"subject":    "商品标题",
		"body":       "商品描述",
	}
	switch wayCode {
	case "WX_BAR":
		p["channelExtra"] = `{"authCode":"134567890123456789"}`
	case "ALI_BAR", "AUTO_BAR":
		p["channelExtra"] = `{"authCode":"281234567890123456"}`
	case "YSF_BAR":
		p["channelExtra"] = `{"authCode":"6212345678901234567"}`
	case "WX_JSAPI", "WX_LITE":
		p["channelExtra"] = `{"openid":"o8jhotwaUEffs1fyWE5O3N4HWvbk"}`
	case "ALI_JSAPI", "ALI_LITE":
		p["channelExtra"] = `{"buyerUserId":"2088102175953034"}`
	}
	for k, v := range extra {
		p[k] = v
	}
	return e.ok(e.call("/api/pay/unifiedOrder", p)).Data
}

// paid creates a barcode order (paid synchronously) with divisionMode mode.
func (e *env) paid(amount int64, mode int) string {
	e.t.Helper()
	d := e.order("WX_BAR", amount, map[string]string{"divisionMode": strconv.Itoa(mode)})
	require.Equal(e.t, "2", d["orderState"])
	return d["payOrderId"]
}

// hook is a notification receiver: it answers SUCCESS from the attempt
// number ackFrom on (1-based), and records every form it gets.
type hook struct {
	mu      sync.Mutex
	ackFrom int
	got     []url.Values
	srv     *httptest.Server
}

func newHook(t *testing.T, ackFrom int) *hook {
	h := &hook{ackFrom: ackFrom}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		h.mu.Lock()
		h.got = append(h.got, r.PostForm)
		n := len(h.got)
		h.mu.Unlock()
		if h.ackFrom > 0 && n >= h.ackFrom {
			_, _ = io.WriteString(w, "SUCCESS")
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "FAIL")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) forms() []url.Values {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]url.Values(nil), h.got...)
}

// eventually waits for cond, polling; the tests never assert on timing.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, time.Millisecond, what)
}

// settled waits until no notification is pending.
func (e *env) settled() {
	e.t.Helper()
	eventually(e.t, func() bool { return len(e.s.PendingNotifications()) == 0 }, "notifications settled")
}

func httptestRequest(path, contentType, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader([]byte(body)))
	r.Header.Set("Content-Type", contentType)
	return r
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func newDiscardWriter() *discardWriter               { return &discardWriter{h: http.Header{}} }
func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
