package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/haotian"
)

// crashWorld is a world whose first engine "crashes" inside a provider
// call: its plugin never returns from create (before or after sending it
// to the provider), as a killed process never does, while a second engine
// on the same store takes the retries over once the first owner's lease
// (300 ms) has run out.
type crashWorld struct {
	*world
	dead    *host.Host
	release chan struct{}
}

func newCrashWorld(t *testing.T, sendFirst bool) *crashWorld {
	t.Helper()
	lease := func(c *host.Config) { c.IdempotencyLease = 300 * time.Millisecond }
	return newCrashWorldWith(t, sendFirst, lease, lease)
}

// newCrashWorldWith is newCrashWorld with the configuration of the live
// engine and of the one that dies.
func newCrashWorldWith(t *testing.T, sendFirst bool, live, dying func(*host.Config)) *crashWorld {
	t.Helper()
	release := make(chan struct{})
	hang := &twisted{Plugin: haotian.New()}
	hang.create = func(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
		if sendFirst {
			_, _ = haotian.New().CreatePayment(ctx, h, req)
		}
		<-release
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Message: "the process is dead"}
	}
	hang.refund = func(ctx context.Context, h pdk.Host, req *core.CreateRefundRequest) (*core.CreateRefundResponse, error) {
		<-release
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Message: "the process is dead"}
	}
	w := newWorld(t, worldOpts{extra: live})
	cw := &crashWorld{world: w, release: release}
	cw.dead = w.newEngineWith(w.store, func(c *host.Config) { dying(c); withPlugin(hang)(c) })
	t.Cleanup(func() { close(release) })
	return cw
}

// creates counts the create requests the simulator received for a payment.
func (w *world) creates(paymentID string) int {
	n := 0
	for _, r := range w.sim.Requests() {
		if r.Path == "/api/pay/unifiedOrder" && r.Params["mchOrderNo"] == paymentID {
			n++
		}
	}
	return n
}

// keyResource is the object linked to an idempotency key of acme's.
func (w *world) keyResource(t *testing.T, key string) string {
	t.Helper()
	rec, err := w.store.GetIdempotencyKey(context.Background(), "acme", key)
	if err != nil {
		return ""
	}
	return rec.ResourceID
}

// openPayments lists the payments not settled yet.
func (w *world) openPayments(t *testing.T) []string {
	t.Helper()
	ps, err := w.store.PaymentsToPoll(context.Background(), time.Now().Add(24*365*time.Hour), 100)
	require.NoError(t, err)
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

// TestRetryFinishesACreateCutShort: a create whose owner died after
// choosing its channel and before the provider received it is finished by
// the retry that takes its key over — sent once, with the same id, and
// answered with what the payer needs — never a `created` that no provider
// knows (the poller would fail it ten minutes later).
func TestRetryFinishesACreateCutShort(t *testing.T) {
	for _, tt := range []struct {
		name      string
		sentFirst bool
	}{{"before the provider received it", false}, {"after the provider received it", true}} {
		t.Run(tt.name, func(t *testing.T) {
			w := newCrashWorld(t, tt.sentFirst)
			in := host.CreatePaymentInput{Tenant: "acme", IdempotencyKey: "cut-1", Amount: 1000, Currency: "CNY",
				Method: core.MethodWechatNative}
			started := make(chan struct{})
			go func() {
				close(started)
				_, _ = w.dead.CreatePayment(context.Background(), in) // never answers: the process died
			}()
			<-started
			w.eventually(func() bool {
				id := w.keyResource(t, in.IdempotencyKey)
				return id != "" && w.payment(id).Channel != "" && (!tt.sentFirst || w.creates(id) == 1)
			}, "the first owner to store the payment, choose its channel (and send it)")

			got, err := w.host.CreatePayment(context.Background(), in) // the client's retry
			require.NoError(t, err)
			assert.Equal(t, core.PaymentProcessing, got.Status, "never a dead created")
			if !tt.sentFirst {
				assert.NotNil(t, got.PayInfo, "the payer can pay")
			}
			assert.Equal(t, 1, w.creates(got.ID), "the provider received the create once")
			assert.Equal(t, []string{got.ID}, w.openPayments(t), "one payment for the key")
		})
	}
}

// TestRetryNeverRefundsTwice: a refund whose owner died before the
// provider received it is linked to its key with its reservation, so the
// client's retry answers that refund — never a second one — and the
// poller sends it, once.
func TestRetryNeverRefundsTwice(t *testing.T) {
	w := newCrashWorld(t, false)
	paid := barcodePayment(t, w.world, "cut-paid", 5000)
	in := host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "cut-refund", PaymentID: paid.ID, Amount: 1000}
	go func() { _, _ = w.dead.CreateRefund(context.Background(), in) }() // never answers: the process died
	w.eventually(func() bool { return w.keyResource(t, in.IdempotencyKey) != "" }, "the first owner to store the refund")

	got, err := w.host.CreateRefund(context.Background(), in) // the client's retry
	require.NoError(t, err)
	assert.Equal(t, w.keyResource(t, in.IdempotencyKey), got.ID, "the retry answers the refund the first owner stored")
	w.eventually(func() bool {
		w.host.Poll(context.Background())
		r, err := w.host.GetRefund(context.Background(), "acme", got.ID)
		return err == nil && r.Status == core.RefundSucceeded
	}, "the poller to send the refund and settle it")
	refunds := 0
	for _, r := range w.sim.Requests() {
		if r.Path == "/api/refund/refundOrder" && r.HTTPStatus == 200 && r.Code == 0 {
			refunds++
		}
	}
	assert.Equal(t, 1, refunds, "the provider refunded once")
	p := w.payment(paid.ID)
	assert.Equal(t, int64(1000), p.RefundedAmount, "what was asked, once")
	assert.Len(t, p.Refunds, 1)
}

// TestCrashedNodeIsTakenOver: the retry of a request whose node crashed
// (it stopped beating) takes the request over once the node has not been
// seen for the node timeout, long before the request's lease (a minute
// here) runs out.
func TestCrashedNodeIsTakenOver(t *testing.T) {
	live := func(c *host.Config) {
		c.IdempotencyLease, c.NodeTimeout, c.IdempotencyWait = time.Minute, 300*time.Millisecond, 30*time.Second
	}
	dying := func(c *host.Config) {
		c.IdempotencyLease = time.Minute
		c.NodeHeartbeat = time.Hour // it beats once, at start, then is as silent as a killed process
	}
	w := newCrashWorldWith(t, false, live, dying)
	in := host.CreatePaymentInput{Tenant: "acme", IdempotencyKey: "node-1", Amount: 1000, Currency: "CNY",
		Method: core.MethodWechatNative}
	go func() { _, _ = w.dead.CreatePayment(context.Background(), in) }()
	w.eventually(func() bool {
		id := w.keyResource(t, in.IdempotencyKey)
		return id != "" && w.payment(id).Channel != ""
	}, "the first owner to store the payment and choose its channel")
	start := time.Now()
	got, err := w.host.CreatePayment(context.Background(), in)
	require.NoError(t, err, "the retry took the crashed node's request over")
	assert.Equal(t, core.PaymentProcessing, got.Status)
	assert.Equal(t, 1, w.creates(got.ID))
	t.Logf("taken over %v after the retry arrived (node timeout 300ms, lease 1m)", time.Since(start).Round(time.Millisecond))
}
