package host_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// TestPaymentLifecycle: create → the payer pays → the notification settles
// it → partial and full refunds, over both transports.
func TestPaymentLifecycle(t *testing.T) { testPaymentLifecycle(t, nil) }

func testPaymentLifecycle(t *testing.T, st func(t *testing.T) store.Store) {
	for _, wasm := range []bool{false, true} {
		t.Run(map[bool]string{false: "native", true: "wasm"}[wasm], func(t *testing.T) {
			w := newWorld(t, worldOpts{wasm: wasm, store: openStore(t, st)})
			p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "k1", MerchantOrderID: "order-1", Amount: 10000, Description: "coffee"})
			require.NoError(t, err)
			assert.Equal(t, core.PaymentProcessing, p.Status)
			assert.Equal(t, host.PendingPayer, p.PendingReason)
			assert.Equal(t, "haotian/main/alipay.qr", p.Channel)
			assert.Equal(t, core.PayInfoQRCode, p.PayInfo.Kind)
			require.NotNil(t, p.Decision)
			assert.NotEmpty(t, p.Decision.RulesetHash)
			assert.Equal(t, []string{"haotian/main/alipay.qr"}, p.Decision.Channels)

			require.NoError(t, w.sim.Pay(p.ProviderPaymentID))
			w.eventually(func() bool { return w.payment(p.ID).Status == core.PaymentSucceeded }, "the notification to settle the payment")
			got := w.payment(p.ID)
			assert.Equal(t, int64(60), got.ProviderFee)
			assert.NotNil(t, got.PaidAt)

			r1, err := w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "r1", PaymentID: p.ID, Amount: 3000, Reason: "partial"})
			require.NoError(t, err)
			assert.Equal(t, core.RefundSucceeded, r1.Status)
			_, err = w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "r2", PaymentID: p.ID, Amount: 7001})
			assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
			assert.Contains(t, err.Error(), "7000 left")
			r3, err := w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "r3", PaymentID: p.ID, Amount: 7000})
			require.NoError(t, err)
			assert.Equal(t, core.RefundSucceeded, r3.Status)

			got = w.payment(p.ID)
			assert.Equal(t, int64(10000), got.RefundedAmount)
			assert.Len(t, got.Refunds, 2)
			rr, err := w.host.GetRefund(context.Background(), "acme", r1.ID, host.Refresh())
			require.NoError(t, err)
			assert.Equal(t, core.RefundSucceeded, rr.Status)
		})
	}
}

func TestIdempotency(t *testing.T) {
	w := newWorld(t, worldOpts{})
	in := host.CreatePaymentInput{IdempotencyKey: "same", Amount: 500}
	first, err := w.create(in)
	require.NoError(t, err)
	again, err := w.create(in)
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID, "same key, same body: the first result")
	assert.Equal(t, 1, w.unifiedOrders())

	in.Amount = 600
	_, err = w.create(in)
	assert.Equal(t, core.CodeIdempotencyMismatch, core.CodeOf(err))

	_, err = w.create(host.CreatePaymentInput{Amount: 500})
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "a key is required")

	other, err := w.create(host.CreatePaymentInput{Tenant: "globex", IdempotencyKey: "same", Amount: 500})
	require.NoError(t, err)
	assert.NotEqual(t, first.ID, other.ID, "keys are per tenant")
}

// TestIdempotencyConcurrent: 50 goroutines with one key make exactly one
// provider call and all get the same payment.
func TestIdempotencyConcurrent(t *testing.T) { testIdempotencyConcurrent(t, nil) }

func testIdempotencyConcurrent(t *testing.T, st func(t *testing.T) store.Store) {
	w := newWorld(t, worldOpts{store: openStore(t, st)})
	w.sim.SetFaults(sim.Fault{Kind: sim.FaultLatency, Latency: 100 * time.Millisecond})
	var wg sync.WaitGroup
	ids := make([]string, 50)
	errs := make([]error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "race", Amount: 700})
			errs[i] = err
			if p != nil {
				ids[i] = p.ID
			}
		}()
	}
	wg.Wait()
	for i := range 50 {
		require.NoError(t, errs[i])
		assert.Equal(t, ids[0], ids[i])
	}
	assert.Equal(t, 1, w.unifiedOrders(), "exactly one provider call")
}

