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

func newReceiver(id, tenant, account, name string) *store.Receiver {
	return &store.Receiver{ID: id, Tenant: tenant, Account: account, Name: name, Plugin: "haotian", ProviderID: "800001",
		Status: "bound", Kind: "personal", Channel: "wxpay", AccountNo: "o8jhot", AccountName: "张三", Relation: "PARTNER",
		GroupID: "100001", RatioPPM: 100_000, ProviderData: map[string]string{"ifCode": "wxpay"},
		CreatedAt: at(0), UpdatedAt: at(time.Second)}
}

func newSplit(id, tenant, paymentID, source string, amount int64) *store.Split {
	return &store.Split{ID: id, Tenant: tenant, PaymentID: paymentID, Account: "main", Plugin: "haotian", Source: source,
		Status: "processing", Amount: amount, Currency: "CNY", CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute),
		Records: []store.SplitRecord{{Receiver: "platform", ReceiverID: "rcv_1", ProviderReceiver: "800001", Amount: amount, Status: "processing"}}}
}

func wantSplitTotals(t *testing.T, s store.Store, paymentID string, reserved, split int64) {
	t.Helper()
	p := getPayment(t, s, paymentID)
	if p.SplitReserved != reserved || p.SplitAmount != split {
		t.Fatalf("payment %s: split reserved %d split %d, want %d and %d", paymentID, p.SplitReserved, p.SplitAmount, reserved, split)
	}
}

