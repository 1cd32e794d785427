package sim

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	assert.Equal(t, string(want), got)
}

// billDay fills a day of baseTime's merchant: two barcode payments, a
// refund, an unpaid order, and a payment of the next day.
func billDay(e *env) (pay1, pay2, refund string) {
	e.t.Helper()
	pay1 = e.order("WX_BAR", 1000, map[string]string{"mchOrderNo": "pay_bill_1"})["payOrderId"]
	e.clock.Add(time.Minute)
	pay2 = e.order("ALI_BAR", 2500, map[string]string{"mchOrderNo": "pay_bill_2"})["payOrderId"]
	e.clock.Add(time.Minute)
	refund = e.ok(e.refund(pay1, 400, map[string]string{"mchRefundNo": "re_bill_1"})).Data["refundOrderId"]
	e.order("ALI_QR", 700, map[string]string{"mchOrderNo": "pay_bill_unpaid"})
	e.clock.Add(14*time.Hour - 2*time.Minute) // 2024-05-15 00:00:00 in China
	e.order("WX_BAR", 900, map[string]string{"mchOrderNo": "pay_bill_next_day"})
	return pay1, pay2, refund
}

func (e *env) bill(date string, extra map[string]string) resp {
	e.t.Helper()
	p := map[string]string{"billDate": date}
	for k, v := range extra {
		p[k] = v
	}
	return e.call("/api/bill/download", p)
}

// TestBillDownload: the day's successful pay orders and refunds, in China
// time, as a signed CSV with its totals (golden: testdata/bill_trade.csv).
func TestBillDownload(t *testing.T) {
	e := newEnv(t, nil)
	billDay(e)

	d := e.ok(e.bill("20240514", nil)).Data
	golden(t, "bill_trade.csv", d["billContent"])
	want := map[string]string{"billDate": "20240514", "billType": "TRADE", "fileType": "csv", "mchNo": e.m.MchNo, "appId": e.m.AppID,
		"totalCount": "3", "payCount": "2", "payAmount": "3500", "refundCount": "1", "refundAmount": "400", "feeAmount": "21"}
	for k, v := range want {
		assert.Equal(t, v, d[k], k)
	}
	form := e.ok(e.callForm("/api/bill/download", map[string]string{"billDate": "20240514", "billType": "TRADE"})).Data
	assert.Equal(t, d["billContent"], form["billContent"], "a form request gets the same bill")

	next := e.ok(e.bill("20240515", nil)).Data
	assert.Equal(t, "1", next["totalCount"], "the payment at 00:00 China time belongs to the next day")
	assert.Contains(t, next["billContent"], "pay_bill_next_day")

	empty := e.ok(e.bill("20240513", nil)).Data
	assert.Equal(t, BillHeader+"\n", empty["billContent"])
	assert.Equal(t, "0", empty["totalCount"])

	b, err := e.s.Bill(e.m.AppID, "20240514")
	require.NoError(t, err)
	assert.Equal(t, d["billContent"], b.Content, "Server.Bill is what the gateway serves")
}

// TestBillRefused: the checks of /api/bill/download and their messages.
func TestBillRefused(t *testing.T) {
	e := newEnv(t, nil)
	billDay(e) // the clock is now 2024-05-15 00:00 China time
	e.fails(e.call("/api/bill/download", map[string]string{}), 9999, "账单日期不能为空")
	for _, bad := range []string{"2024-05-14", "20240532", "2024051", "x"} {
		e.fails(e.bill(bad, nil), 11, "参数有误[billDate]")
	}
	e.fails(e.bill("20240516", nil), 9999, "账单日期[20240516]不能晚于当前日期")
	e.fails(e.bill("20240514", map[string]string{"billType": "SETTLE"}), 9999, "不支持的账单类型[SETTLE]")

	other := e.post("/api/bill/download", "application/json",
		jsonBody(t, e.signed(otherMerchant, map[string]string{"billDate": "20240514"})), otherMerchant)
	require.Equal(t, 0, other.Code)
	assert.Equal(t, "0", other.Data["totalCount"], "another merchant's bill has none of these orders")
}

