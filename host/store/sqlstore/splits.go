package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// receiverTable is the split_receivers table; its rows are store.Receiver.
var receiverTable = newTable("split_receivers", "receiver", []string{"seq"},
	str("id", func(r *store.Receiver) *string { return &r.ID }),
	str("tenant", func(r *store.Receiver) *string { return &r.Tenant }),
	str("account", func(r *store.Receiver) *string { return &r.Account }),
	str("name", func(r *store.Receiver) *string { return &r.Name }),
	str("plugin", func(r *store.Receiver) *string { return &r.Plugin }),
	str("provider_id", func(r *store.Receiver) *string { return &r.ProviderID }),
	str("status", func(r *store.Receiver) *string { return &r.Status }),
	str("kind", func(r *store.Receiver) *string { return &r.Kind }),
	str("channel", func(r *store.Receiver) *string { return &r.Channel }),
	str("account_no", func(r *store.Receiver) *string { return &r.AccountNo }),
	str("account_name", func(r *store.Receiver) *string { return &r.AccountName }),
	str("relation", func(r *store.Receiver) *string { return &r.Relation }),
	str("relation_name", func(r *store.Receiver) *string { return &r.RelationName }),
	str("group_id", func(r *store.Receiver) *string { return &r.GroupID }),
	num("ratio_ppm", func(r *store.Receiver) *int64 { return &r.RatioPPM }),
	str("failure_code", func(r *store.Receiver) *string { return &r.FailureCode }),
	str("failure_message", func(r *store.Receiver) *string { return &r.FailureMessage }),
	mapCol("provider_data", func(r *store.Receiver) *map[string]string { return &r.ProviderData }),
	timeCol("created_at", func(r *store.Receiver) *time.Time { return &r.CreatedAt }),
	timeCol("updated_at", func(r *store.Receiver) *time.Time { return &r.UpdatedAt }),
)

// receiverReplace is what ReplaceReceiver changes: everything but the
// receiver's identity and creation time.
var receiverReplace = receiverTable.setExcept("id", "tenant", "account", "name", "created_at")

// receiverArgs are the values storing r, which must have its identity.
func receiverArgs(r *store.Receiver) ([]any, error) {
	args, err := receiverTable.args(r)
	if err != nil {
		return nil, err
	}
	if r.ID == "" || r.Tenant == "" || r.Account == "" || r.Name == "" || r.Status == "" {
		return nil, errors.New("sqlstore: receiver: ID, Tenant, Account, Name and Status are required")
	}
	return args, nil
}

// InsertReceiver stores a receiver; ErrDuplicate for a known id or a name
// the tenant already uses at that account.
func (s *Store) InsertReceiver(ctx context.Context, r *store.Receiver) error {
	args, err := receiverArgs(r)
	if err != nil {
		return err
	}
	res, err := s.exec(ctx, s.d.q(receiverTable.insertNew), args...)
	if err != nil {
		return fmt.Errorf("sqlstore: insert receiver: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: insert receiver: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: receiver %s (%s at %s)", store.ErrDuplicate, r.ID, r.Name, r.Account)
	}
	return nil
}

// ReplaceReceiver overwrites the receiver r.ID if its status is from; the
// tenant, account, name and creation time stay.
func (s *Store) ReplaceReceiver(ctx context.Context, r *store.Receiver, from string) error {
	args, err := receiverArgs(r)
	if err != nil {
		return err
	}
	// in a savepoint inside a unit: a refused update must not abort the
	// unit's transaction on PostgreSQL
	var res sql.Result
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, s.d.q(`UPDATE split_receivers SET `+receiverReplace.sql+` WHERE id = ? AND status = ?`),
			receiverReplace.args(args, r.ID, from)...)
		return err
	})
	if isUniqueViolation(err) {
		// split_receivers_bound_provider: the provider id is bound at the account already
		return fmt.Errorf("%w: provider receiver %s is bound at %s already", store.ErrDuplicate, r.ProviderID, r.Account)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: replace receiver: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: replace receiver: %w", err)
	} else if n == 0 {
		if _, err := s.GetReceiver(ctx, r.ID); err != nil {
			return err
		}
		return fmt.Errorf("%w: receiver %s is not %s", store.ErrConflict, r.ID, from)
	}
	return nil
}

