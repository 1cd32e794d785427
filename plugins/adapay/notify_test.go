package adapay_test

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/plugins/adapay/sim"
)

// The real signed sample of PROVIDERS.md: Adapay's public key, a
// payment.succeeded data string and its SHA1withRSA signature.
const (
	realPublicKey = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCwN6xgd6Ad8v2hIIsQVnbt8a3JituR8o4Tc3B5WlcFR55bz4OMqrG/356Ur3cPbc2Fe8ArNd/0gZbC9q56Eb16JTkVNA/fye4SXznWxdyBPR7+guuJZHc/VW2fKH2lfZ2P3Tt0QkKZZoawYOGSMdIvO+WqK44updyax0ikK6JlNQIDAQAB"
	realData      = `{"app_id":"app_fe1ec54d-e7cd-432a-a994-c12c3d8295f8","created_time":"20201115182858","end_time":"20201115182904","expend":{"bank_type":"OTHERS","open_id":"o8jhotwaUEffs1fyWE5O3N4HWvbk","sub_open_id":"o4WGIxA59TYBzEKdwz_s6actNIYY"},"id":"002112020111518285710173995928213929984","order_no":"SH20201115182857625624","out_trans_id":"4200000839202011155051561044","party_order_id":"02212011156653808201465","pay_amt":"0.01","pay_channel":"wx_pub","status":"succeeded"}`
	realSign      = "YXOWP5pyL38cZvXbVTyr4Lp9tpr2IzYmc5+EXuNofMTPPlCMfgXX4aBHT8QhxmKMYe95TBklWrM6IAdSLqIBXyc7CYnEYh0o54QHH4H/yKy5yiOqFCbcHAHPhtJPU28rj+dHbG7YG/4Qk5psFoBuOTP99ACizLy/uiILYY3UhJk="
	realAppID     = "app_fe1ec54d-e7cd-432a-a994-c12c3d8295f8"
)

// realEnv binds the plugin with Adapay's real public key and the sample's
// application (no request is made).
func realEnv(t *testing.T, transport string, now time.Time) *env {
	e := &env{t: t, p: loadTransport(t, transport)}
	e.h = bindAccount(t, e.p.Manifest(), "https://api.adapay.tech", func(a *account) {
		a.public = realPublicKey
		a.config["app_id"] = realAppID
		a.config["base_url"] = "https://api.adapay.tech"
	}, func() time.Time { return now })
	return e
}

func form(kv ...string) []byte {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return []byte(v.Encode())
}

// TestRealSignedSample: the plugin verifies Adapay's real notification with
// Adapay's real public key, and refuses it when any byte changes.
func TestRealSignedSample(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := realEnv(t, transport, time.Now())
		evs := e.mustParse(t, form("id", "evt_1", "type", "payment.succeeded", "object", "payment", "app_id", realAppID,
			"prod_mode", "true", "data", realData, "sign", realSign))
		require.Len(t, evs, 1)
		paid := time.Date(2020, 11, 15, 18, 29, 4, 0, time.FixedZone("CST", 8*3600))
		assert.Equal(t, core.Event{ID: "payment:002112020111518285710173995928213929984:succeeded", Kind: core.EventPayment,
			ObjectID: "SH20201115182857625624", ProviderObjectID: "002112020111518285710173995928213929984", Status: "succeeded",
			Amount: 1, Currency: "CNY", OccurredAt: paid.UTC(),
			Data: map[string]string{"out_trans_id": "4200000839202011155051561044", "party_order_id": "02212011156653808201465", "pay_channel": "wx_pub"}}, evs[0])

		// the same as a JSON body (the seed's event examples)
		jsonBody := `{"id":"evt_1","type":"payment.succeeded","data":` + strconv.Quote(realData) + `,"sign":"` + realSign + `"}`
		assert.Equal(t, evs, e.mustParse(t, []byte(jsonBody)))

		for i := 0; i < len(realData); i += 37 {
			changed := []byte(realData)
			changed[i] ^= 0x01
			_, err := e.parse(form("type", "payment.succeeded", "data", string(changed), "sign", realSign))
			assert.Equal(t, core.CodeSignatureInvalid, core.CodeOf(err), "byte %d changed: %v", i, err)
		}
		sig := []byte(realSign)
		sig[10] ^= 0x01
		_, err := e.parse(form("type", "payment.succeeded", "data", realData, "sign", string(sig)))
		assert.Equal(t, core.CodeSignatureInvalid, core.CodeOf(err), "signature changed")
	})
}

