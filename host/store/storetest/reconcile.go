package storetest

import (
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

func reconcileCases() []testCase {
	return []testCase{
		{"Reconciliation/RoundTripAndList", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			r1 := &store.Reconciliation{ID: "rec_1", Account: "main", Plugin: "haotian", Date: "2025-05-01",
				Status: store.ReconcileDifferences, Report: []byte(`{"id":"rec_1","note":"对账 \u0000 'quoted'"}`), CreatedAt: at(0)}
			r2 := &store.Reconciliation{ID: "rec_2", Account: "main", Plugin: "haotian", Date: "2025-05-01",
				Status: store.ReconcileMatched, Report: []byte(`{"id":"rec_2"}`), CreatedAt: at(time.Hour)}
			r3 := &store.Reconciliation{ID: "rec_3", Account: "main", Plugin: "haotian", Date: "2025-05-02",
				Status: store.ReconcileMatched, CreatedAt: at(2 * time.Hour)}
			other := &store.Reconciliation{ID: "rec_4", Account: "other", Date: "2025-05-01", Status: store.ReconcileMatched}
			for _, r := range []*store.Reconciliation{r1, r2, r3, other} {
				must(t, s.InsertReconciliation(ctx, r))
			}
			got, err := s.GetReconciliation(ctx, "rec_1")
			must(t, err)
			same(t, "reconciliation", got, r1)
			_, err = s.GetReconciliation(ctx, "rec_missing")
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, s.InsertReconciliation(ctx, &store.Reconciliation{ID: "rec_1", Account: "x", Date: "2025-05-03", Status: "matched"}), store.ErrDuplicate)
			got, err = s.GetReconciliation(ctx, "rec_1")
			must(t, err)
			same(t, "reconciliation after a duplicate", got, r1)

			list, err := s.ListReconciliations(ctx, "main", "2025-05-01", 0)
			must(t, err)
			same(t, "reports of a day", list, []*store.Reconciliation{r2, r1})
			list, err = s.ListReconciliations(ctx, "main", "", 2)
			must(t, err)
			same(t, "reports of an account", list, []*store.Reconciliation{r3, r2})
			list, err = s.ListReconciliations(ctx, "nobody", "", 0)
			must(t, err)
			if len(list) != 0 {
				t.Fatalf("reports of an unknown account: %v", list)
			}
		}},
		{"Reconciliation/InsertRefused", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			if err := s.InsertReconciliation(ctx, &store.Reconciliation{ID: "rec_1", Account: "main", Status: "matched"}); err == nil {
				t.Fatal("a report without a date was stored")
			}
			if err := s.InsertReconciliation(ctx, &store.Reconciliation{ID: "rec_1", Account: "main", Date: "2025-05-01",
				Status: "matched", Report: []byte("{\"x\":\"\xff\"}")}); err == nil {
				t.Fatal("a report that is not UTF-8 was stored")
			}
		}},
		{"Reconciliation/AccountActivity", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			from, to := at(0), at(24*time.Hour)
			pay := func(id, account, status string, paid time.Time) *store.Payment {
				p := succeededPayment(id, "t1", 1000)
				p.Account, p.Plugin, p.Status, p.PaidAt = account, "haotian", status, paid
				must(t, s.InsertPayment(ctx, p))
				return getPayment(t, s, id)
			}
			first := pay("pay_first", "main", "succeeded", from)                    // the first instant is in
			last := pay("pay_last", "main", "succeeded", to.Add(-time.Microsecond)) // the last is in
			pay("pay_after", "main", "succeeded", to)                               // the end is out
			pay("pay_before", "main", "succeeded", from.Add(-time.Microsecond))
			pay("pay_other", "other", "succeeded", at(time.Hour))
			unpaid := succeededPayment("pay_unpaid", "t1", 1000)
			unpaid.Account, unpaid.Status, unpaid.PaidAt = "main", "processing", time.Time{}
			must(t, s.InsertPayment(ctx, unpaid))
			closed := pay("pay_closed", "main", "closed", at(2*time.Hour)) // listed whatever its status

			refund := func(id, paymentID string, succeeded time.Time) *store.Refund {
				r := newRefund(id, "t1", paymentID, 10)
				must(t, s.InsertRefund(ctx, r))
				if !succeeded.IsZero() {
					_, err := s.UpdateRefund(ctx, store.RefundUpdate{ID: id, From: "processing", To: "succeeded", SucceededAt: ptr(succeeded), Now: succeeded})
					must(t, err)
				}
				got, err := s.GetRefund(ctx, id)
				must(t, err)
				return got
			}
			inDay := refund("re_in", "pay_before", at(3*time.Hour)) // a refund of an earlier payment, in the day
			refund("re_next_day", "pay_first", to)
			refund("re_pending", "pay_first", time.Time{})
			refund("re_other", "pay_other", at(3*time.Hour))

			payments, refunds, err := s.AccountActivity(ctx, "main", from, to)
			must(t, err)
			first = getPayment(t, s, first.ID) // its refunds moved its totals
			same(t, "payments", payments, []*store.Payment{first, closed, last})
			same(t, "refunds", refunds, []*store.Refund{inDay})

			payments, refunds, err = s.AccountActivity(ctx, "nobody", from, to)
			must(t, err)
			if len(payments)+len(refunds) != 0 {
				t.Fatalf("activity of an unknown account: %v %v", payments, refunds)
			}
		}},
	}
}
