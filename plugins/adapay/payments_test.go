package adapay_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/plugins/adapay"
	"github.com/payhost/payhost/plugins/adapay/sim"
)

func (e *env) create(req core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
	if req.Currency == "" {
		req.Currency = "CNY"
	}
	if req.NotifyURL == "" {
		req.NotifyURL = e.notify.url()
	}
	return call[core.CreatePaymentResponse](e, core.OpPaymentCreate, &req)
}

func (e *env) query(ref core.PaymentRef) (*core.QueryPaymentResponse, error) {
	return call[core.QueryPaymentResponse](e, core.OpPaymentQuery, &core.QueryPaymentRequest{Payment: ref})
}

func (e *env) refund(req core.CreateRefundRequest) (*core.CreateRefundResponse, error) {
	if req.NotifyURL == "" {
		req.NotifyURL = e.notify.url()
	}
	return call[core.CreateRefundResponse](e, core.OpRefundCreate, &req)
}

func (e *env) queryRefund(ref core.RefundRef) (*core.QueryRefundResponse, error) {
	return call[core.QueryRefundResponse](e, core.OpRefundQuery, &core.QueryRefundRequest{Refund: ref})
}

// TestCreateEveryChannel creates a payment for every supported method and
// checks the pay_channel sent and how the payer pays.
func TestCreateEveryChannel(t *testing.T) {
	tests := []struct {
		method core.Method
		payer  core.Payer
		kind   core.PayInfoKind
		expend string // expend sent
	}{
		{core.MethodAlipayQR, core.Payer{}, core.PayInfoQRCode, ""},
		{core.MethodUnionpayQR, core.Payer{}, core.PayInfoQRCode, ""},
		{core.MethodAlipayWap, core.Payer{}, core.PayInfoRedirect, ""},
		{core.MethodAlipayApp, core.Payer{}, core.PayInfoApp, ""},
		{core.MethodWechatJSAPI, core.Payer{OpenID: "o8jhotwaUEffs1fyWE5O3N4HWvbk"}, core.PayInfoJSAPI, `{"open_id":"o8jhotwaUEffs1fyWE5O3N4HWvbk"}`},
		{core.MethodWechatMini, core.Payer{OpenID: "o8jhotwaUEffs1fyWE5O3N4HWvbk"}, core.PayInfoMiniProgram, `{"open_id":"o8jhotwaUEffs1fyWE5O3N4HWvbk"}`},
		{core.MethodAlipayJSAPI, core.Payer{BuyerID: "2088102175953034"}, core.PayInfoJSAPI, `{"buyer_id":"2088102175953034"}`},
		{core.MethodAlipayMini, core.Payer{BuyerID: "2088102175953034"}, core.PayInfoMiniProgram, `{"buyer_id":"2088102175953034"}`},
	}
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		for _, tt := range tests {
			t.Run(string(tt.method), func(t *testing.T) {
				id := "pay_" + strings.ReplaceAll(string(tt.method), ".", "_")
				resp, err := e.create(core.CreatePaymentRequest{PaymentID: id, Amount: 1001, Method: tt.method, Subject: "咖啡", Payer: tt.payer})
				require.NoError(t, err)
				p := resp.Payment
				assert.Equal(t, id, p.ID)
				assert.Equal(t, core.PaymentProcessing, p.Status)
				assert.Equal(t, int64(1001), p.Amount)
				require.NotNil(t, p.PayInfo)
				assert.Equal(t, tt.kind, p.PayInfo.Kind)
				assert.NotEmpty(t, p.PayInfo.Data)
				sp, ok := e.sim.Payment(p.ProviderID)
				require.True(t, ok, "the simulator stored the payment")
				ch, _ := adapay.PayChannel(tt.method)
				assert.Equal(t, ch, sp.PayChannel)
				assert.Equal(t, ch, p.ProviderData["pay_channel"])
				rec := e.sim.Requests()
				last := rec[len(rec)-1]
				assert.Equal(t, "10.01", last.Params["pay_amt"])
				assert.Equal(t, "cny", last.Params["currency"])
				assert.Equal(t, sim.DefaultMerchantAppID, last.Params["app_id"])
				if tt.expend != "" {
					assert.JSONEq(t, tt.expend, last.Params["expend"])
				} else {
					assert.Empty(t, last.Params["expend"])
				}
			})
		}
	})
}

