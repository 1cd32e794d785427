package adapay_test

import (
	"context"
	"testing"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/plugins/adapay"
)

// permissiveHost accepts every signature, so the fuzzer reaches the parser
// behind the verification.
type permissiveHost struct{}

func (permissiveHost) HTTP(context.Context, *core.HTTPRequest) (*core.HTTPResponse, error) {
	return nil, &core.Error{Code: core.CodeProviderUnavailable, Message: "no network in the fuzzer"}
}
func (permissiveHost) Sign(context.Context, string, core.SignAlg, []byte) ([]byte, error) {
	return make([]byte, 128), nil
}
func (permissiveHost) Verify(context.Context, string, core.SignAlg, []byte, []byte) error { return nil }
func (permissiveHost) Digest(context.Context, core.DigestAlg, []byte) ([]byte, error) {
	return nil, nil
}
func (permissiveHost) Now() time.Time                                        { return time.Unix(1700000000, 0) }
func (permissiveHost) Log(context.Context, core.LogLevel, string, ...string) {}
func (permissiveHost) CacheGet(string) ([]byte, bool)                        { return nil, false }
func (permissiveHost) CacheSet(string, []byte, time.Duration)                {}
func (permissiveHost) Config(k string) (string, bool) {
	switch k {
	case "app_id":
		return realAppID, true
	case "notify_max_age_seconds":
		return "86400", true
	}
	return "", false
}

// machines are the state machine of each event kind.
var machines = map[core.EventKind]core.Machine{core.EventPayment: core.MachinePayment, core.EventRefund: core.MachineRefund,
	core.EventOnboarding: core.MachineOnboarding, core.EventChannel: core.MachineOnboarding,
	core.EventRealName: core.MachineOnboarding, core.EventSettlement: core.MachineOnboarding}

// FuzzParseNotification: any body gives events or a canonical error, never a
// panic; an accepted notification is acknowledged with HTTP 200 and its
// events have an id, a known kind and a status of that kind's machine;
// payment and refund events name their object.
func FuzzParseNotification(f *testing.F) {
	f.Add(form("type", "payment.succeeded", "app_id", realAppID, "data", realData, "sign", realSign))
	f.Add(form("type", "refund.failed", "data", `{"id":"0021R","refund_order_no":"r1","refund_amt":"0.01","status":"failed","error_msg":"x"}`, "sign", "AAAA"))
	f.Add(form("type", "payment.close.succeeded", "data", `{"id":"c1","payment_id":"p1","status":"succeeded"}`, "sign", "AAAA"))
	f.Add(form("type", "queryEntryUser.succeeded", "data", `{"request_id":"r","status":"succeeded","live_api_key":"k","app_id_list":[{"app_id":"a"}],"login_pwd":"x"}`, "sign", "AAAA"))
	f.Add(form("type", "resident.failed", "data", `{"request_id":"r","wx_alipay_response":{"wx_lite":{"stat":"F","message":""}},"alipay_stat":{"stat":"F","message":"m"}}`, "sign", "AAAA"))
	f.Add(form("type", "resident.modify.failed", "data", `{"request_id":"","wx_stat":"F","alipay_stat":"S"}`, "sign", "AAAA", "id", "n1"))
	f.Add(form("type", "realname.succeeded", "data", `{"request_id":"r","real_name_type":"W","status":"succeeded"}`, "sign", "AAAA"))
	f.Add(form("type", "merchant.modify.failed", "data", `{"order_no":"o","status":"failed"}`, "sign", "AAAA", "created_time", "1699990000"))
	f.Add([]byte(`{"type":"userEntry.failed","data":{"request_id":"r","error_msg":"x"},"sign":"AAAA"}`))
	f.Add([]byte("data=%7B%7D&sign=AAAA&type=x&type=y"))
	p := adapay.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := p.ParseNotification(context.Background(), permissiveHost{}, &core.ParseNotificationRequest{Method: "POST", Body: body})
		if err != nil {
			if !core.AsError(err).Code.Valid() {
				t.Fatalf("non-canonical error %v", err)
			}
			return
		}
		if resp.Ack.Status != 200 {
			t.Fatalf("ack %+v", resp.Ack)
		}
		for _, ev := range resp.Events {
			m, ok := machines[ev.Kind]
			if ev.ID == "" || !ok || !core.ValidStatus(m, ev.Status) {
				t.Fatalf("bad event %+v from %q", ev, body)
			}
			if (ev.Kind == core.EventRefund || (ev.Kind == core.EventPayment && ev.Status != string(core.PaymentClosed))) && ev.ObjectID == "" {
				t.Fatalf("event without object %+v from %q", ev, body)
			}
		}
	})
}
