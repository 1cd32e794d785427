package crashtest

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Figures are the counts that must all be 0.
type Figures struct {
	// Lost: acknowledged with a 2xx whose object is not in the database.
	Lost int
	// PaidTwice: idempotency keys whose request reached the provider as two
	// objects (two provider orders for one payment key, two provider
	// refunds for one refund key).
	PaidTwice int
	// OverRefunded: payments refunded at the provider beyond the sum of
	// the amounts every refund request for it asked.
	OverRefunded int
	// DeadCreated: payments and refunds answered 2xx status created that
	// the provider has no object of once everything settled.
	DeadCreated int
	// FalseFailures: payments and refunds answered or stored failed (or
	// refused with a 4xx) while the provider has them succeeded (a refund:
	// succeeded or still processing).
	FalseFailures int
	// Stuck: payments and refunds still created or processing in the
	// database after settling, although the provider's state is final.
	Stuck int
	// Untracked: provider objects of no database row.
	Untracked int
	// Mismatched: final in both places but different (status, amount, or a
	// payment's refunded amount).
	Mismatched int
}

// Failed reports whether any figure is not 0.
func (f Figures) Failed() bool { return f != Figures{} }

// Report is the checker's result: the figures, what each counted, and
// figures that are reported but are not failures.
type Report struct {
	Figures
	// Details names each object counted in a figure, one line each.
	Details []string

	Requests, Acknowledged, Unanswered int
	// Answers counts the definite answers: "payment 201 succeeded",
	// "payment 201 failed declined", "refund 400 invalid_request", ...
	Answers map[string]int
	// Interrupted counts the requests that needed a retry (a connection
	// error, a 5xx, a 409 in_progress) before their answer; Recovery
	// summarises their time from the first interruption to the definite
	// answer, Takeover that of those answered 409 in_progress at least
	// once, from the first in_progress to the answer: how long a key a
	// killed server held stayed unusable.
	Interrupted int
	Recovery    Durations
	Takeover    Durations
	// ExtraRows counts idempotency keys with more than one database row
	// (money moved only once, but a second object was stored).
	ExtraRows int
	// Unsent counts payments still created with a channel chosen and
	// refunds still pending, with no provider object (answered or not).
	Unsent int
	// Webhooks: events recorded and deliveries by status.
	Events     int
	Deliveries map[string]int
}

// Durations summarises durations.
type Durations struct {
	N             int
	P50, P90, Max time.Duration
}

func summarise(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return Durations{N: len(ds), P50: at(0.5), P90: at(0.9), Max: ds[len(ds)-1]}
}

func (d Durations) String() string {
	if d.N == 0 {
		return "none"
	}
	r := func(x time.Duration) string { return x.Round(10 * time.Millisecond).String() }
	return fmt.Sprintf("n=%d p50=%s p90=%s max=%s", d.N, r(d.P50), r(d.P90), r(d.Max))
}

func pendingPayment(status string) bool { return status == "created" || status == "processing" }
func pendingRefund(status string) bool  { return status == "created" || status == "processing" }
func final(state string) bool           { return state != StateProcessing }

