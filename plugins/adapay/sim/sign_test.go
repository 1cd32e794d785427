package sim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The real signed sample of PROVIDERS.md (Adapay's public key, a
// payment.succeeded data string, its signature): the simulator's
// verification is checked against it, so its signing is Adapay's.
const (
	adapayPublicKey = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCwN6xgd6Ad8v2hIIsQVnbt8a3JituR8o4Tc3B5WlcFR55bz4OMqrG/356Ur3cPbc2Fe8ArNd/0gZbC9q56Eb16JTkVNA/fye4SXznWxdyBPR7+guuJZHc/VW2fKH2lfZ2P3Tt0QkKZZoawYOGSMdIvO+WqK44updyax0ikK6JlNQIDAQAB"
	sampleData      = `{"app_id":"app_fe1ec54d-e7cd-432a-a994-c12c3d8295f8","created_time":"20201115182858","end_time":"20201115182904","expend":{"bank_type":"OTHERS","open_id":"o8jhotwaUEffs1fyWE5O3N4HWvbk","sub_open_id":"o4WGIxA59TYBzEKdwz_s6actNIYY"},"id":"002112020111518285710173995928213929984","order_no":"SH20201115182857625624","out_trans_id":"4200000839202011155051561044","party_order_id":"02212011156653808201465","pay_amt":"0.01","pay_channel":"wx_pub","status":"succeeded"}`
	sampleSign      = "YXOWP5pyL38cZvXbVTyr4Lp9tpr2IzYmc5+EXuNofMTPPlCMfgXX4aBHT8QhxmKMYe95TBklWrM6IAdSLqIBXyc7CYnEYh0o54QHH4H/yKy5yiOqFCbcHAHPhtJPU28rj+dHbG7YG/4Qk5psFoBuOTP99ACizLy/uiILYY3UhJk="
)

func TestVerifyRealSample(t *testing.T) {
	pub, err := ParsePublicKey(adapayPublicKey)
	require.NoError(t, err)
	assert.True(t, Verify(pub, sampleData, sampleSign))
	assert.False(t, Verify(pub, strings.Replace(sampleData, "0.01", "0.02", 1), sampleSign), "data changed")
	assert.False(t, Verify(pub, sampleData, "AAAA"+sampleSign[4:]), "signature changed")
	assert.False(t, Verify(pub, sampleData, "not base64!"))
}

func TestKeysAndSigning(t *testing.T) {
	k, err := NewKeyPair()
	require.NoError(t, err)
	assert.Equal(t, KeyBits, k.Private.N.BitLen())
	for _, form := range []string{k.PublicKeyBase64(), k.PublicKeyPEM()} {
		pub, err := ParsePublicKey(form)
		require.NoError(t, err)
		sig := Sign(k.Private, "https://api.adapay.tech/v1/payments{}")
		assert.True(t, Verify(pub, "https://api.adapay.tech/v1/payments{}", sig))
		assert.False(t, Verify(pub, "https://api.adapay.tech/v1/payments{} ", sig))
	}
	_, err = ParsePublicKey("not a key")
	assert.Error(t, err)
	assert.Equal(t, "a=1&b=x y&c=中文", PlainText(map[string]string{"c": "中文", "a": "1", "b": "x y", "empty": ""}))
	assert.Equal(t, "", PlainText(nil))
	assert.Equal(t, "https://h/v1/x{\"a\":1}", SignedText("https://h/v1/x", http.MethodPost, []byte(`{"a":1}`), map[string]string{"a": "1"}, false))
	assert.Equal(t, "https://h/v1/xa=1", SignedText("https://h/v1/x", http.MethodPost, nil, map[string]string{"a": "1"}, true))
	assert.Equal(t, "https://h/v1/xa=1&b=2", SignedText("https://h/v1/x", http.MethodGet, nil, map[string]string{"b": "2", "a": "1"}, false))
}

// TestRequestAuthentication: the API key must be known and the Signature
// must cover the full URL and the body (POST) or the sorted, unencoded query
// (GET); refusals are HTTP 401 with an unsigned error.
func TestRequestAuthentication(t *testing.T) {
	e := newEnv(t, nil)
	// a GET whose query needs encoding is signed over the decoded values
	a := e.ok(e.do(http.MethodGet, "/v1/payments/list", map[string]any{"app_id": DefaultMerchantAppID, "order_no": "a b&c"}))
	assert.Equal(t, "succeeded", a.str("status"))

	forged := func(mutate func(r *http.Request)) answer {
		req, err := http.NewRequest(http.MethodGet, e.hs.URL+"/v1/payments/list?app_id="+url.QueryEscape(DefaultMerchantAppID)+"&order_no=a+b", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", DefaultMerchantAPIKey)
		req.Header.Set("Signature", Sign(e.key, e.hs.URL+"/v1/payments/listapp_id="+DefaultMerchantAppID+"&order_no=a b"))
		mutate(req)
		return e.send(req)
	}
	assert.Equal(t, http.StatusOK, forged(func(*http.Request) {}).status, "the control request passes")
	tests := []struct {
		name   string
		mutate func(r *http.Request)
	}{
		{"no api key", func(r *http.Request) { r.Header.Del("Authorization") }},
		{"unknown api key", func(r *http.Request) { r.Header.Set("Authorization", "api_live_unknown") }},
		{"no signature", func(r *http.Request) { r.Header.Del("Signature") }},
		{"signed over the encoded query", func(r *http.Request) {
			r.Header.Set("Signature", Sign(e.key, e.hs.URL+"/v1/payments/listapp_id="+url.QueryEscape(DefaultMerchantAppID)+"&order_no=a+b"))
		}},
		{"signed over the path only", func(r *http.Request) {
			r.Header.Set("Signature", Sign(e.key, "/v1/payments/listapp_id="+DefaultMerchantAppID+"&order_no=a b"))
		}},
		{"another key", func(r *http.Request) {
			k, err := NewKeyPair()
			require.NoError(t, err)
			r.Header.Set("Signature", Sign(k.Private, e.hs.URL+"/v1/payments/listapp_id="+DefaultMerchantAppID+"&order_no=a b"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := forged(tt.mutate)
			assert.Equal(t, http.StatusUnauthorized, a.status)
			assert.Empty(t, a.signature, "refusals before authentication are unsigned")
			assert.Equal(t, "security_exception", a.str("error_code"))
		})
	}
}