// TestPaymentLifecycle: create, pay, query, notification, partial and full
// refunds, refund query and refund notifications.
func TestPaymentLifecycle(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		created, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_life", Amount: 10000, Method: core.MethodWechatJSAPI,
			Subject: "order", Payer: core.Payer{OpenID: "o8jhotwaUEffs1fyWE5O3N4HWvbk"}, ExpireSeconds: 600, CreatedAt: time.Now()})
		require.NoError(t, err)
		pid := created.Payment.ProviderID
		sp, _ := e.sim.Payment(pid)
		assert.WithinDuration(t, time.Now().Add(10*time.Minute), sp.ExpireAt, 2*time.Second, "time_expire")

		q, err := e.query(core.PaymentRef{ID: "pay_life"}) // by order_no alone (a lost create answer)
		require.NoError(t, err)
		assert.Equal(t, core.PaymentProcessing, q.Payment.Status)
		assert.Equal(t, pid, q.Payment.ProviderID)

		require.NoError(t, e.sim.Pay(pid))
		ref := core.PaymentRef{ID: "pay_life", ProviderID: pid, Amount: 10000, Currency: "CNY"}
		q, err = e.query(ref)
		require.NoError(t, err)
		assert.Equal(t, core.PaymentSucceeded, q.Payment.Status)
		assert.Equal(t, core.MethodWechatJSAPI, q.Payment.Method)
		assert.False(t, q.Payment.PaidAt.IsZero())
		assert.NotEmpty(t, q.Payment.ChannelTradeNo)
		assert.Nil(t, q.Payment.PayInfo)

		evs := e.mustParse(t, e.notify.waitType(t, "payment.succeeded"))
		require.Len(t, evs, 1)
		ev := evs[0]
		assert.Equal(t, core.EventPayment, ev.Kind)
		assert.Equal(t, "pay_life", ev.ObjectID)
		assert.Equal(t, pid, ev.ProviderObjectID)
		assert.Equal(t, string(core.PaymentSucceeded), ev.Status)
		assert.Equal(t, int64(10000), ev.Amount)
		assert.Equal(t, q.Payment.ChannelTradeNo, ev.Data["out_trans_id"])
		assert.Equal(t, "payment:"+pid+":succeeded", ev.ID)

		r1, err := e.refund(core.CreateRefundRequest{RefundID: "ref_1", Payment: ref, Amount: 3000, Reason: "partial"})
		require.NoError(t, err)
		assert.Equal(t, core.RefundProcessing, r1.Refund.Status, "Adapay answers pending")
		assert.Equal(t, int64(3000), r1.Refund.Amount)
		assert.Equal(t, pid, r1.Refund.ProviderData["payment_id"])
		evs = e.mustParse(t, e.notify.waitType(t, "refund.succeeded"))
		assert.Equal(t, core.Event{ID: "refund:" + r1.Refund.ProviderID + ":succeeded", Kind: core.EventRefund, ObjectID: "ref_1",
			ProviderObjectID: r1.Refund.ProviderID, Status: "succeeded", Amount: 3000, Currency: "CNY", OccurredAt: evs[0].OccurredAt,
			Data: map[string]string{"payment_id": pid}}, evs[0])
		assert.False(t, evs[0].OccurredAt.IsZero())

		_, err = e.refund(core.CreateRefundRequest{RefundID: "ref_over", Payment: ref, Amount: 7001})
		assert.Equal(t, core.CodeInsufficientFunds, core.CodeOf(err), "more than what is left")
		_, err = e.refund(core.CreateRefundRequest{RefundID: "ref_1", Payment: ref, Amount: 1})
		assert.Equal(t, core.CodeDuplicate, core.CodeOf(err), "refund number reused")

		// a refund of a payment known by its order_no only, then the rest
		_, err = e.refund(core.CreateRefundRequest{RefundID: "ref_mid", Payment: core.PaymentRef{ID: "pay_life"}, Amount: 6601})
		require.NoError(t, err, "the payment is found by its order_no")
		evs = e.mustParse(t, e.notify.waitType(t, "refund.succeeded"))
		assert.Equal(t, "ref_mid", evs[0].ObjectID)
		r2, err := e.refund(core.CreateRefundRequest{RefundID: "ref_2", Payment: ref, Amount: 10000 - 3000 - 6601})
		require.NoError(t, err)
		evs = e.mustParse(t, e.notify.waitType(t, "refund.succeeded"))
		assert.Equal(t, "ref_2", evs[0].ObjectID)
		_, err = e.refund(core.CreateRefundRequest{RefundID: "ref_3", Payment: ref, Amount: 1})
		assert.Equal(t, core.CodeInsufficientFunds, core.CodeOf(err), "fully refunded")

		for _, rref := range []core.RefundRef{
			{ID: "ref_2", ProviderID: r2.Refund.ProviderID, Payment: ref},
			{ID: "ref_2", Payment: ref},                                                                   // by payment and refund_order_no
			{ID: "ref_2", ProviderData: r2.Refund.ProviderData, Payment: core.PaymentRef{ID: "pay_life"}}, // payment id from ProviderData
			{ID: "ref_2", Payment: core.PaymentRef{ID: "pay_life"}},                                       // payment found by order_no
		} {
			rq, err := e.queryRefund(rref)
			require.NoError(t, err)
			assert.Equal(t, core.RefundSucceeded, rq.Refund.Status)
			assert.Equal(t, r2.Refund.ProviderID, rq.Refund.ProviderID)
			assert.Equal(t, "ref_2", rq.Refund.ID)
			assert.Equal(t, r2.Refund.Amount, rq.Refund.Amount)
		}
		_, err = e.queryRefund(core.RefundRef{ID: "ref_none", Payment: ref})
		assert.Equal(t, core.CodeNotFound, core.CodeOf(err))

		q, err = e.query(ref)
		require.NoError(t, err)
		assert.Equal(t, core.PaymentSucceeded, q.Payment.Status, "a refunded payment stays succeeded")
	})
}

