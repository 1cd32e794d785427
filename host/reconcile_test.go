package host_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// china is the Haotian account's time zone (its time_zone default).
var china = time.FixedZone("UTC+08:00", 8*3600)

// reconDay is a day of business at Haotian through the engine: three
// barcode payments (paid at once) and a refund of the first.
type reconDay struct {
	date              string
	pay1, pay2, pay3  *host.Payment
	refund            *host.Refund
	payIDs, refundIDs []string
}

func newReconDay(t *testing.T, w *world) *reconDay {
	t.Helper()
	d := &reconDay{}
	pay := func(key string, amount int64) *host.Payment {
		p, err := w.create(host.CreatePaymentInput{IdempotencyKey: key, Amount: amount, Method: core.MethodAlipayBarcode,
			Payer: core.Payer{AuthCode: "284567890123456789"}})
		require.NoError(t, err)
		require.Equal(t, core.PaymentSucceeded, p.Status)
		d.payIDs = append(d.payIDs, p.ID)
		return p
	}
	d.pay1, d.pay2, d.pay3 = pay("rc1", 10000), pay("rc2", 2500), pay("rc3", 800)
	r, err := w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "rcr1", PaymentID: d.pay1.ID, Amount: 3000})
	require.NoError(t, err)
	require.Equal(t, core.RefundSucceeded, r.Status)
	d.refund, d.refundIDs = r, []string{r.ID}
	// the notifications (with the fees) reach Payhost before anything is compared
	w.eventually(func() bool { return len(w.sim.PendingNotifications()) == 0 }, "notifications delivered")
	for _, p := range []**host.Payment{&d.pay1, &d.pay2, &d.pay3} {
		*p = w.payment((*p).ID)
	}
	d.date = d.pay1.PaidAt.In(china).Format("2006-01-02")
	return d
}

// snapshot is every payment and refund of the day as stored, with their
// transitions: reconciliation must leave it as it is.
func (d *reconDay) snapshot(t *testing.T, st store.Store) string {
	t.Helper()
	ctx := context.Background()
	var all []any
	for _, id := range d.payIDs {
		p, err := st.GetPayment(ctx, id)
		require.NoError(t, err)
		tr, err := st.ListTransitions(ctx, id)
		require.NoError(t, err)
		all = append(all, p, tr)
	}
	for _, id := range d.refundIDs {
		r, err := st.GetRefund(ctx, id)
		require.NoError(t, err)
		tr, err := st.ListTransitions(ctx, id)
		require.NoError(t, err)
		all = append(all, r, tr)
	}
	b, err := json.Marshal(all)
	require.NoError(t, err)
	return string(b)
}

// kinds lists the kinds of a report's differences with their objects.
func kinds(rep *host.ReconcileReport) map[string][]string {
	out := map[string][]string{}
	for _, d := range rep.Differences {
		out[d.Kind] = append(out[d.Kind], d.ObjectID)
	}
	return out
}

// TestReconcile: a day that matches, then each deliberate mismatch of the
// simulator's bill, over both transports; the report is stored, and no
// payment or refund changes.
func TestReconcile(t *testing.T) { testReconcile(t, nil) }

