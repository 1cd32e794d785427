package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/host/store"
)

// reconciliationTable is the reconciliations table; its rows are
// store.Reconciliation.
var reconciliationTable = newTable("reconciliations", "reconciliation", []string{"seq"},
	str("id", func(r *store.Reconciliation) *string { return &r.ID }),
	str("account", func(r *store.Reconciliation) *string { return &r.Account }),
	str("plugin", func(r *store.Reconciliation) *string { return &r.Plugin }),
	str("day", func(r *store.Reconciliation) *string { return &r.Date }),
	str("status", func(r *store.Reconciliation) *string { return &r.Status }),
	textCol("report", func(r *store.Reconciliation) *[]byte { return &r.Report }),
	timeCol("created_at", func(r *store.Reconciliation) *time.Time { return &r.CreatedAt }),
)

// InsertReconciliation stores r; ErrDuplicate when its ID exists.
func (s *Store) InsertReconciliation(ctx context.Context, r *store.Reconciliation) error {
	args, err := reconciliationTable.args(r)
	if err != nil {
		return err
	}
	if r.ID == "" || r.Account == "" || r.Date == "" || r.Status == "" {
		return errors.New("sqlstore: insert reconciliation: ID, Account, Date and Status are required")
	}
	res, err := s.exec(ctx, s.d.q(reconciliationTable.insertNew), args...)
	if err != nil {
		return fmt.Errorf("sqlstore: insert reconciliation: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: insert reconciliation: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: reconciliation %s", store.ErrDuplicate, r.ID)
	}
	return nil
}

// GetReconciliation reads a report; ErrNotFound when it does not exist.
func (s *Store) GetReconciliation(ctx context.Context, id string) (*store.Reconciliation, error) {
	return getByID(ctx, s, s.rq(ctx), reconciliationTable, id, "")
}

// ListReconciliations lists an account's reports (of one day when date is
// set), newest first; limit ≤ 0 means 100.
func (s *Store) ListReconciliations(ctx context.Context, account, date string, limit int) ([]*store.Reconciliation, error) {
	if limit <= 0 {
		limit = 100
	}
	query := reconciliationTable.sel + ` WHERE account = ?`
	args := []any{account}
	if date != "" {
		query += ` AND day = ?`
		args = append(args, date)
	}
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(query+` ORDER BY seq DESC LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list reconciliations: %w", err)
	}
	return reconciliationTable.collect(rows, "list reconciliations")
}

// AccountActivity lists the account's payments paid in [from, to) and the
// refunds of its payments that succeeded in [from, to), oldest first.
func (s *Store) AccountActivity(ctx context.Context, account string, from, to time.Time) ([]*store.Payment, []*store.Refund, error) {
	lo, hi := micros(from), micros(to)
	if lo <= 0 {
		lo = 1 // 0 is "unset"
	}
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(paymentTable.sel+`
		WHERE account = ? AND paid_at >= ? AND paid_at < ? ORDER BY paid_at, seq`), account, lo, hi)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: account activity: payments: %w", err)
	}
	payments, err := paymentTable.collect(rows, "account activity: payments")
	if err != nil {
		return nil, nil, err
	}
	rows, err = s.rq(ctx).QueryContext(ctx, s.d.q(refundTable.sel+`
		WHERE succeeded_at >= ? AND succeeded_at < ? AND payment_id IN (SELECT id FROM payments WHERE account = ?)
		ORDER BY succeeded_at, seq`), lo, hi, account)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: account activity: refunds: %w", err)
	}
	refunds, err := refundTable.collect(rows, "account activity: refunds")
	if err != nil {
		return nil, nil, err
	}
	return payments, refunds, nil
}
