package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseParams(t *testing.T) {
	cases := []struct {
		name, contentType, query, body string
		want                           map[string]string
		wantErr                        bool
	}{
		{"json strings and numbers", "application/json", "", `{"a":"x","amount":100,"profit":0.300000,"ok":true,"n":null}`,
			map[string]string{"a": "x", "amount": "100", "profit": "0.300000", "ok": "true"}, false},
		{"json nested values become compact text", "application/json", "", `{"receivers":[ {"receiverId": 800001} ],"extra":{ "authCode" : "1"}}`,
			map[string]string{"receivers": `[{"receiverId":800001}]`, "extra": `{"authCode":"1"}`}, false},
		{"json detected without content type", "", "", ` {"a":"1"}`, map[string]string{"a": "1"}, false},
		{"form body", "application/x-www-form-urlencoded", "", "a=1&b=%E5%95%86&c=x+y&a=2", map[string]string{"a": "1", "b": "商", "c": "x y"}, false},
		{"query then body", "application/x-www-form-urlencoded", "a=q&z=9", "a=b", map[string]string{"a": "b", "z": "9"}, false},
		{"empty body", "application/json", "", "", map[string]string{}, false},
		{"json array refused", "application/json", "", `[1,2]`, nil, true},
		{"broken json refused", "application/json", "", `{"a":`, nil, true},
		{"trailing data refused", "application/json", "", `{"a":"1"}{"b":"2"}`, nil, true},
		{"bad form refused", "application/x-www-form-urlencoded", "", "a=%zz", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseParams(c.contentType, c.query, []byte(c.body))
			if c.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestParseRatio(t *testing.T) {
	cases := []struct {
		in     string
		ok     bool
		of     int64 // ratio of 994000
		render string
	}{
		{"0.3", true, 298200, "0.300000"},
		{"0.0001", true, 99, "0.000100"},
		{"0.0002", true, 198, "0.000200"},
		{".5", true, 497000, "0.500000"},
		{"1", true, 994000, "1.000000"},
		{"1.000", true, 994000, "1.000000"},
		{"0", true, 0, "0.000000"},
		{"0.333333333333333333", true, 331333, "0.333333333333333333"},
		{"1.01", false, 0, ""},
		{"2", false, 0, ""},
		{"-0.1", false, 0, ""},
		{"1e-1", false, 0, ""},
		{"0.1234567890123456789", false, 0, ""},
		{"", false, 0, ""},
		{".", false, 0, ""},
		{"abc", false, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			r, err := parseRatio(c.in)
			if !c.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.of, r.of(994000))
			assert.Equal(t, c.render, r.format(6))
		})
	}
}

func TestParseAmount(t *testing.T) {
	for in, ok := range map[string]bool{"1": true, "0": true, "100000000": true, "1.0": false, "-1": false, "1e3": false, "": false, " 1": false, "9999999999999999999": false} {
		_, err := parseAmount(in)
		assert.Equal(t, ok, err == nil, "amount %q", in)
	}
}

// FuzzRequest feeds arbitrary bodies to the parser, the signature verifier
// and the whole handler: nothing may panic.
func FuzzRequest(f *testing.F) {
	f.Add("application/json", `{"mchNo":"M1","appId":"a","sign":"x","reqTime":"1","version":"1.0","signType":"MD5","amount":1}`)
	f.Add("application/x-www-form-urlencoded", "mchNo=M1&appId=a&sign=x&receivers=%5B%7B%7D%5D")
	f.Add("", `{"receivers":"[{\"receiverId\":\"1\",\"divisionProfit\":\"0.1\"}]","channelExtra":"{\"authCode\":1}"}`)
	f.Add("application/json", `{"a":{"b":[1,2,{"c":null}]},"d":1e400}`)
	s := New(Config{Merchants: []Merchant{testMerchant}, ReqTimeWindow: -1})
	f.Cleanup(s.Close)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		params, err := parseParams(contentType, "", []byte(body))
		if err == nil {
			_ = Verify(params, testMerchant.Secret)
			_ = SignString(params, testMerchant.Secret)
			_, _ = parseJSONObjectText(params["channelExtra"])
			_, _ = parseReceiverSpecs(params["receivers"])
			_, _ = parseRatio(params["divisionProfit"])
		}
		for _, path := range []string{"/api/pay/unifiedOrder", "/api/division/exec", "/api/pos/trade/list"} {
			req := httptestRequest(path, contentType, body)
			s.ServeHTTP(newDiscardWriter(), req)
		}
	})
}
