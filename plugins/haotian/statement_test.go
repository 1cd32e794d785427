package haotian_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

var china = time.FixedZone("UTC+08:00", 8*3600)

// statement downloads the trade statement of date.
func (e *env) statement(date string) (*core.DownloadStatementResponse, error) {
	return call[core.DownloadStatementResponse](e, core.OpStatementDownload, &core.DownloadStatementRequest{Date: date, Kind: core.StatementTrade})
}

// paidDay makes two barcode payments (paid at once) and a refund, and
// returns the China day the first was paid on.
func (e *env) paidDay(t *testing.T) (date string, pay1, pay2 *core.Payment) {
	t.Helper()
	r1, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_st_1", Amount: 1000, Method: core.MethodWechatBarcode, Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	r2, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_st_2", Amount: 2500, Method: core.MethodAlipayBarcode, Payer: core.Payer{AuthCode: "284567890123456789"}})
	require.NoError(t, err)
	_, err = e.refund(core.CreateRefundRequest{RefundID: "re_st_1", Payment: core.PaymentRef{ID: "pay_st_1", ProviderID: r1.Payment.ProviderID}, Amount: 400})
	require.NoError(t, err)
	o, ok := e.sim.Order(r1.Payment.ProviderID)
	require.True(t, ok)
	return o.SuccessTime.In(china).Format("2006-01-02"), &r1.Payment, &r2.Payment
}

// TestDownloadStatement: the day's bill, verified and parsed into canonical
// lines, over both transports; a malformed line is reported, not dropped.
func TestDownloadStatement(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		date, pay1, pay2 := e.paidDay(t)

		st, err := e.statement(date)
		require.NoError(t, err)
		assert.Equal(t, date, st.Date)
		assert.Equal(t, "csv", st.Format)
		assert.True(t, strings.HasPrefix(string(st.Raw), sim.BillHeader+"\n"))
		assert.Empty(t, st.Unparsed)
		byID := map[string]core.StatementLine{}
		for _, l := range st.Lines {
			byID[l.ObjectID] = l
			assert.False(t, l.Time.IsZero())
			assert.Equal(t, core.Currency("CNY"), l.Currency)
		}
		require.Len(t, st.Lines, 3, "%s", st.Raw)
		p1 := byID["pay_st_1"]
		assert.Equal(t, core.LinePayment, p1.Kind)
		assert.Equal(t, pay1.ProviderID, p1.ProviderID)
		assert.Equal(t, int64(1000), p1.Amount)
		assert.Equal(t, int64(6), p1.FeeAmount)
		assert.Equal(t, string(core.PaymentSucceeded), p1.Status)
		assert.Equal(t, pay2.ProviderID, byID["pay_st_2"].ProviderID)
		r := byID["re_st_1"]
		assert.Equal(t, core.LineRefund, r.Kind)
		assert.Equal(t, "pay_st_1", r.PaymentID)
		assert.Equal(t, int64(400), r.Amount)
		assert.Equal(t, string(core.RefundSucceeded), r.Status)
		for i, l := range st.Lines {
			assert.Equal(t, i+2, l.Line, "line numbers count the header")
		}

		e.sim.SetBillMismatches(sim.BillMismatch{Kind: sim.BillMalformedLine, OrderID: "pay_st_2"},
			sim.BillMismatch{Kind: sim.BillMalformedLine, Text: "PAY,oops"},
			sim.BillMismatch{Kind: sim.BillChangeState, OrderID: "pay_st_1", State: 6})
		st, err = e.statement(date)
		require.NoError(t, err)
		require.Len(t, st.Lines, 2)
		assert.Equal(t, string(core.PaymentClosed), st.Lines[0].Status, "state 6 is closed")
		require.Len(t, st.Unparsed, 2)
		assert.Equal(t, 3, st.Unparsed[0].Line)
		assert.Contains(t, st.Unparsed[0].Text, ",1O0,")
		assert.Equal(t, `amount "1O0" is not a positive whole number of fen`, st.Unparsed[0].Reason)
		assert.Equal(t, core.StatementLineError{Line: 5, Text: "PAY,oops", Reason: "the line has 2 fields, the header 12"}, st.Unparsed[1])
	})
}

