package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

func refundCases() []testCase {
	return []testCase{
		{"Refund/RoundTrip", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			r := &store.Refund{
				ID: "ref_1", Tenant: "t1", PaymentID: "pay_1", IdempotencyKey: "idem-r1", Amount: 30,
				Currency: "CNY", Reason: "顾客退货", Status: "processing", ProviderID: "prov-r1",
				FailureCode: "none", FailureMessage: "not yet", ProviderCode: "REFUND_PENDING", ProviderData: map[string]string{"batch": "7"},
				CreatedAt: at(time.Minute), UpdatedAt: at(2 * time.Minute), SucceededAt: at(3 * time.Minute),
				NextPollAt: at(4 * time.Minute), PollAttempts: 2,
			}
			must(t, s.InsertRefund(ctx, r))
			got, err := s.GetRefund(ctx, "ref_1")
			must(t, err)
			same(t, "refund", got, r)
			list, err := s.ListRefunds(ctx, "pay_1")
			must(t, err)
			same(t, "list", list, []*store.Refund{r})
			wantTotals(t, s, "pay_1", 30, 0)
			bare := &store.Refund{ID: "ref_2", Tenant: "t1", PaymentID: "pay_1", Amount: 1, Status: "created"}
			must(t, s.InsertRefund(ctx, bare))
			got, err = s.GetRefund(ctx, "ref_2")
			must(t, err)
			same(t, "bare refund", got, bare)
			_, err = s.GetRefund(ctx, "ref_missing")
			wantErr(t, err, store.ErrNotFound)
			list, err = s.ListRefunds(ctx, "pay_missing")
			must(t, err)
			if len(list) != 0 {
				t.Fatalf("refunds of an unknown payment: %v", list)
			}
		}},
		{"Refund/InsertErrors", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			processing := succeededPayment("pay_open", "t1", 100)
			processing.Status = "processing"
			must(t, s.InsertPayment(ctx, processing))
			wantErr(t, s.InsertRefund(ctx, newRefund("ref_a", "t1", "pay_missing", 10)), store.ErrNotFound)
			wantErr(t, s.InsertRefund(ctx, newRefund("ref_b", "t2", "pay_1", 10)), store.ErrNotFound)
			wantErr(t, s.InsertRefund(ctx, newRefund("ref_c", "t1", "pay_open", 10)), store.ErrConflict)
			wantErr(t, s.InsertRefund(ctx, newRefund("ref_d", "t1", "pay_1", 101)), store.ErrInsufficient)
			must(t, s.InsertRefund(ctx, newRefund("ref_e", "t1", "pay_1", 60)))
			wantErr(t, s.InsertRefund(ctx, newRefund("ref_f", "t1", "pay_1", 41)), store.ErrInsufficient)
			// a repeated id reserves nothing
			wantErr(t, s.InsertRefund(ctx, newRefund("ref_e", "t1", "pay_1", 10)), store.ErrDuplicate)
			wantTotals(t, s, "pay_1", 60, 0)
			// exactly what is left
			must(t, s.InsertRefund(ctx, newRefund("ref_g", "t1", "pay_1", 40)))
			wantErr(t, s.InsertRefund(ctx, newRefund("ref_h", "t1", "pay_1", 1)), store.ErrInsufficient)
			wantTotals(t, s, "pay_1", 100, 0)
			for _, id := range []string{"ref_a", "ref_b", "ref_c", "ref_d", "ref_f", "ref_h"} {
				if _, err := s.GetRefund(ctx, id); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("refused refund %s was stored (err %v)", id, err)
				}
			}
			wantTotals(t, s, "pay_open", 0, 0)
		}},
		{"Refund/SucceedAndFail", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			must(t, s.InsertRefund(ctx, newRefund("ref_1", "t1", "pay_1", 30)))
			must(t, s.InsertRefund(ctx, newRefund("ref_2", "t1", "pay_1", 50)))
			wantTotals(t, s, "pay_1", 80, 0)
			got, err := s.UpdateRefund(ctx, store.RefundUpdate{ID: "ref_1", From: "processing", To: "succeeded",
				ProviderID: ptr("prov-1"), SucceededAt: ptr(at(time.Hour)), Now: at(time.Hour)})
			must(t, err)
			if got.Status != "succeeded" || got.ProviderID != "prov-1" || !got.SucceededAt.Equal(at(time.Hour)) || !got.UpdatedAt.Equal(at(time.Hour)) {
				t.Fatalf("succeeded refund: %+v", got)
			}
			wantTotals(t, s, "pay_1", 80, 30)
			_, err = s.UpdateRefund(ctx, store.RefundUpdate{ID: "ref_2", From: "processing", To: "failed",
				FailureCode: ptr("insufficient_funds"), FailureMessage: ptr("merchant balance too low"), ProviderCode: ptr("BALANCE_LOW"), Now: at(time.Hour)})
			must(t, err)
			if failed, err := s.GetRefund(ctx, "ref_2"); err != nil || failed.ProviderCode != "BALANCE_LOW" || failed.FailureCode != "insufficient_funds" {
				t.Fatalf("failed refund: %+v %v", failed, err)
			}
			wantTotals(t, s, "pay_1", 30, 30)
			// the failed 50 can be refunded again, and no more
			wantErr(t, s.InsertRefund(ctx, newRefund("ref_3", "t1", "pay_1", 71)), store.ErrInsufficient)
			must(t, s.InsertRefund(ctx, newRefund("ref_3", "t1", "pay_1", 70)))
			wantTotals(t, s, "pay_1", 100, 30)
			list, err := s.ListRefunds(ctx, "pay_1")
			must(t, err)
			if len(list) != 3 || list[0].ID != "ref_1" || list[1].ID != "ref_2" || list[2].ID != "ref_3" || list[1].Status != "failed" {
				t.Fatalf("refunds: %v", list)
			}
		}},
		{"Refund/UpdateErrors", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			must(t, s.InsertRefund(ctx, newRefund("ref_1", "t1", "pay_1", 30)))
			before, err := s.GetRefund(ctx, "ref_1")
			must(t, err)
			_, err = s.UpdateRefund(ctx, store.RefundUpdate{ID: "ref_1", From: "created", To: "succeeded", ProviderID: ptr("x")})
			wantErr(t, err, store.ErrConflict)
			after, err := s.GetRefund(ctx, "ref_1")
			must(t, err)
			same(t, "after a refused move", after, before)
			wantTotals(t, s, "pay_1", 30, 0)
			_, err = s.UpdateRefund(ctx, store.RefundUpdate{ID: "ref_missing", From: "processing", To: "succeeded"})
			wantErr(t, err, store.ErrNotFound)
			// fields only, no status move
			got, err := s.UpdateRefund(ctx, store.RefundUpdate{ID: "ref_1", NextPollAt: ptr(at(time.Hour)), PollAttempts: ptr(1),
				ProviderData: map[string]string{"k": "v"}})
			must(t, err)
			if got.Status != "processing" || got.PollAttempts != 1 || got.ProviderData["k"] != "v" || !got.NextPollAt.Equal(at(time.Hour)) {
				t.Fatalf("field update: %+v", got)
			}
			wantTotals(t, s, "pay_1", 30, 0)
		}},
		{"Refund/ToPoll", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			for i, d := range []time.Duration{2 * time.Minute, time.Minute, 0, time.Hour} {
				r := newRefund(fmt.Sprintf("ref_%d", i), "t1", "pay_1", 10)
				if d != 0 {
					r.NextPollAt = at(d)
				}
				must(t, s.InsertRefund(ctx, r))
			}
			got, err := s.RefundsToPoll(ctx, at(2*time.Minute), 10)
			must(t, err)
			if len(got) != 2 || got[0].ID != "ref_1" || got[1].ID != "ref_0" {
				t.Fatalf("refunds to poll: %v", got)
			}
			got, err = s.RefundsToPoll(ctx, at(2*time.Hour), 1)
			must(t, err)
			if len(got) != 1 || got[0].ID != "ref_1" {
				t.Fatalf("refunds to poll, limit 1: %v", got)
			}
			claimed, err := s.ClaimRefundsToPoll(ctx, at(2*time.Minute), time.Hour, 10)
			must(t, err)
			if len(claimed) != 2 {
				t.Fatalf("claimed %d refunds, want 2", len(claimed))
			}
			again, err := s.ClaimRefundsToPoll(ctx, at(2*time.Minute), time.Hour, 10)
			must(t, err)
			if len(again) != 0 {
				t.Fatalf("claimed twice: %v", again)
			}
		}},
		{"Refund/LedgerProperty", refundLedgerProperty},
	}
}

