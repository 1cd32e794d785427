package haotian_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/plugins/haotian"
)

// permissiveHost accepts every signature, so the fuzzer reaches the parser
// behind the verification.
type permissiveHost struct{ stubHost }

func (permissiveHost) Config(k string) (string, bool) {
	switch k {
	case "mch_no":
		return "M1", true
	case "app_id":
		return "A1", true
	}
	return "", false
}

// FuzzParseNotification: any body gives events or a canonical error, never a
// panic; an accepted notification always has an event with an id, a kind and
// a status of that kind's state machine.
func FuzzParseNotification(f *testing.F) {
	good := url.Values{"mchNo": {"M1"}, "appId": {"A1"}, "payOrderId": {"P1"}, "mchOrderNo": {"pay_1"}, "state": {"2"},
		"amount": {"100"}, "sign": {"0123456789ABCDEF0123456789ABCDEF"}}
	f.Add([]byte(good.Encode()))
	f.Add([]byte("refundOrderId=R1&mchRefundNo=re_1&state=3&mchNo=M1&appId=A1&sign=00000000000000000000000000000000"))
	f.Add([]byte("transferId=T1&mchOrderNo=po_1&state=1&mchNo=M1&appId=A1&sign=00000000000000000000000000000000&a=%zz"))
	p := haotian.New()
	machines := map[core.EventKind]core.Machine{core.EventPayment: core.MachinePayment, core.EventRefund: core.MachineRefund, core.EventPayout: core.MachinePayout}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := p.ParseNotification(context.Background(), permissiveHost{}, &core.ParseNotificationRequest{Method: "POST", Body: body})
		if err != nil {
			if !core.AsError(err).Code.Valid() {
				t.Fatalf("non-canonical error %v", err)
			}
			return
		}
		for _, ev := range resp.Events {
			if ev.ID == "" || ev.ObjectID == "" || !core.ValidStatus(machines[ev.Kind], ev.Status) {
				t.Fatalf("bad event %+v from %q", ev, body)
			}
		}
		if resp.Ack.Body != "SUCCESS" {
			t.Fatalf("ack %q", resp.Ack.Body)
		}
	})
}