func testReconcile(t *testing.T, st func(t *testing.T) store.Store) {
	for _, wasm := range []bool{false, true} {
		t.Run(map[bool]string{false: "native", true: "wasm"}[wasm], func(t *testing.T) {
			w := newWorld(t, worldOpts{wasm: wasm, store: openStore(t, st)})
			d := newReconDay(t, w)
			before := d.snapshot(t, w.store)
			ctx := context.Background()

			rep, err := w.host.Reconcile(ctx, host.ReconcileInput{Account: "main", Date: d.date})
			require.NoError(t, err)
			assert.Equal(t, store.ReconcileMatched, rep.Status, "%+v", rep.Differences)
			assert.Empty(t, rep.Differences)
			assert.Equal(t, "+08:00", rep.TimeZone)
			assert.Equal(t, "haotian", rep.Plugin)
			assert.Equal(t, 24*time.Hour, rep.To.Sub(rep.From))
			assert.Equal(t, host.ReconcileSummary{ProviderLines: 4, PayhostRecords: 4, Matched: 4}, rep.Summary)
			fee := int64(60 + 15 + 4) // 0.6 % of each payment, floor
			want := host.ReconcileAmounts{Payments: 3, PaymentAmount: 13300, Refunds: 1, RefundAmount: 3000, Fees: fee, Net: 13300 - 3000 - fee}
			assert.Equal(t, []host.ReconcileTotal{{Currency: "CNY", Provider: want, Payhost: want}}, rep.Totals)
			assert.Equal(t, 4, rep.Statement.Lines)
			assert.Len(t, rep.Statement.SHA256, 64)

			stored, err := w.host.GetReconciliation(ctx, rep.ID)
			require.NoError(t, err)
			assert.Equal(t, jsonOf(t, rep), jsonOf(t, stored), "the stored report is the one returned")

			tests := []struct {
				name    string
				m       sim.BillMismatch
				want    map[string][]string
				summary func(s host.ReconcileSummary) bool
			}{
				{"drop a payment", sim.BillMismatch{Kind: sim.BillDropLine, OrderID: d.pay2.ID},
					map[string][]string{host.DiffMissingAtProvider: {d.pay2.ID}}, nil},
				{"drop a refund", sim.BillMismatch{Kind: sim.BillDropLine, OrderID: d.refund.ID},
					map[string][]string{host.DiffMissingAtProvider: {d.refund.ID}}, nil},
				{"change an amount", sim.BillMismatch{Kind: sim.BillChangeAmount, OrderID: d.pay3.ID, Amount: 801},
					map[string][]string{host.DiffAmount: {d.pay3.ID}}, nil},
				{"change a refund's amount", sim.BillMismatch{Kind: sim.BillChangeAmount, OrderID: d.refund.ID, Amount: 2999},
					map[string][]string{host.DiffAmount: {d.refund.ID}}, nil},
				{"change a state", sim.BillMismatch{Kind: sim.BillChangeState, OrderID: d.pay2.ID, State: sim.PayStateClosed},
					map[string][]string{host.DiffStatus: {d.pay2.ID}}, nil},
				{"change a fee", sim.BillMismatch{Kind: sim.BillChangeFee, OrderID: d.pay1.ID, Fee: 61},
					map[string][]string{host.DiffFee: {d.pay1.ID}}, nil},
				{"an order unknown to Payhost", sim.BillMismatch{Kind: sim.BillExtraOrder, MchOrderNo: "portal-7", Amount: 500},
					map[string][]string{host.DiffMissingInPayhost: {"portal-7"}}, nil},
				{"a malformed line", sim.BillMismatch{Kind: sim.BillMalformedLine, OrderID: d.pay3.ID},
					map[string][]string{host.DiffUnparsed: {""}, host.DiffMissingAtProvider: {d.pay3.ID}},
					func(s host.ReconcileSummary) bool {
						return s.Unparsed == 1 && s.MissingAtProvider == 1 && s.Matched == 3
					}},
				{"a line that is not a trade", sim.BillMismatch{Kind: sim.BillMalformedLine, Text: "合计,4,13300"},
					map[string][]string{host.DiffUnparsed: {""}}, nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					w.sim.SetBillMismatches(tt.m)
					defer w.sim.SetBillMismatches()
					rep, err := w.host.Reconcile(ctx, host.ReconcileInput{Account: "main", Date: d.date})
					require.NoError(t, err)
					assert.Equal(t, store.ReconcileDifferences, rep.Status)
					assert.Equal(t, tt.want, kinds(rep))
					if tt.summary != nil {
						assert.True(t, tt.summary(rep.Summary), "%+v", rep.Summary)
					}
					for _, diff := range rep.Differences {
						assert.NotEmpty(t, diff.Detail)
						if diff.Kind == host.DiffUnparsed {
							assert.Positive(t, diff.Line)
							assert.NotEmpty(t, diff.Text)
						}
					}
					assert.Equal(t, before, d.snapshot(t, w.store), "reconciliation changed no payment or refund")
				})
			}

			t.Run("both sides of a difference", func(t *testing.T) {
				w.sim.SetBillMismatches(sim.BillMismatch{Kind: sim.BillChangeAmount, OrderID: d.pay3.ID, Amount: 801})
				defer w.sim.SetBillMismatches()
				rep, err := w.host.Reconcile(ctx, host.ReconcileInput{Account: "main", Date: d.date})
				require.NoError(t, err)
				require.Len(t, rep.Differences, 1)
				diff := rep.Differences[0]
				assert.Equal(t, int64(800), diff.Payhost.Amount)
				assert.Equal(t, int64(801), diff.Provider.Amount)
				assert.Equal(t, d.pay3.ProviderPaymentID, diff.ProviderID)
				assert.Equal(t, "the provider has 8.01 CNY, Payhost 8.00 CNY", diff.Detail)
				assert.Equal(t, int64(1), rep.Totals[0].Difference, "one fen more at the provider")
			})
			assert.Equal(t, before, d.snapshot(t, w.store))

			list, err := w.host.ListReconciliations(ctx, "main", d.date, 0)
			require.NoError(t, err)
			assert.Len(t, list, len(tests)+2)
			assert.NotEqual(t, rep.ID, list[0].ID, "newest first")
			assert.Equal(t, rep.ID, list[len(list)-1].ID)
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestReconcilePayhostBehind: the provider's bill has a payment Payhost
// still has processing (its notification was lost and nobody polled): a
// status mismatch, reported and left alone for a person (or the poller)
// to settle.
func TestReconcilePayhostBehind(t *testing.T) {
	w := newWorld(t, worldOpts{extra: func(c *host.Config) { c.PublicURL = "" }}) // no notification URL
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "behind", Amount: 1200})
	require.NoError(t, err)
	require.Equal(t, core.PaymentProcessing, p.Status)
	require.NoError(t, w.sim.Pay(p.ProviderPaymentID))
	o, ok := w.sim.Order(p.ProviderPaymentID)
	require.True(t, ok)

	rep, err := w.host.Reconcile(context.Background(), host.ReconcileInput{Account: "main", Date: o.SuccessTime.In(china).Format("2006-01-02")})
	require.NoError(t, err)
	require.Len(t, rep.Differences, 1)
	diff := rep.Differences[0]
	assert.Equal(t, host.DiffStatus, diff.Kind)
	assert.Equal(t, "the provider says succeeded, Payhost processing", diff.Detail)
	assert.Equal(t, 0, rep.Summary.PayhostRecords, "Payhost counts no money for the day")
	assert.Equal(t, int64(1200-7), rep.Totals[0].Difference)
	assert.Equal(t, core.PaymentProcessing, w.payment(p.ID).Status, "the report changed nothing")
}

// TestReconcileDateMismatch: both sides agree on a payment, but Payhost
// dates it on another day than the provider.
func TestReconcileDateMismatch(t *testing.T) {
	w := newWorld(t, worldOpts{})
	d := newReconDay(t, w)
	_, err := w.store.UpdatePayment(context.Background(), store.PaymentUpdate{ID: d.pay2.ID, PaidAt: ptrTime(d.pay2.PaidAt.Add(-48 * time.Hour))})
	require.NoError(t, err)
	rep, err := w.host.Reconcile(context.Background(), host.ReconcileInput{Account: "main", Date: d.date})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{host.DiffDate: {d.pay2.ID}}, kinds(rep))
	assert.Equal(t, 3, rep.Summary.Matched)
	assert.Equal(t, 3, rep.Summary.PayhostRecords)
}

