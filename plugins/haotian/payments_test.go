package haotian_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// TestCreateEveryWayCode creates a payment for every supported method and
// checks the wayCode sent, the initial status and how the payer pays.
func TestCreateEveryWayCode(t *testing.T) {
	tests := []struct {
		method core.Method
		payer  core.Payer
		status core.PaymentStatus
		kind   core.PayInfoKind
	}{
		{core.MethodAlipayQR, core.Payer{}, core.PaymentProcessing, core.PayInfoQRCode},
		{core.MethodWechatNative, core.Payer{}, core.PaymentProcessing, core.PayInfoQRCode},
		{core.MethodWechatJSAPI, core.Payer{OpenID: "o8jhotwaUEffs1fyWE5O3N4HWvbk"}, core.PaymentProcessing, core.PayInfoJSAPI},
		{core.MethodWechatMini, core.Payer{OpenID: "o8jhotwaUEffs1fyWE5O3N4HWvbk"}, core.PaymentProcessing, core.PayInfoMiniProgram},
		{core.MethodWechatH5, core.Payer{}, core.PaymentProcessing, core.PayInfoRedirect},
		{core.MethodAlipayJSAPI, core.Payer{BuyerID: "2088102175953034"}, core.PaymentProcessing, core.PayInfoJSAPI},
		{core.MethodAlipayMini, core.Payer{BuyerID: "2088102175953034"}, core.PaymentProcessing, core.PayInfoMiniProgram},
		{core.MethodAlipayApp, core.Payer{}, core.PaymentProcessing, core.PayInfoApp},
		{core.MethodAlipayPC, core.Payer{}, core.PaymentProcessing, core.PayInfoRedirect},
		{core.MethodAlipayWap, core.Payer{}, core.PaymentProcessing, core.PayInfoRedirect},
		{core.MethodUnionpayJSAPI, core.Payer{}, core.PaymentProcessing, core.PayInfoJSAPI},
		{core.MethodPaypalPC, core.Payer{}, core.PaymentProcessing, core.PayInfoRedirect},
		{core.MethodCashier, core.Payer{}, core.PaymentCreated, core.PayInfoRedirect},
		{core.MethodWechatBarcode, core.Payer{AuthCode: "134567890123456789"}, core.PaymentSucceeded, core.PayInfoNone},
		{core.MethodAlipayBarcode, core.Payer{AuthCode: "284567890123456789"}, core.PaymentSucceeded, core.PayInfoNone},
		{core.MethodUnionpayBar, core.Payer{AuthCode: "6234567890123456789"}, core.PaymentSucceeded, core.PayInfoNone},
		{core.MethodBarcode, core.Payer{AuthCode: "134567890123456789"}, core.PaymentSucceeded, core.PayInfoNone},
	}
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		for _, tt := range tests {
			t.Run(string(tt.method), func(t *testing.T) {
				id := "pay_" + strings.ReplaceAll(string(tt.method), ".", "_")
				resp, err := e.create(core.CreatePaymentRequest{PaymentID: id, Amount: 1000, Method: tt.method, Subject: "咖啡", Payer: tt.payer})
				require.NoError(t, err)
				p := resp.Payment
				assert.Equal(t, id, p.ID)
				assert.NotEmpty(t, p.ProviderID)
				assert.Equal(t, tt.status, p.Status)
				require.NotNil(t, p.PayInfo)
				assert.Equal(t, tt.kind, p.PayInfo.Kind)
				o, ok := e.sim.Order(p.ProviderID)
				require.True(t, ok, "the simulator stored the order")
				wayCode, _ := haotian.WayCode(tt.method)
				if tt.method != core.MethodBarcode {
					assert.Equal(t, wayCode, o.WayCode)
				}
				assert.Equal(t, int64(1000), o.Amount)
			})
		}
	})
}

