package host

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/host/store"
)

// Reconciliation compares a provider's statement of one day with Payhost's
// records of that day and reports what differs. It reads; it never changes a
// payment or a refund: what to do about a difference is a person's call.

// TimeZoneConfig is the account configuration value that says in which time
// zone the provider's statement days are: a UTC offset ("+08:00", "UTC") or
// an IANA name ("Asia/Shanghai"). A plugin declares it in its manifest with
// its provider's default (Haotian: "+08:00"); without it a day is a UTC day.
const TimeZoneConfig = "time_zone"

// Kinds of reconciliation differences.
const (
	DiffMissingAtProvider = "missing_at_provider" // Payhost has it in the day; the statement does not list it
	DiffMissingInPayhost  = "missing_in_payhost"  // the statement lists it; Payhost has no such object of this account
	DiffAmount            = "amount_mismatch"     // both have it; the amounts (or currencies) differ
	DiffStatus            = "status_mismatch"     // both have it; the statuses differ
	DiffFee               = "fee_mismatch"        // both have the payment; the provider's fee differs from the one Payhost recorded
	DiffDate              = "date_mismatch"       // both agree on it, but Payhost dates it on another day
	DiffUnparsed          = "unparsed_line"       // a statement line the plugin could not parse
)

// ReconcileInput asks for the reconciliation of one account for one day.
type ReconcileInput struct {
	// Account is the provider account (its name in the configuration).
	Account string `json:"account"`
	// Date is the day, YYYY-MM-DD, in the account's time zone: its
	// TimeZoneConfig value (Haotian: +08:00, China time), UTC without one.
	Date string `json:"date"`
}

// ReconcileReport is the outcome of a reconciliation. It is stored, so
// GetReconciliation shows it again.
type ReconcileReport struct {
	ID       string `json:"id"`     // rec_...
	Object   string `json:"object"` // "reconciliation"
	Account  string `json:"account"`
	Plugin   string `json:"plugin"`
	Date     string `json:"date"`
	TimeZone string `json:"time_zone"`
	// From and To bound the day: [From, To).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Status is "matched" when nothing differs, else "differences".
	Status string `json:"status"`
	// Partial is set when the day had not ended when the report was made:
	// the provider may list more later.
	Partial     bool                  `json:"partial"`
	Statement   ReconcileStatement    `json:"statement"`
	Summary     ReconcileSummary      `json:"summary"`
	Totals      []ReconcileTotal      `json:"totals"`
	Differences []ReconcileDifference `json:"differences"`
	CreatedAt   time.Time             `json:"created_at"`
}

// ReconcileStatement describes the statement the report compared.
type ReconcileStatement struct {
	Format   string `json:"format,omitempty"`
	Bytes    int    `json:"bytes"`            // size of the raw file
	SHA256   string `json:"sha256,omitempty"` // of the raw file, hex
	Lines    int    `json:"lines"`            // canonical lines
	Unparsed int    `json:"unparsed"`         // lines the plugin could not parse
}

// ReconcileSummary counts what the comparison found. An object can count
// in several mismatch kinds (amount and status, say).
type ReconcileSummary struct {
	ProviderLines     int `json:"provider_lines"`  // payment and refund lines of the statement
	PayhostRecords    int `json:"payhost_records"` // Payhost's succeeded payments and refunds of the day
	Matched           int `json:"matched"`
	MissingAtProvider int `json:"missing_at_provider"`
	MissingInPayhost  int `json:"missing_in_payhost"`
	AmountMismatches  int `json:"amount_mismatches"`
	StatusMismatches  int `json:"status_mismatches"`
	FeeMismatches     int `json:"fee_mismatches"`
	DateMismatches    int `json:"date_mismatches"`
	Unparsed          int `json:"unparsed"`
	OtherLines        int `json:"other_lines"` // lines of other kinds (splits, payouts, fees, adjustments): not compared
}