// TestRefundFailsWhenItSettles: the magic refund amount fails
// asynchronously and is reported failed by the notification and the query.
func TestRefundFailsWhenItSettles(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		created, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_rf", Amount: 100000, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		require.NoError(t, e.sim.Pay(created.Payment.ProviderID))
		ref := core.PaymentRef{ID: "pay_rf", ProviderID: created.Payment.ProviderID, Amount: 100000}
		r, err := e.refund(core.CreateRefundRequest{RefundID: "rf_bad", Payment: ref, Amount: sim.MagicDeclined})
		require.NoError(t, err)
		evs := e.mustParse(t, e.notify.waitType(t, "refund.failed"))
		assert.Equal(t, string(core.RefundFailed), evs[0].Status)
		assert.NotEmpty(t, evs[0].FailureMessage)
		rq, err := e.queryRefund(core.RefundRef{ID: "rf_bad", ProviderID: r.Refund.ProviderID, Payment: ref})
		require.NoError(t, err)
		assert.Equal(t, core.RefundFailed, rq.Refund.Status)
		assert.NotEmpty(t, rq.Refund.FailureCode)

		p, err := e.refund(core.CreateRefundRequest{RefundID: "rf_pending", Payment: ref, Amount: sim.MagicPending})
		require.NoError(t, err)
		rq, err = e.queryRefund(core.RefundRef{ID: "rf_pending", ProviderID: p.Refund.ProviderID, Payment: ref})
		require.NoError(t, err)
		assert.Equal(t, core.RefundProcessing, rq.Refund.Status)
	})
}

// TestPaymentOutcomes: a declined payment, a payment failed by the channel
// later, a close and its notification, and what cannot be closed.
func TestPaymentOutcomes(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		declined, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_declined", Amount: sim.MagicDeclined, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		assert.Equal(t, core.PaymentFailed, declined.Payment.Status)
		assert.Equal(t, "channel_declined", declined.Payment.FailureCode)
		evs := e.mustParse(t, e.notify.waitType(t, "payment.failed"))
		assert.Equal(t, string(core.PaymentFailed), evs[0].Status)
		assert.Equal(t, "pay_declined", evs[0].ObjectID)

		later, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_later", Amount: 500, Method: core.MethodAlipayWap})
		require.NoError(t, err)
		require.NoError(t, e.sim.Fail(later.Payment.ProviderID, "channel_declined", "用户取消支付"))
		evs = e.mustParse(t, e.notify.waitType(t, "payment.failed"))
		assert.Equal(t, "用户取消支付", evs[0].FailureMessage)

		closeReq := func(ref core.PaymentRef) (*core.ClosePaymentResponse, error) {
			return call[core.ClosePaymentResponse](e, core.OpPaymentClose, &core.ClosePaymentRequest{Payment: ref, Reason: "用户取消"})
		}
		open, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_open", Amount: 100, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		closed, err := closeReq(core.PaymentRef{ID: "pay_open"})
		require.NoError(t, err, "found by order_no, then closed")
		assert.Equal(t, core.PaymentClosed, closed.Payment.Status)
		assert.Equal(t, open.Payment.ProviderID, closed.Payment.ProviderID)
		evs = e.mustParse(t, e.notify.waitType(t, "payment.close.succeeded"))
		assert.Equal(t, core.EventPayment, evs[0].Kind)
		assert.Equal(t, open.Payment.ProviderID, evs[0].ProviderObjectID)
		assert.Equal(t, string(core.PaymentClosed), evs[0].Status)
		q, err := e.query(core.PaymentRef{ID: "pay_open", ProviderID: open.Payment.ProviderID})
		require.NoError(t, err)
		assert.Equal(t, core.PaymentClosed, q.Payment.Status)
		_, err = closeReq(core.PaymentRef{ID: "pay_open", ProviderID: open.Payment.ProviderID})
		assert.Equal(t, core.CodeConflict, core.CodeOf(err), "closed twice")

		paid, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_paid", Amount: 100, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		scan, err := http.Get(paid.Payment.PayInfo.Data) // the payer scans the QR code
		require.NoError(t, err)
		scan.Body.Close()
		_, err = closeReq(core.PaymentRef{ID: "pay_paid", ProviderID: paid.Payment.ProviderID})
		assert.Equal(t, core.CodeConflict, core.CodeOf(err), "a paid payment cannot be closed")
		_, err = closeReq(core.PaymentRef{ID: "pay_never"})
		assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
		_, err = e.query(core.PaymentRef{ID: "x", ProviderID: "002112nonexistent"})
		assert.Equal(t, core.CodeNotFound, core.CodeOf(err))

		_, err = e.refund(core.CreateRefundRequest{RefundID: "rf_unpaid", Payment: core.PaymentRef{ID: "pay_open", ProviderID: open.Payment.ProviderID}, Amount: 1})
		assert.Equal(t, core.CodeConflict, core.CodeOf(err), "refund of an unpaid payment")
	})
}

