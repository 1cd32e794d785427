package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/host/store"
)

// payoutTable is the payouts table; its rows are store.Payout.
var payoutTable = newTable("payouts", "payout", []string{"seq"},
	str("id", func(p *store.Payout) *string { return &p.ID }),
	str("tenant", func(p *store.Payout) *string { return &p.Tenant }),
	str("idempotency_key", func(p *store.Payout) *string { return &p.IdempotencyKey }),
	str("account", func(p *store.Payout) *string { return &p.Account }),
	str("plugin", func(p *store.Payout) *string { return &p.Plugin }),
	str("kind", func(p *store.Payout) *string { return &p.Kind }),
	num("amount", func(p *store.Payout) *int64 { return &p.Amount }),
	num("fee_amount", func(p *store.Payout) *int64 { return &p.FeeAmount }),
	str("currency", func(p *store.Payout) *string { return &p.Currency }),
	textCol("destination", func(p *store.Payout) *[]byte { return &p.Destination }),
	str("description", func(p *store.Payout) *string { return &p.Description }),
	str("status", func(p *store.Payout) *string { return &p.Status }),
	str("provider_id", func(p *store.Payout) *string { return &p.ProviderID }),
	str("failure_code", func(p *store.Payout) *string { return &p.FailureCode }),
	str("failure_message", func(p *store.Payout) *string { return &p.FailureMessage }),
	str("provider_code", func(p *store.Payout) *string { return &p.ProviderCode }),
	mapCol("provider_data", func(p *store.Payout) *map[string]string { return &p.ProviderData }),
	timeCol("created_at", func(p *store.Payout) *time.Time { return &p.CreatedAt }),
	timeCol("updated_at", func(p *store.Payout) *time.Time { return &p.UpdatedAt }),
	timeCol("completed_at", func(p *store.Payout) *time.Time { return &p.CompletedAt }),
	timeCol("next_poll_at", func(p *store.Payout) *time.Time { return &p.NextPollAt }),
	num("poll_attempts", func(p *store.Payout) *int { return &p.PollAttempts }),
)

// InsertPayout stores a payout; ErrDuplicate for a known id.
func (s *Store) InsertPayout(ctx context.Context, p *store.Payout) error {
	args, err := payoutTable.args(p)
	if err != nil {
		return err
	}
	if p.ID == "" || p.Status == "" || p.Kind == "" {
		return errors.New("sqlstore: insert payout: ID, Kind and Status are required")
	}
	if p.Amount <= 0 {
		return fmt.Errorf("sqlstore: insert payout: amount %d is not positive", p.Amount)
	}
	return s.insertLinked(ctx, p.Link, p.ID, func(q querier) error {
		res, err := q.ExecContext(ctx, s.d.q(payoutTable.insertNew), args...)
		if err != nil {
			return fmt.Errorf("sqlstore: insert payout: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert payout: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: payout %s", store.ErrDuplicate, p.ID)
		}
		return nil
	})
}

// GetPayout reads a payout; ErrNotFound when it does not exist.
func (s *Store) GetPayout(ctx context.Context, id string) (*store.Payout, error) {
	return getByID(ctx, s, s.rq(ctx), payoutTable, id, "")
}

// UpdatePayout changes a payout; with From set, only when its status is From
// (ErrConflict otherwise).
func (s *Store) UpdatePayout(ctx context.Context, u store.PayoutUpdate) (*store.Payout, error) {
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
	l.i64("fee_amount", u.FeeAmount)
	l.time("completed_at", u.CompletedAt)
	query := `UPDATE payouts SET ` + l.sql() + ` WHERE id = ?`
	args := append(l.args, u.ID)
	if u.From != "" {
		query += ` AND status = ?`
		args = append(args, u.From)
	}
	var p *store.Payout
	err := s.inTxIf(ctx, u.Event != nil, func(q querier) error {
		var err error
		p, err = payoutTable.scan(q.QueryRowContext(ctx, s.d.q(query+` RETURNING `+payoutTable.list), args...))
		if errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err != nil {
			return fmt.Errorf("sqlstore: update payout: %w", err)
		}
		return s.insertEvent(ctx, q, u.Event, eventObject{"payout", p.ID, p.Tenant, p})
	})
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	cur, err := s.GetPayout(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: payout %s is %s, not %s", store.ErrConflict, u.ID, cur.Status, u.From)
}

// ClaimPayoutsToPoll moves the due payouts' next_poll_at to now+lease and
// returns them.
func (s *Store) ClaimPayoutsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Payout, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.queryW(ctx, s.d.q(`UPDATE payouts SET next_poll_at = ?
		WHERE seq IN (SELECT seq FROM payouts WHERE next_poll_at <> 0 AND next_poll_at <= ?
		              ORDER BY next_poll_at, seq LIMIT ?`+s.skipLocked()+`)
		RETURNING `+payoutTable.list), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim payouts to poll: %w", err)
	}
	return payoutTable.collect(rows, "claim payouts to poll")
}

