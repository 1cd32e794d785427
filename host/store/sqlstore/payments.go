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

const paymentCols = `id, tenant, merchant_order_id, idempotency_key, amount, currency, method, description, metadata,
	status, plugin, account, provider_id, channel_trade_no, pay_info, decision, fee_amount, refunded_amount,
	refund_reserved, failure_code, failure_message, provider_data, created_at, updated_at, paid_at,
	next_poll_at, poll_attempts, provider_code, channel_method, terminal_id, split_reserved, split_amount, split_due_at`

func scanPayment(row interface{ Scan(...any) error }) (*store.Payment, error) {
	var p store.Payment
	var metadata, providerData, payInfo, decision string
	var created, updated, paid, nextPoll, splitDue int64
	if err := row.Scan(&p.ID, &p.Tenant, &p.MerchantOrderID, &p.IdempotencyKey, &p.Amount, &p.Currency,
		&p.Method, &p.Description, &metadata, &p.Status, &p.Plugin, &p.Account, &p.ProviderID,
		&p.ChannelTradeNo, &payInfo, &decision, &p.FeeAmount, &p.RefundedAmount, &p.RefundReserved,
		&p.FailureCode, &p.FailureMessage, &providerData, &created, &updated, &paid, &nextPoll,
		&p.PollAttempts, &p.ProviderCode, &p.ChannelMethod, &p.TerminalID, &p.SplitReserved, &p.SplitAmount, &splitDue); err != nil {
		return nil, err
	}
	var err error
	if p.Metadata, err = decodeMap(metadata); err != nil {
		return nil, err
	}
	if p.ProviderData, err = decodeMap(providerData); err != nil {
		return nil, err
	}
	p.PayInfo, p.Decision = bytesOrNil([]byte(payInfo)), bytesOrNil([]byte(decision))
	p.CreatedAt, p.UpdatedAt, p.PaidAt, p.NextPollAt = fromMicros(created), fromMicros(updated), fromMicros(paid), fromMicros(nextPoll)
	p.SplitDueAt = fromMicros(splitDue)
	return &p, nil
}

func checkPayment(p *store.Payment) error {
	var c textChecker
	c.str("ID", p.ID)
	c.str("Tenant", p.Tenant)
	c.str("MerchantOrderID", p.MerchantOrderID)
	c.str("IdempotencyKey", p.IdempotencyKey)
	c.str("Currency", p.Currency)
	c.str("Method", p.Method)
	c.str("Description", p.Description)
	c.dict("Metadata", p.Metadata)
	c.str("Status", p.Status)
	c.str("Plugin", p.Plugin)
	c.str("Account", p.Account)
	c.str("ProviderID", p.ProviderID)
	c.str("ChannelTradeNo", p.ChannelTradeNo)
	c.bytes("PayInfo", p.PayInfo)
	c.bytes("Decision", p.Decision)
	c.str("FailureCode", p.FailureCode)
	c.str("FailureMessage", p.FailureMessage)
	c.str("ProviderCode", p.ProviderCode)
	c.str("ChannelMethod", p.ChannelMethod)
	c.str("TerminalID", p.TerminalID)
	c.dict("ProviderData", p.ProviderData)
	return c.err()
}

// InsertPayment stores p; ErrDuplicate when its ID, or its non-empty
// MerchantOrderID within the tenant, exists.
func (s *Store) InsertPayment(ctx context.Context, p *store.Payment) error {
	if err := checkPayment(p); err != nil {
		return err
	}
	if p.ID == "" || p.Status == "" {
		return errors.New("sqlstore: insert payment: ID and Status are required")
	}
	metadata, err := encodeMap(p.Metadata)
	if err != nil {
		return err
	}
	providerData, err := encodeMap(p.ProviderData)
	if err != nil {
		return err
	}
	return s.insertLinked(ctx, p.Link, p.ID, func(q querier) error {
		res, err := q.ExecContext(ctx, s.d.q(`INSERT INTO payments (`+paymentCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`),
			p.ID, p.Tenant, p.MerchantOrderID, p.IdempotencyKey, p.Amount, p.Currency, p.Method, p.Description,
			metadata, p.Status, p.Plugin, p.Account, p.ProviderID, p.ChannelTradeNo, string(p.PayInfo),
			string(p.Decision), p.FeeAmount, p.RefundedAmount, p.RefundReserved, p.FailureCode,
			p.FailureMessage, providerData, micros(p.CreatedAt), micros(p.UpdatedAt), micros(p.PaidAt),
			micros(p.NextPollAt), p.PollAttempts, p.ProviderCode, p.ChannelMethod, p.TerminalID, p.SplitReserved, p.SplitAmount,
			micros(p.SplitDueAt))
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
	return getByID(ctx, s, q, "payments", paymentCols, scanPayment, "payment", id, lock)
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
		p, err = scanPayment(q.QueryRowContext(ctx, s.d.q(query+` RETURNING `+paymentCols), args...))
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
		RETURNING `+paymentCols), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim payments to poll: %w", err)
	}
	return collect(rows, scanPayment, "claim payments to poll")
}

// PaymentsToPoll lists payments with 0 < NextPollAt ≤ now, the longest
// overdue first; limit ≤ 0 means 100.
func (s *Store) PaymentsToPoll(ctx context.Context, now time.Time, limit int) ([]*store.Payment, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(`SELECT `+paymentCols+` FROM payments
		WHERE next_poll_at <> 0 AND next_poll_at <= ? ORDER BY next_poll_at, seq LIMIT ?`), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: payments to poll: %w", err)
	}
	return collect(rows, scanPayment, "payments to poll")
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error), what string) ([]T, error) {
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
