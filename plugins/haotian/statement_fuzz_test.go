package haotian_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// FuzzParseBill: any bill content gives canonical lines and reported
// lines, or an error — never a panic, and never a line dropped: every
// non-blank line after the header is either parsed (a known kind, an id,
// a positive amount, a status of its state machine) or reported with its
// number, a reason and valid UTF-8 text of at most 512 bytes.
func FuzzParseBill(f *testing.F) {
	f.Add(sim.BillHeader + "\nPAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,1000,6,2,2024-05-14 10:00:00\n")
	f.Add(sim.BillHeader + "\nREFUND,R1,P1,pay_1,re_1,wxpay,WX_BAR,cny,400,0,2,2024-05-14 10:05:00\r\n\r\n")
	f.Add(sim.BillHeader + "\nPAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,1O0,6,2,2024-05-14 10:00:00\nPAY,oops\n")
	f.Add("\uFEFFamount,state,successTime,tradeType,orderId,mchOrderNo,mchRefundNo\n1,0,2024-01-01 00:00:00,PAY,P,p,\n")
	f.Add("tradeType\n")
	f.Add("")
	machines := map[core.LineKind]core.Machine{core.LinePayment: core.MachinePayment, core.LineRefund: core.MachineRefund}
	f.Fuzz(func(t *testing.T, content string) {
		lines, unparsed, err := haotian.ParseBill(content, time.FixedZone("", 8*3600))
		if err != nil {
			if !core.AsError(err).Code.Valid() {
				t.Fatalf("non-canonical error %v", err)
			}
			return
		}
		seen := map[int]bool{}
		for _, l := range lines {
			m, ok := machines[l.Kind]
			if !ok || l.ObjectID == "" || l.ProviderID == "" || l.Amount <= 0 || l.FeeAmount < 0 || !core.ValidStatus(m, l.Status) || l.Time.IsZero() {
				t.Fatalf("bad line %+v from %q", l, content)
			}
			if seen[l.Line] || l.Line < 2 {
				t.Fatalf("line number %d repeated or in the header", l.Line)
			}
			seen[l.Line] = true
		}
		for _, u := range unparsed {
			if u.Reason == "" || !utf8.ValidString(u.Text) || len(u.Text) > 512 || seen[u.Line] || u.Line < 2 {
				t.Fatalf("bad report %+v from %q", u, content)
			}
			seen[u.Line] = true
		}
		data := 0
		for i, l := range strings.Split(strings.TrimPrefix(content, "\uFEFF"), "\n") {
			if i > 0 && strings.TrimSpace(strings.TrimSuffix(l, "\r")) != "" {
				data++
			}
		}
		if data != len(lines)+len(unparsed) {
			t.Fatalf("%d data lines, %d parsed and %d reported: a line was dropped", data, len(lines), len(unparsed))
		}
	})
}
