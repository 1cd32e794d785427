package storetest

import (
	"sort"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

func paymentCases() []testCase {
	return []testCase{
		{"Payment/RoundTrip", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			full := fullPayment("pay_full", "t1")
			must(t, s.InsertPayment(ctx, full))
			same(t, "full", getPayment(t, s, "pay_full"), full)
			// every optional field empty: zero times, nil maps and bytes
			bare := &store.Payment{ID: "pay_bare", Tenant: "t1", Amount: 1, Currency: "CNY", Status: "created"}
			must(t, s.InsertPayment(ctx, bare))
			got := getPayment(t, s, "pay_bare")
			same(t, "bare", got, bare)
			if !got.CreatedAt.IsZero() || !got.PaidAt.IsZero() || !got.NextPollAt.IsZero() {
				t.Fatalf("zero times read back as %s, %s, %s", got.CreatedAt, got.PaidAt, got.NextPollAt)
			}
		}},
		{"Payment/TimesKeepTheirInstant", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			shanghai := time.FixedZone("CST", 8*3600)
			created := time.Date(2025, 5, 1, 18, 0, 0, 987654321, shanghai)
			p := succeededPayment("pay_tz", "t1", 10)
			p.CreatedAt = created
			p.PaidAt = time.Date(1999, 12, 31, 23, 59, 59, 1000, time.UTC)
			must(t, s.InsertPayment(ctx, p))
			got := getPayment(t, s, "pay_tz")
			if !got.CreatedAt.Equal(created.Truncate(time.Microsecond)) || !got.PaidAt.Equal(p.PaidAt) {
				t.Fatalf("times read back as %s and %s, want %s and %s", got.CreatedAt, got.PaidAt, created.Truncate(time.Microsecond), p.PaidAt)
			}
		}},
		{"Payment/Duplicates", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			first := fullPayment("pay_1", "t1")
			must(t, s.InsertPayment(ctx, first))
			again := fullPayment("pay_1", "t1")
			again.MerchantOrderID = "another-order"
			again.Amount = 1
			wantErr(t, s.InsertPayment(ctx, again), store.ErrDuplicate)
			sameOrder := fullPayment("pay_2", "t1")
			sameOrder.MerchantOrderID = first.MerchantOrderID
			wantErr(t, s.InsertPayment(ctx, sameOrder), store.ErrDuplicate)
			_, err := s.GetPayment(ctx, "pay_2")
			wantErr(t, err, store.ErrNotFound)
			same(t, "first after duplicates", getPayment(t, s, "pay_1"), first)
			// the same merchant order id in another tenant is another order
			otherTenant := fullPayment("pay_3", "t2")
			otherTenant.MerchantOrderID = first.MerchantOrderID
			must(t, s.InsertPayment(ctx, otherTenant))
			// an empty merchant order id is never a duplicate
			for _, id := range []string{"pay_4", "pay_5"} {
				p := succeededPayment(id, "t1", 5)
				must(t, s.InsertPayment(ctx, p))
			}
		}},
		{"Payment/GetMissing", func(t *testing.T, s store.Store) {
			_, err := s.GetPayment(t.Context(), "pay_missing")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"Payment/UpdateFields", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := fullPayment("pay_1", "t1")
			must(t, s.InsertPayment(ctx, p))
			u := store.PaymentUpdate{
				ID:             "pay_1",
				Plugin:         ptr("adapay"),
				ChannelTradeNo: ptr(""),
				PayInfo:        []byte(`{"jsapi":{"appId":"wx1"}}`),
				FeeAmount:      ptr(int64(40)),
				ProviderData:   map[string]string{"only": "this"},
				PaidAt:         ptr(time.Time{}),
				NextPollAt:     ptr(at(time.Hour)),
				PollAttempts:   ptr(4),
				Now:            at(time.Hour),
			}
			got, err := s.UpdatePayment(ctx, u)
			must(t, err)
			want := *p
			want.Plugin, want.ChannelTradeNo, want.PayInfo, want.FeeAmount = "adapay", "", u.PayInfo, 40
			want.ProviderData, want.PaidAt, want.NextPollAt, want.PollAttempts = u.ProviderData, time.Time{}, at(time.Hour), 4
			want.UpdatedAt = at(time.Hour)
			same(t, "returned", got, &want)
			same(t, "stored", getPayment(t, s, "pay_1"), &want)
			// nothing set: nothing changes
			got, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1"})
			must(t, err)
			same(t, "empty update", got, &want)
			// an empty (non-nil) map clears the provider data
			got, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", ProviderData: map[string]string{}})
			must(t, err)
			if len(got.ProviderData) != 0 {
				t.Fatalf("ProviderData = %v after replacing it with an empty map", got.ProviderData)
			}
		}},
		{"Payment/Transition", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := fullPayment("pay_1", "t1")
			must(t, s.InsertPayment(ctx, p))
			got, err := s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", From: "processing", To: "succeeded",
				PaidAt: ptr(at(time.Hour)), Now: at(time.Hour)})
			must(t, err)
			if got.Status != "succeeded" || !got.PaidAt.Equal(at(time.Hour)) {
				t.Fatalf("after transition: %s paid %s", got.Status, got.PaidAt)
			}
			before := getPayment(t, s, "pay_1")
			// the same move again finds another state and changes nothing
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", From: "processing", To: "failed",
				FailureCode: ptr("late"), Now: at(2 * time.Hour)})
			wantErr(t, err, store.ErrConflict)
			same(t, "after a refused transition", getPayment(t, s, "pay_1"), before)
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_missing", From: "processing", To: "succeeded"})
			wantErr(t, err, store.ErrNotFound)
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_missing", Plugin: ptr("x")})
			wantErr(t, err, store.ErrNotFound)
		}},
		{"Payment/GuardWithoutMove", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, fullPayment("pay_1", "t1")))
			// From without To: change fields only while the status is From
			got, err := s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", From: "processing", ProviderID: ptr("p2")})
			must(t, err)
			if got.Status != "processing" || got.ProviderID != "p2" {
				t.Fatalf("guarded update: %s %s", got.Status, got.ProviderID)
			}
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", From: "created", ProviderID: ptr("p3")})
			wantErr(t, err, store.ErrConflict)
			if p := getPayment(t, s, "pay_1"); p.ProviderID != "p2" {
				t.Fatalf("refused guarded update changed ProviderID to %s", p.ProviderID)
			}
		}},
		{"Payment/ToPoll", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			due := map[string]time.Duration{"pay_a": 3 * time.Minute, "pay_b": time.Minute, "pay_c": 2 * time.Minute, "pay_late": time.Hour}
			for id, d := range due {
				p := succeededPayment(id, "t1", 10)
				p.Status, p.NextPollAt = "processing", at(d)
				must(t, s.InsertPayment(ctx, p))
			}
			must(t, s.InsertPayment(ctx, succeededPayment("pay_never", "t1", 10)))
			ids := func(ps []*store.Payment) []string {
				var out []string
				for _, p := range ps {
					out = append(out, p.ID)
				}
				return out
			}
			got, err := s.PaymentsToPoll(ctx, at(3*time.Minute), 10)
			must(t, err)
			same(t, "due", ids(got), []string{"pay_b", "pay_c", "pay_a"})
			got, err = s.PaymentsToPoll(ctx, at(3*time.Minute), 2)
			must(t, err)
			same(t, "limited", ids(got), []string{"pay_b", "pay_c"})
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_b", NextPollAt: ptr(time.Time{})})
			must(t, err)
			got, err = s.PaymentsToPoll(ctx, at(3*time.Minute), 10)
			must(t, err)
			same(t, "after clearing pay_b", ids(got), []string{"pay_c", "pay_a"})
			got, err = s.PaymentsToPoll(ctx, at(0), 10)
			must(t, err)
			if len(got) != 0 {
				t.Fatalf("nothing is due yet, got %v", ids(got))
			}
			// a poller claims what is due: the rows move out of reach for the lease
			claimed, err := s.ClaimPaymentsToPoll(ctx, at(3*time.Minute), time.Minute, 10)
			must(t, err)
			sorted := ids(claimed)
			sort.Strings(sorted)
			same(t, "claimed", sorted, []string{"pay_a", "pay_c"})
			for _, p := range claimed {
				if !p.NextPollAt.Equal(at(4 * time.Minute)) {
					t.Fatalf("claimed %s polls next at %s, want %s", p.ID, p.NextPollAt, at(4*time.Minute))
				}
			}
			again, err := s.ClaimPaymentsToPoll(ctx, at(3*time.Minute), time.Minute, 10)
			must(t, err)
			if len(again) != 0 {
				t.Fatalf("a second poller got %v while the first holds them", ids(again))
			}
			later, err := s.ClaimPaymentsToPoll(ctx, at(5*time.Minute), time.Minute, 10)
			must(t, err)
			sorted = ids(later)
			sort.Strings(sorted)
			same(t, "after the lease", sorted, []string{"pay_a", "pay_c"})
		}},
	}
}
