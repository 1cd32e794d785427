package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payhost/payhost/host/store"
)

// paymentTable is the payments table; its rows are store.Payment.
var paymentTable = newTable("payments", "payment", []string{"seq"},
	str("id", func(p *store.Payment) *string { return &p.ID }),
	str("tenant", func(p *store.Payment) *string { return &p.Tenant }),
	str("merchant_order_id", func(p *store.Payment) *string { return &p.MerchantOrderID }),
	str("idempotency_key", func(p *store.Payment) *string { return &p.IdempotencyKey }),
	num("amount", func(p *store.Payment) *int64 { return &p.Amount }),
	str("currency", func(p *store.Payment) *string { return &p.Currency }),
	str("method", func(p *store.Payment) *string { return &p.Method }),
	str("description", func(p *store.Payment) *string { return &p.Description }),
	mapCol("metadata", func(p *store.Payment) *map[string]string { return &p.Metadata }),
	str("status", func(p *store.Payment) *string { return &p.Status }),
	str("plugin", func(p *store.Payment) *string { return &p.Plugin }),
	str("account", func(p *store.Payment) *string { return &p.Account }),
	str("provider_id", func(p *store.Payment) *string { return &p.ProviderID }),
	str("channel_trade_no", func(p *store.Payment) *string { return &p.ChannelTradeNo }),
	textCol("pay_info", func(p *store.Payment) *[]byte { return &p.PayInfo }),
	textCol("decision", func(p *store.Payment) *[]byte { return &p.Decision }),
	num("fee_amount", func(p *store.Payment) *int64 { return &p.FeeAmount }),
	num("refunded_amount", func(p *store.Payment) *int64 { return &p.RefundedAmount }),
	num("refund_reserved", func(p *store.Payment) *int64 { return &p.RefundReserved }),
	str("failure_code", func(p *store.Payment) *string { return &p.FailureCode }),
	str("failure_message", func(p *store.Payment) *string { return &p.FailureMessage }),
	mapCol("provider_data", func(p *store.Payment) *map[string]string { return &p.ProviderData }),
	timeCol("created_at", func(p *store.Payment) *time.Time { return &p.CreatedAt }),
	timeCol("updated_at", func(p *store.Payment) *time.Time { return &p.UpdatedAt }),
	timeCol("paid_at", func(p *store.Payment) *time.Time { return &p.PaidAt }),
	timeCol("next_poll_at", func(p *store.Payment) *time.Time { return &p.NextPollAt }),
	num("poll_attempts", func(p *store.Payment) *int { return &p.PollAttempts }),
	str("provider_code", func(p *store.Payment) *string { return &p.ProviderCode }),
	str("channel_method", func(p *store.Payment) *string { return &p.ChannelMethod }),
	str("terminal_id", func(p *store.Payment) *string { return &p.TerminalID }),
	num("split_reserved", func(p *store.Payment) *int64 { return &p.SplitReserved }),
	num("split_amount", func(p *store.Payment) *int64 { return &p.SplitAmount }),
	timeCol("split_due_at", func(p *store.Payment) *time.Time { return &p.SplitDueAt }),
)

// InsertPayment stores p; ErrDuplicate when its ID, or its non-empty
// MerchantOrderID within the tenant, exists.
func (s *Store) InsertPayment(ctx context.Context, p *store.Payment) error {
	args, err := paymentTable.args(p)
	if err != nil {
		return err
	}
	if p.ID == "" || p.Status == "" {
		return errors.New("sqlstore: insert payment: ID and Status are required")
	}
	return s.insertLinked(ctx, p.Link, p.ID, func(q querier) error {
		res, err := q.ExecContext(ctx, s.d.q(paymentTable.insertNew), args...)
		if err != nil {
			return fmt.Errorf("sqlstore: insert payment: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert payment: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: payment %s or merchant order %q", store.ErrDuplicate, p.ID, p.MerchantOrderID)
		}
		return nil
	})
}

// GetPayment reads a payment; ErrNotFound when it does not exist.
func (s *Store) GetPayment(ctx context.Context, id string) (*store.Payment, error) {
	return s.getPayment(ctx, s.rq(ctx), id, "")
}

func (s *Store) getPayment(ctx context.Context, q querier, id, lock string) (*store.Payment, error) {
	return getByID(ctx, s, q, paymentTable, id, lock)
}

// setList builds the SET clause of a partial update.
type setList struct {
	cols []string
	args []any
}

func (l *setList) add(col string, v any) {
	l.cols = append(l.cols, col+" = ?")
	l.args = append(l.args, v)
}

func (l *setList) str(col string, v *string) {
	if v != nil {
		l.add(col, *v)
	}
}

func (l *setList) i64(col string, v *int64) {
	if v != nil {
		l.add(col, *v)
	}
}

func (l *setList) int(col string, v *int) {
	if v != nil {
		l.add(col, *v)
	}
}

