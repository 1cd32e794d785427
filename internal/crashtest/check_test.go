package crashtest

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// world is a small database and provider state to check requests against.
type world struct {
	db   *DB
	prov *Providers
}

func newWorld() *world {
	return &world{
		db: &DB{Payments: map[string]*DBPayment{}, Refunds: map[string]*DBRefund{}, PaymentsByKey: map[string][]*DBPayment{},
			RefundsByKey: map[string][]*DBRefund{}, Deliveries: map[string]int{}},
		prov: &Providers{Payments: map[string][]ProviderPayment{}, Refunds: map[string][]ProviderRefund{}, ByPayment: map[string][]ProviderRefund{}},
	}
}

func (w *world) payment(id, key, status string, amount int64) *DBPayment {
	p := &DBPayment{ID: id, Key: key, Status: status, Plugin: "haotian", Amount: amount, CreatedAt: t0}
	w.db.Payments[id] = p
	w.db.PaymentsByKey[key] = append(w.db.PaymentsByKey[key], p)
	return p
}

func (w *world) order(paymentID, state string, amount int64) {
	w.prov.Payments[paymentID] = append(w.prov.Payments[paymentID], ProviderPayment{Provider: "haotian", PaymentID: paymentID,
		ID: "P-" + paymentID, Amount: amount, State: state})
}

func (w *world) refund(id, paymentID, key, status string, amount int64) {
	r := &DBRefund{ID: id, PaymentID: paymentID, Key: key, Status: status, Amount: amount, CreatedAt: t0}
	w.db.Refunds[id] = r
	w.db.RefundsByKey[key] = append(w.db.RefundsByKey[key], r)
}

func (w *world) providerRefund(refundID, paymentID, state string, amount int64) {
	x := ProviderRefund{Provider: "haotian", RefundID: refundID, PaymentID: paymentID, ID: "R-" + refundID, Amount: amount, State: state}
	w.prov.Refunds[refundID] = append(w.prov.Refunds[refundID], x)
	w.prov.ByPayment[paymentID] = append(w.prov.ByPayment[paymentID], x)
}

func answered(kind, key, id, state string, status int, amount int64) *Request {
	return &Request{Kind: kind, Key: key, ID: id, State: state, Status: status, Amount: amount, Started: t0, Answered: t0.Add(time.Second)}
}