func splitCases() []testCase {
	return []testCase{
		{"Receiver/RoundTripAndNames", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			r := newReceiver("rcv_1", "t1", "main", "platform")
			must(t, s.InsertReceiver(ctx, r))
			got, err := s.GetReceiver(ctx, "rcv_1")
			must(t, err)
			same(t, "receiver", got, r)
			found, err := s.FindReceiver(ctx, "t1", "main", "platform", "wxpay")
			must(t, err)
			same(t, "found receiver", found, r)
			dup := newReceiver("rcv_2", "t1", "main", "platform")
			dup.ProviderID = "800002"
			wantErr(t, s.InsertReceiver(ctx, dup), store.ErrDuplicate)
			ali := newReceiver("rcv_5", "t1", "main", "platform")
			ali.Channel, ali.ProviderID = "alipay", "800005" // the same name in another wallet
			must(t, s.InsertReceiver(ctx, ali))
			must(t, s.InsertReceiver(ctx, newReceiver("rcv_3", "t1", "other", "platform")))
			other := newReceiver("rcv_4", "t2", "main", "platform")
			other.ProviderID = "800004"
			must(t, s.InsertReceiver(ctx, other))
			_, err = s.FindReceiver(ctx, "t3", "main", "platform", "wxpay")
			wantErr(t, err, store.ErrNotFound)
			_, err = s.FindReceiver(ctx, "t1", "main", "platform", "")
			wantErr(t, err, store.ErrNotFound)
			both, err := s.FindReceivers(ctx, "t1", "main", "platform")
			must(t, err)
			if len(both) != 2 || both[0].ID != "rcv_1" || both[1].ID != "rcv_5" {
				t.Fatalf("receivers named platform at main: %v", both)
			}
			_, err = s.GetReceiver(ctx, "rcv_none")
			wantErr(t, err, store.ErrNotFound)
			list, err := s.ListReceivers(ctx, "t1")
			must(t, err)
			if len(list) != 3 || list[0].ID != "rcv_1" || list[1].ID != "rcv_5" || list[2].ID != "rcv_3" {
				t.Fatalf("t1's receivers: %v", list)
			}
		}},
		{"Receiver/ProviderIDBoundOncePerAccount", func(t *testing.T, s store.Store) {
			// a provider receiver id is bound once per account, whatever the
			// tenant; pending claims of it are not bindings
			ctx := t.Context()
			must(t, s.InsertReceiver(ctx, newReceiver("rcv_1", "t1", "main", "platform"))) // bound, 800001
			claim := newReceiver("rcv_2", "t2", "main", "thief")
			claim.Status = "pending"
			must(t, s.InsertReceiver(ctx, claim))
			same := newReceiver("rcv_3", "t1", "main", "again")
			wantErr(t, s.InsertReceiver(ctx, same), store.ErrDuplicate) // the same tenant under another name
			elsewhere := newReceiver("rcv_4", "t2", "other", "platform")
			must(t, s.InsertReceiver(ctx, elsewhere)) // the same id at another account
			bind := *claim
			bind.Status, bind.UpdatedAt = "bound", at(time.Hour)
			wantErr(t, s.ReplaceReceiver(ctx, &bind, "pending"), store.ErrDuplicate)
			got, err := s.GetReceiver(ctx, "rcv_2")
			must(t, err)
			if got.Status != "pending" || !got.UpdatedAt.Equal(at(time.Second)) {
				t.Fatalf("a refused binding changed the receiver: %+v", got)
			}
			held, err := s.FindReceiversByProvider(ctx, "main", "800001")
			must(t, err)
			if len(held) != 2 || held[0].ID != "rcv_1" || held[1].ID != "rcv_2" {
				t.Fatalf("receivers of 800001 at main: %v", held)
			}
			pending, err := s.ListReceiversByStatus(ctx, "pending", 10)
			must(t, err)
			if len(pending) != 1 || pending[0].ID != "rcv_2" {
				t.Fatalf("pending receivers: %v", pending)
			}
			// once the first binding is gone (failed), the claim may bind
			first := newReceiver("rcv_1", "t1", "main", "platform")
			first.Status, first.UpdatedAt = "failed", at(time.Hour)
			must(t, s.ReplaceReceiver(ctx, first, "bound"))
			must(t, s.ReplaceReceiver(ctx, &bind, "pending"))
			bound, err := s.ListReceiversByStatus(ctx, "bound", 1)
			must(t, err)
			if len(bound) != 1 || bound[0].ID != "rcv_2" {
				t.Fatalf("bound receivers (limit 1): %v", bound)
			}
		}},
		{"Receiver/OneBindingAmongConcurrentClaims", func(t *testing.T, s store.Store) {
			// 20 tenants' pending claims of one provider id are bound at once: one wins
			ctx := t.Context()
			const n = 20
			for i := range n {
				r := newReceiver(fmt.Sprintf("rcv_%d", i), fmt.Sprintf("t%d", i), "main", "platform")
				r.Status = "pending"
				must(t, s.InsertReceiver(ctx, r))
			}
			var wg sync.WaitGroup
			var won, dup atomic.Int32
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := newReceiver(fmt.Sprintf("rcv_%d", i), fmt.Sprintf("t%d", i), "main", "platform")
					switch err := s.ReplaceReceiver(ctx, r, "pending"); {
					case err == nil:
						won.Add(1)
					case errors.Is(err, store.ErrDuplicate):
						dup.Add(1)
					default:
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if won.Load() != 1 || dup.Load() != n-1 {
				t.Fatalf("%d bindings won, %d refused as duplicates; want 1 and %d", won.Load(), dup.Load(), n-1)
			}
			bound, err := s.ListReceiversByStatus(ctx, "bound", n)
			must(t, err)
			if len(bound) != 1 {
				t.Fatalf("%d receivers bound to one provider id", len(bound))
			}
		}},
		{"Receiver/ReplaceOnlyFromStatus", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			r := newReceiver("rcv_1", "t1", "main", "platform")
			r.Status, r.ProviderID = "failed", ""
			must(t, s.InsertReceiver(ctx, r))
			again := newReceiver("rcv_1", "t1", "main", "platform")
			again.ProviderID, again.UpdatedAt = "800009", at(time.Hour)
			wantErr(t, s.ReplaceReceiver(ctx, again, "bound"), store.ErrConflict)
			must(t, s.ReplaceReceiver(ctx, again, "failed"))
			got, err := s.GetReceiver(ctx, "rcv_1")
			must(t, err)
			if got.Status != "bound" || got.ProviderID != "800009" || !got.CreatedAt.Equal(at(0)) || !got.UpdatedAt.Equal(at(time.Hour)) {
				t.Fatalf("replaced receiver: %+v", got)
			}
			wantErr(t, s.ReplaceReceiver(ctx, newReceiver("rcv_none", "t1", "main", "x"), "failed"), store.ErrNotFound)
		}},
		{"Split/RoundTripAndLedger", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := succeededPayment("pay_1", "t1", 1000)
			p.FeeAmount = 6
			must(t, s.InsertPayment(ctx, p))
			sp := newSplit("spl_1", "t1", "pay_1", store.SplitFromRules, 300)
			sp.ProviderData = map[string]string{"batch": "B1"}
			must(t, s.InsertSplit(ctx, sp))
			got, err := s.GetSplit(ctx, "spl_1")
			must(t, err)
			same(t, "split", got, sp)
			wantSplitTotals(t, s, "pay_1", 300, 0)
			// the rules' split happens once per payment
			wantErr(t, s.InsertSplit(ctx, newSplit("spl_2", "t1", "pay_1", store.SplitFromRules, 10)), store.ErrDuplicate)
			wantSplitTotals(t, s, "pay_1", 300, 0)
			// the base is amount - fee - refunds - splits: 1000 - 6 - 300 = 694
			wantErr(t, s.InsertSplit(ctx, newSplit("spl_3", "t1", "pay_1", store.SplitFromAPI, 695)), store.ErrInsufficient)
			must(t, s.InsertRefund(ctx, newRefund("ref_1", "t1", "pay_1", 200)))
			// refunds and splits share the amount: 1000 - 300 split = 700 refundable, 200 taken
			wantErr(t, s.InsertRefund(ctx, newRefund("ref_2", "t1", "pay_1", 501)), store.ErrInsufficient)
			wantErr(t, s.InsertSplit(ctx, newSplit("spl_3", "t1", "pay_1", store.SplitFromAPI, 495)), store.ErrInsufficient)
			must(t, s.InsertSplit(ctx, newSplit("spl_3", "t1", "pay_1", store.SplitFromAPI, 494)))
			wantSplitTotals(t, s, "pay_1", 794, 0)
			// spl_1 ends with one record of two succeeded: 100 split, 200 released
			upd, err := s.UpdateSplit(ctx, store.SplitUpdate{ID: "spl_1", From: "processing", To: "failed", ProviderID: ptr("B1"),
				Records:     []store.SplitRecord{{Receiver: "platform", Amount: 100, Status: "succeeded"}, {Receiver: "agent", Amount: 200, Status: "failed"}},
				FailureCode: ptr("declined"), Now: at(time.Hour)})
			must(t, err)
			if upd.Status != "failed" || len(upd.Records) != 2 || upd.ProviderID != "B1" {
				t.Fatalf("updated split: %+v", upd)
			}
			wantSplitTotals(t, s, "pay_1", 594, 100)
			// spl_3 succeeds without record detail: all of it
			_, err = s.UpdateSplit(ctx, store.SplitUpdate{ID: "spl_3", From: "processing", To: "succeeded", Records: []store.SplitRecord{}, Now: at(time.Hour)})
			must(t, err)
			wantSplitTotals(t, s, "pay_1", 594, 594)
			_, err = s.UpdateSplit(ctx, store.SplitUpdate{ID: "spl_3", From: "processing", To: "failed"})
			wantErr(t, err, store.ErrConflict)
			_, err = s.UpdateSplit(ctx, store.SplitUpdate{ID: "spl_none", To: "failed"})
			wantErr(t, err, store.ErrNotFound)
			list, err := s.ListSplits(ctx, "pay_1")
			must(t, err)
			if len(list) != 2 || list[0].ID != "spl_1" || list[1].ID != "spl_3" {
				t.Fatalf("splits: %v", list)
			}
		}},
		{"Split/RefusedPayments", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := fullPayment("pay_1", "t1") // processing
			must(t, s.InsertPayment(ctx, p))
			wantErr(t, s.InsertSplit(ctx, newSplit("spl_1", "t1", "pay_1", store.SplitFromAPI, 10)), store.ErrConflict)
			wantErr(t, s.InsertSplit(ctx, newSplit("spl_1", "t2", "pay_1", store.SplitFromAPI, 10)), store.ErrNotFound)
			wantErr(t, s.InsertSplit(ctx, newSplit("spl_1", "t1", "pay_none", store.SplitFromAPI, 10)), store.ErrNotFound)
			if err := s.InsertSplit(ctx, newSplit("spl_1", "t1", "pay_1", store.SplitFromAPI, 0)); err == nil {
				t.Fatal("a split of 0 was stored")
			}
		}},
		{"Split/ConcurrentNeverExceedsBase", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := succeededPayment("pay_1", "t1", 100)
			p.FeeAmount = 10
			must(t, s.InsertPayment(ctx, p))
			var ok, refused atomic.Int64
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					if i%2 == 0 {
						err = s.InsertSplit(ctx, newSplit(fmt.Sprintf("spl_%d", i), "t1", "pay_1", store.SplitFromAPI, 10))
					} else {
						err = s.InsertRefund(ctx, newRefund(fmt.Sprintf("ref_%d", i), "t1", "pay_1", 10))
					}
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, store.ErrInsufficient):
						refused.Add(1)
					default:
						t.Errorf("%d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			got := getPayment(t, s, "pay_1")
			if got.RefundReserved+got.SplitReserved > 100 || got.SplitReserved > 100-10 || ok.Load()+refused.Load() != 20 {
				t.Fatalf("refunds %d + splits %d of 100 (fee 10); %d ok, %d refused", got.RefundReserved, got.SplitReserved, ok.Load(), refused.Load())
			}
			if ok.Load()*10 != got.RefundReserved+got.SplitReserved {
				t.Fatalf("%d accepted but %d reserved", ok.Load(), got.RefundReserved+got.SplitReserved)
			}
		}},
		{"Split/ClaimDueAndPoll", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			due := succeededPayment("pay_1", "t1", 100)
			due.SplitDueAt = at(time.Minute)
			later := succeededPayment("pay_2", "t1", 100)
			later.SplitDueAt = at(time.Hour)
			must(t, s.InsertPayment(ctx, due))
			must(t, s.InsertPayment(ctx, later))
			must(t, s.InsertPayment(ctx, succeededPayment("pay_3", "t1", 100)))
			claimed, err := s.ClaimPaymentsToSplit(ctx, at(2*time.Minute), time.Minute, 10)
			must(t, err)
			if len(claimed) != 1 || claimed[0].ID != "pay_1" || !claimed[0].SplitDueAt.Equal(at(3*time.Minute)) {
				t.Fatalf("claimed: %v", claimed)
			}
			again, err := s.ClaimPaymentsToSplit(ctx, at(2*time.Minute), time.Minute, 10)
			must(t, err)
			if len(again) != 0 {
				t.Fatalf("claimed twice: %v", again)
			}
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", SplitDueAt: ptr(time.Time{})})
			must(t, err)
			if p := getPayment(t, s, "pay_1"); !p.SplitDueAt.IsZero() {
				t.Fatalf("split due at %v after clearing", p.SplitDueAt)
			}
			sp := newSplit("spl_1", "t1", "pay_3", store.SplitFromAPI, 10)
			sp.NextPollAt = at(time.Minute)
			must(t, s.InsertSplit(ctx, sp))
			polled, err := s.ClaimSplitsToPoll(ctx, at(2*time.Minute), time.Minute, 10)
			must(t, err)
			if len(polled) != 1 || !polled[0].NextPollAt.Equal(at(3*time.Minute)) {
				t.Fatalf("splits claimed: %v", polled)
			}
		}},
	}
}

