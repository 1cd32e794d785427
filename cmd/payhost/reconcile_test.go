package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenReport is a report with one difference of each kind, two
// currencies and a partial day: what printReport must lay out.
func goldenReport() *host.ReconcileReport {
	at := time.Date(2024, 5, 14, 2, 0, 0, 0, time.UTC)
	rec := func(amount, fee int64, status string) *host.ReconcileRecord {
		return &host.ReconcileRecord{Amount: amount, Fee: fee, Status: status, Time: at}
	}
	cny := host.ReconcileAmounts{Payments: 3, PaymentAmount: 13301, Refunds: 1, RefundAmount: 3000, Fees: 79, Net: 10222}
	ours := host.ReconcileAmounts{Payments: 3, PaymentAmount: 13300, Refunds: 1, RefundAmount: 3000, Fees: 79, Net: 10221}
	jpy := host.ReconcileAmounts{Payments: 1, PaymentAmount: 500, Net: 500}
	return &host.ReconcileReport{ID: "rec_01hxy0a0m8v2k3c9d7e5f4g6h1", Object: "reconciliation", Account: "main", Plugin: "haotian",
		Date: "2024-05-14", TimeZone: "+08:00", From: time.Date(2024, 5, 13, 16, 0, 0, 0, time.UTC), To: time.Date(2024, 5, 14, 16, 0, 0, 0, time.UTC),
		Status: "differences", Partial: true,
		Statement: host.ReconcileStatement{Format: "csv", Bytes: 631, SHA256: "9b1f0c6e2a7d4b8e5f3a1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f", Lines: 6, Unparsed: 1},
		Summary: host.ReconcileSummary{ProviderLines: 6, PayhostRecords: 5, Matched: 1, MissingAtProvider: 1, MissingInPayhost: 1,
			AmountMismatches: 1, StatusMismatches: 1, FeeMismatches: 1, DateMismatches: 1, Unparsed: 1},
		Totals: []host.ReconcileTotal{{Currency: "CNY", Provider: cny, Payhost: ours, Difference: 1},
			{Currency: "JPY", Provider: jpy, Payhost: host.ReconcileAmounts{}, Difference: 500}},
		Differences: []host.ReconcileDifference{
			{Kind: host.DiffAmount, ObjectType: "payment", ObjectID: "pay_01hxy0a0m8aaaa", ProviderID: "P1700000000000000003", Currency: "CNY",
				Payhost: rec(800, 4, "succeeded"), Provider: rec(801, 4, "succeeded"), Line: 2, Detail: "the provider has 8.01 CNY, Payhost 8.00 CNY"},
			{Kind: host.DiffStatus, ObjectType: "payment", ObjectID: "pay_01hxy0a0m8bbbb", ProviderID: "P1700000000000000002", Currency: "CNY",
				Payhost: rec(2500, 15, "succeeded"), Provider: rec(2500, 15, "closed"), Line: 3, Detail: "the provider says closed, Payhost succeeded"},
			{Kind: host.DiffFee, ObjectType: "payment", ObjectID: "pay_01hxy0a0m8cccc", ProviderID: "P1700000000000000001", Currency: "CNY",
				Payhost: rec(10000, 60, "succeeded"), Provider: rec(10000, 61, "succeeded"), Line: 4, Detail: "the provider charged 0.61 CNY, Payhost recorded 0.60 CNY"},
			{Kind: host.DiffUnparsed, Line: 5, Text: "PAY,P9,P9,pay_x,,wxpay,WX_BAR,cny,1O0,0,2,2024-05-14 10:00:00", Detail: `amount "1O0" is not a positive whole number of fen`},
			{Kind: host.DiffMissingInPayhost, ObjectType: "payment", ObjectID: "portal-1", ProviderID: "P9000000000000000001", Currency: "JPY",
				Provider: rec(500, 0, "succeeded"), Line: 6, Detail: "Payhost has no payment portal-1"},
			{Kind: host.DiffDate, ObjectType: "refund", ObjectID: "re_01hxy0a0m8dddd", ProviderID: "R1700000000000000001", PaymentID: "pay_01hxy0a0m8cccc",
				Currency: "CNY", Payhost: rec(3000, 0, "succeeded"), Provider: rec(3000, 0, "succeeded"), Line: 7, Detail: "both agree, but Payhost dates it 2024-05-13 23:59:59"},
			{Kind: host.DiffMissingAtProvider, ObjectType: "payment", ObjectID: "pay_01hxy0a0m8eeee", ProviderID: "P1700000000000000004", Currency: "CNY",
				Payhost: rec(1200, 7, "succeeded"), Detail: "Payhost has this payment succeeded in the day; the statement does not list it"},
		},
		CreatedAt: time.Date(2024, 5, 14, 3, 0, 0, 0, time.UTC)}
}

