package sqlstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
)

// A store on SQLite: one provider call per idempotency key, refunds never
// above what was paid. OpenPostgres(ctx, "postgres://user:pw@host/db")
// gives the same store on PostgreSQL.
func ExampleOpenSQLite() {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, ":memory:") // or a file name: "payhost.db"
	if err != nil {
		panic(err)
	}
	defer s.Close()

	now := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	claim := store.IdemClaim{Tenant: "acme", Key: "order-1", Operation: "payment.create", RequestHash: "h1", Now: now, Lease: time.Minute}
	_, owned, _ := s.ClaimIdempotencyKey(ctx, claim)
	_, again, _ := s.ClaimIdempotencyKey(ctx, claim)
	fmt.Println("first claim owns the key:", owned, "- second:", again)

	_ = s.InsertPayment(ctx, &store.Payment{ID: "pay_1", Tenant: "acme", Amount: 100, Currency: "CNY", Status: "succeeded", CreatedAt: now})
	fmt.Println("refund 60:", s.InsertRefund(ctx, &store.Refund{ID: "ref_1", Tenant: "acme", PaymentID: "pay_1", Amount: 60, Status: "processing"}))
	fmt.Println("refund 50:", s.InsertRefund(ctx, &store.Refund{ID: "ref_2", Tenant: "acme", PaymentID: "pay_1", Amount: 50, Status: "processing"}))
	// Output:
	// first claim owns the key: true - second: false
	// refund 60: <nil>
	// refund 50: store: insufficient amount: refund of 50 on payment pay_1: 40 of 100 left
}