// TestAutoPayAndDelayedCapture: the sandbox's auto-pay, and pay_mode delay
// for a delayed capture or a manual split.
func TestAutoPayAndDelayedCapture(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, func(c *sim.Config) { c.AutoPayDelay = 20 * time.Millisecond })
		for i, req := range []core.CreatePaymentRequest{
			{PaymentID: "pay_delay", Amount: 800, Method: core.MethodAlipayQR, Capture: core.CaptureDelayed},
			{PaymentID: "pay_split", Amount: 800, Method: core.MethodAlipayQR, Split: &core.SplitInstruction{Mode: core.SplitManual}},
			{PaymentID: "pay_plain", Amount: 800, Method: core.MethodAlipayQR},
		} {
			resp, err := e.create(req)
			require.NoError(t, err)
			sp, _ := e.sim.Payment(resp.Payment.ProviderID)
			assert.Equal(t, map[bool]string{true: "delay", false: ""}[i < 2], sp.PayMode, req.PaymentID)
			evs := e.mustParse(t, e.notify.waitType(t, "payment.succeeded"))
			assert.Equal(t, req.PaymentID, evs[0].ObjectID, "paid by the simulated payer")
		}
	})
}

// TestPaymentRefusals: errors are canonical, and input errors are refused
// before anything is sent.
func TestPaymentRefusals(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		_, err := e.create(core.CreatePaymentRequest{PaymentID: "dup", Amount: 100, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		tests := []struct {
			name  string
			req   core.CreatePaymentRequest
			code  core.Code
			param string
			sent  bool
		}{
			{"duplicate order_no", core.CreatePaymentRequest{PaymentID: "dup", Amount: 100, Method: core.MethodAlipayQR}, core.CodeDuplicate, "", true},
			{"order_no Adapay refuses", core.CreatePaymentRequest{PaymentID: "pay-with-dash", Amount: 100, Method: core.MethodAlipayQR}, core.CodeInvalidRequest, "order_no", true},
			{"wx_pub without openid", core.CreatePaymentRequest{PaymentID: "p1", Amount: 100, Method: core.MethodWechatJSAPI}, core.CodeInvalidRequest, "payer.open_id", false},
			{"alipay_lite without buyer", core.CreatePaymentRequest{PaymentID: "p2", Amount: 100, Method: core.MethodAlipayMini}, core.CodeInvalidRequest, "payer.buyer_id", false},
			{"unsupported method", core.CreatePaymentRequest{PaymentID: "p3", Amount: 100, Method: core.MethodWechatNative}, core.CodeUnsupported, "method", false},
			{"foreign currency", core.CreatePaymentRequest{PaymentID: "p4", Amount: 100, Currency: "USD", Method: core.MethodAlipayQR}, core.CodeUnsupported, "currency", false},
			{"zero amount", core.CreatePaymentRequest{PaymentID: "p5", Method: core.MethodAlipayQR}, core.CodeInvalidRequest, "amount", false},
			{"inline split", core.CreatePaymentRequest{PaymentID: "p6", Amount: 100, Method: core.MethodAlipayQR, Split: &core.SplitInstruction{Mode: core.SplitInline}}, core.CodeUnsupported, "split.mode", false},
			{"guarantee", core.CreatePaymentRequest{PaymentID: "p7", Amount: 100, Method: core.MethodAlipayQR, Capture: core.CaptureGuarantee}, core.CodeUnsupported, "capture", false},
			{"sub-merchant", core.CreatePaymentRequest{PaymentID: "p8", Amount: 100, Method: core.MethodAlipayQR, SubMerchantID: "api_live_x"}, core.CodeUnsupported, "sub_merchant_id", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				n := len(e.sim.Requests())
				_, err := e.create(tt.req)
				require.Error(t, err)
				ce := core.AsError(err)
				assert.Equal(t, tt.code, ce.Code, ce.Error())
				assert.Equal(t, tt.param, ce.Param)
				assert.Equal(t, tt.sent, len(e.sim.Requests()) > n, "request sent")
			})
		}
		_, err = e.refund(core.CreateRefundRequest{RefundID: "r1", Payment: core.PaymentRef{ID: "dup"}, Amount: 1, Split: []core.SplitPart{{ReceiverID: "0", Amount: 1}}})
		assert.Equal(t, core.CodeUnsupported, core.CodeOf(err))
	})
}