func (l *setList) time(col string, v *time.Time) {
	if v != nil {
		l.add(col, micros(*v))
	}
}

func (l *setList) dict(col string, m map[string]string) error {
	if m == nil {
		return nil
	}
	v, err := encodeMap(m)
	if err != nil {
		return err
	}
	l.add(col, v)
	return nil
}

func (l *setList) sql() string {
	if len(l.cols) == 0 {
		return "status = status"
	}
	return strings.Join(l.cols, ", ")
}

// UpdatePayment applies u with one conditional UPDATE .. RETURNING: when
// u.From is set the row changes only while its status is u.From
// (ErrConflict otherwise, nothing changed); ErrNotFound when the payment
// does not exist. A zero u.Now leaves UpdatedAt unchanged.
func (s *Store) UpdatePayment(ctx context.Context, u store.PaymentUpdate) (*store.Payment, error) {
	var c textChecker
	var l setList
	if err := (statusSet{To: u.To, ProviderID: u.ProviderID, FailureCode: u.FailureCode, FailureMessage: u.FailureMessage,
		ProviderCode: u.ProviderCode, ProviderData: u.ProviderData, NextPollAt: u.NextPollAt, PollAttempts: u.PollAttempts,
		Now: u.Now}).add(&c, &l); err != nil {
		return nil, err
	}
	c.ptr("Plugin", u.Plugin)
	c.ptr("Account", u.Account)
	c.ptr("ChannelTradeNo", u.ChannelTradeNo)
	c.bytes("PayInfo", u.PayInfo)
	c.ptr("ChannelMethod", u.ChannelMethod)
	if err := c.err(); err != nil {
		return nil, err
	}
	l.str("plugin", u.Plugin)
	l.str("account", u.Account)
	l.str("channel_trade_no", u.ChannelTradeNo)
	if u.PayInfo != nil {
		l.add("pay_info", string(u.PayInfo))
	}
	l.i64("fee_amount", u.FeeAmount)
	l.str("channel_method", u.ChannelMethod)
	l.time("paid_at", u.PaidAt)
	l.time("split_due_at", u.SplitDueAt)
	query := `UPDATE payments SET ` + l.sql() + ` WHERE id = ?`
	args := append(l.args, u.ID)
	if u.From != "" {
		query += ` AND status = ?`
		args = append(args, u.From)
	}
	if u.RequireNoChannel {
		query += ` AND plugin = ''`
	}
	var p *store.Payment
	err := s.inTxIf(ctx, u.Event != nil, func(q querier) error {
		var err error
		p, err = paymentTable.scan(q.QueryRowContext(ctx, s.d.q(query+` RETURNING `+paymentTable.list), args...))
		if errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err != nil {
			return fmt.Errorf("sqlstore: update payment: %w", err)
		}
		return s.insertEvent(ctx, q, u.Event, eventObject{"payment", p.ID, p.Tenant, p})
	})
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	cur, err := s.getPayment(ctx, s.rw(ctx), u.ID, "")
	if err != nil {
		return nil, err
	}
	if u.RequireNoChannel && cur.Plugin != "" {
		return nil, fmt.Errorf("%w: payment %s is already with channel %s/%s", store.ErrConflict, u.ID, cur.Plugin, cur.Account)
	}
	return nil, fmt.Errorf("%w: payment %s is %s, not %s", store.ErrConflict, u.ID, cur.Status, u.From)
}

// ClaimPaymentsToPoll moves the due payments' next_poll_at to now+lease in
// one statement and returns them (on PostgreSQL rows another poller holds
// are skipped with FOR UPDATE SKIP LOCKED; SQLite has one writer).
func (s *Store) ClaimPaymentsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Payment, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.queryW(ctx, s.d.q(`UPDATE payments SET next_poll_at = ?
		WHERE seq IN (SELECT seq FROM payments WHERE next_poll_at <> 0 AND next_poll_at <= ?
		              ORDER BY next_poll_at, seq LIMIT ?`+s.skipLocked()+`)
		RETURNING `+paymentTable.list), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim payments to poll: %w", err)
	}
	return paymentTable.collect(rows, "claim payments to poll")
}

// PaymentsToPoll lists payments with 0 < NextPollAt ≤ now, the longest
// overdue first; limit ≤ 0 means 100.
func (s *Store) PaymentsToPoll(ctx context.Context, now time.Time, limit int) ([]*store.Payment, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(paymentTable.sel+`
		WHERE next_poll_at <> 0 AND next_poll_at <= ? ORDER BY next_poll_at, seq LIMIT ?`), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: payments to poll: %w", err)
	}
	return paymentTable.collect(rows, "payments to poll")
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error), what string) ([]T, error) {
	// closed again below, where its error is checked; this one covers the
	// early returns
	defer func() { _ = rows.Close() }()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	return out, nil
}