// refundLedgerProperty runs random refunds and moves against a model: the
// payment's RefundReserved is always the sum of refunds not failed,
// RefundedAmount the sum of refunds succeeded, and neither goes above the
// payment.
func refundLedgerProperty(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	const amount = 500
	must(t, s.InsertPayment(ctx, succeededPayment("pay_p", "t1", amount)))
	status := map[string]string{}
	amounts := map[string]int64{}
	var ids []string
	totals := func() (reserved, refunded int64) {
		for id, st := range status {
			if st != "failed" {
				reserved += amounts[id]
			}
			if st == "succeeded" {
				refunded += amounts[id]
			}
		}
		return
	}
	for i := range 120 {
		if len(ids) == 0 || rng.IntN(3) == 0 {
			id := fmt.Sprintf("ref_%d", i)
			amt := 1 + rng.Int64N(80)
			err := s.InsertRefund(ctx, newRefund(id, "t1", "pay_p", amt))
			reserved, _ := totals()
			switch {
			case reserved+amt <= amount:
				must(t, err)
				status[id], amounts[id] = "processing", amt
				ids = append(ids, id)
			default:
				wantErr(t, err, store.ErrInsufficient)
			}
		} else {
			id := ids[rng.IntN(len(ids))]
			from := []string{"processing", "succeeded", "failed"}[rng.IntN(3)]
			to := []string{"succeeded", "failed"}[rng.IntN(2)]
			_, err := s.UpdateRefund(ctx, store.RefundUpdate{ID: id, From: from, To: to, Now: at(time.Duration(i) * time.Second)})
			switch {
			case status[id] != from:
				wantErr(t, err, store.ErrConflict)
			case from == "failed" && to != "failed":
				// moving a failed refund back reserves its amount again
				reserved, _ := totals()
				if reserved+amounts[id] <= amount {
					must(t, err)
					status[id] = to
				} else {
					wantErr(t, err, store.ErrInsufficient)
				}
			default:
				must(t, err)
				status[id] = to
			}
		}
		reserved, refunded := totals()
		wantTotals(t, s, "pay_p", reserved, refunded)
		if reserved > amount {
			t.Fatalf("model reserved %d above %d", reserved, amount)
		}
	}
}
