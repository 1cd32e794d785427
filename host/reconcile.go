package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/host/reconcile"
	"github.com/payhost/payhost/host/store"
)

// Reconciliation: the engine's side of package reconcile (the statement
// downloaded through the account's plugin, the day's records read, the
// report stored).

// TimeZoneConfig is the account configuration value that says in which time
// zone the provider's statement days are: a UTC offset ("+08:00", "UTC") or
// an IANA name ("Asia/Shanghai"). A plugin declares it in its manifest with
// its provider's default (Haotian: "+08:00"); without it a day is a UTC day.
const TimeZoneConfig = "time_zone"

// The report types of a reconciliation (package reconcile).
type (
	ReconcileReport     = reconcile.Report
	ReconcileStatement  = reconcile.Statement
	ReconcileSummary    = reconcile.Summary
	ReconcileTotal      = reconcile.Total
	ReconcileAmounts    = reconcile.Amounts
	ReconcileDifference = reconcile.Difference
	ReconcileRecord     = reconcile.Record
)

// Kinds of reconciliation differences (package reconcile).
const (
	DiffMissingAtProvider = reconcile.DiffMissingAtProvider
	DiffMissingInPayhost  = reconcile.DiffMissingInPayhost
	DiffAmount            = reconcile.DiffAmount
	DiffStatus            = reconcile.DiffStatus
	DiffFee               = reconcile.DiffFee
	DiffDate              = reconcile.DiffDate
	DiffUnparsed          = reconcile.DiffUnparsed
)

// ReconcileInput asks for the reconciliation of one account for one day.
type ReconcileInput struct {
	// Account is the provider account (its name in the configuration).
	Account string `json:"account"`
	// Date is the day, YYYY-MM-DD, in the account's time zone: its
	// TimeZoneConfig value (Haotian: +08:00, China time), UTC without one.
	Date string `json:"date"`
}

// maxReconcileList bounds a list of reports.
const maxReconcileList = 100

// Reconcile downloads the account's statement of in.Date through its
// plugin, compares it with the account's payments and refunds of that day,
// stores the report and returns it. It changes no payment or refund.
//
// Payhost's records of the day are its succeeded payments paid in the day
// and its succeeded refunds that succeeded in it. Each statement line is
// looked up by its object id (whatever the day or status Payhost has),
// then compared: amount and currency, status, and for payments the fee the
// provider reported. Errors: not_found (no such account), invalid_request
// (a date that is not YYYY-MM-DD, or a day that has not begun),
// unsupported (the plugin has no statements), and the plugin's own errors
// (a statement whose signature does not verify, or credentials the provider
// refuses, are provider_unavailable: they are not the caller's fault).
func (h *Host) Reconcile(ctx context.Context, in ReconcileInput) (*ReconcileReport, error) {
	a, ok := h.accounts[in.Account]
	if !ok {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "account", Message: fmt.Sprintf("no account %q on this host", in.Account)}
	}
	loc, zone, err := accountZone(a)
	if err != nil {
		return nil, err
	}
	day, err := time.ParseInLocation("2006-01-02", in.Date, loc)
	if err != nil || day.Format("2006-01-02") != in.Date {
		return nil, bad("date", "date must be a day, YYYY-MM-DD")
	}
	now := h.now()
	from, to := day, day.AddDate(0, 0, 1)
	if !now.After(from) {
		return nil, bad("date", "%s has not begun in %s", in.Date, zone)
	}
	if !supports(a, core.OpStatementDownload) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + a.plugin.Manifest().Name + " cannot download statements"}
	}
	rep := &ReconcileReport{ID: newID("rec_", now), Object: "reconciliation", Account: a.name, Plugin: a.plugin.Manifest().Name,
		Date: in.Date, TimeZone: zone, From: from.UTC(), To: to.UTC(), Partial: now.Before(to),
		Totals: []ReconcileTotal{}, Differences: []ReconcileDifference{}}

	st, err := h.downloadStatement(ctx, a, rep.ID, in.Date)
	if err != nil {
		return nil, err
	}
	payments, refunds, err := h.store.AccountActivity(ctx, a.name, from, to)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "read the day's records")
	}
	if err := reconcile.Compare(ctx, h.store, rep, a.name, from, to, loc, st, payments, refunds); err != nil {
		return nil, err
	}

	rep.CreatedAt = h.now()
	body, err := json.Marshal(rep)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "encode the report")
	}
	if err := h.store.InsertReconciliation(ctx, &store.Reconciliation{ID: rep.ID, Account: rep.Account, Plugin: rep.Plugin,
		Date: rep.Date, Status: rep.Status, Report: body, CreatedAt: rep.CreatedAt}); err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "store the report")
	}
	h.log.Info("reconciliation", "id", rep.ID, "account", rep.Account, "date", rep.Date, "status", rep.Status,
		"matched", rep.Summary.Matched, "differences", len(rep.Differences))
	return rep, nil
}

