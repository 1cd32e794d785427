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

// TestNotificationAmounts: a success notification's event carries the
// amount and currency the gateway sent, which the host holds against the
// payment, refund or payout before applying it.
func TestNotificationAmounts(t *testing.T) {
	p := haotian.New()
	for _, tt := range []struct {
		name string
		body url.Values
		kind core.EventKind
		want int64
	}{
		{"payment", url.Values{"payOrderId": {"P1"}, "mchOrderNo": {"pay_1"}, "state": {"2"}, "amount": {"1200"}}, core.EventPayment, 1200},
		{"refund", url.Values{"refundOrderId": {"R1"}, "payOrderId": {"P1"}, "mchRefundNo": {"re_1"}, "state": {"2"}, "refundAmount": {"300"}}, core.EventRefund, 300},
		{"transfer", url.Values{"transferId": {"T1"}, "mchOrderNo": {"po_1"}, "state": {"2"}, "amount": {"500"}}, core.EventPayout, 500},
		{"payment without amount", url.Values{"payOrderId": {"P1"}, "mchOrderNo": {"pay_1"}, "state": {"2"}}, core.EventPayment, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.body.Set("mchNo", "M1")
			tt.body.Set("appId", "A1")
			tt.body.Set("sign", "0123456789ABCDEF0123456789ABCDEF")
			resp, err := p.ParseNotification(context.Background(), permissiveHost{}, &core.ParseNotificationRequest{Method: "POST", Body: []byte(tt.body.Encode())})
			if err != nil {
				t.Fatal(err)
			}
			ev := resp.Events[0]
			if ev.Kind != tt.kind || ev.Status != "succeeded" || ev.Amount != tt.want || ev.Currency != "CNY" {
				t.Errorf("event %+v: want a %s success of %d CNY (0: the host queries instead of applying it)", ev, tt.kind, tt.want)
			}
		})
	}
}