// TestBillMismatches: each switch changes the bill the way it says, and the
// totals follow the lines as served.
func TestBillMismatches(t *testing.T) {
	e := newEnv(t, nil)
	pay1, pay2, refund := billDay(e)
	clean := e.ok(e.bill("20240514", nil)).Data["billContent"]
	line := func(content, id string) string {
		for l := range strings.Lines(content) {
			if strings.Contains(l, ","+id+",") {
				return strings.TrimSuffix(l, "\n")
			}
		}
		return ""
	}
	col := func(content, id string, i int) string {
		l := line(content, id)
		if l == "" {
			return ""
		}
		return strings.Split(l, ",")[i]
	}
	tests := []struct {
		name  string
		m     BillMismatch
		check func(t *testing.T, d map[string]string)
	}{
		{"drop a payment by its payOrderId", BillMismatch{Kind: BillDropLine, OrderID: pay2}, func(t *testing.T, d map[string]string) {
			assert.Empty(t, line(d["billContent"], pay2))
			assert.Equal(t, "2", d["totalCount"])
			assert.Equal(t, "1000", d["payAmount"])
		}},
		{"drop a refund by its mchRefundNo", BillMismatch{Kind: BillDropLine, OrderID: "re_bill_1"}, func(t *testing.T, d map[string]string) {
			assert.Empty(t, line(d["billContent"], refund))
			assert.Equal(t, "0", d["refundCount"])
		}},
		{"change an amount", BillMismatch{Kind: BillChangeAmount, OrderID: "pay_bill_1", Amount: 1001}, func(t *testing.T, d map[string]string) {
			assert.Equal(t, "1001", col(d["billContent"], pay1, 8))
			assert.Equal(t, "3501", d["payAmount"])
		}},
		{"change a fee", BillMismatch{Kind: BillChangeFee, OrderID: pay1, Fee: 9}, func(t *testing.T, d map[string]string) {
			assert.Equal(t, "9", col(d["billContent"], pay1, 9))
			assert.Equal(t, "24", d["feeAmount"])
		}},
		{"change a state", BillMismatch{Kind: BillChangeState, OrderID: pay2, State: PayStateClosed}, func(t *testing.T, d map[string]string) {
			assert.Equal(t, "6", col(d["billContent"], pay2, 10))
		}},
		{"add an order nobody else knows", BillMismatch{Kind: BillExtraOrder, MchOrderNo: "portal-77", Amount: 5000}, func(t *testing.T, d map[string]string) {
			l := line(d["billContent"], "P9000000000000000001")
			assert.Equal(t, "PAY,P9000000000000000001,P9000000000000000001,portal-77,,alipay,ALI_QR,cny,5000,30,2,2024-05-14 12:00:00", l)
			assert.Equal(t, "4", d["totalCount"])
			assert.Equal(t, "8500", d["payAmount"])
		}},
		{"corrupt a line", BillMismatch{Kind: BillMalformedLine, OrderID: pay2}, func(t *testing.T, d map[string]string) {
			assert.Equal(t, "1O0", col(d["billContent"], pay2, 8))
			assert.Equal(t, "3", d["totalCount"], "the line is still there")
			assert.Equal(t, "1", d["payCount"], "but not in the totals")
		}},
		{"append a broken line", BillMismatch{Kind: BillMalformedLine, Text: "PAY,oops"}, func(t *testing.T, d map[string]string) {
			assert.True(t, strings.HasSuffix(d["billContent"], "\nPAY,oops\n"))
			assert.Equal(t, "4", d["totalCount"])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.s.SetBillMismatches(tt.m)
			defer e.s.SetBillMismatches()
			d := e.ok(e.bill("20240514", nil)).Data
			assert.NotEqual(t, clean, d["billContent"])
			tt.check(t, d)
			assert.Equal(t, []BillMismatch{tt.m}, e.s.BillMismatches())
		})
	}
	e.s.AddBillMismatch(BillMismatch{Kind: BillDropLine, OrderID: "no-such-order"})
	assert.Equal(t, clean, e.ok(e.bill("20240514", nil)).Data["billContent"], "a switch naming no line changes nothing")
	assert.Equal(t, "drop_line", BillDropLine.String())
	assert.Equal(t, "unknown", BillMismatchKind(0).String())
}

// TestBillFaults: the fault switches apply to the bill path like any other.
func TestBillFaults(t *testing.T) {
	e := newEnv(t, nil)
	e.order("WX_BAR", 1000, nil)
	e.s.SetFaults(Fault{Kind: FaultBadSign, PathPrefix: "/api/bill", Count: 1})
	res, err := http.Post(e.hs.URL+"/api/bill/download", "application/json", bytes.NewReader(jsonBody(t, e.signed(e.m, map[string]string{"billDate": "20240514"}))))
	require.NoError(t, err)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	r := decodeEnvelope(t, raw)
	require.Equal(t, 0, r.Code)
	assert.False(t, Verify(withSign(r.Data, r.Sign), e.m.Secret), "the bill's sign does not verify")
	assert.Equal(t, strconv.Itoa(1), r.Data["totalCount"])
}