// Check compares every request of the load with the database and the
// providers.
func Check(reqs []*Request, db *DB, prov *Providers) Report {
	rep := Report{Requests: len(reqs), Answers: map[string]int{}, Events: db.Events, Deliveries: db.Deliveries}
	note := func(figure *int, format string, args ...any) {
		*figure++
		rep.Details = append(rep.Details, fmt.Sprintf(format, args...))
	}
	falseFailure := map[string]bool{} // ids already counted
	countFalse := func(id, format string, args ...any) {
		if !falseFailure[id] {
			falseFailure[id] = true
			note(&rep.FalseFailures, format, args...)
		}
	}
	asked := map[string]int64{} // refund amounts asked, by payment
	var recovery, takeover []time.Duration
	for _, r := range reqs {
		if r.Kind == KindRefund {
			asked[r.PaymentID] += r.Amount
		}
		if !r.Acknowledged() {
			rep.Unanswered++
			continue
		}
		rep.Acknowledged++
		label := strings.TrimSpace(r.State + " " + r.Failure)
		if !r.OK() {
			label = r.ErrCode
		}
		rep.Answers[fmt.Sprintf("%s %d %s", r.Kind, r.Status, label)]++
		if !r.FirstInterrupted.IsZero() {
			rep.Interrupted++
			recovery = append(recovery, r.Answered.Sub(r.FirstInterrupted))
		}
		if !r.FirstInProgress.IsZero() {
			takeover = append(takeover, r.Answered.Sub(r.FirstInProgress))
		}
		switch r.Kind {
		case KindPayment:
			checkPaymentAnswer(r, db, prov, &rep, note, countFalse)
		case KindRefund:
			checkRefundAnswer(r, db, prov, &rep, note, countFalse)
		}
	}
	rep.Recovery, rep.Takeover = summarise(recovery), summarise(takeover)

	// every key: provider objects per key
	for _, key := range sortedKeys(db.PaymentsByKey) {
		rows := db.PaymentsByKey[key]
		if len(rows) > 1 {
			rep.ExtraRows++
		}
		var orders []string
		for _, p := range rows {
			for _, o := range prov.Payments[p.ID] {
				orders = append(orders, o.Provider+":"+o.ID+"("+p.ID+" "+o.State+")")
			}
		}
		if len(orders) > 1 {
			note(&rep.PaidTwice, "paid twice: payment key %s has %d provider orders: %s", key, len(orders), strings.Join(orders, ", "))
		}
	}
	for _, key := range sortedKeys(db.RefundsByKey) {
		rows := db.RefundsByKey[key]
		if len(rows) > 1 {
			rep.ExtraRows++
		}
		var refunds []string
		for _, r := range rows {
			for _, x := range prov.Refunds[r.ID] {
				refunds = append(refunds, fmt.Sprintf("%s:%s(%s %d %s)", x.Provider, x.ID, r.ID, x.Amount, x.State))
			}
		}
		if len(refunds) > 1 {
			note(&rep.PaidTwice, "paid twice: refund key %s has %d provider refunds: %s", key, len(refunds), strings.Join(refunds, ", "))
		}
	}

	// every payment row against its provider order
	for _, id := range sortedKeys(db.Payments) {
		p := db.Payments[id]
		orders := prov.Payments[id]
		if len(orders) == 0 {
			if p.Status == "created" && p.Plugin != "" {
				rep.Unsent++
			}
			continue
		}
		o := orders[0]
		switch {
		case pendingPayment(p.Status) && final(o.State):
			note(&rep.Stuck, "stuck: payment %s (key %s) is %s, the provider's order %s is %s", id, p.Key, p.Status, o.ID, o.State)
		case (p.Status == "failed" || p.Status == "closed") && o.State == StateSucceeded:
			countFalse(id, "false failure: payment %s (key %s) is stored %s (%s), the provider's order %s succeeded", id, p.Key, p.Status, p.FailureCode, o.ID)
		case p.Status == "succeeded" && o.State != StateSucceeded && final(o.State):
			note(&rep.Mismatched, "mismatch: payment %s (key %s) is succeeded, the provider's order %s is %s", id, p.Key, o.ID, o.State)
		case o.Amount != p.Amount:
			note(&rep.Mismatched, "mismatch: payment %s (key %s) is of %d, the provider's order %s of %d", id, p.Key, p.Amount, o.ID, o.Amount)
		}
		var refunded, live int64
		for _, x := range prov.ByPayment[id] {
			switch x.State {
			case StateSucceeded:
				refunded += x.Amount
				live += x.Amount
			case StateProcessing:
				live += x.Amount
			}
		}
		if live > asked[id] {
			note(&rep.OverRefunded, "refunded beyond what was asked: payment %s (key %s): %d refunded or refunding at the provider, %d asked in all",
				id, p.Key, live, asked[id])
		}
		if p.Refunded != refunded {
			note(&rep.Mismatched, "mismatch: payment %s (key %s) has refunded_amount %d, the provider's succeeded refunds sum to %d", id, p.Key, p.Refunded, refunded)
		}
	}
	for _, id := range sortedKeys(db.Refunds) {
		r := db.Refunds[id]
		xs := prov.Refunds[id]
		if len(xs) == 0 {
			if pendingRefund(r.Status) {
				rep.Unsent++
			}
			continue
		}
		x := xs[0]
		switch {
		case pendingRefund(r.Status) && final(x.State):
			note(&rep.Stuck, "stuck: refund %s (key %s) is %s, the provider's refund %s is %s", id, r.Key, r.Status, x.ID, x.State)
		case r.Status == "failed" && x.State == StateSucceeded:
			countFalse(id, "false failure: refund %s (key %s) is stored failed (%s), the provider's refund %s succeeded", id, r.Key, r.FailureCode, x.ID)
		case r.Status == "succeeded" && x.State != StateSucceeded && final(x.State):
			note(&rep.Mismatched, "mismatch: refund %s (key %s) is succeeded, the provider's refund %s is %s", id, r.Key, x.ID, x.State)
		case x.Amount != r.Amount:
			note(&rep.Mismatched, "mismatch: refund %s (key %s) is of %d, the provider's refund %s of %d", id, r.Key, r.Amount, x.ID, x.Amount)
		}
	}

	// provider objects no row knows
	for _, id := range sortedKeys(prov.Payments) {
		if db.Payments[id] == nil {
			for _, o := range prov.Payments[id] {
				note(&rep.Untracked, "untracked: %s order %s (%s, %d, %s) has no payment row", o.Provider, o.ID, id, o.Amount, o.State)
			}
		}
	}
	for _, id := range sortedKeys(prov.Refunds) {
		if db.Refunds[id] == nil {
			for _, x := range prov.Refunds[id] {
				note(&rep.Untracked, "untracked: %s refund %s (%s of payment %s, %d, %s) has no refund row", x.Provider, x.ID, id, x.PaymentID, x.Amount, x.State)
			}
		}
	}
	return rep
}