// TestReconcileReportGolden: the printed report (testdata/reconcile/
// report.txt; go test -run TestReconcileReportGolden -update rewrites it).
func TestReconcileReportGolden(t *testing.T) {
	tests := []struct {
		name string
		rep  func() *host.ReconcileReport
	}{
		{"report.txt", goldenReport},
		{"matched.txt", func() *host.ReconcileReport {
			r := goldenReport()
			r.Status, r.Partial, r.Differences = "matched", false, nil
			r.Totals = r.Totals[:1]
			r.Totals[0].Provider, r.Totals[0].Difference = r.Totals[0].Payhost, 0
			r.Summary = host.ReconcileSummary{ProviderLines: 4, PayhostRecords: 4, Matched: 4}
			r.Statement.Lines, r.Statement.Unparsed, r.Statement.Bytes = 4, 0, 412
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printReport(&b, tt.rep())
			path := filepath.Join("testdata", "reconcile", tt.name)
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -run TestReconcileReportGolden -update")
			assert.Equal(t, string(want), b.String())
		})
	}
}

// reconcileCmd runs `payhost reconcile` in-process.
func reconcileCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), &cmdEnv{stdout: &out, stderr: &errb, getenv: func(k string) string { return serveEnv[k] }},
		append([]string{"reconcile"}, args...))
	return code, out.String(), errb.String()
}

// TestReconcileCommand: `payhost reconcile` on the configuration of a
// running `payhost serve` (its SQLite file, the wasm plugin, the
// simulator): exit 0 when the day matches, 1 with differences, 2 for usage
// errors, 3 when no report could be made; --json prints the report.
func TestReconcileCommand(t *testing.T) {
	gw := newGateway(t)
	path := serveConfig(t, gw.srv.URL)
	srv := startServe(t, path, serveEnv)
	r := call(t, "POST", srv.url+"/v1/payments", serveEnv["ACME_API_KEY"], "recon-1",
		`{"amount":2000,"currency":"CNY","method":"alipay.barcode","payer":{"auth_code":"284567890123456789"}}`)
	require.Equal(t, 201, r.status, "%s", r.body)
	p := r.obj(t)
	require.Equal(t, "succeeded", p["status"])
	eventually(t, "the notification", func() bool { return len(gw.sim.PendingNotifications()) == 0 })
	paid, err := time.Parse(time.RFC3339Nano, p["paid_at"].(string))
	require.NoError(t, err)
	date := paid.In(time.FixedZone("", 8*3600)).Format("2006-01-02")
	args := []string{"--config", path, "--account", "main", "--date", date}

	code, out, errOut := reconcileCmd(args...)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "status: matched")
	assert.Contains(t, out, "of account main (haotian) for "+date+", time zone +08:00")
	assert.Empty(t, errOut, "nothing to say on stderr")

	gw.sim.SetBillMismatches(sim.BillMismatch{Kind: sim.BillChangeAmount, OrderID: p["id"].(string), Amount: 2001})
	code, out, _ = reconcileCmd(args...)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "status: DIFFERENCES (1)")
	assert.Contains(t, out, "amount_mismatch")
	assert.Contains(t, out, "the provider has 20.01 CNY, Payhost 20.00 CNY")

	code, out, _ = reconcileCmd(append(args, "--json")...)
	assert.Equal(t, 1, code)
	var rep host.ReconcileReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.Equal(t, "differences", rep.Status)
	stored := call(t, "GET", srv.url+"/admin/reconciliations/"+rep.ID, serveEnv["ADMIN_TOKEN"], "", "")
	assert.Equal(t, 200, stored.status, "the command's report is stored where the server finds it: %s", stored.body)

	gw.sim.SetBillMismatches()
	gw.sim.SetFaults(sim.Fault{Kind: sim.FaultHTTP5xxBefore, PathPrefix: "/api/bill"})
	code, out, errOut = reconcileCmd(args...)
	assert.Equal(t, 3, code, "the provider failed: no report")
	assert.Empty(t, out)
	assert.Contains(t, errOut, string(core.CodeProviderUnavailable))
	gw.sim.SetFaults()

	usage := []struct {
		name string
		args []string
		code int
	}{
		{"no flags", nil, 2},
		{"no date", []string{"--config", path, "--account", "main"}, 2},
		{"not a day", []string{"--config", path, "--account", "main", "--date", "2024-5-14"}, 2},
		{"an extra argument", append(args, "extra"), 2},
		{"an unknown flag", append(args, "--verbose"), 2},
		{"an unknown account", []string{"--config", path, "--account", "nope", "--date", date}, 2},
		{"a day to come", []string{"--config", path, "--account", "main", "--date", "2999-01-01"}, 2},
		{"no such configuration", []string{"--config", filepath.Join(t.TempDir(), "none.yaml"), "--account", "main", "--date", date}, 3},
	}
	for _, tt := range usage {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := reconcileCmd(tt.args...)
			assert.Equal(t, tt.code, code, "stdout %s stderr %s", out, errOut)
			assert.NotEmpty(t, errOut)
			if tt.code == 2 {
				assert.True(t, strings.Contains(errOut, "usage:") || strings.Contains(errOut, "payhost reconcile:"), errOut)
			}
		})
	}
}
