package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

func newSplitReturn(id, splitID string, amount int64) *store.SplitReturn {
	return &store.SplitReturn{ID: id, Tenant: "t1", IdempotencyKey: "k-" + id, SplitID: splitID, PaymentID: "pay_1", Account: "main",
		Plugin: "haotian", Receiver: "platform", ReceiverID: "rcv_1", ProviderReceiver: "800001", Amount: amount, Currency: "CNY",
		Reason: "refund", Status: "processing", ProviderData: map[string]string{"k": "v"},
		CreatedAt: at(2 * time.Minute), UpdatedAt: at(2 * time.Minute), NextPollAt: at(3 * time.Minute)}
}

// splitToReturn stores a succeeded payment of 1000 with a succeeded split
// giving rcv_1 300 and rcv_2 (whose part failed) nothing.
func splitToReturn(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 1000)))
	sp := newSplit("spl_1", "t1", "pay_1", store.SplitFromAPI, 400)
	sp.Records = append(sp.Records, store.SplitRecord{Receiver: "agent", ReceiverID: "rcv_2", Amount: 100, Status: "processing"})
	sp.Records[0].Amount = 300
	must(t, s.InsertSplit(ctx, sp))
	_, err := s.UpdateSplit(ctx, store.SplitUpdate{ID: "spl_1", From: "processing", To: "succeeded", Now: at(time.Hour),
		Records: []store.SplitRecord{{Receiver: "platform", ReceiverID: "rcv_1", Amount: 300, Status: "succeeded"},
			{Receiver: "agent", ReceiverID: "rcv_2", Amount: 100, Status: "failed"}}})
	must(t, err)
	wantSplitTotals(t, s, "pay_1", 300, 300)
}

func splitReturnCases() []testCase {
	return []testCase{
		{"SplitReturn/ReserveAndGiveBack", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			splitToReturn(t, s)
			r := newSplitReturn("srt_1", "spl_1", 200)
			must(t, s.InsertSplitReturn(ctx, r))
			got, err := s.GetSplitReturn(ctx, "srt_1")
			must(t, err)
			same(t, "split return", got, r)
			wantErr(t, s.InsertSplitReturn(ctx, newSplitReturn("srt_1", "spl_1", 1)), store.ErrDuplicate)
			// 300 split to rcv_1, 200 being returned: 100 left
			wantErr(t, s.InsertSplitReturn(ctx, newSplitReturn("srt_2", "spl_1", 101)), store.ErrInsufficient)
			// a pending return frees nothing yet: refunds still stop at 1000 - 300
			wantErr(t, s.InsertRefund(ctx, newRefund("ref_1", "t1", "pay_1", 701)), store.ErrInsufficient)
			// rcv_2's part failed, an unknown receiver has none, another tenant sees no split
			other := newSplitReturn("srt_2", "spl_1", 10)
			other.ReceiverID = "rcv_2"
			wantErr(t, s.InsertSplitReturn(ctx, other), store.ErrConflict)
			other.ReceiverID = "rcv_9"
			wantErr(t, s.InsertSplitReturn(ctx, other), store.ErrNotFound)
			other = newSplitReturn("srt_2", "spl_1", 10)
			other.Tenant = "t2"
			wantErr(t, s.InsertSplitReturn(ctx, other), store.ErrNotFound)
			wantErr(t, s.InsertSplitReturn(ctx, newSplitReturn("srt_2", "spl_none", 10)), store.ErrNotFound)

			// the return succeeds: the money is the merchant's again
			upd, err := s.UpdateSplitReturn(ctx, store.SplitReturnUpdate{ID: "srt_1", From: "processing", To: "succeeded",
				ProviderID: ptr("R1"), NextPollAt: ptr(time.Time{}), Now: at(time.Hour)})
			must(t, err)
			if upd.Status != "succeeded" || upd.ProviderID != "R1" || !upd.NextPollAt.IsZero() {
				t.Fatalf("updated split return: %+v", upd)
			}
			wantSplitTotals(t, s, "pay_1", 100, 100)
			must(t, s.InsertRefund(ctx, newRefund("ref_1", "t1", "pay_1", 900)))
			_, err = s.UpdateSplitReturn(ctx, store.SplitReturnUpdate{ID: "srt_1", From: "processing", To: "failed"})
			wantErr(t, err, store.ErrConflict)
			_, err = s.UpdateSplitReturn(ctx, store.SplitReturnUpdate{ID: "srt_none", To: "failed"})
			wantErr(t, err, store.ErrNotFound)

			// a failed return gives its reservation back to the receiver's part
			must(t, s.InsertSplitReturn(ctx, newSplitReturn("srt_2", "spl_1", 100)))
			_, err = s.UpdateSplitReturn(ctx, store.SplitReturnUpdate{ID: "srt_2", From: "processing", To: "failed",
				FailureCode: ptr("insufficient_funds"), Now: at(time.Hour)})
			must(t, err)
			wantSplitTotals(t, s, "pay_1", 100, 100)
			must(t, s.InsertSplitReturn(ctx, newSplitReturn("srt_3", "spl_1", 100)))
			list, err := s.ListSplitReturns(ctx, "pay_1")
			must(t, err)
			if len(list) != 3 || list[0].ID != "srt_1" || list[2].ID != "srt_3" {
				t.Fatalf("split returns: %v", list)
			}
		}},
		{"SplitReturn/OnlyFromASucceededSplit", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 1000)))
			must(t, s.InsertSplit(ctx, newSplit("spl_1", "t1", "pay_1", store.SplitFromAPI, 300)))
			wantErr(t, s.InsertSplitReturn(ctx, newSplitReturn("srt_1", "spl_1", 10)), store.ErrConflict)
		}},
		{"SplitReturn/ConcurrentNeverExceedsThePart", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			splitToReturn(t, s)
			var ok atomic.Int64
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := s.InsertSplitReturn(ctx, newSplitReturn(fmt.Sprintf("srt_%d", i), "spl_1", 40))
					switch {
					case err == nil:
						ok.Add(1)
					case !errors.Is(err, store.ErrInsufficient):
						t.Errorf("%d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			if ok.Load() != 7 { // 7 × 40 = 280 ≤ 300 < 8 × 40
				t.Fatalf("%d returns of 40 accepted from a part of 300", ok.Load())
			}
		}},
		{"SplitReturn/ClaimDue", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			splitToReturn(t, s)
			must(t, s.InsertSplitReturn(ctx, newSplitReturn("srt_1", "spl_1", 10)))
			later := newSplitReturn("srt_2", "spl_1", 10)
			later.NextPollAt = at(time.Hour)
			must(t, s.InsertSplitReturn(ctx, later))
			got, err := s.ClaimSplitReturnsToPoll(ctx, at(5*time.Minute), time.Minute, 10)
			must(t, err)
			if len(got) != 1 || got[0].ID != "srt_1" || !got[0].NextPollAt.Equal(at(6*time.Minute)) {
				t.Fatalf("claimed: %+v", got)
			}
			again, err := s.ClaimSplitReturnsToPoll(ctx, at(5*time.Minute), time.Minute, 10)
			must(t, err)
			if len(again) != 0 {
				t.Fatalf("claimed twice: %+v", again)
			}
		}},
	}
}
