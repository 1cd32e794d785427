package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/payhost/payhost/host/store"
)

// This file routes the Store's statements through the store.Unit a
// context carries: writes go into the unit's transaction (begun at the
// first one) and reads see it once it is open. Without a unit, each method
// commits on its own as before.

// unitTx returns the transaction of the Unit ctx carries, beginning it
// when none is open; nil without an open unit. The transaction is begun
// detached from ctx's cancellation: the unit's owner ends it (Commit or
// Close), not the deadline of whichever call happened to write first.
func (s *Store) unitTx(ctx context.Context) (*sql.Tx, error) {
	u := store.UnitOf(ctx)
	if u == nil {
		return nil, nil
	}
	t, err := u.Tx(s, func() (store.UnitTx, error) {
		if s.g != nil {
			return s.g.begin(ctx)
		}
		tx, err := s.w.BeginTx(context.WithoutCancel(ctx), nil)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: begin: %w", err)
		}
		return tx, nil
	})
	if err != nil || t == nil {
		return nil, err
	}
	return txOf(t), nil
}

// txOf is the *sql.Tx of a unit's transaction.
func txOf(t store.UnitTx) *sql.Tx {
	if seg, ok := t.(*segment); ok {
		return seg.tx
	}
	return t.(*sql.Tx)
}

// openTx is the unit's transaction when ctx carries a unit with one open.
func (s *Store) openTx(ctx context.Context) *sql.Tx {
	if u := store.UnitOf(ctx); u != nil {
		if t := u.Open(s); t != nil {
			return txOf(t)
		}
	}
	return nil
}

// wq is where a write goes: the unit's transaction, or the write pool.
func (s *Store) wq(ctx context.Context) (querier, error) {
	tx, err := s.unitTx(ctx)
	if err != nil {
		return nil, err
	}
	if tx != nil {
		return tx, nil
	}
	return s.w, nil
}

// rq is where a read goes: the unit's open transaction (to see its
// writes), or the read pool.
func (s *Store) rq(ctx context.Context) querier {
	if tx := s.openTx(ctx); tx != nil {
		return tx
	}
	return s.r
}

// rw is where a read that decides a write goes: the unit's open
// transaction, or the write pool.
func (s *Store) rw(ctx context.Context) querier {
	if tx := s.openTx(ctx); tx != nil {
		return tx
	}
	return s.w
}

// exec runs a single-statement write (on SQLite, a segment of a group
// commit).
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	q, err := s.wq(ctx)
	if err != nil {
		return nil, err
	}
	if q == s.w && s.g != nil {
		var res sql.Result
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			res, err = tx.ExecContext(ctx, query, args...)
			return err
		})
		return res, err
	}
	return q.ExecContext(ctx, query, args...)
}

// queryW runs a single-statement write that returns rows (UPDATE ..
// RETURNING).
func (s *Store) queryW(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q, err := s.wq(ctx)
	if err != nil {
		return nil, err
	}
	return q.QueryContext(ctx, query, args...)
}

// queryRowW runs a single-statement write that returns one row (on
// SQLite, a segment of a group commit, run when the row is scanned).
func (s *Store) queryRowW(ctx context.Context, query string, args ...any) rowScanner {
	q, err := s.wq(ctx)
	if err != nil {
		return errRow{err}
	}
	if q == s.w && s.g != nil {
		return groupRow{s: s, ctx: ctx, query: query, args: args}
	}
	return q.QueryRowContext(ctx, query, args...)
}

// groupRow is a one-row write run in a segment of its own when scanned.
type groupRow struct {
	s     *Store
	ctx   context.Context // the caller's, for the one Scan that follows at once
	query string
	args  []any
}

func (r groupRow) Scan(dest ...any) error {
	return r.s.inTx(r.ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(r.ctx, r.query, r.args...).Scan(dest...)
	})
}

// errRow is a row that could not be read.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// savepoint runs fn inside tx so that its writes are undone when it fails
// while the transaction's other writes stay.
func (s *Store) savepoint(ctx context.Context, tx *sql.Tx, fn func(tx *sql.Tx) error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT payhost_call"); err != nil {
		return fmt.Errorf("sqlstore: savepoint: %w", err)
	}
	if err := fn(tx); err != nil {
		if _, rerr := tx.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT payhost_call"); rerr != nil {
			return fmt.Errorf("%w (and rolling it back: %w)", err, rerr)
		}
		// fn's writes are undone already; should RELEASE fail, the unit's
		// transaction is lost and its commit reports it
		_, _ = tx.ExecContext(context.WithoutCancel(ctx), "RELEASE SAVEPOINT payhost_call")
		return err
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT payhost_call"); err != nil {
		return fmt.Errorf("sqlstore: release savepoint: %w", err)
	}
	return nil
}