// TestPaymentLifecycle: create, pay, query (fee, paid time), notification,
// partial and full refunds, refund query, and the limits on each.
func TestPaymentLifecycle(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		created, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_life", Amount: 10000, Method: core.MethodAlipayQR, Subject: "order"})
		require.NoError(t, err)
		ref := core.PaymentRef{ID: "pay_life", ProviderID: created.Payment.ProviderID, Amount: 10000, Currency: "CNY"}

		q, err := e.query(core.PaymentRef{ID: "pay_life"}) // by merchant order number alone
		require.NoError(t, err)
		assert.Equal(t, core.PaymentProcessing, q.Payment.Status)

		require.NoError(t, e.sim.Pay(created.Payment.ProviderID))
		q, err = e.query(ref)
		require.NoError(t, err)
		assert.Equal(t, core.PaymentSucceeded, q.Payment.Status)
		assert.Equal(t, int64(60), q.Payment.FeeAmount, "0.6% fee")
		assert.False(t, q.Payment.PaidAt.IsZero())
		assert.Equal(t, core.MethodAlipayQR, q.Payment.Method)

		// the success notification verifies and parses
		n, err := e.parse(e.notify.wait(t, 0))
		require.NoError(t, err)
		require.Len(t, n.Events, 1)
		ev := n.Events[0]
		assert.Equal(t, core.EventPayment, ev.Kind)
		assert.Equal(t, "pay_life", ev.ObjectID)
		assert.Equal(t, string(core.PaymentSucceeded), ev.Status)
		assert.Equal(t, int64(10000), ev.Amount)
		assert.Equal(t, core.Ack{Status: 200, ContentType: "text/plain; charset=utf-8", Body: "SUCCESS"}, n.Ack)

		// partial refund, then the rest, then nothing is left
		r1, err := e.refund(core.CreateRefundRequest{RefundID: "ref_1", Payment: ref, Amount: 3000, Reason: "partial"})
		require.NoError(t, err)
		assert.Equal(t, core.RefundSucceeded, r1.Refund.Status)
		assert.Equal(t, int64(3000), r1.Refund.Amount)
		_, err = e.refund(core.CreateRefundRequest{RefundID: "ref_over", Payment: ref, Amount: 7001})
		assert.Equal(t, core.CodeInsufficientFunds, core.CodeOf(err), "more than what is left")
		_, err = e.refund(core.CreateRefundRequest{RefundID: "ref_1", Payment: ref, Amount: 1})
		assert.Equal(t, core.CodeDuplicate, core.CodeOf(err), "refund number reused")
		r2, err := e.refund(core.CreateRefundRequest{RefundID: "ref_2", Payment: ref, Amount: 7000})
		require.NoError(t, err)
		assert.Equal(t, core.RefundSucceeded, r2.Refund.Status)
		_, err = e.refund(core.CreateRefundRequest{RefundID: "ref_3", Payment: ref, Amount: 1})
		assert.Equal(t, core.CodeConflict, core.CodeOf(err), "a fully refunded order")

		rq, err := plugin.Call[core.QueryRefundResponse](context.Background(), e.p, e.h, core.OpRefundQuery,
			&core.QueryRefundRequest{Refund: core.RefundRef{ID: "ref_1", Payment: ref}})
		require.NoError(t, err)
		assert.Equal(t, core.RefundSucceeded, rq.Refund.Status)
		assert.Equal(t, r1.Refund.ProviderID, rq.Refund.ProviderID)

		q, err = e.query(ref)
		require.NoError(t, err)
		assert.Equal(t, core.PaymentSucceeded, q.Payment.Status, "a refunded order stays succeeded")
		assert.Equal(t, "5", q.Payment.ProviderData["state"])
	})
}

func TestClose(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		close := func(id string) (*core.ClosePaymentResponse, error) {
			return plugin.Call[core.ClosePaymentResponse](context.Background(), e.p, e.h, core.OpPaymentClose,
				&core.ClosePaymentRequest{Payment: core.PaymentRef{ID: id}})
		}
		_, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_open", Amount: 100, Method: core.MethodWechatNative})
		require.NoError(t, err)
		resp, err := close("pay_open")
		require.NoError(t, err)
		assert.Equal(t, core.PaymentClosed, resp.Payment.Status)
		q, err := e.query(core.PaymentRef{ID: "pay_open"})
		require.NoError(t, err)
		assert.Equal(t, core.PaymentClosed, q.Payment.Status)

		_, err = e.create(core.CreatePaymentRequest{PaymentID: "pay_paid", Amount: 100, Method: core.MethodWechatBarcode, Payer: core.Payer{AuthCode: "134567890123456789"}})
		require.NoError(t, err)
		_, err = close("pay_paid")
		assert.Equal(t, core.CodeConflict, core.CodeOf(err))
		_, err = close("pay_never")
		assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	})
}