// GetReceiver reads a receiver; ErrNotFound when it does not exist.
func (s *Store) GetReceiver(ctx context.Context, id string) (*store.Receiver, error) {
	return getByID(ctx, s, s.rq(ctx), receiverTable, id, "")
}

// FindReceiver reads a tenant's receiver by account, name and channel.
func (s *Store) FindReceiver(ctx context.Context, tenant, account, name, channel string) (*store.Receiver, error) {
	r, err := receiverTable.scan(s.rq(ctx).QueryRowContext(ctx, s.d.q(receiverTable.sel+`
		WHERE tenant = ? AND account = ? AND name = ? AND channel = ?`), tenant, account, name, channel))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: receiver %s (%s) at %s", store.ErrNotFound, name, channel, account)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: find receiver: %w", err)
	}
	return r, nil
}

// FindReceivers lists a tenant's receivers of a name at an account.
func (s *Store) FindReceivers(ctx context.Context, tenant, account, name string) ([]*store.Receiver, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(receiverTable.sel+`
		WHERE tenant = ? AND account = ? AND name = ? ORDER BY seq`), tenant, account, name)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: find receivers: %w", err)
	}
	return receiverTable.collect(rows, "find receivers")
}

// ListReceivers lists a tenant's receivers, oldest first.
func (s *Store) ListReceivers(ctx context.Context, tenant string) ([]*store.Receiver, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(receiverTable.sel+` WHERE tenant = ? ORDER BY seq`), tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list receivers: %w", err)
	}
	return receiverTable.collect(rows, "list receivers")
}

// FindReceiversByProvider lists every tenant's receivers at an account
// with a provider receiver id.
func (s *Store) FindReceiversByProvider(ctx context.Context, account, providerID string) ([]*store.Receiver, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(receiverTable.sel+`
		WHERE account = ? AND provider_id = ? ORDER BY seq`), account, providerID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: find receivers by provider id: %w", err)
	}
	return receiverTable.collect(rows, "find receivers by provider id")
}

// ListReceiversByStatus lists every tenant's receivers in a status.
func (s *Store) ListReceiversByStatus(ctx context.Context, status string, limit int) ([]*store.Receiver, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(receiverTable.sel+`
		WHERE status = ? ORDER BY seq LIMIT ?`), status, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list receivers by status: %w", err)
	}
	return receiverTable.collect(rows, "list receivers by status")
}

// splitTable is the splits table; its rows are store.Split.
var splitTable = newTable("splits", "split", []string{"seq"},
	str("id", func(sp *store.Split) *string { return &sp.ID }),
	str("tenant", func(sp *store.Split) *string { return &sp.Tenant }),
	str("payment_id", func(sp *store.Split) *string { return &sp.PaymentID }),
	str("account", func(sp *store.Split) *string { return &sp.Account }),
	str("plugin", func(sp *store.Split) *string { return &sp.Plugin }),
	str("source", func(sp *store.Split) *string { return &sp.Source }),
	str("idempotency_key", func(sp *store.Split) *string { return &sp.IdempotencyKey }),
	str("status", func(sp *store.Split) *string { return &sp.Status }),
	num("amount", func(sp *store.Split) *int64 { return &sp.Amount }),
	str("currency", func(sp *store.Split) *string { return &sp.Currency }),
	str("provider_id", func(sp *store.Split) *string { return &sp.ProviderID }),
	jsonCol("records", func(sp *store.Split) *[]store.SplitRecord { return &sp.Records }, encodeRecords),
	str("failure_code", func(sp *store.Split) *string { return &sp.FailureCode }),
	str("failure_message", func(sp *store.Split) *string { return &sp.FailureMessage }),
	str("provider_code", func(sp *store.Split) *string { return &sp.ProviderCode }),
	mapCol("provider_data", func(sp *store.Split) *map[string]string { return &sp.ProviderData }),
	timeCol("created_at", func(sp *store.Split) *time.Time { return &sp.CreatedAt }),
	timeCol("updated_at", func(sp *store.Split) *time.Time { return &sp.UpdatedAt }),
	timeCol("next_poll_at", func(sp *store.Split) *time.Time { return &sp.NextPollAt }),
	num("poll_attempts", func(sp *store.Split) *int { return &sp.PollAttempts }),
)

