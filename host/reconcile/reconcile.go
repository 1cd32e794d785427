// Package reconcile compares a provider's statement of one day with
// Payhost's records of that day and reports what differs. It reads; it
// never changes a payment or a refund: what to do about a difference is a
// person's call. The engine (host.Reconcile) downloads the statement
// through the account's plugin, reads the day's records, calls Compare and
// stores the report.
package reconcile

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Lookup reads the objects a statement line names that are not among the
// day's records (a payment of another day, a refund).
type Lookup interface {
	GetPayment(ctx context.Context, id string) (*store.Payment, error)
	GetRefund(ctx context.Context, id string) (*store.Refund, error)
}

// Compare compares st, the statement of the account's day [from, to) in
// loc, with payments and refunds, the account's records of that day, and
// fills rep (its totals, differences, summary and status). Objects a line
// names that are not among them are read through look.
func Compare(ctx context.Context, look Lookup, rep *Report, account string, from, to time.Time, loc *time.Location,
	st *core.DownloadStatementResponse, payments []*store.Payment, refunds []*store.Refund) error {
	r := &reconciler{look: look, rep: rep, account: account, from: from, to: to, loc: loc,
		payments: map[string]*store.Payment{}, refunds: map[string]*store.Refund{}, seen: map[string]int{},
		expected: map[string]bool{}, totals: map[core.Currency]*Total{}}
	r.expect(payments, refunds)
	if err := r.compare(ctx, st); err != nil {
		return err
	}
	r.finish(payments, refunds)
	return nil
}

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

// Report is the outcome of a reconciliation. It is stored, so
// GetReconciliation shows it again.
type Report struct {
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
	Partial     bool         `json:"partial"`
	Statement   Statement    `json:"statement"`
	Summary     Summary      `json:"summary"`
	Totals      []Total      `json:"totals"`
	Differences []Difference `json:"differences"`
	CreatedAt   time.Time    `json:"created_at"`
}

// Statement describes the statement the report compared.
type Statement struct {
	Format   string `json:"format,omitempty"`
	Bytes    int    `json:"bytes"`            // size of the raw file
	SHA256   string `json:"sha256,omitempty"` // of the raw file, hex
	Lines    int    `json:"lines"`            // canonical lines
	Unparsed int    `json:"unparsed"`         // lines the plugin could not parse
}