// ReconcileTotal sums one currency on both sides.
type ReconcileTotal struct {
	Currency core.Currency    `json:"currency"`
	Provider ReconcileAmounts `json:"provider"` // the statement's succeeded payment and refund lines
	Payhost  ReconcileAmounts `json:"payhost"`  // Payhost's succeeded payments and refunds of the day
	// Difference is Provider.Net − Payhost.Net.
	Difference int64 `json:"difference"`
}

// ReconcileAmounts are the sums of one side, in minor units.
type ReconcileAmounts struct {
	Payments      int   `json:"payments"`
	PaymentAmount int64 `json:"payment_amount"`
	Refunds       int   `json:"refunds"`
	RefundAmount  int64 `json:"refund_amount"`
	Fees          int64 `json:"fees"`
	Net           int64 `json:"net"` // payment_amount − refund_amount − fees
}

// ReconcileDifference is one thing that differs.
type ReconcileDifference struct {
	Kind       string        `json:"kind"`                  // Diff*
	ObjectType string        `json:"object_type,omitempty"` // payment or refund
	ObjectID   string        `json:"object_id,omitempty"`   // Payhost's id (the provider's merchant order number)
	ProviderID string        `json:"provider_id,omitempty"`
	PaymentID  string        `json:"payment_id,omitempty"` // a refund's payment
	Currency   core.Currency `json:"currency,omitempty"`
	// Payhost and Provider are each side's view; nil when that side has
	// nothing.
	Payhost  *ReconcileRecord `json:"payhost,omitempty"`
	Provider *ReconcileRecord `json:"provider,omitempty"`
	Line     int              `json:"line,omitempty"` // the statement's line
	Text     string           `json:"text,omitempty"` // an unparsed line's text
	Detail   string           `json:"detail"`
}

// ReconcileRecord is one side's view of an object.
type ReconcileRecord struct {
	Amount int64     `json:"amount"`
	Fee    int64     `json:"fee"`
	Status string    `json:"status"`
	Time   time.Time `json:"time,omitzero"` // paid or succeeded
}

// Limits of a reconciliation.
const (
	maxReconcileText = 512 // bytes of an unparsed line kept in a report
	maxReconcileList = 100
)

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
	r := &reconciler{h: h, rep: rep, account: a.name, from: from, to: to, loc: loc,
		payments: map[string]*store.Payment{}, refunds: map[string]*store.Refund{}, seen: map[string]int{},
		expected: map[string]bool{}, totals: map[core.Currency]*ReconcileTotal{}}
	r.expect(payments, refunds)
	if err := r.compare(ctx, st); err != nil {
		return nil, err
	}
	r.finish(payments, refunds)

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

// reconciler holds one comparison's state.
type reconciler struct {
	h        *Host
	rep      *ReconcileReport
	account  string
	from, to time.Time
	loc      *time.Location
	payments map[string]*store.Payment // looked up or of the day, by id
	refunds  map[string]*store.Refund
	expected map[string]bool // kind:id of Payhost's records of the day not yet listed
	seen     map[string]int  // kind:id → the line that listed it
	totals   map[core.Currency]*ReconcileTotal
	diffs    []ReconcileDifference // from lines, in line order
}

func key(kind core.LineKind, id string) string { return string(kind) + ":" + id }

func (r *reconciler) total(c core.Currency) *ReconcileTotal {
	t := r.totals[c]
	if t == nil {
		t = &ReconcileTotal{Currency: c}
		r.totals[c] = t
	}
	return t
}

// expect takes in Payhost's records of the day.
func (r *reconciler) expect(payments []*store.Payment, refunds []*store.Refund) {
	for _, p := range payments {
		r.payments[p.ID] = p
		if p.Status == string(core.PaymentSucceeded) {
			r.expected[key(core.LinePayment, p.ID)] = true
			t := r.total(core.Currency(p.Currency))
			t.Payhost.Payments++
			t.Payhost.PaymentAmount += p.Amount
			t.Payhost.Fees += p.FeeAmount
		}
	}
	for _, rf := range refunds {
		r.refunds[rf.ID] = rf
		if rf.Status == string(core.RefundSucceeded) {
			r.expected[key(core.LineRefund, rf.ID)] = true
			t := r.total(core.Currency(rf.Currency))
			t.Payhost.Refunds++
			t.Payhost.RefundAmount += rf.Amount
		}
	}
	r.rep.Summary.PayhostRecords = len(r.expected)
}