// TestRefusals: errors are canonical, and input errors are refused before
// anything is sent.
func TestRefusals(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		_, err := e.create(core.CreatePaymentRequest{PaymentID: "dup", Amount: 100, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		before := len(e.sim.Requests())
		tests := []struct {
			name  string
			req   core.CreatePaymentRequest
			code  core.Code
			param string
			sent  bool
		}{
			{"duplicate order number", core.CreatePaymentRequest{PaymentID: "dup", Amount: 100, Method: core.MethodAlipayQR}, core.CodeDuplicate, "", true},
			{"jsapi without openid", core.CreatePaymentRequest{PaymentID: "p1", Amount: 100, Method: core.MethodWechatJSAPI}, core.CodeInvalidRequest, "payer.open_id", false},
			{"alipay jsapi without buyer", core.CreatePaymentRequest{PaymentID: "p2", Amount: 100, Method: core.MethodAlipayJSAPI}, core.CodeInvalidRequest, "payer.buyer_id", false},
			{"barcode without code", core.CreatePaymentRequest{PaymentID: "p3", Amount: 100, Method: core.MethodWechatBarcode}, core.CodeInvalidRequest, "payer.auth_code", false},
			{"unsupported method", core.CreatePaymentRequest{PaymentID: "p4", Amount: 100, Method: core.MethodDCEPQR}, core.CodeUnsupported, "method", false},
			{"foreign currency", core.CreatePaymentRequest{PaymentID: "p5", Amount: 100, Currency: "USD", Method: core.MethodAlipayQR}, core.CodeUnsupported, "currency", false},
			{"zero amount", core.CreatePaymentRequest{PaymentID: "p6", Amount: 0, Method: core.MethodAlipayQR}, core.CodeInvalidRequest, "amount", false},
			{"inline split", core.CreatePaymentRequest{PaymentID: "p7", Amount: 100, Method: core.MethodAlipayQR, Split: &core.SplitInstruction{Mode: core.SplitInline}}, core.CodeUnsupported, "split.mode", false},
			{"barcode not recognised", core.CreatePaymentRequest{PaymentID: "p8", Amount: 100, Method: core.MethodBarcode, Payer: core.Payer{AuthCode: "999"}}, core.CodeUnsupported, "", true},
			{"declined (magic amount)", core.CreatePaymentRequest{PaymentID: "p9", Amount: sim.MagicDeclined, Method: core.MethodWechatBarcode, Payer: core.Payer{AuthCode: "134567890123456789"}}, "", "", true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				n := len(e.sim.Requests())
				resp, err := e.create(tt.req)
				if tt.code == "" {
					require.NoError(t, err)
					assert.Equal(t, core.PaymentFailed, resp.Payment.Status)
					assert.NotEmpty(t, resp.Payment.FailureCode)
				} else {
					require.Error(t, err)
					ce := core.AsError(err)
					assert.Equal(t, tt.code, ce.Code, ce.Error())
					assert.Equal(t, tt.param, ce.Param)
				}
				assert.Equal(t, tt.sent, len(e.sim.Requests()) > n, "request sent")
			})
		}
		assert.Greater(t, len(e.sim.Requests()), before)
	})
}

// TestNotificationVerification: forged, tampered, foreign and replayed
// notifications are refused; a duplicate carries the same event id.
func TestNotificationVerification(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		created, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_n", Amount: 500, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		require.NoError(t, e.sim.Pay(created.Payment.ProviderID))
		body := e.notify.wait(t, 0)
		good, err := e.parse(body)
		require.NoError(t, err)
		again, err := e.parse(body)
		require.NoError(t, err)
		assert.Equal(t, good.Events[0].ID, again.Events[0].ID, "a retry deduplicates on the event id")

		vals, err := url.ParseQuery(string(body))
		require.NoError(t, err)
		tamper := func(k, v string) []byte {
			c := url.Values{}
			for kk, vv := range vals {
				c[kk] = append([]string(nil), vv...)
			}
			c.Set(k, v)
			return []byte(c.Encode())
		}
		resign := func(k, v string) []byte {
			c := map[string]string{}
			for kk, vv := range vals {
				c[kk] = vv[0]
			}
			c[k] = v
			delete(c, "sign")
			c["sign"] = sim.Sign(c, sim.DefaultMerchant.Secret)
			out := url.Values{}
			for kk, vv := range c {
				out.Set(kk, vv)
			}
			return []byte(out.Encode())
		}
		tests := []struct {
			name string
			body []byte
			code core.Code
		}{
			{"amount tampered", tamper("amount", "1"), core.CodeSignatureInvalid},
			{"sign removed", tamper("sign", ""), core.CodeSignatureInvalid},
			{"sign garbage", tamper("sign", "zz"), core.CodeSignatureInvalid},
			{"another merchant", resign("mchNo", "M999"), core.CodeInvalidRequest},
			{"replayed a day later", resign("reqTime", "1000"), core.CodeInvalidRequest},
			{"not a form", []byte("%zz"), core.CodeInvalidRequest},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.parse(tt.body)
				require.Error(t, err)
				assert.Equal(t, tt.code, core.CodeOf(err), err.Error())
			})
		}
	})
}