// Summary counts what the comparison found. An object can count
// in several mismatch kinds (amount and status, say).
type Summary struct {
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

// Total sums one currency on both sides.
type Total struct {
	Currency core.Currency `json:"currency"`
	Provider Amounts       `json:"provider"` // the statement's succeeded payment and refund lines
	Payhost  Amounts       `json:"payhost"`  // Payhost's succeeded payments and refunds of the day
	// Difference is Provider.Net − Payhost.Net.
	Difference int64 `json:"difference"`
}

// Amounts are the sums of one side, in minor units.
type Amounts struct {
	Payments      int   `json:"payments"`
	PaymentAmount int64 `json:"payment_amount"`
	Refunds       int   `json:"refunds"`
	RefundAmount  int64 `json:"refund_amount"`
	Fees          int64 `json:"fees"`
	Net           int64 `json:"net"` // payment_amount − refund_amount − fees
}

// Difference is one thing that differs.
type Difference struct {
	Kind       string        `json:"kind"`                  // Diff*
	ObjectType string        `json:"object_type,omitempty"` // payment or refund
	ObjectID   string        `json:"object_id,omitempty"`   // Payhost's id (the provider's merchant order number)
	ProviderID string        `json:"provider_id,omitempty"`
	PaymentID  string        `json:"payment_id,omitempty"` // a refund's payment
	Currency   core.Currency `json:"currency,omitempty"`
	// Payhost and Provider are each side's view; nil when that side has
	// nothing.
	Payhost  *Record `json:"payhost,omitempty"`
	Provider *Record `json:"provider,omitempty"`
	Line     int     `json:"line,omitempty"` // the statement's line
	Text     string  `json:"text,omitempty"` // an unparsed line's text
	Detail   string  `json:"detail"`
}

// Record is one side's view of an object.
type Record struct {
	Amount int64     `json:"amount"`
	Fee    int64     `json:"fee"`
	Status string    `json:"status"`
	Time   time.Time `json:"time,omitzero"` // paid or succeeded
}

// Limits of a reconciliation.
const (
	maxText = 512 // bytes of an unparsed line kept in a report
)

// reconciler holds one comparison's state.
type reconciler struct {
	look     Lookup
	rep      *Report
	account  string
	from, to time.Time
	loc      *time.Location
	payments map[string]*store.Payment // looked up or of the day, by id
	refunds  map[string]*store.Refund
	expected map[string]bool // kind:id of Payhost's records of the day not yet listed
	seen     map[string]int  // kind:id → the line that listed it
	totals   map[core.Currency]*Total
	diffs    []Difference // from lines, in line order
}

func key(kind core.LineKind, id string) string { return string(kind) + ":" + id }

func (r *reconciler) total(c core.Currency) *Total {
	t := r.totals[c]
	if t == nil {
		t = &Total{Currency: c}
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
	r.rep.Statement = Statement{Format: st.Format, Bytes: len(st.Raw), Lines: len(st.Lines), Unparsed: len(st.Unparsed)}
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
		r.diffs = append(r.diffs, Difference{Kind: DiffUnparsed, Line: u.Line, Text: cleanText(u.Text, maxText),
			Detail: cleanText(u.Reason, maxText)})
	}
	return nil
}

func lineRecord(l core.StatementLine) *Record {
	return &Record{Amount: l.Amount, Fee: l.FeeAmount, Status: l.Status, Time: l.Time}
}

// listedBefore reports a line naming an object an earlier line named.
func (r *reconciler) listedBefore(l core.StatementLine, objectType string) bool {
	k := key(l.Kind, l.ObjectID)
	first, dup := r.seen[k]
	if !dup {
		r.seen[k] = l.Line
		return false
	}
	r.diffs = append(r.diffs, Difference{Kind: DiffMissingInPayhost, ObjectType: objectType, ObjectID: cleanText(l.ObjectID, 128),
		ProviderID: cleanText(l.ProviderID, 128), PaymentID: cleanText(l.PaymentID, 128), Currency: l.Currency, Provider: lineRecord(l), Line: l.Line,
		Detail: fmt.Sprintf("the statement lists this %s again (first at line %d)", objectType, first)})
	return true
}

func (r *reconciler) missing(l core.StatementLine, objectType, detail string) {
	r.diffs = append(r.diffs, Difference{Kind: DiffMissingInPayhost, ObjectType: objectType, ObjectID: cleanText(l.ObjectID, 128),
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
	p, err := r.look.GetPayment(ctx, id)
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
	ours := &Record{Amount: p.Amount, Fee: p.FeeAmount, Status: p.Status, Time: p.PaidAt}
	d := Difference{ObjectType: "payment", ObjectID: p.ID, ProviderID: firstNonEmpty(l.ProviderID, p.ProviderID),
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
		got, err := r.look.GetRefund(ctx, l.ObjectID)
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
	ours := &Record{Amount: rf.Amount, Status: rf.Status, Time: rf.SucceededAt}
	d := Difference{ObjectType: "refund", ObjectID: rf.ID, ProviderID: firstNonEmpty(l.ProviderID, rf.ProviderID),
		PaymentID: rf.PaymentID, Currency: core.Currency(rf.Currency), Payhost: ours, Provider: lineRecord(l), Line: l.Line}
	r.compareRecord(d, core.Currency(rf.Currency), l, ours, false)
	return nil
}

// compareRecord reports how a line and Payhost's record of the same object
// differ, or counts them matched.
func (r *reconciler) compareRecord(d Difference, currency core.Currency, l core.StatementLine, ours *Record, withFee bool) {
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
	slices.SortStableFunc(r.diffs, func(a, b Difference) int { return cmp.Compare(a.Line, b.Line) })
	rep.Differences = append(rep.Differences, r.diffs...)
	for _, p := range payments {
		if r.expected[key(core.LinePayment, p.ID)] {
			rep.Differences = append(rep.Differences, Difference{Kind: DiffMissingAtProvider, ObjectType: "payment", ObjectID: p.ID,
				ProviderID: p.ProviderID, Currency: core.Currency(p.Currency),
				Payhost: &Record{Amount: p.Amount, Fee: p.FeeAmount, Status: p.Status, Time: p.PaidAt},
				Detail:  "Payhost has this payment succeeded in the day; the statement does not list it"})
		}
	}
	for _, rf := range refunds {
		if r.expected[key(core.LineRefund, rf.ID)] {
			rep.Differences = append(rep.Differences, Difference{Kind: DiffMissingAtProvider, ObjectType: "refund", ObjectID: rf.ID,
				ProviderID: rf.ProviderID, PaymentID: rf.PaymentID, Currency: core.Currency(rf.Currency),
				Payhost: &Record{Amount: rf.Amount, Status: rf.Status, Time: rf.SucceededAt},
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
	slices.SortFunc(rep.Totals, func(a, b Total) int { return cmp.Compare(a.Currency, b.Currency) })
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

// firstNonEmpty is the first of vs that is not empty.
func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
