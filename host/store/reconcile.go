package store

import (
	"context"
	"time"
)

// Reconciliation statuses: whether a report found differences.
const (
	ReconcileMatched     = "matched"     // every line and record agreed
	ReconcileDifferences = "differences" // something differed or did not parse
)

// Reconciliation is a stored reconciliation report: one comparison of a
// provider statement of one day with Payhost's records of that day. The
// report is JSON the engine owns (host.ReconcileReport); the columns beside
// it are what lookups and lists need. Reports are evidence for a person to
// act on; storing one changes no payment or refund.
type Reconciliation struct {
	ID        string // rec_...
	Account   string
	Plugin    string
	Date      string // YYYY-MM-DD, a day in the account's time zone
	Status    string // ReconcileMatched or ReconcileDifferences
	Report    []byte // JSON of the report (valid UTF-8)
	CreatedAt time.Time
}

// ReconcileStore keeps reconciliation reports and reads the records a
// reconciliation compares.
type ReconcileStore interface {
	// InsertReconciliation stores a report; ErrDuplicate for a repeated ID.
	InsertReconciliation(ctx context.Context, r *Reconciliation) error
	// GetReconciliation reads a report by id; ErrNotFound when there is none.
	GetReconciliation(ctx context.Context, id string) (*Reconciliation, error)
	// ListReconciliations lists the reports of account (and of date when
	// it is not empty), newest first, at most limit (≤ 0 means 100).
	ListReconciliations(ctx context.Context, account, date string, limit int) ([]*Reconciliation, error)
	// AccountActivity lists what an account moved in [from, to): its
	// payments whose PaidAt falls in the range, and the refunds of its
	// payments whose SucceededAt does, each oldest first, whatever their
	// status.
	AccountActivity(ctx context.Context, account string, from, to time.Time) ([]*Payment, []*Refund, error)
}