// compare walks the statement's lines.
func (r *reconciler) compare(ctx context.Context, st *core.DownloadStatementResponse) error {
	sum := sha256.Sum256(st.Raw)
	r.rep.Statement = ReconcileStatement{Format: st.Format, Bytes: len(st.Raw), Lines: len(st.Lines), Unparsed: len(st.Unparsed)}
	if len(st.Raw) > 0 {
		r.rep.Statement.SHA256 = hex.EncodeToString(sum[:])
	}
	for _, l := range st.Lines {
		var err error
		switch l.Kind {
		case core.LinePayment:
			err = r.paymentLine(ctx, l)
		case core.LineRefund:
			err = r.refundLine(ctx, l)
		default:
			r.rep.Summary.OtherLines++
			continue
		}
		if err != nil {
			return err
		}
		r.rep.Summary.ProviderLines++
		if l.Status == string(core.PaymentSucceeded) { // the same word for refunds
			t := r.total(l.Currency)
			if l.Kind == core.LinePayment {
				t.Provider.Payments++
				t.Provider.PaymentAmount += l.Amount
			} else {
				t.Provider.Refunds++
				t.Provider.RefundAmount += l.Amount
			}
			t.Provider.Fees += l.FeeAmount
		}
	}
	for _, u := range st.Unparsed {
		r.diffs = append(r.diffs, ReconcileDifference{Kind: DiffUnparsed, Line: u.Line, Text: cleanText(u.Text, maxReconcileText),
			Detail: cleanText(u.Reason, maxReconcileText)})
	}
	return nil
}

func lineRecord(l core.StatementLine) *ReconcileRecord {
	return &ReconcileRecord{Amount: l.Amount, Fee: l.FeeAmount, Status: l.Status, Time: l.Time}
}

// listedBefore reports a line naming an object an earlier line named.
func (r *reconciler) listedBefore(l core.StatementLine, objectType string) bool {
	k := key(l.Kind, l.ObjectID)
	first, dup := r.seen[k]
	if !dup {
		r.seen[k] = l.Line
		return false
	}
	r.diffs = append(r.diffs, ReconcileDifference{Kind: DiffMissingInPayhost, ObjectType: objectType, ObjectID: cleanText(l.ObjectID, 128),
		ProviderID: cleanText(l.ProviderID, 128), PaymentID: cleanText(l.PaymentID, 128), Currency: l.Currency, Provider: lineRecord(l), Line: l.Line,
		Detail: fmt.Sprintf("the statement lists this %s again (first at line %d)", objectType, first)})
	return true
}

func (r *reconciler) missing(l core.StatementLine, objectType, detail string) {
	r.diffs = append(r.diffs, ReconcileDifference{Kind: DiffMissingInPayhost, ObjectType: objectType, ObjectID: cleanText(l.ObjectID, 128),
		ProviderID: cleanText(l.ProviderID, 128), PaymentID: cleanText(l.PaymentID, 128), Currency: l.Currency, Provider: lineRecord(l),
		Line: l.Line, Detail: detail})
}

// lookupPayment finds a payment of the account by id, nil when there is none.
func (r *reconciler) lookupPayment(ctx context.Context, id string) (*store.Payment, error) {
	if p, ok := r.payments[id]; ok {
		return p, nil
	}
	if !lookupable(id) {
		return nil, nil
	}
	p, err := r.h.store.GetPayment(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load payment")
	}
	r.payments[id] = p
	return p, nil
}

