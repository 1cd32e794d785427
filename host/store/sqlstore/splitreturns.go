package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// splitReturnTable is the split_returns table; its rows are
// store.SplitReturn.
var splitReturnTable = newTable("split_returns", "split return", []string{"seq"},
	str("id", func(r *store.SplitReturn) *string { return &r.ID }),
	str("tenant", func(r *store.SplitReturn) *string { return &r.Tenant }),
	str("idempotency_key", func(r *store.SplitReturn) *string { return &r.IdempotencyKey }),
	str("split_id", func(r *store.SplitReturn) *string { return &r.SplitID }),
	str("payment_id", func(r *store.SplitReturn) *string { return &r.PaymentID }),
	str("account", func(r *store.SplitReturn) *string { return &r.Account }),
	str("plugin", func(r *store.SplitReturn) *string { return &r.Plugin }),
	str("receiver", func(r *store.SplitReturn) *string { return &r.Receiver }),
	str("receiver_id", func(r *store.SplitReturn) *string { return &r.ReceiverID }),
	str("provider_receiver", func(r *store.SplitReturn) *string { return &r.ProviderReceiver }),
	num("amount", func(r *store.SplitReturn) *int64 { return &r.Amount }),
	str("currency", func(r *store.SplitReturn) *string { return &r.Currency }),
	str("reason", func(r *store.SplitReturn) *string { return &r.Reason }),
	str("status", func(r *store.SplitReturn) *string { return &r.Status }),
	str("provider_id", func(r *store.SplitReturn) *string { return &r.ProviderID }),
	str("failure_code", func(r *store.SplitReturn) *string { return &r.FailureCode }),
	str("failure_message", func(r *store.SplitReturn) *string { return &r.FailureMessage }),
	str("provider_code", func(r *store.SplitReturn) *string { return &r.ProviderCode }),
	mapCol("provider_data", func(r *store.SplitReturn) *map[string]string { return &r.ProviderData }),
	timeCol("created_at", func(r *store.SplitReturn) *time.Time { return &r.CreatedAt }),
	timeCol("updated_at", func(r *store.SplitReturn) *time.Time { return &r.UpdatedAt }),
	timeCol("next_poll_at", func(r *store.SplitReturn) *time.Time { return &r.NextPollAt }),
	num("poll_attempts", func(r *store.SplitReturn) *int { return &r.PollAttempts }),
)

// InsertSplitReturn stores a split return and reserves it against the
// receiver's record of the split, with the split's row locked.
func (s *Store) InsertSplitReturn(ctx context.Context, r *store.SplitReturn) error {
	args, err := splitReturnTable.args(r)
	if err != nil {
		return err
	}
	if r.ID == "" || r.Status == "" || r.SplitID == "" || r.ReceiverID == "" {
		return errors.New("sqlstore: insert split return: ID, Status, SplitID and ReceiverID are required")
	}
	if r.Amount <= 0 {
		return fmt.Errorf("sqlstore: insert split return: amount %d is not positive", r.Amount)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.linkInTx(ctx, tx, r.Link, r.ID); err != nil {
			return err
		}
		// the split's row lock serialises the returns of one split
		sp, err := splitTable.scan(tx.QueryRowContext(ctx, s.d.q(splitTable.sel+` WHERE id = ?`+s.d.forUpdate), r.SplitID))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (sp.Tenant != r.Tenant || sp.PaymentID != r.PaymentID)) {
			return fmt.Errorf("%w: split %s", store.ErrNotFound, r.SplitID)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: insert split return: %w", err)
		}
		if sp.Status != string(core.SplitSucceeded) {
			return fmt.Errorf("%w: split %s is %s, not %s", store.ErrConflict, sp.ID, sp.Status, core.SplitSucceeded)
		}
		var rec *store.SplitRecord
		for i := range sp.Records {
			if sp.Records[i].ReceiverID == r.ReceiverID {
				rec = &sp.Records[i]
				break
			}
		}
		if rec == nil {
			return fmt.Errorf("%w: receiver %s has no part in split %s", store.ErrNotFound, r.ReceiverID, sp.ID)
		}
		if rec.Status != string(core.SplitSucceeded) {
			return fmt.Errorf("%w: the part of receiver %s in split %s is %s, not %s", store.ErrConflict, r.ReceiverID, sp.ID,
				rec.Status, core.SplitSucceeded)
		}
		var taken int64
		if err := tx.QueryRowContext(ctx, s.d.q(`SELECT COALESCE(SUM(amount), 0) FROM split_returns
			WHERE split_id = ? AND receiver_id = ? AND status <> ?`), sp.ID, r.ReceiverID, string(core.SplitReturnFailed)).Scan(&taken); err != nil {
			return fmt.Errorf("sqlstore: insert split return: %w", err)
		}
		if taken+r.Amount > rec.Amount {
			return fmt.Errorf("%w: return of %d from receiver %s: %d left to return of the %d split to it",
				store.ErrInsufficient, r.Amount, r.ReceiverID, rec.Amount-taken, rec.Amount)
		}
		res, err := tx.ExecContext(ctx, s.d.q(splitReturnTable.insertNew), args...)
		if err != nil {
			return fmt.Errorf("sqlstore: insert split return: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert split return: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: split return %s", store.ErrDuplicate, r.ID)
		}
		return nil
	})
}