// encodeRecords stores a split's records as JSON; none is "".
func encodeRecords(rs []store.SplitRecord) (string, error) {
	if len(rs) == 0 {
		return "", nil
	}
	var c textChecker
	for _, r := range rs {
		for f, v := range map[string]string{"Receiver": r.Receiver, "ReceiverID": r.ReceiverID, "ProviderReceiver": r.ProviderReceiver,
			"ProviderRecordID": r.ProviderRecordID, "Status": r.Status, "FailureCode": r.FailureCode, "FailureMessage": r.FailureMessage} {
			c.str("Records."+f, v)
		}
	}
	if err := c.err(); err != nil {
		return "", err
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode split records: %w", err)
	}
	return string(b), nil
}

// splitReserves is what a split in status st holds of the payment: the
// reservation (every split not failed) and the split amount (the succeeded
// records of a finished split).
func splitReserves(st string, amount int64, records []store.SplitRecord) (reserved, split int64) {
	switch core.SplitStatus(st) {
	case core.SplitFailed, core.SplitSucceeded:
		done := succeededAmount(st, amount, records)
		return done, done
	}
	return amount, 0
}

// succeededAmount is what a finished split moved: its succeeded records, or
// (without records) all of it when it succeeded.
func succeededAmount(st string, amount int64, records []store.SplitRecord) int64 {
	if len(records) == 0 {
		if core.SplitStatus(st) == core.SplitSucceeded {
			return amount
		}
		return 0
	}
	var sum int64
	for _, r := range records {
		if core.SplitStatus(r.Status) == core.SplitSucceeded {
			sum += r.Amount
		}
	}
	return min(sum, amount)
}