type noteFunc func(figure *int, format string, args ...any)
type countFunc func(id, format string, args ...any)

func checkPaymentAnswer(r *Request, db *DB, prov *Providers, rep *Report, note noteFunc, countFalse countFunc) {
	if r.OK() {
		p := db.Payments[r.ID]
		if p == nil || p.Key != r.Key {
			note(&rep.Lost, "lost: payment key %s was answered %d with payment %q, which the database does not have under that key", r.Key, r.Status, r.ID)
			return
		}
		orders := prov.Payments[r.ID]
		if r.State == "created" && len(orders) == 0 {
			note(&rep.DeadCreated, "dead created: payment %s (key %s) was answered %d created and the provider never got it (now %s)", r.ID, r.Key, r.Status, p.Status)
		}
		if (r.State == "failed" || r.State == "closed") && len(orders) > 0 && orders[0].State == StateSucceeded {
			countFalse(r.ID, "false failure: payment %s (key %s) was answered %s, the provider's order %s succeeded", r.ID, r.Key, r.State, orders[0].ID)
		}
		return
	}
	// refused: no payment of the key may have been paid
	for _, p := range db.PaymentsByKey[r.Key] {
		for _, o := range prov.Payments[p.ID] {
			if o.State == StateSucceeded {
				countFalse(p.ID, "false failure: payment key %s was answered %d %s, its payment %s succeeded at the provider (%s)", r.Key, r.Status, r.ErrCode, p.ID, o.ID)
			}
		}
	}
}

func checkRefundAnswer(r *Request, db *DB, prov *Providers, rep *Report, note noteFunc, countFalse countFunc) {
	if r.OK() {
		x := db.Refunds[r.ID]
		if x == nil || x.Key != r.Key {
			note(&rep.Lost, "lost: refund key %s was answered %d with refund %q, which the database does not have under that key", r.Key, r.Status, r.ID)
			return
		}
		xs := prov.Refunds[r.ID]
		if r.State == "created" && len(xs) == 0 {
			note(&rep.DeadCreated, "dead created: refund %s (key %s) was answered %d created and the provider never got it (now %s)", r.ID, r.Key, r.Status, x.Status)
		}
		if r.State == "failed" && len(xs) > 0 && xs[0].State == StateSucceeded {
			countFalse(r.ID, "false failure: refund %s (key %s) was answered failed, the provider's refund %s succeeded", r.ID, r.Key, xs[0].ID)
		}
		return
	}
	for _, x := range db.RefundsByKey[r.Key] {
		for _, p := range prov.Refunds[x.ID] {
			if p.State == StateSucceeded || p.State == StateProcessing {
				countFalse(x.ID, "false failure: refund key %s was answered %d %s (%s), its refund %s is %s at the provider (%s)",
					r.Key, r.Status, r.ErrCode, errMessage(r.Body), x.ID, p.State, p.ID)
			}
		}
	}
}