// lookupable: ids a store can be asked about (the plugin's text is not trusted).
func lookupable(id string) bool {
	return id != "" && len(id) <= 256 && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

func (r *reconciler) paymentLine(ctx context.Context, l core.StatementLine) error {
	if r.listedBefore(l, "payment") {
		return nil
	}
	p, err := r.lookupPayment(ctx, l.ObjectID)
	if err != nil {
		return err
	}
	switch {
	case l.ObjectID == "":
		r.missing(l, "payment", "the line names no payment")
		return nil
	case p == nil:
		r.missing(l, "payment", "Payhost has no payment "+cleanText(l.ObjectID, 128))
		return nil
	case p.Account != r.account:
		r.missing(l, "payment", fmt.Sprintf("payment %s belongs to account %q", p.ID, p.Account))
		return nil
	}
	delete(r.expected, key(core.LinePayment, p.ID))
	ours := &ReconcileRecord{Amount: p.Amount, Fee: p.FeeAmount, Status: p.Status, Time: p.PaidAt}
	d := ReconcileDifference{ObjectType: "payment", ObjectID: p.ID, ProviderID: firstNonEmpty(l.ProviderID, p.ProviderID),
		Currency: core.Currency(p.Currency), Payhost: ours, Provider: lineRecord(l), Line: l.Line}
	r.compareRecord(d, core.Currency(p.Currency), l, ours, true)
	return nil
}

func (r *reconciler) refundLine(ctx context.Context, l core.StatementLine) error {
	if r.listedBefore(l, "refund") {
		return nil
	}
	rf, ok := r.refunds[l.ObjectID]
	if !ok && lookupable(l.ObjectID) {
		got, err := r.h.store.GetRefund(ctx, l.ObjectID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return core.WrapError(core.CodeInternal, err, "load refund")
		default:
			rf, r.refunds[got.ID] = got, got
		}
	}
	if l.ObjectID == "" {
		r.missing(l, "refund", "the line names no refund")
		return nil
	}
	if rf == nil {
		r.missing(l, "refund", "Payhost has no refund "+cleanText(l.ObjectID, 128))
		return nil
	}
	p, err := r.lookupPayment(ctx, rf.PaymentID)
	if err != nil {
		return err
	}
	if p == nil || p.Account != r.account {
		account := ""
		if p != nil {
			account = p.Account
		}
		r.missing(l, "refund", fmt.Sprintf("refund %s belongs to account %q", rf.ID, account))
		return nil
	}
	delete(r.expected, key(core.LineRefund, rf.ID))
	ours := &ReconcileRecord{Amount: rf.Amount, Status: rf.Status, Time: rf.SucceededAt}
	d := ReconcileDifference{ObjectType: "refund", ObjectID: rf.ID, ProviderID: firstNonEmpty(l.ProviderID, rf.ProviderID),
		PaymentID: rf.PaymentID, Currency: core.Currency(rf.Currency), Payhost: ours, Provider: lineRecord(l), Line: l.Line}
	r.compareRecord(d, core.Currency(rf.Currency), l, ours, false)
	return nil
}

// compareRecord reports how a line and Payhost's record of the same object
// differ, or counts them matched.
func (r *reconciler) compareRecord(d ReconcileDifference, currency core.Currency, l core.StatementLine, ours *ReconcileRecord, withFee bool) {
	n := len(r.diffs)
	add := func(kind, detail string) {
		d.Kind, d.Detail = kind, detail
		r.diffs = append(r.diffs, d)
	}
	if l.Currency != currency || l.Amount != ours.Amount {
		add(DiffAmount, fmt.Sprintf("the provider has %s, Payhost %s", money(l.Amount, l.Currency), money(ours.Amount, currency)))
	}
	sameStatus := l.Status == ours.Status
	if !sameStatus {
		add(DiffStatus, fmt.Sprintf("the provider says %s, Payhost %s", cleanText(l.Status, 32), ours.Status))
	}
	// a fee is compared when both say the same: Payhost learns it with the outcome
	if withFee && sameStatus && l.FeeAmount != ours.Fee {
		add(DiffFee, fmt.Sprintf("the provider charged %s, Payhost recorded %s", money(l.FeeAmount, l.Currency), money(ours.Fee, currency)))
	}
	if len(r.diffs) > n {
		return
	}
	if ours.Time.Before(r.from) || !ours.Time.Before(r.to) {
		when := "no time"
		if !ours.Time.IsZero() {
			when = ours.Time.In(r.loc).Format("2006-01-02 15:04:05")
		}
		add(DiffDate, fmt.Sprintf("both agree, but Payhost dates it %s", when))
		return
	}
	r.rep.Summary.Matched++
}

// finish adds what the statement did not list, counts and sorts.
func (r *reconciler) finish(payments []*store.Payment, refunds []*store.Refund) {
	rep := r.rep
	slices.SortStableFunc(r.diffs, func(a, b ReconcileDifference) int { return cmp.Compare(a.Line, b.Line) })
	rep.Differences = append(rep.Differences, r.diffs...)
	for _, p := range payments {
		if r.expected[key(core.LinePayment, p.ID)] {
			rep.Differences = append(rep.Differences, ReconcileDifference{Kind: DiffMissingAtProvider, ObjectType: "payment", ObjectID: p.ID,
				ProviderID: p.ProviderID, Currency: core.Currency(p.Currency),
				Payhost: &ReconcileRecord{Amount: p.Amount, Fee: p.FeeAmount, Status: p.Status, Time: p.PaidAt},
				Detail:  "Payhost has this payment succeeded in the day; the statement does not list it"})
		}
	}
	for _, rf := range refunds {
		if r.expected[key(core.LineRefund, rf.ID)] {
			rep.Differences = append(rep.Differences, ReconcileDifference{Kind: DiffMissingAtProvider, ObjectType: "refund", ObjectID: rf.ID,
				ProviderID: rf.ProviderID, PaymentID: rf.PaymentID, Currency: core.Currency(rf.Currency),
				Payhost: &ReconcileRecord{Amount: rf.Amount, Status: rf.Status, Time: rf.SucceededAt},
				Detail:  "Payhost has this refund succeeded in the day; the statement does not list it"})
		}
	}
	s := &rep.Summary
	for _, d := range rep.Differences {
		switch d.Kind {
		case DiffMissingAtProvider:
			s.MissingAtProvider++
		case DiffMissingInPayhost:
			s.MissingInPayhost++
		case DiffAmount:
			s.AmountMismatches++
		case DiffStatus:
			s.StatusMismatches++
		case DiffFee:
			s.FeeMismatches++
		case DiffDate:
			s.DateMismatches++
		case DiffUnparsed:
			s.Unparsed++
		}
	}
	for _, t := range r.totals {
		t.Provider.Net = t.Provider.PaymentAmount - t.Provider.RefundAmount - t.Provider.Fees
		t.Payhost.Net = t.Payhost.PaymentAmount - t.Payhost.RefundAmount - t.Payhost.Fees
		t.Difference = t.Provider.Net - t.Payhost.Net
		rep.Totals = append(rep.Totals, *t)
	}
	slices.SortFunc(rep.Totals, func(a, b ReconcileTotal) int { return cmp.Compare(a.Currency, b.Currency) })
	rep.Status = store.ReconcileMatched
	if len(rep.Differences) > 0 {
		rep.Status = store.ReconcileDifferences
	}
}

// money formats minor units with the currency's exponent: "10.00 CNY".
func money(v int64, c core.Currency) string {
	exp, ok := c.Exponent()
	if !ok || exp == 0 {
		return strconv.FormatInt(v, 10) + " " + string(c)
	}
	sign := ""
	u := uint64(v)
	if v < 0 {
		sign, u = "-", uint64(-v)
	}
	p := uint64(1)
	for range exp {
		p *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, u/p, exp, u%p, c)
}

// cleanText makes provider text safe to store and show: valid UTF-8, no
// NUL or other control characters, at most n bytes.
func cleanText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