func ptrTime(t time.Time) *time.Time { return &t }

// TestReconcileRefused: what Reconcile refuses, and a statement that could
// not be downloaded: an error, no report.
func TestReconcileRefused(t *testing.T) {
	w := newWorld(t, worldOpts{})
	ctx := context.Background()
	today := time.Now().In(china)
	tests := []struct {
		name  string
		in    host.ReconcileInput
		fault *sim.Fault
		code  core.Code
	}{
		{"unknown account", host.ReconcileInput{Account: "nope", Date: today.Format("2006-01-02")}, nil, core.CodeNotFound},
		{"no date", host.ReconcileInput{Account: "main"}, nil, core.CodeInvalidRequest},
		{"not a day", host.ReconcileInput{Account: "main", Date: "2024-02-30"}, nil, core.CodeInvalidRequest},
		{"another format", host.ReconcileInput{Account: "main", Date: "20240514"}, nil, core.CodeInvalidRequest},
		{"a day to come", host.ReconcileInput{Account: "main", Date: today.AddDate(0, 0, 2).Format("2006-01-02")}, nil, core.CodeInvalidRequest},
		{"gateway down", host.ReconcileInput{Account: "main", Date: today.Format("2006-01-02")}, &sim.Fault{Kind: sim.FaultHTTP5xxBefore, PathPrefix: "/api/bill"}, core.CodeProviderUnavailable},
		{"bad signature", host.ReconcileInput{Account: "main", Date: today.Format("2006-01-02")}, &sim.Fault{Kind: sim.FaultBadSign, PathPrefix: "/api/bill"}, core.CodeProviderUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				w.sim.SetFaults(*tt.fault)
				defer w.sim.SetFaults()
			}
			rep, err := w.host.Reconcile(ctx, tt.in)
			assert.Nil(t, rep)
			assert.Equal(t, tt.code, core.CodeOf(err), "%v", err)
		})
	}
	list, err := w.host.ListReconciliations(ctx, "main", "", 0)
	require.NoError(t, err)
	assert.Empty(t, list, "nothing was stored")
	_, err = w.host.GetReconciliation(ctx, "rec_missing")
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.ListReconciliations(ctx, "", "", 0)
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
	_, err = w.host.ListReconciliations(ctx, "main", "", 101)
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
}

