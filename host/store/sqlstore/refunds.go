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

// refundTable is the refunds table; its rows are store.Refund.
var refundTable = newTable("refunds", "refund", []string{"seq"},
	str("id", func(r *store.Refund) *string { return &r.ID }),
	str("tenant", func(r *store.Refund) *string { return &r.Tenant }),
	str("payment_id", func(r *store.Refund) *string { return &r.PaymentID }),
	str("idempotency_key", func(r *store.Refund) *string { return &r.IdempotencyKey }),
	num("amount", func(r *store.Refund) *int64 { return &r.Amount }),
	str("currency", func(r *store.Refund) *string { return &r.Currency }),
	str("reason", func(r *store.Refund) *string { return &r.Reason }),
	str("status", func(r *store.Refund) *string { return &r.Status }),
	str("provider_id", func(r *store.Refund) *string { return &r.ProviderID }),
	str("failure_code", func(r *store.Refund) *string { return &r.FailureCode }),
	str("failure_message", func(r *store.Refund) *string { return &r.FailureMessage }),
	mapCol("provider_data", func(r *store.Refund) *map[string]string { return &r.ProviderData }),
	timeCol("created_at", func(r *store.Refund) *time.Time { return &r.CreatedAt }),
	timeCol("updated_at", func(r *store.Refund) *time.Time { return &r.UpdatedAt }),
	timeCol("succeeded_at", func(r *store.Refund) *time.Time { return &r.SucceededAt }),
	timeCol("next_poll_at", func(r *store.Refund) *time.Time { return &r.NextPollAt }),
	num("poll_attempts", func(r *store.Refund) *int { return &r.PollAttempts }),
	str("provider_code", func(r *store.Refund) *string { return &r.ProviderCode }),
)

// InsertRefund stores r and reserves r.Amount on its payment in one
// transaction. The reservation is one conditional UPDATE (the payment of
// r.Tenant, succeeded, RefundReserved + r.Amount ≤ Amount), so concurrent
// refunds, from any number of nodes, never reserve more than was paid.
// Errors: ErrNotFound (no such payment for r.Tenant), ErrConflict (payment
// not succeeded), ErrInsufficient, ErrDuplicate (r.ID exists; nothing is
// reserved). r.Amount must be positive.
func (s *Store) InsertRefund(ctx context.Context, r *store.Refund) error {
	args, err := refundTable.args(r)
	if err != nil {
		return err
	}
	if r.ID == "" || r.Status == "" {
		return errors.New("sqlstore: insert refund: ID and Status are required")
	}
	if r.Amount <= 0 {
		return fmt.Errorf("sqlstore: insert refund: amount %d is not positive", r.Amount)
	}
	reserve := r.Amount
	if r.Status == string(core.RefundFailed) {
		reserve = 0 // a refund stored as failed reserves nothing
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.linkInTx(ctx, tx, r.Link, r.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE payments SET refund_reserved = refund_reserved + ?
			WHERE id = ? AND tenant = ? AND status = ? AND refund_reserved + split_reserved + ? <= amount`),
			reserve, r.PaymentID, r.Tenant, string(core.PaymentSucceeded), reserve)
		if err != nil {
			return fmt.Errorf("sqlstore: insert refund: reserve: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert refund: reserve: %w", err)
		} else if n == 0 {
			return s.whyNoReserve(ctx, tx, r)
		}
		if r.Status == string(core.RefundSucceeded) {
			if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE payments SET refunded_amount = refunded_amount + ? WHERE id = ?`),
				r.Amount, r.PaymentID); err != nil {
				return fmt.Errorf("sqlstore: insert refund: %w", err)
			}
		}
		res, err = tx.ExecContext(ctx, s.d.q(refundTable.insertNew), args...)
		if err != nil {
			return fmt.Errorf("sqlstore: insert refund: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert refund: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: refund %s", store.ErrDuplicate, r.ID)
		}
		return nil
	})
}

// whyNoReserve explains a reservation that changed no row.
func (s *Store) whyNoReserve(ctx context.Context, tx *sql.Tx, r *store.Refund) error {
	var tenant, status string
	var amount, reserved, split int64
	err := tx.QueryRowContext(ctx, s.d.q(`SELECT tenant, status, amount, refund_reserved, split_reserved FROM payments WHERE id = ?`), r.PaymentID).
		Scan(&tenant, &status, &amount, &reserved, &split)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && tenant != r.Tenant):
		return fmt.Errorf("%w: payment %s", store.ErrNotFound, r.PaymentID)
	case err != nil:
		return fmt.Errorf("sqlstore: insert refund: %w", err)
	case status != string(core.PaymentSucceeded):
		return fmt.Errorf("%w: payment %s is %s, not %s", store.ErrConflict, r.PaymentID, status, core.PaymentSucceeded)
	default:
		detail := ""
		if split > 0 {
			detail = fmt.Sprintf(" (%d split to receivers)", split)
		}
		return fmt.Errorf("%w: refund of %d on payment %s: %d of %d left%s", store.ErrInsufficient, r.Amount, r.PaymentID, amount-reserved-split, amount, detail)
	}
}