func newPayout(id, tenant string) *store.Payout {
	return &store.Payout{ID: id, Tenant: tenant, IdempotencyKey: "k-" + id, Account: "main", Plugin: "haotian", Kind: "transfer",
		Amount: 500, Currency: "CNY", Destination: []byte(`{"kind":"alipay","account_no":"2088102175953034","account_name":"李四"}`),
		Description: "奖金", Status: "processing", ProviderID: "T1", ProviderData: map[string]string{"wayCode": "ALIPAY_CASH"},
		CreatedAt: at(0), UpdatedAt: at(time.Second), NextPollAt: at(time.Minute), PollAttempts: 1}
}

func payoutCases() []testCase {
	return []testCase{
		{"Payout/RoundTripAndUpdate", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := newPayout("po_1", "t1")
			must(t, s.InsertPayout(ctx, p))
			wantErr(t, s.InsertPayout(ctx, newPayout("po_1", "t1")), store.ErrDuplicate)
			got, err := s.GetPayout(ctx, "po_1")
			must(t, err)
			same(t, "payout", got, p)
			up, err := s.UpdatePayout(ctx, store.PayoutUpdate{ID: "po_1", From: "processing", To: "succeeded", FeeAmount: ptr(int64(2)),
				CompletedAt: ptr(at(time.Hour)), NextPollAt: ptr(time.Time{}), Now: at(time.Hour)})
			must(t, err)
			if up.Status != "succeeded" || up.FeeAmount != 2 || !up.CompletedAt.Equal(at(time.Hour)) || !up.NextPollAt.IsZero() {
				t.Fatalf("updated payout: %+v", up)
			}
			_, err = s.UpdatePayout(ctx, store.PayoutUpdate{ID: "po_1", From: "processing", To: "failed"})
			wantErr(t, err, store.ErrConflict)
			_, err = s.GetPayout(ctx, "po_none")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"Payout/ClaimToPoll", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayout(ctx, newPayout("po_1", "t1")))
			late := newPayout("po_2", "t1")
			late.NextPollAt = at(time.Hour)
			must(t, s.InsertPayout(ctx, late))
			got, err := s.ClaimPayoutsToPoll(ctx, at(2*time.Minute), time.Minute, 10)
			must(t, err)
			if len(got) != 1 || got[0].ID != "po_1" || !got[0].NextPollAt.Equal(at(3*time.Minute)) {
				t.Fatalf("claimed: %v", got)
			}
		}},
		{"Terminal/Upsert", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			tm := &store.Terminal{ID: "tml_1", Tenant: "t1", Account: "main", DeviceNo: "POS001", Kind: "pos", Status: "active",
				StoreName: "一号店", ProviderData: map[string]string{"storeId": "S1"}, CreatedAt: at(0), UpdatedAt: at(0)}
			must(t, s.UpsertTerminal(ctx, tm))
			got, err := s.FindTerminal(ctx, "main", "POS001")
			must(t, err)
			same(t, "terminal", got, tm)
			again := &store.Terminal{ID: "tml_2", Tenant: "t1", Account: "main", DeviceNo: "POS001", Kind: "pos", Status: "inactive",
				CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
			must(t, s.UpsertTerminal(ctx, again))
			if again.ID != "tml_1" || !again.CreatedAt.Equal(at(0)) {
				t.Fatalf("upsert did not keep the id and creation time: %+v", again)
			}
			got, err = s.GetTerminal(ctx, "tml_1")
			must(t, err)
			if got.Status != "inactive" || !got.UpdatedAt.Equal(at(time.Hour)) {
				t.Fatalf("terminal after upsert: %+v", got)
			}
			wantErr(t, s.UpsertTerminal(ctx, &store.Terminal{ID: "tml_3", Tenant: "t2", Account: "main", DeviceNo: "POS001"}), store.ErrConflict)
			must(t, s.UpsertTerminal(ctx, &store.Terminal{ID: "tml_4", Tenant: "t2", Account: "main", DeviceNo: "POS002"}))
			list, err := s.ListTerminals(ctx, "t1")
			must(t, err)
			if len(list) != 1 || list[0].ID != "tml_1" {
				t.Fatalf("t1's terminals: %v", list)
			}
			_, err = s.GetTerminal(ctx, "tml_none")
			wantErr(t, err, store.ErrNotFound)
		}},
	}
}