func errMessage(body string) string {
	if i := strings.Index(body, `"message":"`); i >= 0 {
		rest := body[i+len(`"message":"`):]
		if j := strings.IndexByte(rest, '"'); j >= 0 {
			return rest[:j]
		}
	}
	return ""
}

// Settled reports whether the poller has nothing left to settle: every
// payment and refund still created or processing in the database waits for
// a provider object that is not final (a payer who never pays), or was
// created more than grace ago — what the poller has not settled by then
// (the idempotency lease, after which it takes over what a crash cut short,
// and a few rounds) is checked as it is. waiting names those still within
// their grace.
func Settled(db *DB, prov *Providers, now time.Time, grace time.Duration) (ok bool, waiting []string) {
	for _, id := range sortedKeys(db.Payments) {
		p := db.Payments[id]
		if !pendingPayment(p.Status) || now.Sub(p.CreatedAt) > grace {
			continue
		}
		if orders := prov.Payments[id]; len(orders) == 0 || final(orders[0].State) {
			waiting = append(waiting, "payment "+id+" "+p.Status)
		}
	}
	for _, id := range sortedKeys(db.Refunds) {
		r := db.Refunds[id]
		if !pendingRefund(r.Status) || now.Sub(r.CreatedAt) > grace {
			continue
		}
		if xs := prov.Refunds[id]; len(xs) == 0 || final(xs[0].State) {
			waiting = append(waiting, "refund "+id+" "+r.Status)
		}
	}
	return len(waiting) == 0, waiting
}

// Print writes the report: the figures first, then what each counted,
// then the figures for information.
func (rep Report) Print(w io.Writer) {
	f := rep.Figures
	fmt.Fprintf(w, "crash test figures (each must be 0):\n")
	for _, l := range []struct {
		name string
		n    int
	}{
		{"lost (acknowledged, not in the database)", f.Lost},
		{"paid twice (one key, two provider objects)", f.PaidTwice},
		{"refunded beyond what was asked", f.OverRefunded},
		{"dead created (answered created, never sent)", f.DeadCreated},
		{"false failures (failed here, paid there)", f.FalseFailures},
		{"stuck after settling", f.Stuck},
		{"untracked at the provider (no row)", f.Untracked},
		{"mismatched (final in both, different)", f.Mismatched},
	} {
		fmt.Fprintf(w, "  %-46s %d\n", l.name, l.n)
	}
	if len(rep.Details) > 0 {
		fmt.Fprintf(w, "what they counted:\n")
		for _, d := range rep.Details {
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
	fmt.Fprintf(w, "for information:\n")
	fmt.Fprintf(w, "  requests %d, acknowledged %d, unanswered (client gave up) %d\n", rep.Requests, rep.Acknowledged, rep.Unanswered)
	fmt.Fprintf(w, "  interrupted then answered %d; time from the first interruption to the answer: %s\n", rep.Interrupted, rep.Recovery)
	fmt.Fprintf(w, "  takeover, from a key's first 409 in_progress to its answer: %s\n", rep.Takeover)
	fmt.Fprintf(w, "  keys with more than one row %d; pending with nothing at the provider (a payment with its channel chosen, a refund) %d\n", rep.ExtraRows, rep.Unsent)
	var dl []string
	for _, s := range sortedKeys(rep.Deliveries) {
		dl = append(dl, fmt.Sprintf("%s %d", s, rep.Deliveries[s]))
	}
	fmt.Fprintf(w, "  webhook events %d; deliveries: %s\n", rep.Events, strings.Join(dl, ", "))
	fmt.Fprintf(w, "  answers:\n")
	for _, a := range sortedKeys(rep.Answers) {
		fmt.Fprintf(w, "    %-40s %d\n", a, rep.Answers[a])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