// TestFailover: channels that cannot have taken the payment are skipped;
// the next one takes it; every attempt is recorded.
func TestFailover(t *testing.T) {
	down := "http://127.0.0.1:1" // nothing listens: provider_unavailable, nothing sent
	w := newWorld(t, worldOpts{
		rules: "version: 1\ndefault_route:\n  channels: [hfpay/dougong/alipay.qr, haotian/down/alipay.qr, haotian/main/alipay.qr]\n",
		extra: func(c *host.Config) {
			c.Accounts = append(c.Accounts, account("down", down))
			c.UnavailableChannels = []core.ChannelInfo{{Channel: core.Channel{Plugin: "hfpay", Account: "dougong", Method: core.MethodAlipayQR}}}
		},
	})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "fo", Amount: 800})
	require.NoError(t, err)
	assert.Equal(t, "haotian/main/alipay.qr", p.Channel)
	assert.Equal(t, core.PaymentProcessing, p.Status)
	attempts, err := w.store.ListAttempts(context.Background(), p.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 3)
	assert.Equal(t, "provider_unavailable", attempts[0].Outcome)
	assert.Equal(t, "hfpay/dougong/alipay.qr", attempts[0].Channel)
	assert.Equal(t, "provider_unavailable", attempts[1].Outcome)
	assert.Equal(t, "ok", attempts[2].Outcome)
}

// TestUnknownOutcomeNeverFailsOver: the provider processed the order but the
// answer never arrived; the engine must not offer the payment to another
// channel, and the poller settles it.
func TestUnknownOutcomeNeverFailsOver(t *testing.T) {
	w := newWorld(t, worldOpts{
		rules: "version: 1\ndefault_route:\n  channels: [haotian/main/wechat.barcode, haotian/backup/wechat.barcode]\n",
		extra: func(c *host.Config) {
			c.Accounts = append(c.Accounts, account("backup", "http://127.0.0.1:1"))
			c.PublicURL = "" // no notification may race the lost answer: only the poller can settle it
		},
	})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "uo", Amount: sim.MagicTimeout, Method: core.MethodWechatBarcode,
		Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	assert.Equal(t, core.PaymentProcessing, p.Status)
	assert.Equal(t, host.PendingUnknownOutcome, p.PendingReason)
	attempts, _ := w.store.ListAttempts(context.Background(), p.ID)
	require.Len(t, attempts, 1, "no failover after an unknown outcome")
	assert.Equal(t, "unknown_outcome", attempts[0].Outcome)

	w.poll()
	got := w.payment(p.ID)
	assert.Equal(t, core.PaymentSucceeded, got.Status, "the poller learned the barcode payment went through")
	assert.Empty(t, got.PendingReason)
}

func TestDeclinedPaymentIsStoredAsFailed(t *testing.T) {
	w := newWorld(t, worldOpts{})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "dec", Amount: sim.MagicDeclined, Method: core.MethodWechatBarcode,
		Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	assert.Equal(t, core.PaymentFailed, p.Status)
	require.NotNil(t, p.Failure)
	assert.Equal(t, core.CodeDeclined, p.Failure.Code, "a canonical code")
	assert.NotEmpty(t, p.Failure.ProviderCode, "the provider's own code beside it")
	assert.NotEmpty(t, p.Failure.Message)
}

func TestClose(t *testing.T) {
	w := newWorld(t, worldOpts{})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "c1", Amount: 900})
	require.NoError(t, err)
	closed, err := w.host.ClosePayment(context.Background(), "acme", p.ID, "close-1")
	require.NoError(t, err)
	assert.Equal(t, core.PaymentClosed, closed.Status)
	again, err := w.host.ClosePayment(context.Background(), "acme", p.ID, "close-1")
	require.NoError(t, err)
	assert.Equal(t, core.PaymentClosed, again.Status)
	_, err = w.host.ClosePayment(context.Background(), "acme", p.ID, "close-2")
	require.NoError(t, err, "closing a closed payment answers it as it is")

	paid, err := w.create(host.CreatePaymentInput{IdempotencyKey: "c2", Amount: 900, Method: core.MethodWechatBarcode, Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	_, err = w.host.ClosePayment(context.Background(), "acme", paid.ID, "close-3")
	assert.Equal(t, core.CodeConflict, core.CodeOf(err))
}

func TestTenantIsolation(t *testing.T) {
	w := newWorld(t, worldOpts{})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "t1"})
	require.NoError(t, err)
	_, err = w.host.GetPayment(context.Background(), "globex", p.ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.ClosePayment(context.Background(), "globex", p.ID, "x")
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "globex", IdempotencyKey: "x", PaymentID: p.ID, Amount: 1})
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
}