// TestNotificationVerification: unsigned, forged, foreign, replayed and
// malformed notifications are refused; a type this plugin does not model is
// acknowledged without events.
func TestNotificationVerification(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		now := time.Now()
		e := realEnv(t, transport, now)
		key := sim.SimulatorKey()
		signed := func(typ, data string, extra ...string) []byte {
			return form(append([]string{"type", typ, "data", data, "sign", sim.Sign(key.Private, data)}, extra...)...)
		}
		// rebind with the simulator's key as Adapay's, to sign new data
		e.h = bindAccount(t, e.p.Manifest(), "https://api.adapay.tech", func(a *account) {
			a.config["app_id"] = realAppID
		}, func() time.Time { return now })
		tests := []struct {
			name string
			body []byte
			code core.Code
		}{
			{"unsigned", form("type", "payment.succeeded", "data", realData), core.CodeSignatureInvalid},
			{"sign not base64", form("type", "payment.succeeded", "data", realData, "sign", "%%%"), core.CodeSignatureInvalid},
			{"sign garbage", form("type", "payment.succeeded", "data", realData, "sign", "AAAA"), core.CodeSignatureInvalid},
			{"real sample under another key", form("type", "payment.succeeded", "data", realData, "sign", realSign), core.CodeSignatureInvalid},
			{"another application", signed("payment.succeeded", `{"app_id":"app_other","id":"0021","order_no":"x","status":"succeeded","pay_amt":"1.00"}`), core.CodeInvalidRequest},
			{"another application in the form", signed("refund.succeeded", `{"id":"0021R","refund_order_no":"r","status":"succeeded","refund_amt":"1.00"}`, "app_id", "app_other"), core.CodeInvalidRequest},
			{"replayed two days later", signed("payment.succeeded", realData, "created_time", strconv.FormatInt(now.Add(-48*time.Hour).Unix(), 10)), core.CodeInvalidRequest},
			{"no data", form("type", "payment.succeeded", "sign", "AAAA"), core.CodeInvalidRequest},
			{"data not an object", signed("payment.succeeded", `[1,2]`), core.CodeInvalidRequest},
			{"payment without order_no", signed("payment.succeeded", `{"id":"0021","status":"succeeded"}`), core.CodeInvalidRequest},
			{"entry without request_id", signed("queryEntryUser.succeeded", `{"status":"succeeded","live_api_key":"k"}`), core.CodeInvalidRequest},
			{"resident without channels", signed("resident.succeeded", `{"request_id":"r1","status":"succeeded"}`), core.CodeInvalidRequest},
			{"repeated field", []byte("type=a&type=b&data=%7B%7D&sign=AAAA"), core.CodeInvalidRequest},
			{"not a form", []byte("%zz"), core.CodeInvalidRequest},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.parse(tt.body)
				require.Error(t, err)
				assert.Equal(t, tt.code, core.CodeOf(err), err.Error())
			})
		}
		t.Run("fresh notification within the window", func(t *testing.T) {
			evs := e.mustParse(t, signed("payment.succeeded", realData, "created_time", strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)))
			assert.Len(t, evs, 1)
		})
		t.Run("unmodelled type acknowledged", func(t *testing.T) {
			evs := e.mustParse(t, signed("cash.succeeded", `{"id":"cash_1","status":"succeeded","cash_amt":"1.00"}`))
			assert.Empty(t, evs)
		})
	})
}