// terminalTable is the terminals table; its rows are store.Terminal.
var terminalTable = newTable("terminals", "terminal", []string{"seq"},
	str("id", func(t *store.Terminal) *string { return &t.ID }),
	str("tenant", func(t *store.Terminal) *string { return &t.Tenant }),
	str("account", func(t *store.Terminal) *string { return &t.Account }),
	str("device_no", func(t *store.Terminal) *string { return &t.DeviceNo }),
	str("kind", func(t *store.Terminal) *string { return &t.Kind }),
	str("serial_no", func(t *store.Terminal) *string { return &t.SerialNo }),
	str("status", func(t *store.Terminal) *string { return &t.Status }),
	str("store_name", func(t *store.Terminal) *string { return &t.StoreName }),
	str("provider_id", func(t *store.Terminal) *string { return &t.ProviderID }),
	mapCol("provider_data", func(t *store.Terminal) *map[string]string { return &t.ProviderData }),
	timeCol("created_at", func(t *store.Terminal) *time.Time { return &t.CreatedAt }),
	timeCol("updated_at", func(t *store.Terminal) *time.Time { return &t.UpdatedAt }),
)

// terminalUpdate is what UpsertTerminal changes of a known terminal:
// everything but its identity and creation time.
var terminalUpdate = terminalTable.setExcept("id", "tenant", "account", "device_no", "created_at")

// UpsertTerminal stores a terminal or updates the tenant's terminal of that
// account and device number (keeping its id and creation time, and setting
// t.ID and t.CreatedAt to them); ErrConflict when another tenant has it.
func (s *Store) UpsertTerminal(ctx context.Context, t *store.Terminal) error {
	args, err := terminalTable.args(t)
	if err != nil {
		return err
	}
	if t.ID == "" || t.Tenant == "" || t.Account == "" || t.DeviceNo == "" {
		return errors.New("sqlstore: upsert terminal: ID, Tenant, Account and DeviceNo are required")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := terminalTable.scan(tx.QueryRowContext(ctx, s.d.q(terminalTable.sel+` WHERE account = ? AND device_no = ?`+s.d.forUpdate),
			t.Account, t.DeviceNo))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, s.d.q(terminalTable.insert), args...); err != nil {
				return fmt.Errorf("sqlstore: upsert terminal: %w", err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("sqlstore: upsert terminal: %w", err)
		case cur.Tenant != t.Tenant:
			return fmt.Errorf("%w: device %s at %s belongs to another tenant", store.ErrConflict, t.DeviceNo, t.Account)
		}
		t.ID, t.CreatedAt = cur.ID, cur.CreatedAt
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE terminals SET `+terminalUpdate.sql+` WHERE id = ?`),
			terminalUpdate.args(args, t.ID)...); err != nil {
			return fmt.Errorf("sqlstore: upsert terminal: %w", err)
		}
		return nil
	})
}

// FindTerminal reads the terminal of an account by device number.
func (s *Store) FindTerminal(ctx context.Context, account, deviceNo string) (*store.Terminal, error) {
	t, err := terminalTable.scan(s.rq(ctx).QueryRowContext(ctx, s.d.q(terminalTable.sel+` WHERE account = ? AND device_no = ?`),
		account, deviceNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: device %s at %s", store.ErrNotFound, deviceNo, account)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: find terminal: %w", err)
	}
	return t, nil
}

// GetTerminal reads a terminal by id.
func (s *Store) GetTerminal(ctx context.Context, id string) (*store.Terminal, error) {
	return getByID(ctx, s, s.rq(ctx), terminalTable, id, "")
}

// ListTerminals lists a tenant's terminals, oldest first.
func (s *Store) ListTerminals(ctx context.Context, tenant string) ([]*store.Terminal, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(terminalTable.sel+` WHERE tenant = ? ORDER BY seq`), tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list terminals: %w", err)
	}
	return terminalTable.collect(rows, "list terminals")
}
