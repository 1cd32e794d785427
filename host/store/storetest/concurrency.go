package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

// race runs fn(i) for i in [0, n) on n goroutines released together, and
// returns the errors by i.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// count tallies errors: nil ones as "ok", the others by which of targets
// they are; any other error fails the test.
func count(t *testing.T, errs []error, targets ...error) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, err := range errs {
		if err == nil {
			out["ok"]++
			continue
		}
		known := false
		for _, target := range targets {
			if errors.Is(err, target) {
				out[target.Error()]++
				known = true
				break
			}
		}
		if !known {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	return out
}

var errNotOwned = errors.New("not owned")
var errNotInserted = errors.New("not inserted")

func concurrencyCases() []testCase {
	return []testCase{
		{"Concurrent/ClaimOneKey", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			errs := race(50, func(int) error {
				rec, owned, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
				switch {
				case err != nil:
					return err
				case rec.RequestHash != "h1" || rec.State != store.IdemInProgress:
					return fmt.Errorf("claim returned %+v", rec)
				case !owned:
					return errNotOwned
				}
				return nil
			})
			if got := count(t, errs, errNotOwned); got["ok"] != 1 {
				t.Fatalf("50 claims of one key: %v, want exactly one owner", got)
			}
		}},
		{"Concurrent/TakeOverOneKey", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			_, _, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			errs := race(50, func(i int) error {
				// clocks of different nodes differ a little
				_, owned, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(lease+time.Duration(1+i%5)*time.Millisecond)))
				if err == nil && !owned {
					return errNotOwned
				}
				return err
			})
			if got := count(t, errs, errNotOwned); got["ok"] != 1 {
				t.Fatalf("50 take-overs of one expired key: %v, want exactly one owner", got)
			}
		}},
		{"Concurrent/MovePaymentOnce", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := succeededPayment("pay_1", "t1", 100)
			p.Status = "processing"
			must(t, s.InsertPayment(ctx, p))
			errs := race(50, func(i int) error {
				_, err := s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", From: "processing", To: "succeeded",
					ProviderID: ptr(fmt.Sprintf("winner-%d", i)), Now: at(time.Minute)})
				return err
			})
			got := count(t, errs, store.ErrConflict)
			if got["ok"] != 1 || got[store.ErrConflict.Error()] != 49 {
				t.Fatalf("50 moves processing→succeeded: %v, want 1 ok and 49 conflicts", got)
			}
			after := getPayment(t, s, "pay_1")
			winner := -1
			for i, err := range errs {
				if err == nil {
					winner = i
				}
			}
			if after.Status != "succeeded" || after.ProviderID != fmt.Sprintf("winner-%d", winner) {
				t.Fatalf("after the race: %s by %s, want succeeded by winner-%d", after.Status, after.ProviderID, winner)
			}
		}},
		{"Concurrent/RefundsNeverAbovePaid", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			errs := race(20, func(i int) error {
				return s.InsertRefund(ctx, newRefund(fmt.Sprintf("ref_%02d", i), "t1", "pay_1", 10))
			})
			got := count(t, errs, store.ErrInsufficient)
			if got["ok"] != 10 || got[store.ErrInsufficient.Error()] != 10 {
				t.Fatalf("20 refunds of 10 on 100: %v, want 10 ok and 10 insufficient", got)
			}
			wantTotals(t, s, "pay_1", 100, 0)
			list, err := s.ListRefunds(ctx, "pay_1")
			must(t, err)
			if len(list) != 10 {
				t.Fatalf("%d refunds stored, want 10", len(list))
			}
		}},
		{"Concurrent/MoveRefundOnce", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			must(t, s.InsertRefund(ctx, newRefund("ref_1", "t1", "pay_1", 40)))
			errs := race(50, func(i int) error {
				to := "succeeded"
				if i%2 == 1 {
					to = "failed"
				}
				_, err := s.UpdateRefund(ctx, store.RefundUpdate{ID: "ref_1", From: "processing", To: to, Now: at(time.Minute)})
				return err
			})
			got := count(t, errs, store.ErrConflict)
			if got["ok"] != 1 || got[store.ErrConflict.Error()] != 49 {
				t.Fatalf("50 moves of one refund: %v, want 1 ok and 49 conflicts", got)
			}
			r, err := s.GetRefund(ctx, "ref_1")
			must(t, err)
			if r.Status == "succeeded" {
				wantTotals(t, s, "pay_1", 40, 40)
			} else {
				wantTotals(t, s, "pay_1", 0, 0)
			}
		}},
		{"Concurrent/NotificationOnce", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			errs := race(50, func(i int) error {
				n := &store.Notification{Account: "haotian-main", EventID: "evt_1", ObjectID: "pay_1",
					Body: []byte(fmt.Sprintf("delivery %d", i)), ReceivedAt: at(time.Duration(i) * time.Millisecond)}
				inserted, err := s.InsertNotification(ctx, n)
				if err == nil && !inserted {
					return errNotInserted
				}
				return err
			})
			if got := count(t, errs, errNotInserted); got["ok"] != 1 {
				t.Fatalf("50 deliveries of one event: %v, want exactly one inserted", got)
			}
		}},
		{"Concurrent/Mixed", func(t *testing.T, s store.Store) {
			// writes of every kind at once, on distinct rows: none may fail
			// (no deadlocks, no busy errors)
			ctx := t.Context()
			for i := range 5 {
				must(t, s.InsertPayment(ctx, succeededPayment(fmt.Sprintf("pay_%d", i), "t1", 1000)))
			}
			errs := race(40, func(i int) error {
				pay := fmt.Sprintf("pay_%d", i%5)
				switch i % 4 {
				case 0:
					ref := fmt.Sprintf("ref_%d", i)
					if err := s.InsertRefund(ctx, newRefund(ref, "t1", pay, 10)); err != nil {
						return err
					}
					_, err := s.UpdateRefund(ctx, store.RefundUpdate{ID: ref, From: "processing", To: "succeeded"})
					return err
				case 1:
					_, err := s.UpdatePayment(ctx, store.PaymentUpdate{ID: pay, PollAttempts: ptr(i)})
					return err
				case 2:
					return s.InsertTransition(ctx, &store.Transition{ObjectType: "payment", ObjectID: pay, Source: "api", Applied: true})
				default:
					_, _, err := s.ClaimIdempotencyKey(ctx, claim(fmt.Sprintf("k%d", i), "h", at(0)))
					return err
				}
			})
			count(t, errs)
			var refunded int64
			for i := range 5 {
				refunded += getPayment(t, s, fmt.Sprintf("pay_%d", i)).RefundedAmount
			}
			if refunded != 100 {
				t.Fatalf("refunded %d in total, want 100", refunded)
			}
		}},
	}
}
