package caps

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const jeepaySecret = "EWEFD123RGSRETYDFNGFGFGSHDFGH"

func testManifest(url string) core.Manifest {
	return core.Manifest{
		Name: "demo", Version: "1", ABIVersion: 1, Operations: []core.Op{core.OpPaymentCreate},
		Endpoints: []core.EndpointSpec{{Name: "gateway", URLs: map[string]string{"production": url}}},
		Keys: []core.KeySpec{
			{Name: "app_secret", Kind: core.KeySecret, Algorithms: []core.SignAlg{core.SignMD5Key, core.SignHMACSHA256}},
			{Name: "merchant_private", Kind: core.KeyPrivate, Algorithms: []core.SignAlg{core.SignRSASHA256, core.SignRSASHA1}, Optional: true},
			{Name: "provider_public", Kind: core.KeyPublic, Algorithms: []core.SignAlg{core.SignRSASHA256}, Optional: true},
		},
		Config: []core.ConfigSpec{{Name: "mch_no", Required: true}, {Name: "version", Default: "1.0"}},
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestMD5KeyVector is PROVIDERS.md's Jeepay test vector through the host's
// signing code: the plugin passes the sorted string, the host appends the
// secret.
func TestMD5KeyVector(t *testing.T) {
	ks := NewKeyStore(nil).WithEnv(env(map[string]string{"SECRET": jeepaySecret}))
	data := "amount=1&appId=60cc09bce4b0f1c0b83761c9&body=商品描述&currency=cny&mchNo=M1621873433953&mchOrderNo=mho1624005107281&notifyUrl=https://www.jeequan.com&reqTime=1622016572190&signType=MD5&subject=商品标题&version=1.0&wayCode=ALI_QR"
	sig, err := ks.Sign("env:SECRET", core.KeySecret, core.SignMD5Key, []byte(data))
	require.NoError(t, err)
	assert.Equal(t, "732608933837D19D1CBEA5D0871C075E", strings.ToUpper(hex.EncodeToString(sig)))
	require.NoError(t, ks.Verify("env:SECRET", core.KeySecret, core.SignMD5Key, []byte(data), sig))
	err = ks.Verify("env:SECRET", core.KeySecret, core.SignMD5Key, []byte(data+"x"), sig)
	assert.Equal(t, core.CodeSignatureInvalid, core.CodeOf(err))
	// no pairs at all: Jeepay signs "key=<secret>"
	empty, err := ks.Sign("env:SECRET", core.KeySecret, core.SignMD5Key, nil)
	require.NoError(t, err)
	want := md5.Sum([]byte("key=" + jeepaySecret))
	assert.Equal(t, want[:], empty)
}

func TestRSAKeysInEveryForm(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	pkix, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}), 0o600))
	e := env(map[string]string{
		"PKCS8_B64": base64.StdEncoding.EncodeToString(pkcs8),
		"PKIX_B64":  base64.StdEncoding.EncodeToString(pkix) + "\n",
		"GARBAGE":   "not a key",
	})
	ks := NewKeyStore(nil).WithEnv(e)
	data := []byte(`{"a":"1"}`)
	for _, ref := range []string{"env:PKCS8_B64", "file:" + pemFile} {
		for _, alg := range []core.SignAlg{core.SignRSASHA256, core.SignRSASHA1} {
			sig, err := ks.Sign(ref, core.KeyPrivate, alg, data)
			require.NoError(t, err, ref)
			require.NoError(t, ks.Verify("env:PKIX_B64", core.KeyPublic, alg, data, sig))
			assert.Equal(t, core.CodeSignatureInvalid, core.CodeOf(ks.Verify("env:PKIX_B64", core.KeyPublic, alg, []byte("tampered"), sig)))
		}
	}
	_, err = ks.Sign("env:GARBAGE", core.KeyPrivate, core.SignRSASHA256, data)
	assert.ErrorContains(t, err, "neither PEM nor base64")
	_, err = ks.Sign("env:MISSING", core.KeySecret, core.SignMD5Key, data)
	assert.ErrorContains(t, err, "empty or unset")
	_, err = ks.Sign("inline-secret-value", core.KeySecret, core.SignMD5Key, data)
	assert.ErrorContains(t, err, "inline value hidden")
	assert.NotContains(t, err.Error(), "inline-secret-value")
	_, err = ks.Sign("env:PKIX_B64", core.KeyPublic, core.SignRSASHA256, data)
	assert.ErrorContains(t, err, "needs a private key")
}