// TestReconcileOtherAccount: a line of a payment Payhost took through
// another account is not this account's.
func TestReconcileOtherAccount(t *testing.T) {
	w := newWorld(t, worldOpts{
		rules: "version: 1\ndefault_route:\n  channel: haotian/second/*\n",
		extra: func(c *host.Config) {
			c.Accounts = append(c.Accounts, account("second", c.Accounts[0].Endpoints["gateway"].URL))
		},
	})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "o1", Amount: 300, Method: core.MethodAlipayBarcode,
		Payer: core.Payer{AuthCode: "284567890123456789"}})
	require.NoError(t, err)
	require.Equal(t, "haotian/second/alipay.barcode", p.Channel)
	rep, err := w.host.Reconcile(context.Background(), host.ReconcileInput{Account: "main", Date: p.PaidAt.In(china).Format("2006-01-02")})
	require.NoError(t, err)
	require.Len(t, rep.Differences, 1, "both accounts share the simulator's application, so main's bill lists it")
	assert.Equal(t, host.DiffMissingInPayhost, rep.Differences[0].Kind)
	assert.Equal(t, `payment `+p.ID+` belongs to account "second"`, rep.Differences[0].Detail)
}

// TestParseTimeZone: offsets and IANA names.
func TestParseTimeZone(t *testing.T) {
	for in, secs := range map[string]int{"+08:00": 8 * 3600, "-03:30": -(3*3600 + 30*60), "UTC": 0, "Z": 0} {
		loc, err := host.ParseTimeZone(in)
		require.NoError(t, err, in)
		_, off := time.Date(2024, 5, 14, 0, 0, 0, 0, loc).Zone()
		assert.Equal(t, secs, off, in)
	}
	for _, bad := range []string{"", "Local", "+8:00", "+08", "+15:00", "+08:61", "Mars/Olympus", "+0a:00"} {
		_, err := host.ParseTimeZone(bad)
		assert.Error(t, err, bad)
	}
}

// TestPostgresReconcile is TestReconcile on PostgreSQL.
func TestPostgresReconcile(t *testing.T) { testReconcile(t, postgresStore) }
