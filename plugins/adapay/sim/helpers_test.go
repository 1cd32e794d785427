package sim

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// env is a simulator behind an HTTP server and a client that signs as the
// default merchant.
type env struct {
	t   *testing.T
	s   *Server
	hs  *httptest.Server
	key *rsa.PrivateKey
	api string
}

func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Manual = true
	cfg.NotifySchedule = []time.Duration{0, time.Millisecond, time.Millisecond, time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	s := New(cfg)
	hs := httptest.NewServer(s)
	t.Cleanup(func() { hs.Close(); s.Close() })
	return &env{t: t, s: s, hs: hs, key: DefaultMerchantKey().Private, api: DefaultMerchantAPIKey}
}

// answer is a decoded response.
type answer struct {
	status    int
	dataText  string
	signature string
	data      map[string]any
}

func (a answer) str(k string) string {
	v, _ := a.data[k].(string)
	return v
}

// do sends a signed request: POST with a JSON body of params, GET with
// params in the query.
func (e *env) do(method, path string, params map[string]any) answer {
	e.t.Helper()
	var body []byte
	target := e.hs.URL + path
	text := target
	if method == http.MethodGet {
		q := url.Values{}
		plain := map[string]string{}
		for k, v := range params {
			q.Set(k, v.(string))
			plain[k] = v.(string)
		}
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		text += PlainText(plain)
	} else {
		var err error
		body, err = json.Marshal(params)
		require.NoError(e.t, err)
		text += string(body)
	}
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Authorization", e.api)
	req.Header.Set("Signature", Sign(e.key, text))
	req.Header.Set("Content-Type", "application/json")
	return e.send(req)
}

func (e *env) send(req *http.Request) answer {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	a := answer{status: res.StatusCode}
	var env struct {
		Data      string `json:"data"`
		Signature string `json:"signature"`
	}
	require.NoError(e.t, json.Unmarshal(b, &env), string(b))
	a.dataText, a.signature = env.Data, env.Signature
	require.NoError(e.t, json.Unmarshal([]byte(env.Data), &a.data), env.Data)
	return a
}

// ok checks a signed HTTP 200 answer and returns it.
func (e *env) ok(a answer) answer {
	e.t.Helper()
	require.Equal(e.t, http.StatusOK, a.status, a.dataText)
	require.True(e.t, Verify(&e.s.key.PublicKey, a.dataText, a.signature), "answer signed by the simulator")
	return a
}

// entryParams is a valid 开户进件 request.
func entryParams(id, name string) map[string]any {
	return map[string]any{"request_id": id, "usr_phone": "13333333344", "cont_name": "李四", "cont_phone": "13333333344",
		"customer_email": "ops@example.com", "mer_name": name, "mer_short_name": "测试", "license_code": "91310000MA1FL0000X",
		"reg_addr": "上海", "cust_addr": "上海", "cust_tel": "02112345678", "mer_start_valid_date": "20200101", "mer_valid_date": "20991231",
		"legal_name": "史万福", "legal_type": "0", "legal_idno": "321121198606115128", "legal_mp": "13333333344",
		"legal_start_cert_id_expires": "20160101", "legal_id_expires": "20360101", "card_id_mask": "6222021001115704287",
		"bank_code": "01020000", "card_name": "上海测试", "bank_acct_type": "1", "prov_code": "0031", "area_code": "3100",
		"fee_rate_list": `[{"rate_channel":"wx_pub_online","fee_rate":"0.003"}]`, "entry_mer_type": "1"}
}

// open completes an entry and returns the sub-merchant's API key.
func (e *env) open(id, name string) string {
	e.t.Helper()
	e.ok(e.do(http.MethodPost, "/v1/batchEntrys/userEntry", entryParams(id, name)))
	require.Equal(e.t, 1, e.s.Advance())
	a := e.ok(e.do(http.MethodGet, "/v1/batchEntrys/userEntry", map[string]any{"request_id": id}))
	require.Equal(e.t, "succeeded", a.str("status"))
	return a.str("live_api_key")
}

// eventually waits for cond.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("timed out waiting: %s", what)
}