func newBinding(t *testing.T, url string, acct AccountConfig, logger *slog.Logger, r *Redactor) *Binding {
	t.Helper()
	if acct.Keys == nil {
		acct.Keys = map[string]string{"app_secret": "env:SECRET"}
	}
	if acct.Config == nil {
		acct.Config = map[string]string{"mch_no": "M1"}
	}
	acct.Name = "main"
	ks := NewKeyStore(r).WithEnv(env(map[string]string{"SECRET": jeepaySecret}))
	b, err := Bind(testManifest(url), acct, Deps{Keys: ks, Logger: logger})
	require.NoError(t, err)
	return b
}

func TestBindValidation(t *testing.T) {
	m := testManifest("https://pay.example.com")
	tests := []struct {
		name string
		acct AccountConfig
		want string
	}{
		{"ok", AccountConfig{Name: "a", Keys: map[string]string{"app_secret": "env:S"}, Config: map[string]string{"mch_no": "1"}}, ""},
		{"missing key", AccountConfig{Name: "a", Config: map[string]string{"mch_no": "1"}}, `needs key "app_secret"`},
		{"inline secret", AccountConfig{Name: "a", Keys: map[string]string{"app_secret": "hunter2"}, Config: map[string]string{"mch_no": "1"}}, "want env:NAME or file:PATH"},
		{"unknown key", AccountConfig{Name: "a", Keys: map[string]string{"app_secret": "env:S", "x": "env:X"}, Config: map[string]string{"mch_no": "1"}}, `key "x" is not in`},
		{"missing config", AccountConfig{Name: "a", Keys: map[string]string{"app_secret": "env:S"}}, `needs config "mch_no"`},
		{"unknown config", AccountConfig{Name: "a", Keys: map[string]string{"app_secret": "env:S"}, Config: map[string]string{"mch_no": "1", "zzz": "1"}}, `config "zzz"`},
		{"unknown endpoint", AccountConfig{Name: "a", Keys: map[string]string{"app_secret": "env:S"}, Config: map[string]string{"mch_no": "1"}, Endpoints: map[string]EndpointConfig{"other": {}}}, `endpoint "other"`},
		{"no url for env", AccountConfig{Name: "a", Environment: "test", Keys: map[string]string{"app_secret": "env:S"}, Config: map[string]string{"mch_no": "1"}}, "no URL for environment"},
		{"bad url", AccountConfig{Name: "a", Keys: map[string]string{"app_secret": "env:S"}, Config: map[string]string{"mch_no": "1"}, Endpoints: map[string]EndpointConfig{"gateway": {URL: "https://user:pw@x.com"}}}, "plain absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Bind(m, tt.acct, Deps{})
			if tt.want == "" {
				require.NoError(t, err)
				v, _ := b.Config("version")
				assert.Equal(t, "1.0", v, "defaults apply")
				return
			}
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestSignThroughBinding(t *testing.T) {
	b := newBinding(t, "https://pay.example.com", AccountConfig{}, nil, nil)
	_, err := b.Sign(context.Background(), "app_secret", core.SignRSASHA256, []byte("x"))
	assert.ErrorContains(t, err, "may not be used with RSA-SHA256")
	_, err = b.Sign(context.Background(), "nope", core.SignMD5Key, []byte("x"))
	assert.ErrorContains(t, err, "not in the manifest")
	_, err = b.Sign(context.Background(), "merchant_private", core.SignRSASHA256, []byte("x"))
	assert.ErrorContains(t, err, "not configured")
	sig, err := b.Sign(context.Background(), "app_secret", core.SignHMACSHA256, []byte("x"))
	require.NoError(t, err)
	require.NoError(t, b.Verify(context.Background(), "app_secret", core.SignHMACSHA256, []byte("x"), sig))
}

func TestHTTPAllowList(t *testing.T) {
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("evil")) }))
	defer evil.Close()
	var mu sync.Mutex
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/api/redirect-away":
			http.Redirect(w, r, evil.URL+"/steal", http.StatusFound)
		case "/api/redirect-home":
			http.Redirect(w, r, "/api/ok", http.StatusFound)
		case "/api/big":
			w.Write(bytes.Repeat([]byte("x"), 2048))
		case "/api/hang":
			<-r.Context().Done() // answers nothing until the client gives up
		default:
			assert.Equal(t, "", r.Header.Get("X-Forwarded-Host"))
			w.Write([]byte("ok:" + r.URL.RawQuery + ":" + r.Host))
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	// private answers within a timeout no busy machine reaches; hasty has
	// a short one, for the request the server never answers.
	private := newBinding(t, srv.URL+"/", AccountConfig{Endpoints: map[string]EndpointConfig{"gateway": {AllowPrivate: true, MaxResponseBytes: 1024, Timeout: time.Minute}}}, nil, nil)
	hasty := newBinding(t, srv.URL+"/", AccountConfig{Endpoints: map[string]EndpointConfig{"gateway": {AllowPrivate: true, MaxResponseBytes: 1024, Timeout: 100 * time.Millisecond}}}, nil, nil)
	resp, err := private.HTTP(ctx, &core.HTTPRequest{Endpoint: "gateway", Method: "POST", Path: "/api/ok?a=1", Header: map[string][]string{"Host": {"evil.com"}}, Body: []byte("{}")})
	require.NoError(t, err)
	assert.Equal(t, 200, resp.Status)
	assert.True(t, strings.HasPrefix(string(resp.Body), "ok:a=1:127.0.0.1"), string(resp.Body))

	resp, err = private.HTTP(ctx, &core.HTTPRequest{Endpoint: "gateway", Method: "GET", Path: "/api/redirect-home"})
	require.NoError(t, err)
	assert.Contains(t, string(resp.Body), "ok:")

	tests := []struct {
		name string
		req  core.HTTPRequest
		code core.Code
		want string
	}{
		{"unknown endpoint", core.HTTPRequest{Endpoint: "other", Method: "GET", Path: "/"}, core.CodeInvalidRequest, "no endpoint"},
		{"scheme-relative path", core.HTTPRequest{Endpoint: "gateway", Method: "GET", Path: "//evil.com/x"}, core.CodeInvalidRequest, "single '/'"},
		{"relative path", core.HTTPRequest{Endpoint: "gateway", Method: "GET", Path: "evil.com"}, core.CodeInvalidRequest, "single '/'"},
		{"at sign", core.HTTPRequest{Endpoint: "gateway", Method: "GET", Path: "/@evil.com"}, "", ""},
		{"control char", core.HTTPRequest{Endpoint: "gateway", Method: "GET", Path: "/a\r\nHost: evil"}, core.CodeInvalidRequest, "control character"},
		{"method", core.HTTPRequest{Endpoint: "gateway", Method: "CONNECT", Path: "/"}, core.CodeInvalidRequest, "not allowed"},
		{"redirect away", core.HTTPRequest{Endpoint: "gateway", Method: "GET", Path: "/api/redirect-away"}, core.CodeUnknownOutcome, "refused"},
		{"too big", core.HTTPRequest{Endpoint: "gateway", Method: "GET", Path: "/api/big"}, core.CodeUnknownOutcome, "larger than 1024"},
		{"timeout after send", core.HTTPRequest{Endpoint: "gateway", Method: "POST", Path: "/api/hang"}, core.CodeUnknownOutcome, "no answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := private
			if tt.req.Path == "/api/hang" {
				b = hasty
			}
			resp, err := b.HTTP(ctx, &tt.req)
			if tt.code == "" {
				require.NoError(t, err)
				assert.Contains(t, string(resp.Body), "ok:", "stays on the endpoint's host")
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.code, core.CodeOf(err), err.Error())
			assert.ErrorContains(t, err, tt.want)
		})
	}
	mu.Lock()
	assert.NotContains(t, hits, "/steal")
	mu.Unlock()

	// Without allow_private a literal loopback URL is refused when binding.
	_, err = Bind(testManifest(srv.URL), AccountConfig{Name: "main", Keys: map[string]string{"app_secret": "env:SECRET"},
		Config: map[string]string{"mch_no": "M1"}}, Deps{})
	assert.ErrorContains(t, err, "address 127.0.0.1 is not allowed: loopback")
	assert.ErrorContains(t, err, "set allow_private")

	// A name that resolves to loopback passes binding and is refused when
	// connecting, before anything is sent: the name is "resolved" here by
	// rewriting the dialled address, the policy hook runs as it would after DNS.
	public := newBinding(t, "http://gateway.test:"+strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)+"/", AccountConfig{}, nil, nil)
	tr := public.endpoints["gateway"].client.Transport.(*http.Transport)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dial(ctx, network, strings.Replace(addr, "gateway.test", "127.0.0.1", 1))
	}
	_, err = public.HTTP(ctx, &core.HTTPRequest{Endpoint: "gateway", Method: "GET", Path: "/api/ok"})
	require.Error(t, err)
	assert.Equal(t, core.CodeProviderUnavailable, core.CodeOf(err))
	assert.ErrorContains(t, err, "address 127.0.0.1 is not allowed: loopback")
	mu.Lock()
	n := len(hits)
	mu.Unlock()
	_, err = private.HTTP(ctx, &core.HTTPRequest{Endpoint: "gateway", Method: "GET", Path: "/api/ok"})
	require.NoError(t, err)
	mu.Lock()
	assert.Len(t, hits, n+1, "the refused request never reached the server")
	mu.Unlock()

	// A closed port is provider_unavailable: nothing was sent, failover is safe.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	down := newBinding(t, closedURL, AccountConfig{Endpoints: map[string]EndpointConfig{"gateway": {AllowPrivate: true}}}, nil, nil)
	_, err = down.HTTP(ctx, &core.HTTPRequest{Endpoint: "gateway", Method: "POST", Path: "/api/pay"})
	assert.Equal(t, core.CodeProviderUnavailable, core.CodeOf(err))
	assert.True(t, core.CodeProviderUnavailable.FailoverSafe())
}

