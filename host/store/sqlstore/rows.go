package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/payhost/payhost/host/store"
)

// rowScanner is what the scan functions read: a *sql.Row or *sql.Rows.
type rowScanner = interface{ Scan(...any) error }

// getByID reads the row of t with id through q (lock is "" or the
// dialect's row lock); ErrNotFound names the object as t.what.
func getByID[T any](ctx context.Context, s *Store, q querier, t *table[T], id, lock string) (*T, error) {
	query := t.byID
	if lock != "" {
		query += lock
	}
	v, err := t.scan(q.QueryRowContext(ctx, s.d.q(query), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s %s", store.ErrNotFound, t.what, id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get %s: %w", t.what, err)
	}
	return v, nil
}

// statusSet is what an update of any object with a status may change
// besides its own columns: the status, the provider's references and
// failure, the poller's schedule and the time of the update.
type statusSet struct {
	To                                                    string
	ProviderID, FailureCode, FailureMessage, ProviderCode *string
	ProviderData                                          map[string]string
	NextPollAt                                            *time.Time
	PollAttempts                                          *int
	Now                                                   time.Time
}

// add checks the text fields into c and adds the columns given to l.
func (u statusSet) add(c *textChecker, l *setList) error {
	c.str("To", u.To)
	c.ptr("ProviderID", u.ProviderID)
	c.ptr("FailureCode", u.FailureCode)
	c.ptr("FailureMessage", u.FailureMessage)
	c.ptr("ProviderCode", u.ProviderCode)
	c.dict("ProviderData", u.ProviderData)
	if u.To != "" {
		l.add("status", u.To)
	}
	l.str("provider_id", u.ProviderID)
	l.str("failure_code", u.FailureCode)
	l.str("failure_message", u.FailureMessage)
	l.str("provider_code", u.ProviderCode)
	if err := l.dict("provider_data", u.ProviderData); err != nil {
		return err
	}
	l.time("next_poll_at", u.NextPollAt)
	l.int("poll_attempts", u.PollAttempts)
	if !u.Now.IsZero() {
		l.add("updated_at", micros(u.Now))
	}
	return nil
}

// updateLocked locks the row of t with id inside tx, refuses the update
// when from is set and the row's status differs (ErrConflict; ErrNotFound
// without the row), and applies l conditional on the status it read. It
// returns the row before and after, for the caller to move amounts in the
// same transaction.
func updateLocked[T any](ctx context.Context, s *Store, tx *sql.Tx, t *table[T], status func(*T) string,
	id, from string, l setList) (old, cur *T, err error) {
	if old, err = getByID(ctx, s, tx, t, id, s.d.forUpdate); err != nil {
		return old, cur, err
	}
	st := status(old)
	if from != "" && st != from {
		return old, cur, fmt.Errorf("%w: %s %s is %s, not %s", store.ErrConflict, t.what, id, st, from)
	}
	cur, err = t.scan(tx.QueryRowContext(ctx, s.d.q(`UPDATE `+t.name+` SET `+l.sql()+` WHERE id = ? AND status = ? RETURNING `+t.list),
		append(slices.Clip(l.args), id, st)...))
	if errors.Is(err, sql.ErrNoRows) {
		return old, cur, fmt.Errorf("%w: %s %s changed meanwhile", store.ErrConflict, t.what, id)
	}
	if err != nil {
		return old, cur, fmt.Errorf("sqlstore: update %s: %w", t.what, err)
	}
	return old, cur, nil
}

// collect scans every row into a T with t and closes rows.
func (t *table[T]) collect(rows *sql.Rows, what string) ([]*T, error) {
	return collect(rows, t.scan, what)
}
