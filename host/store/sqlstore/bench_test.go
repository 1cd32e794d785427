package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
)

// benchSQLite opens a store for a benchmark: "memory" or "file" (WAL, full
// fsync, in a temporary directory).
func benchSQLite(b *testing.B, kind string) store.Store {
	b.Helper()
	path := ":memory:"
	if kind == "file" {
		path = filepath.Join(b.TempDir(), "payhost.db")
	}
	s, err := sqlstore.OpenSQLite(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func benchPayment(id string, now time.Time) *store.Payment {
	return &store.Payment{
		ID: id, Tenant: "t1", MerchantOrderID: "order-" + id, IdempotencyKey: "idem-" + id,
		Amount: 12345, Currency: "CNY", Method: "alipay.qr", Description: "coffee",
		Metadata: map[string]string{"cart": "42"}, Status: "created",
		CreatedAt: now, UpdatedAt: now,
	}
}

// BenchmarkPaymentWrites is a payment's store calls on SQLite without the
// engine around them: insert it, record an attempt, update it with the
// provider's answer, read it back.
func BenchmarkPaymentWrites(b *testing.B) {
	for _, kind := range []string{"memory", "file"} {
		b.Run(kind, func(b *testing.B) {
			s := benchSQLite(b, kind)
			ctx := context.Background()
			now := time.Unix(1_750_000_000, 0).UTC()
			providerID, processing := "prov", "processing"
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				id := fmt.Sprintf("pay_%d", i)
				if err := s.InsertPayment(ctx, benchPayment(id, now)); err != nil {
					b.Fatal(err)
				}
				if err := s.InsertAttempt(ctx, &store.Attempt{ObjectID: id, Operation: "create_payment",
					Channel: "haotian/main/alipay.qr", Outcome: "ok", DurationMS: 1, CreatedAt: now}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.UpdatePayment(ctx, store.PaymentUpdate{ID: id, From: "created", To: processing,
					ProviderID: &providerID, Now: now}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.GetPayment(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetPayment is one read of a payment by id on an SQLite file.
func BenchmarkGetPayment(b *testing.B) {
	s := benchSQLite(b, "file")
	ctx := context.Background()
	now := time.Unix(1_750_000_000, 0).UTC()
	const n = 100
	for i := range n {
		if err := s.InsertPayment(ctx, benchPayment(fmt.Sprintf("pay_%d", i), now)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.GetPayment(ctx, fmt.Sprintf("pay_%d", i%n)); err != nil {
			b.Fatal(err)
		}
	}
}