// TestDownloadStatementRefused: the errors of the statement call, each with
// its canonical code.
func TestDownloadStatementRefused(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		date, _, _ := e.paidDay(t)
		tomorrow := time.Now().In(china).AddDate(0, 0, 2).Format("2006-01-02")
		tests := []struct {
			name  string
			req   core.DownloadStatementRequest
			fault *sim.Fault
			code  core.Code
		}{
			{"settlement kind", core.DownloadStatementRequest{Date: date, Kind: core.StatementSettlement}, nil, core.CodeUnsupported},
			{"sub-merchant", core.DownloadStatementRequest{Date: date, SubMerchantID: "M2"}, nil, core.CodeUnsupported},
			{"bad date", core.DownloadStatementRequest{Date: "20240514"}, nil, core.CodeInvalidRequest},
			{"future date", core.DownloadStatementRequest{Date: tomorrow}, nil, core.CodeInvalidRequest},
			{"bad sign", core.DownloadStatementRequest{Date: date}, &sim.Fault{Kind: sim.FaultBadSign}, core.CodeSignatureInvalid},
			{"malformed answer", core.DownloadStatementRequest{Date: date}, &sim.Fault{Kind: sim.FaultMalformed}, core.CodeProviderUnavailable},
			{"5xx", core.DownloadStatementRequest{Date: date}, &sim.Fault{Kind: sim.FaultHTTP5xxBefore}, core.CodeProviderUnavailable},
			{"no answer", core.DownloadStatementRequest{Date: date}, &sim.Fault{Kind: sim.FaultTimeoutAfterProcessing}, core.CodeProviderUnavailable},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.fault != nil {
					e.sim.SetFaults(*tt.fault)
					defer e.sim.SetFaults()
				}
				_, err := call[core.DownloadStatementResponse](e, core.OpStatementDownload, &tt.req)
				assert.Equal(t, tt.code, core.CodeOf(err), "%v", err)
			})
		}
	})
}

// billGateway answers /api/bill/download with data, signed as the
// gateway signs.
func billGateway(t *testing.T, data map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := `{"code":0,"msg":"SUCCESS","data":{`
		first := true
		for k, v := range data {
			if !first {
				body += ","
			}
			first = false
			body += strconv.Quote(k) + ":" + strconv.Quote(v)
		}
		body += `},"sign":"` + sim.Sign(data, sim.DefaultMerchant.Secret) + `"}`
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBillThatCannotBeTrusted: a verified answer that is not the day's
// bill, or whose lines do not add up, is an error rather than a partial
// statement.
func TestBillThatCannotBeTrusted(t *testing.T) {
	good := sim.BillHeader + "\nPAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,100,1,2,2024-05-14 10:00:00\n"
	tests := []struct {
		name string
		data map[string]string
		msg  string
	}{
		{"another day", map[string]string{"billDate": "20240513", "billContent": good, "totalCount": "1"}, `bill of "20240513" for 20240514`},
		{"count differs", map[string]string{"billDate": "20240514", "billContent": good, "totalCount": "2"}, "totalCount says 2"},
		{"no header", map[string]string{"billDate": "20240514", "totalCount": "0"}, "no header line"},
		{"header without amount", map[string]string{"billDate": "20240514", "billContent": "tradeType,orderId,mchOrderNo,mchRefundNo,state,successTime\n"}, "no column amount"},
	}
	forEachTransport(t, func(t *testing.T, transport string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := &env{t: t, p: loadTransport(t, transport)}
				e.h = bindAccount(t, e.p.Manifest(), billGateway(t, tt.data).URL, time.Now)
				_, err := e.statement("2024-05-14")
				assert.Equal(t, core.CodeProviderUnavailable, core.CodeOf(err))
				assert.ErrorContains(t, err, tt.msg)
			})
		}
	})
}