func TestLogRedaction(t *testing.T) {
	var buf bytes.Buffer
	r := NewRedactor()
	logger := slog.New(r.Handler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	b := newBinding(t, "https://pay.example.com", AccountConfig{}, logger, r)
	// loading the key registers it with the redactor
	_, err := b.Sign(context.Background(), "app_secret", core.SignMD5Key, []byte("x"))
	require.NoError(t, err)
	b.Log(context.Background(), core.LogInfo, "signing with "+jeepaySecret, "sign", "ABCDEF0123", "body", "key="+jeepaySecret, "mchNo", "M1")
	b.Log(context.Background(), "shout", strings.Repeat("y", 5000))
	out := buf.String()
	assert.NotContains(t, out, jeepaySecret)
	assert.NotContains(t, out, "ABCDEF0123")
	assert.Contains(t, out, `"mchNo":"M1"`)
	assert.Contains(t, out, `"plugin":"demo"`)
	assert.Contains(t, out, "…", "long messages are clipped")
	assert.Less(t, len(out), 5000)
}

func TestCache(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBinding(t, "https://pay.example.com", AccountConfig{}, nil, nil)
	b.deps.Cache = NewCache(func() time.Time { return now })
	b.CacheSet("token", []byte("abc"), time.Minute)
	v, ok := b.CacheGet("token")
	assert.True(t, ok)
	assert.Equal(t, "abc", string(v))
	now = now.Add(2 * time.Minute)
	_, ok = b.CacheGet("token")
	assert.False(t, ok, "expired")
	b.CacheSet("big", make([]byte, MaxCacheValueBytes+1), time.Minute)
	_, ok = b.CacheGet("big")
	assert.False(t, ok, "oversized values are not stored")
}
