package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/host/store"
)

const payoutCols = `id, tenant, idempotency_key, account, plugin, kind, amount, fee_amount, currency, destination, description,
	status, provider_id, failure_code, failure_message, provider_code, provider_data, created_at, updated_at, completed_at,
	next_poll_at, poll_attempts`

func scanPayout(row interface{ Scan(...any) error }) (*store.Payout, error) {
	var p store.Payout
	var dest, providerData string
	var created, updated, completed, nextPoll int64
	if err := row.Scan(&p.ID, &p.Tenant, &p.IdempotencyKey, &p.Account, &p.Plugin, &p.Kind, &p.Amount, &p.FeeAmount,
		&p.Currency, &dest, &p.Description, &p.Status, &p.ProviderID, &p.FailureCode, &p.FailureMessage, &p.ProviderCode,
		&providerData, &created, &updated, &completed, &nextPoll, &p.PollAttempts); err != nil {
		return nil, err
	}
	var err error
	if p.ProviderData, err = decodeMap(providerData); err != nil {
		return nil, err
	}
	p.Destination = bytesOrNil([]byte(dest))
	p.CreatedAt, p.UpdatedAt, p.CompletedAt, p.NextPollAt = fromMicros(created), fromMicros(updated), fromMicros(completed), fromMicros(nextPoll)
	return &p, nil
}

// InsertPayout stores a payout; ErrDuplicate for a known id.
func (s *Store) InsertPayout(ctx context.Context, p *store.Payout) error {
	var c textChecker
	for f, v := range map[string]string{"ID": p.ID, "Tenant": p.Tenant, "IdempotencyKey": p.IdempotencyKey, "Account": p.Account,
		"Plugin": p.Plugin, "Kind": p.Kind, "Currency": p.Currency, "Description": p.Description, "Status": p.Status,
		"ProviderID": p.ProviderID, "FailureCode": p.FailureCode, "FailureMessage": p.FailureMessage, "ProviderCode": p.ProviderCode} {
		c.str(f, v)
	}
	c.bytes("Destination", p.Destination)
	c.dict("ProviderData", p.ProviderData)
	if err := c.err(); err != nil {
		return err
	}
	if p.ID == "" || p.Status == "" || p.Kind == "" {
		return errors.New("sqlstore: insert payout: ID, Kind and Status are required")
	}
	if p.Amount <= 0 {
		return fmt.Errorf("sqlstore: insert payout: amount %d is not positive", p.Amount)
	}
	providerData, err := encodeMap(p.ProviderData)
	if err != nil {
		return err
	}
	return s.insertLinked(ctx, p.Link, p.ID, func(q querier) error {
		res, err := q.ExecContext(ctx, s.d.q(`INSERT INTO payouts (`+payoutCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			p.ID, p.Tenant, p.IdempotencyKey, p.Account, p.Plugin, p.Kind, p.Amount, p.FeeAmount, p.Currency, string(p.Destination),
			p.Description, p.Status, p.ProviderID, p.FailureCode, p.FailureMessage, p.ProviderCode, providerData,
			micros(p.CreatedAt), micros(p.UpdatedAt), micros(p.CompletedAt), micros(p.NextPollAt), p.PollAttempts)
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
	return getByID(ctx, s, s.rq(ctx), "payouts", payoutCols, scanPayout, "payout", id, "")
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
		p, err = scanPayout(q.QueryRowContext(ctx, s.d.q(query+` RETURNING `+payoutCols), args...))
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
		RETURNING `+payoutCols), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim payouts to poll: %w", err)
	}
	return collect(rows, scanPayout, "claim payouts to poll")
}

const terminalCols = `id, tenant, account, device_no, kind, serial_no, status, store_name, provider_id, provider_data, created_at, updated_at`

func scanTerminal(row interface{ Scan(...any) error }) (*store.Terminal, error) {
	var t store.Terminal
	var providerData string
	var created, updated int64
	if err := row.Scan(&t.ID, &t.Tenant, &t.Account, &t.DeviceNo, &t.Kind, &t.SerialNo, &t.Status, &t.StoreName,
		&t.ProviderID, &providerData, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if t.ProviderData, err = decodeMap(providerData); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &t, nil
}

// UpsertTerminal stores a terminal or updates the tenant's terminal of that
// account and device number (keeping its id and creation time, and setting
// t.ID and t.CreatedAt to them); ErrConflict when another tenant has it.
func (s *Store) UpsertTerminal(ctx context.Context, t *store.Terminal) error {
	var c textChecker
	for f, v := range map[string]string{"ID": t.ID, "Tenant": t.Tenant, "Account": t.Account, "DeviceNo": t.DeviceNo, "Kind": t.Kind,
		"SerialNo": t.SerialNo, "Status": t.Status, "StoreName": t.StoreName, "ProviderID": t.ProviderID} {
		c.str(f, v)
	}
	c.dict("ProviderData", t.ProviderData)
	if err := c.err(); err != nil {
		return err
	}
	if t.ID == "" || t.Tenant == "" || t.Account == "" || t.DeviceNo == "" {
		return errors.New("sqlstore: upsert terminal: ID, Tenant, Account and DeviceNo are required")
	}
	providerData, err := encodeMap(t.ProviderData)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanTerminal(tx.QueryRowContext(ctx, s.d.q(`SELECT `+terminalCols+` FROM terminals WHERE account = ? AND device_no = ?`+s.d.forUpdate),
			t.Account, t.DeviceNo))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO terminals (`+terminalCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				t.ID, t.Tenant, t.Account, t.DeviceNo, t.Kind, t.SerialNo, t.Status, t.StoreName, t.ProviderID, providerData,
				micros(t.CreatedAt), micros(t.UpdatedAt))
			if err != nil {
				return fmt.Errorf("sqlstore: upsert terminal: %w", err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("sqlstore: upsert terminal: %w", err)
		case cur.Tenant != t.Tenant:
			return fmt.Errorf("%w: device %s at %s belongs to another tenant", store.ErrConflict, t.DeviceNo, t.Account)
		}
		t.ID, t.CreatedAt = cur.ID, cur.CreatedAt
		_, err = tx.ExecContext(ctx, s.d.q(`UPDATE terminals SET kind = ?, serial_no = ?, status = ?, store_name = ?, provider_id = ?,
			provider_data = ?, updated_at = ? WHERE id = ?`),
			t.Kind, t.SerialNo, t.Status, t.StoreName, t.ProviderID, providerData, micros(t.UpdatedAt), t.ID)
		if err != nil {
			return fmt.Errorf("sqlstore: upsert terminal: %w", err)
		}
		return nil
	})
}

// FindTerminal reads the terminal of an account by device number.
func (s *Store) FindTerminal(ctx context.Context, account, deviceNo string) (*store.Terminal, error) {
	t, err := scanTerminal(s.rq(ctx).QueryRowContext(ctx, s.d.q(`SELECT `+terminalCols+` FROM terminals WHERE account = ? AND device_no = ?`),
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
	return getByID(ctx, s, s.rq(ctx), "terminals", terminalCols, scanTerminal, "terminal", id, "")
}

// ListTerminals lists a tenant's terminals, oldest first.
func (s *Store) ListTerminals(ctx context.Context, tenant string) ([]*store.Terminal, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(`SELECT `+terminalCols+` FROM terminals WHERE tenant = ? ORDER BY seq`), tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list terminals: %w", err)
	}
	return collect(rows, scanTerminal, "list terminals")
}
