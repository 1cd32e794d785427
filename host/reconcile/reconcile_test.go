package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/reconcile"
	"github.com/payhost/payhost/host/store"
)

// noLookup is a store with nothing beyond the day's records.
type noLookup struct{}

func (noLookup) GetPayment(context.Context, string) (*store.Payment, error) {
	return nil, store.ErrNotFound
}
func (noLookup) GetRefund(context.Context, string) (*store.Refund, error) {
	return nil, store.ErrNotFound
}

func TestCompare(t *testing.T) {
	day := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	paid := func(id string, amount int64) *store.Payment {
		return &store.Payment{ID: id, Tenant: "acme", Account: "main", Amount: amount, Currency: "CNY", Status: "succeeded",
			CreatedAt: day.Add(time.Hour), PaidAt: day.Add(time.Hour)}
	}
	line := func(id string, amount int64) core.StatementLine {
		return core.StatementLine{Kind: core.LinePayment, ObjectID: id, Amount: amount, Currency: "CNY", Status: "succeeded",
			Time: day.Add(time.Hour)}
	}
	for _, tc := range []struct {
		name     string
		payments []*store.Payment
		lines    []core.StatementLine
		status   string
		diffs    []string
	}{
		{"matched", []*store.Payment{paid("pay_1", 100)}, []core.StatementLine{line("pay_1", 100)}, "matched", nil},
		{"missing at the provider", []*store.Payment{paid("pay_1", 100)}, nil, "differences", []string{reconcile.DiffMissingAtProvider}},
		{"missing in payhost", nil, []core.StatementLine{line("pay_9", 100)}, "differences", []string{reconcile.DiffMissingInPayhost}},
		{"amount", []*store.Payment{paid("pay_1", 100)}, []core.StatementLine{line("pay_1", 90)}, "differences", []string{reconcile.DiffAmount}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &reconcile.Report{Account: "main", Totals: []reconcile.Total{}, Differences: []reconcile.Difference{}}
			st := &core.DownloadStatementResponse{Date: "2026-12-06", Lines: tc.lines}
			if err := reconcile.Compare(t.Context(), noLookup{}, rep, "main", day, day.AddDate(0, 0, 1), time.UTC, st, tc.payments, nil); err != nil {
				t.Fatal(err)
			}
			if rep.Status != tc.status {
				t.Errorf("status %q, want %q", rep.Status, tc.status)
			}
			var kinds []string
			for _, d := range rep.Differences {
				kinds = append(kinds, d.Kind)
			}
			if len(kinds) != len(tc.diffs) {
				t.Fatalf("differences %v, want %v", kinds, tc.diffs)
			}
			for i := range kinds {
				if kinds[i] != tc.diffs[i] {
					t.Errorf("difference %d: %s, want %s", i, kinds[i], tc.diffs[i])
				}
			}
		})
	}
}
