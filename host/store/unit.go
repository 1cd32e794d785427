package store

import (
	"context"
	"errors"
	"sync"
)

// A Unit makes the store writes of one piece of work share transactions:
// a store given a context that carries an open Unit writes inside the
// unit's transaction (begun at the first write) instead of committing each
// call on its own, and reads see those writes. Commit makes them durable
// together, in one commit; the unit then begins a new transaction at the
// next write. Close rolls back what was not committed and ends the unit:
// afterwards a context that carries it writes as if it carried none.
//
// The engine commits a unit before anything leaves the process (a provider
// call) and at the end of a request, so a payment creation commits twice:
// the claim of its idempotency key with the payment, before the provider
// hears of it; then the outcome with its attempt, transition, event and
// the stored answer. A unit holds its transaction, and with SQLite the one
// write connection, only while the engine computes: never across a call
// that waits on the network.
//
// A store method that fails inside a unit leaves the unit's other writes
// as they were (each multi-statement method runs in a savepoint where the
// database needs one); on PostgreSQL a failed statement aborts the whole
// transaction, so Commit then fails and nothing of the unit is stored.
type Unit struct {
	mu     sync.Mutex
	owner  any // the store whose transaction is open
	tx     UnitTx
	closed bool
	after  []func()
}

// UnitTx is the transaction a store keeps in a Unit.
type UnitTx interface {
	Commit() error
	Rollback() error
}

type unitKey struct{}

// ErrUnitOwned is returned when a Unit holds another store's transaction.
var ErrUnitOwned = errors.New("store: the unit holds another store's transaction")

// WithUnit returns a context carrying a new Unit, and the unit. The caller
// must Close it.
func WithUnit(ctx context.Context) (context.Context, *Unit) {
	u := &Unit{}
	return context.WithValue(ctx, unitKey{}, u), u
}

// UnitOf returns the open Unit ctx carries, or nil.
func UnitOf(ctx context.Context) *Unit {
	u, _ := ctx.Value(unitKey{}).(*Unit)
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil
	}
	return u
}

// Tx returns owner's open transaction in the unit, beginning one with
// begin when none is open. It returns (nil, nil) when the unit is closed:
// the store then works without it.
func (u *Unit) Tx(owner any, begin func() (UnitTx, error)) (UnitTx, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil, nil
	}
	if u.tx != nil {
		if u.owner != owner {
			return nil, ErrUnitOwned
		}
		return u.tx, nil
	}
	tx, err := begin()
	if err != nil {
		return nil, err
	}
	u.owner, u.tx = owner, tx
	return tx, nil
}

// Open returns owner's transaction when the unit has one open, else nil:
// a read goes through it to see the unit's writes.
func (u *Unit) Open(owner any) UnitTx {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed || u.tx == nil || u.owner != owner {
		return nil
	}
	return u.tx
}

// Commit commits the open transaction, if any, and then runs the
// functions given to AfterCommit. The unit stays open.
func (u *Unit) Commit() error {
	u.mu.Lock()
	tx := u.tx
	u.tx, u.owner = nil, nil
	after := u.after
	u.after = nil
	u.mu.Unlock()
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	for _, fn := range after {
		fn()
	}
	return nil
}

// Close rolls back what was not committed and ends the unit. The
// functions given to AfterCommit since the last Commit are dropped.
func (u *Unit) Close() {
	u.mu.Lock()
	tx := u.tx
	u.tx, u.owner, u.after, u.closed = nil, nil, nil, true
	u.mu.Unlock()
	if tx != nil {
		_ = tx.Rollback()
	}
}

// AfterCommit runs fn once what was written with ctx is durable: at once
// when ctx carries no open Unit or its unit has nothing open, else after
// the unit's next Commit.
func AfterCommit(ctx context.Context, fn func()) {
	u, _ := ctx.Value(unitKey{}).(*Unit)
	if u != nil {
		u.mu.Lock()
		if !u.closed && u.tx != nil {
			u.after = append(u.after, fn)
			u.mu.Unlock()
			return
		}
		u.mu.Unlock()
	}
	fn()
}

// CommitUnit commits the open Unit ctx carries, if any: what was written
// is durable before the caller goes on (a provider call).
func CommitUnit(ctx context.Context) error {
	if u := UnitOf(ctx); u != nil {
		return u.Commit()
	}
	return nil
}
