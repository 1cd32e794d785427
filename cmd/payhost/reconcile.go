package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // accounts may name their time_zone by IANA name on hosts without a zone database

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/config"
)

func init() {
	register(&command{path: "reconcile", usage: "--config FILE --account A --date D [--json]",
		summary: "compare a day's provider statement with Payhost's records (docs/reconciliation.md)", run: runReconcile})
}

// Exit codes of payhost reconcile.
const (
	reconcileMatched     = 0 // everything matched
	reconcileDifferences = 1 // the report lists differences
	reconcileUsage       = 2 // bad flags, a malformed date, an unknown account
	reconcileFailed      = 3 // no report: the configuration, the store or the provider failed
)

// runReconcile opens the store and the engine of a payhost configuration
// (without serving, polling or delivering webhooks), reconciles one
// account for one day, stores the report and prints it.
func runReconcile(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("payhost reconcile", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	path := fs.String("config", "", "configuration `FILE`, the one of payhost serve (docs/configuration.md)")
	account := fs.String("account", "", "the provider `ACCOUNT`, as configured")
	date := fs.String("date", "", "the `DAY`, YYYY-MM-DD in the account's time zone")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return flagExit(err, reconcileUsage)
	}
	usage := "usage: payhost reconcile --config FILE --account A --date YYYY-MM-DD [--json]"
	if *path == "" || *account == "" || *date == "" || fs.NArg() > 0 {
		fmt.Fprintln(env.stderr, usage)
		return reconcileUsage
	}
	if d, err := time.Parse("2006-01-02", *date); err != nil || d.Format("2006-01-02") != *date {
		fmt.Fprintf(env.stderr, "payhost reconcile: --date %q is not a day (YYYY-MM-DD)\n%s\n", *date, usage)
		return reconcileUsage
	}
	cfg, err := config.Load(*path, config.Options{Environ: environ()})
	if err != nil {
		fmt.Fprintln(env.stderr, "payhost reconcile:", err)
		return reconcileFailed
	}
	rep, err := reconcileWith(ctx, cfg, env, host.ReconcileInput{Account: *account, Date: *date})
	if err != nil {
		fmt.Fprintln(env.stderr, "payhost reconcile:", err)
		switch ce := core.AsError(err); {
		case ce.Code == core.CodeNotFound && ce.Param == "account", ce.Code == core.CodeInvalidRequest && ce.Param == "date":
			return reconcileUsage
		}
		return reconcileFailed
	}
	if *asJSON {
		out, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			fmt.Fprintln(env.stderr, "payhost reconcile:", err)
			return reconcileFailed
		}
		fmt.Fprintln(env.stdout, string(out))
	} else {
		printReport(env.stdout, rep)
	}
	if rep.Status != "matched" {
		return reconcileDifferences
	}
	return reconcileMatched
}

// reconcileWith opens what the configuration names (the store, the
// plugins and accounts; no listener, no rules, no background work), runs
// the reconciliation and closes everything. Errors are redacted.
func reconcileWith(ctx context.Context, cfg *config.Config, env *cmdEnv, in host.ReconcileInput) (_ *host.ReconcileReport, err error) {
	red := caps.NewRedactor()
	lc := cfg.Log
	if lc.Level == "" || lc.Level == "info" {
		lc.Level = "warn" // stdout is the report; stderr only says what went wrong
	}
	log := newLogger(env.stderr, lc, red)
	dsn := ""
	if cfg.Store.Driver == "postgres" {
		dsn = cfg.Store.DSN
		if config.IsRef(dsn) {
			if dsn, err = config.Resolve(dsn, env.getenv); err != nil {
				return nil, fmt.Errorf("store.dsn: %w", err)
			}
		}
		red.AddSecret(dsn)
	}
	defer func() {
		if err != nil {
			var ce *core.Error
			if errors.As(err, &ce) {
				out := *ce
				out.Message = red.String(ce.Message)
				err = &out
				return
			}
			err = errors.New(red.String(err.Error()))
		}
	}()
	st, err := openStore(ctx, cfg.Store, dsn)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	hc := cfg.Host()
	hc.Store, hc.Logger = st, log
	hc.Keys = caps.NewKeyStore(red).WithEnv(env.getenv)
	hc.Poll.Disabled, hc.Webhooks.Disabled = true, true
	h, err := host.New(ctx, hc)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, h.Close(context.WithoutCancel(ctx))) }()
	return h.Reconcile(ctx, in)
}