// GetReconciliation returns a stored report.
func (h *Host) GetReconciliation(ctx context.Context, id string) (*ReconcileReport, error) {
	rec, err := h.store.GetReconciliation(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no reconciliation " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load reconciliation")
	}
	return decodeReport(rec)
}

// ListReconciliations returns the stored reports of an account (of one
// day when date is set), newest first, at most limit (1–100; 0 means 20).
func (h *Host) ListReconciliations(ctx context.Context, account, date string, limit int) ([]*ReconcileReport, error) {
	if account == "" {
		return nil, bad("account", "account is required")
	}
	if limit == 0 {
		limit = 20
	}
	if limit < 0 || limit > maxReconcileList {
		return nil, bad("limit", "limit must be between 1 and %d", maxReconcileList)
	}
	recs, err := h.store.ListReconciliations(ctx, account, date, limit)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list reconciliations")
	}
	out := make([]*ReconcileReport, 0, len(recs))
	for _, rec := range recs {
		rep, err := decodeReport(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, rep)
	}
	return out, nil
}

func decodeReport(rec *store.Reconciliation) (*ReconcileReport, error) {
	var rep ReconcileReport
	if err := json.Unmarshal(rec.Report, &rep); err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "decode reconciliation %s", rec.ID)
	}
	return &rep, nil
}

// downloadStatement calls the plugin's statement.download; the attempt is
// recorded under the report's id.
func (h *Host) downloadStatement(ctx context.Context, a *account, reportID, date string) (*core.DownloadStatementResponse, error) {
	c := core.Channel{Plugin: a.plugin.Manifest().Name, Account: a.name}
	if err := commitBeforeCall(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	st, err := plugin.Call[core.DownloadStatementResponse](ctx, a.plugin, a.binding, core.OpStatementDownload,
		&core.DownloadStatementRequest{Date: date, Kind: core.StatementTrade})
	d := time.Since(start)
	if h.cfg.Observer != nil {
		h.cfg.Observer.ProviderCall(c, core.OpStatementDownload, core.CodeOf(err), d)
	}
	h.recordAttempt(ctx, reportID, core.OpStatementDownload, c, err, d)
	if err != nil {
		h.log.Warn("statement download failed", "account", a.name, "date", date, "code", core.CodeOf(err), "err", err)
		ce := core.AsError(err)
		if ce.Code == core.CodeSignatureInvalid || ce.Code == core.CodeAuthFailed {
			// the provider's answer, or its view of the account's keys: not
			// the caller's request, so not a 400 or 401 to whoever asked
			out := *ce
			out.Code, out.Err = core.CodeProviderUnavailable, err
			out.Message = "the statement could not be obtained: " + ce.Message
			return nil, &out
		}
		return nil, err
	}
	if st.Date != "" && st.Date != date {
		return nil, core.Errorf(core.CodePluginFailure, "plugin answered the statement of %q for %s", st.Date, date)
	}
	return st, nil
}

// accountZone is the account's time zone and its name.
func accountZone(a *account) (*time.Location, string, error) {
	v, ok := a.binding.Config(TimeZoneConfig)
	if !ok || v == "" {
		return time.UTC, "UTC", nil
	}
	loc, err := ParseTimeZone(v)
	if err != nil {
		return nil, "", &core.Error{Code: core.CodeInvalidRequest, Param: TimeZoneConfig,
			Message: fmt.Sprintf("account %s: %v", a.name, err)}
	}
	return loc, v, nil
}

// ParseTimeZone reads a time zone: a UTC offset (+08:00, -05:30, UTC, Z)
// or an IANA name (Asia/Shanghai; the binary must then have the time zone
// database, e.g. by importing time/tzdata).
func ParseTimeZone(s string) (*time.Location, error) {
	switch {
	case s == "UTC" || s == "Z":
		return time.UTC, nil
	case strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-"):
		if len(s) == 6 && s[3] == ':' && digits(s[1:3]) && digits(s[4:6]) {
			hh, _ := strconv.Atoi(s[1:3])
			mm, _ := strconv.Atoi(s[4:6])
			if hh <= 14 && mm < 60 {
				secs := hh*3600 + mm*60
				if s[0] == '-' {
					secs = -secs
				}
				return time.FixedZone("UTC"+s, secs), nil
			}
		}
		return nil, fmt.Errorf("time zone %q is not an offset like +08:00", s)
	}
	loc, err := time.LoadLocation(s)
	if err != nil || s == "" || s == "Local" {
		return nil, fmt.Errorf("time zone %q is neither an offset like +08:00 nor a known IANA name", s)
	}
	return loc, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