// TestDelayedCaptureWithSplit: a delayed payment is confirmed in parts,
// split among members; the merchant's part takes the residue and bears the
// fee; what is confirmed can no longer be refunded.
func TestDelayedCaptureWithSplit(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		e.sim.AddMember(sim.DefaultMerchantAPIKey, "member_1")
		created, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_cap", Amount: 10000, Method: core.MethodAlipayQR, Capture: core.CaptureDelayed})
		require.NoError(t, err)
		require.NoError(t, e.sim.Pay(created.Payment.ProviderID))
		ref := core.PaymentRef{ID: "pay_cap", ProviderID: created.Payment.ProviderID, Amount: 10000}
		capture := func(id string, amount int64, split *core.SplitInstruction) (*core.CapturePaymentResponse, error) {
			return call[core.CapturePaymentResponse](e, core.OpPaymentCapture, &core.CapturePaymentRequest{CaptureID: id, Payment: ref, Amount: amount, Split: split})
		}
		c1, err := capture("cap_1", 6001, &core.SplitInstruction{Mode: core.SplitManual, Parts: []core.SplitPart{{ReceiverID: "member_1", RatioPPM: 300_000}}})
		require.NoError(t, err)
		assert.Equal(t, core.PaymentSucceeded, c1.Status)
		assert.Equal(t, int64(6001), c1.Payment.CapturedAmount)
		cf, ok := e.sim.Confirm(c1.CaptureProviderID)
		require.True(t, ok)
		assert.Equal(t, []sim.DivMember{{MemberID: "member_1", Amount: 1800}, {MemberID: "0", Amount: 4201, FeeFlag: true}}, cf.DivMembers,
			"floor(6001 × 30%) to the member, the rest and the fee to the merchant")

		_, err = capture("cap_1", 1, nil)
		assert.Equal(t, core.CodeDuplicate, core.CodeOf(err))
		_, err = capture("cap_2", 3999, nil)
		require.NoError(t, err, "no split: all to the merchant")
		_, err = e.refund(core.CreateRefundRequest{RefundID: "rf_cap", Payment: ref, Amount: 1})
		assert.Equal(t, core.CodeInsufficientFunds, core.CodeOf(err), "all confirmed: nothing is refundable")
		_, err = capture("cap_3", 1, nil)
		assert.Equal(t, core.CodeInsufficientFunds, core.CodeOf(err))
		_, err = capture("cap_4", 1, &core.SplitInstruction{Mode: core.SplitManual, Parts: []core.SplitPart{{ReceiverID: "member_unknown", Amount: 1}}})
		assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
		_, err = capture("cap_5", 1, &core.SplitInstruction{Mode: core.SplitManual, Parts: []core.SplitPart{{ReceiverID: "member_1", Amount: 2}}})
		assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "parts above the amount are refused before sending")

		plain, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_plain", Amount: 100, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		require.NoError(t, e.sim.Pay(plain.Payment.ProviderID))
		_, err = call[core.CapturePaymentResponse](e, core.OpPaymentCapture, &core.CapturePaymentRequest{CaptureID: "cap_plain",
			Payment: core.PaymentRef{ID: "pay_plain"}, Amount: 100})
		assert.Equal(t, core.CodeConflict, core.CodeOf(err), "not a delayed payment")
	})
}