func TestBadInputStoresNothing(t *testing.T) {
	w := newWorld(t, worldOpts{rules: "version: 1\ndefault_route:\n  channel: haotian/main/alipay.qr\n"})
	tests := []struct {
		name  string
		in    host.CreatePaymentInput
		code  core.Code
		param string
	}{
		{"negative amount", host.CreatePaymentInput{IdempotencyKey: "b1", Amount: -5}, core.CodeInvalidRequest, "amount"},
		{"unknown currency", host.CreatePaymentInput{IdempotencyKey: "b2", Currency: "XYZ"}, core.CodeInvalidRequest, "currency"},
		{"unknown method", host.CreatePaymentInput{IdempotencyKey: "b3", Method: "wechat.telepathy"}, core.CodeInvalidRequest, "method"},
		{"method no channel takes", host.CreatePaymentInput{IdempotencyKey: "b4", Method: core.MethodWechatNative}, core.CodeUnsupported, "method"},
		{"barcode without code", host.CreatePaymentInput{IdempotencyKey: "b5", Method: core.MethodWechatBarcode}, core.CodeInvalidRequest, "payer.auth_code"},
		{"metadata too big", host.CreatePaymentInput{IdempotencyKey: "b6", Metadata: bigMetadata()}, core.CodeInvalidRequest, "metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.create(tt.in)
			require.Error(t, err)
			ce := core.AsError(err)
			assert.Equal(t, tt.code, ce.Code, ce.Error())
			assert.Equal(t, tt.param, ce.Param)
		})
	}
	assert.Zero(t, w.unifiedOrders(), "no request reached the provider")
}

func bigMetadata() map[string]string {
	m := map[string]string{}
	for i := range 51 {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

// TestNotifications: forged notifications change nothing; duplicates are
// acknowledged and not applied twice; a stale one is ignored.
func TestNotifications(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.sim.SetFaults(sim.Fault{Kind: sim.FaultDuplicateNotify}, sim.Fault{Kind: sim.FaultOutOfOrderNotify})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "n1", Amount: 1200})
	require.NoError(t, err)
	require.NoError(t, w.sim.Pay(p.ProviderPaymentID))
	w.eventually(func() bool {
		for _, n := range w.sim.Notifications() {
			if n.Pending() {
				return false
			}
		}
		return len(w.sim.Notifications()) >= 3
	}, "the success, its duplicate and the stale notification to be delivered")
	got := w.payment(p.ID)
	assert.Equal(t, core.PaymentSucceeded, got.Status, "the stale 'paying' notification did not move it back")
	ts, err := w.store.ListTransitions(context.Background(), p.ID)
	require.NoError(t, err)
	var applied, refused int
	for _, tr := range ts {
		if tr.Applied {
			applied++
		} else {
			refused++
		}
	}
	assert.Equal(t, 2, applied, "created→processing→succeeded, each once")
	assert.GreaterOrEqual(t, refused, 1, "the backwards move is recorded")

	// forged: a valid-looking body with a wrong signature
	forged := []byte("mchNo=" + sim.DefaultMerchant.MchNo + "&appId=" + sim.DefaultMerchant.AppID + "&payOrderId=" + p.ProviderPaymentID +
		"&mchOrderNo=" + p.ID + "&state=3&amount=1200&reqTime=" + fmt.Sprint(time.Now().UnixMilli()) + "&sign=00000000000000000000000000000000")
	_, err = w.host.HandleNotification(context.Background(), "main", &core.ParseNotificationRequest{Method: "POST", Body: forged})
	assert.Equal(t, core.CodeSignatureInvalid, core.CodeOf(err))
	assert.Equal(t, core.PaymentSucceeded, w.payment(p.ID).Status)
	_, err = w.host.HandleNotification(context.Background(), "nobody", &core.ParseNotificationRequest{Method: "POST", Body: forged})
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
}