// TestParseBill: what parses, and the reason given for each line that
// does not.
func TestParseBill(t *testing.T) {
	const header = sim.BillHeader + "\n"
	pay := "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,1000,6,2,2024-05-14 10:00:00"
	tests := []struct {
		name   string
		line   string
		reason string // "" = parses
	}{
		{"payment", pay, ""},
		{"refunded payment", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,1000,6,5,2024-05-14 10:00:00", ""},
		{"refund", "REFUND,R1,P1,pay_1,re_1,wxpay,WX_BAR,CNY,400,0,2,2024-05-14 10:05:00", ""},
		{"crlf", pay + "\r", ""},
		{"empty fee", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,1000,,2,2024-05-14 10:00:00", ""},
		{"short", "PAY,P1", "the line has 2 fields, the header 12"},
		{"long", pay + ",x", "the line has 13 fields, the header 12"},
		{"decimal amount", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,10.00,6,2,2024-05-14 10:00:00", `amount "10.00" is not a positive whole number of fen`},
		{"negative amount", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,-1,6,2,2024-05-14 10:00:00", `amount "-1" is not a positive whole number of fen`},
		{"zero amount", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,0,0,2,2024-05-14 10:00:00", `amount "0" is not a positive whole number of fen`},
		{"huge amount", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,99999999999999999999,6,2,2024-05-14 10:00:00", `amount "99999999999999999999" is not a positive whole number of fen`},
		{"exponent", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,1e3,6,2,2024-05-14 10:00:00", `amount "1e3" is not a positive whole number of fen`},
		{"bad fee", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,1000,+6,2,2024-05-14 10:00:00", `mchFeeAmount "+6" is not a whole number of fen`},
		{"bad state", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,1000,6,x,2024-05-14 10:00:00", `state "x" is not a state number`},
		{"unknown pay state", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,1000,6,7,2024-05-14 10:00:00", "state 7 is not a pay order state"},
		{"unknown refund state", "REFUND,R1,P1,pay_1,re_1,wxpay,WX_BAR,cny,1000,0,5,2024-05-14 10:00:00", "state 5 is not a refund state"},
		{"bad time", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,cny,1000,6,2,1715652000000", `successTime "1715652000000" is not yyyy-MM-dd HH:mm:ss`},
		{"other currency", "PAY,P1,P1,pay_1,,wxpay,WX_BAR,usd,1000,6,2,2024-05-14 10:00:00", `currency "usd" is not cny`},
		{"unknown trade type", "SPLIT,P1,P1,pay_1,,wxpay,WX_BAR,cny,1000,6,2,2024-05-14 10:00:00", `tradeType "SPLIT" is neither PAY nor REFUND`},
		{"no order id", "PAY,,P1,pay_1,,wxpay,WX_BAR,cny,1000,6,2,2024-05-14 10:00:00", "orderId is empty"},
		{"no mchOrderNo", "PAY,P1,P1,,,wxpay,WX_BAR,cny,1000,6,2,2024-05-14 10:00:00", "mchOrderNo is empty"},
		{"no mchRefundNo", "REFUND,R1,P1,pay_1,,wxpay,WX_BAR,cny,400,0,2,2024-05-14 10:05:00", "mchRefundNo is empty"},
		{"not utf-8", "PAY,P1,P1,pay_\xff,,wxpay,WX_BAR,cny,1000,6,2,2024-05-14 10:00:00", "the line is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, unparsed, err := haotian.ParseBill(header+tt.line+"\n", china)
			require.NoError(t, err)
			if tt.reason == "" {
				require.Empty(t, unparsed)
				require.Len(t, lines, 1)
				assert.Equal(t, 2, lines[0].Line)
				return
			}
			require.Empty(t, lines)
			require.Len(t, unparsed, 1)
			assert.Equal(t, 2, unparsed[0].Line)
			assert.Equal(t, tt.reason, unparsed[0].Reason)
			assert.Equal(t, strings.ToValidUTF8(strings.TrimSuffix(tt.line, "\r"), "\uFFFD"), unparsed[0].Text)
		})
	}
	t.Run("values", func(t *testing.T) {
		lines, _, err := haotian.ParseBill("\uFEFF"+header+"\n"+pay+"\n\n", china)
		require.NoError(t, err)
		require.Len(t, lines, 1)
		assert.Equal(t, core.StatementLine{Kind: core.LinePayment, ObjectID: "pay_1", ProviderID: "P1", Amount: 1000, FeeAmount: 6,
			Currency: "CNY", Status: "succeeded", Time: time.Date(2024, 5, 14, 2, 0, 0, 0, time.UTC), Line: 3}, lines[0],
			"a byte order mark and blank lines are skipped; times are China time")
	})
	t.Run("columns in another order", func(t *testing.T) {
		lines, unparsed, err := haotian.ParseBill("amount,state,successTime,tradeType,orderId,mchOrderNo,mchRefundNo,extra\n"+
			"700,2,2024-05-14 23:59:59,PAY,P9,pay_9,,whatever\n", china)
		require.NoError(t, err)
		require.Empty(t, unparsed)
		require.Len(t, lines, 1)
		assert.Equal(t, int64(700), lines[0].Amount)
	})
	t.Run("long line is clipped", func(t *testing.T) {
		_, unparsed, err := haotian.ParseBill(header+"PAY,"+strings.Repeat("长", 400)+"\n", china)
		require.NoError(t, err)
		require.Len(t, unparsed, 1)
		assert.LessOrEqual(t, len(unparsed[0].Text), 512)
		assert.True(t, strings.HasSuffix(unparsed[0].Text, "…"))
	})
	t.Run("header", func(t *testing.T) {
		_, _, err := haotian.ParseBill("", china)
		assert.ErrorContains(t, err, "no header line")
		_, _, err = haotian.ParseBill("tradeType,orderId,orderId,mchOrderNo,mchRefundNo,amount,state,successTime\n", china)
		assert.ErrorContains(t, err, `names column "orderId" twice`)
	})
}

// TestParseOffset: the time_zone setting is a fixed UTC offset.
func TestParseOffset(t *testing.T) {
	for in, secs := range map[string]int{"+08:00": 8 * 3600, "-05:30": -(5*3600 + 30*60), "UTC": 0, "Z": 0, "+00:00": 0} {
		loc, err := haotian.ParseOffset(in)
		require.NoError(t, err, in)
		_, off := time.Date(2024, 1, 1, 0, 0, 0, 0, loc).Zone()
		assert.Equal(t, secs, off, in)
	}
	for _, bad := range []string{"", "Asia/Shanghai", "+8", "+08", "08:00", "+8:00", "+15:00", "+08:60", "++8:00", "+0x:00"} {
		_, err := haotian.ParseOffset(bad)
		assert.Error(t, err, bad)
	}
}