// GetSplitReturn reads a split return; ErrNotFound when it does not exist.
func (s *Store) GetSplitReturn(ctx context.Context, id string) (*store.SplitReturn, error) {
	return getByID(ctx, s, s.rq(ctx), splitReturnTable, id, "")
}

// ListSplitReturns lists the returns of a payment's splits, oldest first.
func (s *Store) ListSplitReturns(ctx context.Context, paymentID string) ([]*store.SplitReturn, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(splitReturnTable.sel+` WHERE payment_id = ? ORDER BY created_at, seq`), paymentID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list split returns: %w", err)
	}
	return splitReturnTable.collect(rows, "list split returns")
}

// UpdateSplitReturn changes a split return; a move to succeeded takes its
// amount off the payment's split totals.
func (s *Store) UpdateSplitReturn(ctx context.Context, u store.SplitReturnUpdate) (*store.SplitReturn, error) {
	var c textChecker
	var l setList
	if err := (statusSet{To: u.To, ProviderID: u.ProviderID, FailureCode: u.FailureCode, FailureMessage: u.FailureMessage,
		ProviderCode: u.ProviderCode, ProviderData: u.ProviderData, NextPollAt: u.NextPollAt, PollAttempts: u.PollAttempts,
		Now: u.Now}).add(&c, &l); err != nil {
		return nil, err
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var out *store.SplitReturn
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, r, err := updateLocked(ctx, s, tx, splitReturnTable, func(r *store.SplitReturn) string { return r.Status }, u.ID, u.From, l)
		if err != nil {
			return err
		}
		// a return's success gives its amount back to the merchant, for good
		wasDone, done := old.Status == string(core.SplitReturnSucceeded), r.Status == string(core.SplitReturnSucceeded)
		if wasDone && !done {
			return fmt.Errorf("%w: split return %s succeeded; it cannot become %s", store.ErrConflict, r.ID, r.Status)
		}
		if done && !wasDone {
			res, err := tx.ExecContext(ctx, s.d.q(`UPDATE payments SET split_amount = split_amount - ?, split_reserved = split_reserved - ?
				WHERE id = ? AND split_amount >= ? AND split_reserved >= ?`), r.Amount, r.Amount, r.PaymentID, r.Amount, r.Amount)
			if err != nil {
				return fmt.Errorf("sqlstore: update split return: payment totals: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("sqlstore: update split return: payment totals: %w", err)
			} else if n == 0 {
				return fmt.Errorf("%w: payment %s has less split than the %d split return %s gives back", store.ErrInsufficient,
					r.PaymentID, r.Amount, r.ID)
			}
		}
		if err := s.insertEvent(ctx, tx, u.Event, eventObject{"split_return", r.ID, r.Tenant, r}); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

// ClaimSplitReturnsToPoll moves the due split returns' next_poll_at to
// now+lease and returns them.
func (s *Store) ClaimSplitReturnsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.SplitReturn, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.queryW(ctx, s.d.q(`UPDATE split_returns SET next_poll_at = ?
		WHERE seq IN (SELECT seq FROM split_returns WHERE next_poll_at <> 0 AND next_poll_at <= ?
		              ORDER BY next_poll_at, seq LIMIT ?`+s.skipLocked()+`)
		RETURNING `+splitReturnTable.list), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim split returns to poll: %w", err)
	}
	return splitReturnTable.collect(rows, "claim split returns to poll")
}