// InsertSplit stores a split and reserves its amount on the payment.
func (s *Store) InsertSplit(ctx context.Context, sp *store.Split) error {
	args, err := splitTable.args(sp)
	if err != nil {
		return err
	}
	if sp.ID == "" || sp.Status == "" || sp.Source == "" {
		return errors.New("sqlstore: insert split: ID, Status and Source are required")
	}
	if sp.Amount <= 0 {
		return fmt.Errorf("sqlstore: insert split: amount %d is not positive", sp.Amount)
	}
	reserve, split := splitReserves(sp.Status, sp.Amount, sp.Records)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.linkInTx(ctx, tx, sp.Link, sp.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE payments SET split_reserved = split_reserved + ?, split_amount = split_amount + ?
			WHERE id = ? AND tenant = ? AND status = ? AND split_reserved + ? <= amount - fee_amount - refund_reserved`),
			reserve, split, sp.PaymentID, sp.Tenant, string(core.PaymentSucceeded), reserve)
		if err != nil {
			return fmt.Errorf("sqlstore: insert split: reserve: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert split: reserve: %w", err)
		} else if n == 0 {
			return s.whyNoSplit(ctx, tx, sp)
		}
		res, err = tx.ExecContext(ctx, s.d.q(splitTable.insertNew), args...)
		if err != nil {
			return fmt.Errorf("sqlstore: insert split: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert split: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: split %s (or the rules' split of payment %s)", store.ErrDuplicate, sp.ID, sp.PaymentID)
		}
		return nil
	})
}

func (s *Store) whyNoSplit(ctx context.Context, tx *sql.Tx, sp *store.Split) error {
	var tenant, status string
	var amount, fee, refunds, reserved int64
	err := tx.QueryRowContext(ctx, s.d.q(`SELECT tenant, status, amount, fee_amount, refund_reserved, split_reserved FROM payments WHERE id = ?`),
		sp.PaymentID).Scan(&tenant, &status, &amount, &fee, &refunds, &reserved)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && tenant != sp.Tenant):
		return fmt.Errorf("%w: payment %s", store.ErrNotFound, sp.PaymentID)
	case err != nil:
		return fmt.Errorf("sqlstore: insert split: %w", err)
	case status != string(core.PaymentSucceeded):
		return fmt.Errorf("%w: payment %s is %s, not %s", store.ErrConflict, sp.PaymentID, status, core.PaymentSucceeded)
	default:
		return fmt.Errorf("%w: split of %d on payment %s: %d left to split (amount %d, fee %d, refunds %d, splits %d)",
			store.ErrInsufficient, sp.Amount, sp.PaymentID, amount-fee-refunds-reserved, amount, fee, refunds, reserved)
	}
}

// GetSplit reads a split; ErrNotFound when it does not exist.
func (s *Store) GetSplit(ctx context.Context, id string) (*store.Split, error) {
	return getByID(ctx, s, s.rq(ctx), splitTable, id, "")
}

// ListSplits lists a payment's splits, oldest first.
func (s *Store) ListSplits(ctx context.Context, paymentID string) ([]*store.Split, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(splitTable.sel+` WHERE payment_id = ? ORDER BY created_at, seq`), paymentID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list splits: %w", err)
	}
	return splitTable.collect(rows, "list splits")
}

// UpdateSplit changes a split and moves its amount between the payment's
// split_reserved and split_amount as its status requires.
func (s *Store) UpdateSplit(ctx context.Context, u store.SplitUpdate) (*store.Split, error) {
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
	if u.Records != nil {
		records, err := encodeRecords(u.Records)
		if err != nil {
			return nil, err
		}
		l.add("records", records)
	}
	var out *store.Split
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, sp, err := updateLocked(ctx, s, tx, splitTable, func(sp *store.Split) string { return sp.Status }, u.ID, u.From, l)
		if err != nil {
			return err
		}
		r0, s0 := splitReserves(old.Status, old.Amount, old.Records)
		r1, s1 := splitReserves(sp.Status, sp.Amount, sp.Records)
		if dr, ds := r1-r0, s1-s0; dr != 0 || ds != 0 {
			res, err := tx.ExecContext(ctx, s.d.q(`UPDATE payments SET split_reserved = split_reserved + ?, split_amount = split_amount + ?
				WHERE id = ? AND split_reserved + refund_reserved + ? <= amount`), dr, ds, sp.PaymentID, dr)
			if err != nil {
				return fmt.Errorf("sqlstore: update split: payment totals: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("sqlstore: update split: payment totals: %w", err)
			} else if n == 0 {
				return fmt.Errorf("%w: payment %s cannot reserve %d for split %s again", store.ErrInsufficient, sp.PaymentID, dr, sp.ID)
			}
		}
		if err := s.insertEvent(ctx, tx, u.Event, eventObject{"split", sp.ID, sp.Tenant, sp}); err != nil {
			return err
		}
		out = sp
		return nil
	})
	return out, err
}

// ClaimSplitsToPoll moves the due splits' next_poll_at to now+lease and
// returns them.
func (s *Store) ClaimSplitsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Split, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.queryW(ctx, s.d.q(`UPDATE splits SET next_poll_at = ?
		WHERE seq IN (SELECT seq FROM splits WHERE next_poll_at <> 0 AND next_poll_at <= ?
		              ORDER BY next_poll_at, seq LIMIT ?`+s.skipLocked()+`)
		RETURNING `+splitTable.list), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim splits to poll: %w", err)
	}
	return splitTable.collect(rows, "claim splits to poll")
}

// ClaimPaymentsToSplit moves the due payments' split_due_at to now+lease
// and returns them.
func (s *Store) ClaimPaymentsToSplit(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Payment, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.queryW(ctx, s.d.q(`UPDATE payments SET split_due_at = ?
		WHERE seq IN (SELECT seq FROM payments WHERE split_due_at <> 0 AND split_due_at <= ?
		              ORDER BY split_due_at, seq LIMIT ?`+s.skipLocked()+`)
		RETURNING `+paymentTable.list), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim payments to split: %w", err)
	}
	return paymentTable.collect(rows, "claim payments to split")
}