// TestConcurrentRefunds: 20 refunds of 10 on a payment of 100 at once —
// exactly 10 go through; the database never reserves more than was paid.
func TestConcurrentRefunds(t *testing.T) { testConcurrentRefunds(t, nil) }

func testConcurrentRefunds(t *testing.T, st func(t *testing.T) store.Store) {
	w := newWorld(t, worldOpts{store: openStore(t, st)})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "cr", Amount: 100, Method: core.MethodWechatBarcode, Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	require.Equal(t, core.PaymentSucceeded, p.Status)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "acme", IdempotencyKey: fmt.Sprintf("r%d", i), PaymentID: p.ID, Amount: 10})
			switch core.CodeOf(err) {
			case "":
				ok.Add(1)
			case core.CodeInvalidRequest:
				refused.Add(1)
			default:
				t.Errorf("refund %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	// the gateway refuses a refund while another is in flight, so some of the
	// 20 may be failed refunds; none may exceed what was paid
	got := w.payment(p.ID)
	assert.LessOrEqual(t, got.RefundedAmount, int64(100))
	assert.Equal(t, int64(20), ok.Load()+refused.Load())
	var succeeded int64
	for _, r := range got.Refunds {
		if r.Status == core.RefundSucceeded {
			succeeded += r.Amount
		}
	}
	assert.Equal(t, got.RefundedAmount, succeeded)
}

// TestCrashBeforeAnswer: a payment created at the provider whose answer was
// lost (the process died) is settled by the poller, never created twice.
func TestPollerSettlesLostAnswers(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.sim.SetFaults(sim.Fault{Kind: sim.FaultTimeoutAfterProcessing, PathPrefix: "/api/pay/unifiedOrder", Count: 1})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "lost", Amount: 1300})
	require.NoError(t, err)
	assert.Equal(t, host.PendingUnknownOutcome, p.PendingReason)
	w.poll()
	got := w.payment(p.ID)
	assert.Equal(t, core.PaymentProcessing, got.Status)
	assert.Equal(t, host.PendingProvider, got.PendingReason, "the query found the order alive at the provider")
	assert.NotEmpty(t, got.ProviderPaymentID)
	assert.Equal(t, 1, w.unifiedOrders())
}

// openStore opens a store with open, or returns nil (the world's SQLite).
func openStore(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	if open == nil {
		return nil
	}
	return open(t)
}

// TestCashierFallback: a rule may fall back to a provider's hosted checkout
// for a method its first channel cannot serve here; the payment keeps its
// method and the checkout channel takes it.
func TestCashierFallback(t *testing.T) {
	w := newWorld(t, worldOpts{
		rules: "version: 1\nrouting:\n  - id: up\n    when: method == \"unionpay.qr\"\n    channel: hfpay/dougong/*\n    fallback: [haotian/main/cashier]\n" +
			"default_route:\n  channel: haotian/main/*\n",
		extra: func(c *host.Config) {
			c.UnavailableChannels = []core.ChannelInfo{{Channel: core.Channel{Plugin: "hfpay", Account: "dougong", Method: core.MethodUnionpayQR},
				Currencies: []core.Currency{"CNY"}}}
		},
	})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "cf", Method: core.MethodUnionpayQR})
	require.NoError(t, err)
	assert.Equal(t, "haotian/main/cashier", p.Channel)
	assert.Equal(t, core.MethodUnionpayQR, p.Method, "the payment keeps the method asked for")
	assert.Equal(t, core.PaymentCreated, p.Status, "a cashier order waits for the payer to open it")
	assert.Equal(t, host.PendingPayer, p.PendingReason)
	require.NotNil(t, p.PayInfo)
	assert.Equal(t, []string{"hfpay/dougong/unionpay.qr", "haotian/main/cashier"}, p.Decision.Channels)
}