// printReport writes a report as text: a header, the totals per currency,
// the counts, and a table of the differences.
func printReport(w io.Writer, rep *host.ReconcileReport) {
	fmt.Fprintf(w, "reconciliation %s of account %s (%s) for %s, time zone %s\n", rep.ID, rep.Account, rep.Plugin, rep.Date, rep.TimeZone)
	st := rep.Statement
	format := st.Format
	if format == "" {
		format = "?"
	}
	fmt.Fprintf(w, "statement: %s, %d lines, %d unparsed, %d bytes", format, st.Lines, st.Unparsed, st.Bytes)
	if st.SHA256 != "" {
		fmt.Fprintf(w, ", sha256 %s", st.SHA256)
	}
	fmt.Fprintln(w)
	if rep.Status == "matched" {
		fmt.Fprintln(w, "status: matched")
	} else {
		fmt.Fprintf(w, "status: DIFFERENCES (%d)\n", len(rep.Differences))
	}
	if rep.Partial {
		fmt.Fprintln(w, "note: the day had not ended; the provider may list more later")
	}

	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CURRENCY\tSIDE\tPAYMENTS\tAMOUNT\tREFUNDS\tAMOUNT\tFEES\tNET")
	for _, t := range rep.Totals {
		for _, s := range []struct {
			name string
			a    host.ReconcileAmounts
		}{{"provider", t.Provider}, {"payhost", t.Payhost}} {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\n", t.Currency, s.name, s.a.Payments, reconMinor(s.a.PaymentAmount, t.Currency),
				s.a.Refunds, reconMinor(s.a.RefundAmount, t.Currency), reconMinor(s.a.Fees, t.Currency), reconMinor(s.a.Net, t.Currency))
		}
		fmt.Fprintf(tw, "%s\tdifference\t\t\t\t\t\t%s\n", t.Currency, reconMinor(t.Difference, t.Currency))
	}
	if len(rep.Totals) == 0 {
		fmt.Fprintln(tw, "-\t(nothing on either side)\t\t\t\t\t\t")
	}
	_ = tw.Flush()

	s := rep.Summary
	fmt.Fprintf(w, "\nprovider lines %d, Payhost records %d: matched %d, missing at provider %d, missing in Payhost %d, "+
		"amount %d, status %d, fee %d, date %d, unparsed %d", s.ProviderLines, s.PayhostRecords, s.Matched, s.MissingAtProvider,
		s.MissingInPayhost, s.AmountMismatches, s.StatusMismatches, s.FeeMismatches, s.DateMismatches, s.Unparsed)
	if s.OtherLines > 0 {
		fmt.Fprintf(w, ", other lines not compared %d", s.OtherLines)
	}
	fmt.Fprintln(w)
	if len(rep.Differences) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tOBJECT\tPROVIDER ID\tLINE\tPAYHOST\tPROVIDER\tDETAIL")
	for _, d := range rep.Differences {
		object := strings.TrimSpace(d.ObjectType + " " + d.ObjectID)
		line := ""
		if d.Line > 0 {
			line = strconv.Itoa(d.Line)
		}
		detail := d.Detail
		if d.Text != "" {
			detail += ": " + strconv.Quote(d.Text)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Kind, reconDash(object), reconDash(d.ProviderID), reconDash(line),
			reconSide(d.Payhost, d.Currency), reconSide(d.Provider, d.Currency), detail)
	}
	_ = tw.Flush()
}

// reconSide is one side's view in the differences table: "8.00 succeeded".
func reconSide(r *host.ReconcileRecord, c core.Currency) string {
	if r == nil {
		return "-"
	}
	return reconMinor(r.Amount, c) + " " + r.Status
}

func reconDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// reconMinor formats minor units with the currency's exponent, without the
// currency: 1000 CNY is "10.00".
func reconMinor(v int64, c core.Currency) string {
	exp, ok := c.Exponent()
	if !ok || exp == 0 {
		return strconv.FormatInt(v, 10)
	}
	sign, u := "", uint64(v)
	if v < 0 {
		sign, u = "-", -u
	}
	p := uint64(1)
	for range exp {
		p *= 10
	}
	return fmt.Sprintf("%s%d.%0*d", sign, u/p, exp, u%p)
}
