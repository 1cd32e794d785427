package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

// unitCases: writes made with a context carrying a store.Unit share one
// transaction: invisible to others until Commit, gone on Close, and a
// method that fails inside the unit leaves none of its own writes while
// the unit's others stay.
func unitCases() []testCase {
	return []testCase{
		{"Unit/CommitMakesDurable", func(t *testing.T, s store.Store) {
			ctx, u := store.WithUnit(t.Context())
			defer u.Close()
			_, owned, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			if !owned {
				t.Fatal("claim not owned")
			}
			p := succeededPayment("pay_u", "t1", 1000)
			p.Status, p.Link = "created", &store.IdemLink{Tenant: "t1", Key: "k1", Owner: owner, Now: at(time.Second)}
			must(t, s.InsertPayment(ctx, p))
			// the unit reads its own writes
			if got := getPaymentCtx(t, ctx, s, "pay_u"); got.Status != "created" {
				t.Fatalf("inside the unit: status %q", got.Status)
			}
			woke := 0
			store.AfterCommit(ctx, func() { woke++ })
			if woke != 0 {
				t.Fatal("AfterCommit ran before the commit")
			}
			must(t, u.Commit())
			if woke != 1 {
				t.Fatalf("AfterCommit ran %d times after the commit", woke)
			}
			// after Commit, a plain context sees both writes
			getPayment(t, s, "pay_u")
			rec, err := s.GetIdempotencyKey(context.Background(), "t1", "k1")
			must(t, err)
			if rec.ResourceID != "pay_u" {
				t.Fatalf("the key does not lead to the payment: %+v", rec)
			}
			// the unit goes on with a new transaction
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_u", From: "created", To: "processing", Now: at(2 * time.Second)})
			must(t, err)
			must(t, s.FinishIdempotencyKey(ctx, "t1", "k1", owner, 201, []byte(`{}`), at(2*time.Second)))
			must(t, u.Commit())
			if got := getPayment(t, s, "pay_u"); got.Status != "processing" {
				t.Fatalf("after the second commit: status %q", got.Status)
			}
		}},
		{"Unit/CloseRollsBack", func(t *testing.T, s store.Store) {
			ctx, u := store.WithUnit(t.Context())
			_, _, err := s.ClaimIdempotencyKey(ctx, claim("k1", "h1", at(0)))
			must(t, err)
			p := succeededPayment("pay_u", "t1", 1000)
			must(t, s.InsertPayment(ctx, p))
			u.Close()
			_, err = s.GetIdempotencyKey(context.Background(), "t1", "k1")
			wantErr(t, err, store.ErrNotFound)
			_, err = s.GetPayment(context.Background(), "pay_u")
			wantErr(t, err, store.ErrNotFound)
			// a closed unit no longer groups: each write commits on its own
			must(t, s.InsertPayment(ctx, p))
			getPayment(t, s, "pay_u")
		}},
		// A refused insert inside a unit undoes its own link to the key
		// (savepoint) and leaves the unit's earlier writes to commit.
		{"Unit/RefusedCallLeavesTheRest", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_taken", "t1", 1000)))
			uctx, u := store.WithUnit(ctx)
			defer u.Close()
			_, owned, err := s.ClaimIdempotencyKey(uctx, claim("k1", "h1", at(0)))
			must(t, err)
			if !owned {
				t.Fatal("claim not owned")
			}
			dup := succeededPayment("pay_taken", "t1", 1000)
			dup.Link = &store.IdemLink{Tenant: "t1", Key: "k1", Owner: owner, Now: at(time.Second)}
			wantErr(t, s.InsertPayment(uctx, dup), store.ErrDuplicate)
			rec, err := s.GetIdempotencyKey(uctx, "t1", "k1")
			must(t, err)
			if rec.ResourceID != "" {
				t.Fatalf("a refused insert left its link: %+v", rec)
			}
			must(t, s.ReleaseIdempotencyKey(uctx, "t1", "k1", owner))
			must(t, s.InsertAttempt(uctx, &store.Attempt{ObjectID: "pay_taken", Operation: "payment.create", Channel: "c",
				Outcome: "ok", CreatedAt: at(time.Second)}))
			must(t, u.Commit())
			_, err = s.GetIdempotencyKey(ctx, "t1", "k1")
			wantErr(t, err, store.ErrNotFound)
			as, err := s.ListAttempts(ctx, "pay_taken")
			must(t, err)
			if len(as) != 1 {
				t.Fatalf("attempts after commit: %d, want 1", len(as))
			}
		}},
	}
}

func getPaymentCtx(t *testing.T, ctx context.Context, s store.Store, id string) *store.Payment {
	t.Helper()
	p, err := s.GetPayment(ctx, id)
	must(t, err)
	return p
}