// GetRefund reads a refund; ErrNotFound when it does not exist.
func (s *Store) GetRefund(ctx context.Context, id string) (*store.Refund, error) {
	return getByID(ctx, s, s.rq(ctx), refundTable, id, "")
}

// ListRefunds lists a payment's refunds, oldest first (by CreatedAt, then
// insertion); empty, not an error, for an unknown payment.
func (s *Store) ListRefunds(ctx context.Context, paymentID string) ([]*store.Refund, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(refundTable.sel+` WHERE payment_id = ? ORDER BY created_at, seq`), paymentID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list refunds: %w", err)
	}
	return refundTable.collect(rows, "list refunds")
}

// UpdateRefund applies u in one transaction: it locks the refund, checks
// u.From (ErrConflict when the status differs, ErrNotFound when there is no
// refund), updates it, and moves its amount between the payment's
// RefundReserved and RefundedAmount as the status change requires
// (RefundReserved counts every refund not failed, RefundedAmount every
// refund succeeded). Moving a failed refund back to another status reserves
// its amount again, or fails with ErrInsufficient.
func (s *Store) UpdateRefund(ctx context.Context, u store.RefundUpdate) (*store.Refund, error) {
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
	l.time("succeeded_at", u.SucceededAt)
	var out *store.Refund
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, r, err := updateLocked(ctx, s, tx, refundTable, func(r *store.Refund) string { return r.Status }, u.ID, u.From, l)
		if err != nil {
			return err
		}
		if err := s.moveRefundAmount(ctx, tx, r.PaymentID, r.Amount, old.Status, r.Status); err != nil {
			return err
		}
		if err := s.insertEvent(ctx, tx, u.Event, eventObject{"refund", r.ID, r.Tenant, r}); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

// moveRefundAmount adjusts the payment's totals for a refund of amount
// going from status old to status to.
func (s *Store) moveRefundAmount(ctx context.Context, tx *sql.Tx, paymentID string, amount int64, old, to string) error {
	counts := func(st string) (reserved, refunded int64) {
		if st != string(core.RefundFailed) {
			reserved = amount
		}
		if st == string(core.RefundSucceeded) {
			refunded = amount
		}
		return
	}
	r0, f0 := counts(old)
	r1, f1 := counts(to)
	dr, df := r1-r0, f1-f0
	if dr == 0 && df == 0 {
		return nil
	}
	res, err := tx.ExecContext(ctx, s.d.q(`UPDATE payments
		SET refund_reserved = refund_reserved + ?, refunded_amount = refunded_amount + ?
		WHERE id = ? AND refund_reserved + split_reserved + ? <= amount`), dr, df, paymentID, dr)
	if err != nil {
		return fmt.Errorf("sqlstore: update refund: payment totals: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: update refund: payment totals: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: payment %s cannot reserve %d again", store.ErrInsufficient, paymentID, amount)
	}
	return nil
}

// RefundsToPoll lists refunds with 0 < NextPollAt ≤ now, the longest
// overdue first; limit ≤ 0 means 100.
func (s *Store) RefundsToPoll(ctx context.Context, now time.Time, limit int) ([]*store.Refund, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(refundTable.sel+`
		WHERE next_poll_at <> 0 AND next_poll_at <= ? ORDER BY next_poll_at, seq LIMIT ?`), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: refunds to poll: %w", err)
	}
	return refundTable.collect(rows, "refunds to poll")
}

// ClaimRefundsToPoll is ClaimPaymentsToPoll for refunds.
func (s *Store) ClaimRefundsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Refund, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.queryW(ctx, s.d.q(`UPDATE refunds SET next_poll_at = ?
		WHERE seq IN (SELECT seq FROM refunds WHERE next_poll_at <> 0 AND next_poll_at <= ?
		              ORDER BY next_poll_at, seq LIMIT ?`+s.skipLocked()+`)
		RETURNING `+refundTable.list), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim refunds to poll: %w", err)
	}
	return refundTable.collect(rows, "claim refunds to poll")
}