// paid is a payment answered succeeded, stored and paid.
func (w *world) paid(id, key string, amount int64) *Request {
	w.payment(id, key, "succeeded", amount)
	w.order(id, StateSucceeded, amount)
	return answered(KindPayment, key, id, "succeeded", 201, amount)
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(w *world) []*Request
		want  Figures
		info  func(t *testing.T, rep Report)
	}{
		{"all well", func(w *world) []*Request {
			p := w.paid("pay_1", "payment-1", 1000)
			w.payment("pay_2", "payment-2", "processing", MagicPending)
			w.order("pay_2", StateProcessing, MagicPending)
			w.payment("pay_3", "payment-3", "failed", MagicDeclined)
			w.order("pay_3", StateFailed, MagicDeclined)
			w.db.Payments["pay_1"].Refunded = 300
			w.refund("re_1", "pay_1", "refund-1", "succeeded", 300)
			w.providerRefund("re_1", "pay_1", StateSucceeded, 300)
			r := answered(KindRefund, "refund-1", "re_1", "processing", 201, 300)
			r.PaymentID = "pay_1"
			declined := answered(KindPayment, "payment-3", "pay_3", "failed", 201, MagicDeclined)
			declined.Failure = "declined"
			return []*Request{p, answered(KindPayment, "payment-2", "pay_2", "processing", 201, MagicPending), declined, r}
		}, Figures{}, func(t *testing.T, rep Report) {
			assert.Equal(t, 4, rep.Acknowledged)
			assert.Equal(t, map[string]int{"payment 201 succeeded": 1, "payment 201 processing": 1, "payment 201 failed declined": 1,
				"refund 201 processing": 1}, rep.Answers)
		}},
		{"lost: answered, not stored", func(w *world) []*Request {
			return []*Request{answered(KindPayment, "payment-1", "pay_1", "succeeded", 201, 1000)}
		}, Figures{Lost: 1}, nil},
		{"lost: answered with a row of another key", func(w *world) []*Request {
			w.payment("pay_1", "payment-9", "succeeded", 1000)
			w.order("pay_1", StateSucceeded, 1000)
			return []*Request{answered(KindPayment, "payment-1", "pay_1", "succeeded", 201, 1000)}
		}, Figures{Lost: 1}, nil},
		{"refund paid twice for one key, beyond what was asked", func(w *world) []*Request {
			p := w.paid("pay_1", "payment-1", 1000)
			w.db.Payments["pay_1"].Refunded = 400
			w.refund("re_1", "pay_1", "refund-1", "succeeded", 200)
			w.refund("re_2", "pay_1", "refund-1", "succeeded", 200)
			w.providerRefund("re_1", "pay_1", StateSucceeded, 200)
			w.providerRefund("re_2", "pay_1", StateSucceeded, 200)
			r := answered(KindRefund, "refund-1", "re_2", "succeeded", 201, 200)
			r.PaymentID = "pay_1"
			return []*Request{p, r}
		}, Figures{PaidTwice: 1, OverRefunded: 1}, func(t *testing.T, rep Report) {
			assert.Equal(t, 1, rep.ExtraRows)
		}},
		{"payment paid twice for one key", func(w *world) []*Request {
			p := w.paid("pay_1", "payment-1", 1000)
			w.payment("pay_2", "payment-1", "processing", 1000)
			w.order("pay_2", StateProcessing, 1000)
			return []*Request{p}
		}, Figures{PaidTwice: 1}, nil},
		{"an extra row that never reached the provider is information", func(w *world) []*Request {
			p := w.paid("pay_1", "payment-1", 1000)
			w.payment("pay_2", "payment-1", "failed", 1000)
			return []*Request{p}
		}, Figures{}, func(t *testing.T, rep Report) { assert.Equal(t, 1, rep.ExtraRows) }},
		{"dead created", func(w *world) []*Request {
			w.payment("pay_1", "payment-1", "created", 1000)
			return []*Request{answered(KindPayment, "payment-1", "pay_1", "created", 201, 1000)}
		}, Figures{DeadCreated: 1}, func(t *testing.T, rep Report) { assert.Equal(t, 1, rep.Unsent) }},
		{"dead created refund", func(w *world) []*Request {
			p := w.paid("pay_1", "payment-1", 1000)
			w.refund("re_1", "pay_1", "refund-1", "created", 100)
			r := answered(KindRefund, "refund-1", "re_1", "created", 201, 100)
			r.PaymentID = "pay_1"
			return []*Request{p, r}
		}, Figures{DeadCreated: 1}, func(t *testing.T, rep Report) { assert.Equal(t, 1, rep.Unsent) }},
		{"created and sent is not dead", func(w *world) []*Request {
			w.payment("pay_1", "payment-1", "processing", 1000)
			w.order("pay_1", StateProcessing, 1000)
			return []*Request{answered(KindPayment, "payment-1", "pay_1", "created", 201, 1000)}
		}, Figures{}, nil},
		{"false failures: answered failed, stored failed, refused", func(w *world) []*Request {
			w.payment("pay_1", "payment-1", "failed", 1000)
			w.order("pay_1", StateSucceeded, 1000)
			w.payment("pay_2", "payment-2", "closed", 1000)
			w.order("pay_2", StateSucceeded, 1000)
			p3 := w.paid("pay_3", "payment-3", 1000)
			w.db.Payments["pay_3"].Refunded = 100
			w.refund("re_1", "pay_3", "refund-1", "succeeded", 100)
			w.providerRefund("re_1", "pay_3", StateSucceeded, 100)
			refused := &Request{Kind: KindRefund, Key: "refund-1", PaymentID: "pay_3", Amount: 100, Status: 400, ErrCode: "invalid_request",
				Body: `{"error":{"code":"invalid_request","message":"refund of 100 exceeds the 0 left to refund"}}`, Started: t0, Answered: t0}
			return []*Request{answered(KindPayment, "payment-1", "pay_1", "failed", 201, 1000), p3, refused}
		}, Figures{FalseFailures: 3}, nil},
		{"stuck, untracked, mismatched", func(w *world) []*Request {
			w.payment("pay_1", "payment-1", "processing", 1000)
			w.order("pay_1", StateSucceeded, 1000)
			w.order("pay_x", StateSucceeded, 500)
			w.payment("pay_2", "payment-2", "succeeded", 1000)
			w.order("pay_2", StateSucceeded, 999)
			w.paid("pay_3", "payment-3", 1000)
			w.refund("re_1", "pay_3", "refund-1", "processing", 100)
			w.providerRefund("re_1", "pay_3", StateSucceeded, 100)
			w.db.Payments["pay_3"].Refunded = 100
			w.providerRefund("re_y", "pay_3", StateProcessing, 5)
			return nil
		}, Figures{Stuck: 2, Untracked: 2, Mismatched: 1, OverRefunded: 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			reqs := tc.build(w)
			rep := Check(reqs, w.db, w.prov)
			assert.Equal(t, tc.want, rep.Figures, "details: %v", rep.Details)
			total := tc.want.Lost + tc.want.PaidTwice + tc.want.OverRefunded + tc.want.DeadCreated + tc.want.FalseFailures +
				tc.want.Stuck + tc.want.Untracked + tc.want.Mismatched
			assert.Len(t, rep.Details, total, "one line per thing counted")
			assert.Equal(t, total > 0, rep.Failed())
			if tc.info != nil {
				tc.info(t, rep)
			}
			var out bytes.Buffer
			rep.Print(&out)
			assert.Contains(t, out.String(), "crash test figures (each must be 0):")
			for _, d := range rep.Details {
				assert.Contains(t, out.String(), d)
			}
		})
	}
}

func TestCheckTimes(t *testing.T) {
	w := newWorld()
	p := w.paid("pay_1", "payment-1", 1000)
	p.FirstInterrupted = p.Answered.Add(-10 * time.Second)
	p.FirstInProgress = p.Answered.Add(-4 * time.Second)
	q := w.paid("pay_2", "payment-2", 1000)
	q.FirstInterrupted = q.Answered.Add(-time.Second)
	unanswered := &Request{Kind: KindPayment, Key: "payment-3", Started: t0}
	rep := Check([]*Request{p, q, unanswered}, w.db, w.prov)
	assert.Equal(t, 1, rep.Unanswered)
	assert.Equal(t, 2, rep.Interrupted)
	assert.Equal(t, Durations{N: 2, P50: 10 * time.Second, P90: 10 * time.Second, Max: 10 * time.Second}, rep.Recovery)
	assert.Equal(t, Durations{N: 1, P50: 4 * time.Second, P90: 4 * time.Second, Max: 4 * time.Second}, rep.Takeover)
	assert.Equal(t, "n=1 p50=4s p90=4s max=4s", rep.Takeover.String())
	assert.Equal(t, "none", Durations{}.String())
}

func TestSettled(t *testing.T) {
	grace := time.Minute
	for _, tc := range []struct {
		name    string
		build   func(w *world)
		now     time.Time
		settled bool
	}{
		{"final everywhere", func(w *world) { w.paid("pay_1", "k", 1) }, t0, true},
		{"waits for a payer who never pays", func(w *world) {
			w.payment("pay_1", "k", "processing", MagicPending)
			w.order("pay_1", StateProcessing, MagicPending)
		}, t0, true},
		{"the provider is final, the database not yet", func(w *world) {
			w.payment("pay_1", "k", "processing", 1)
			w.order("pay_1", StateSucceeded, 1)
		}, t0, false},
		{"an orphan the poller has yet to take over", func(w *world) { w.payment("pay_1", "k", "created", 1) }, t0.Add(grace - time.Second), false},
		{"an orphan past its grace is checked as it is", func(w *world) { w.payment("pay_1", "k", "created", 1) }, t0.Add(grace + time.Second), true},
		{"a refund the provider does not have yet", func(w *world) {
			w.paid("pay_1", "k", 10)
			w.refund("re_1", "pay_1", "r", "processing", 1)
		}, t0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tc.build(w)
			ok, waiting := Settled(w.db, w.prov, tc.now, grace)
			assert.Equal(t, tc.settled, ok, "%v", waiting)
			require.Equal(t, tc.settled, len(waiting) == 0)
		})
	}
}
