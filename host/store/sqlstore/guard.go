package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payhost/payhost/host/store"
)

// Every connection of a Store goes through a guard: a database/sql driver
// wrapper that turns each error saying the database cannot serve at the
// moment into a *store.UnavailableError (store.ErrUnavailable), whatever
// method of the Store ran into it, and tells the Store about failed writes
// so that Ping reports it not ready until a write succeeds again. Errors are
// wrapped, never replaced: errors.Is(err, driver.ErrBadConn), which
// database/sql uses to retry on a fresh connection, still holds.
//
// The guard also counts the Store's work (Store.Stats): transactions,
// statements, and durable commits — a transaction is one when a statement
// in it changed a row (rows affected, or a row returned by a writing
// statement's RETURNING), and so is a statement outside a transaction that
// changed one.

// SQLite result codes (the primary code is the low byte of an extended one).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteNoMem    = 7
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
)

// classify returns err as a *store.UnavailableError when it says the
// database cannot serve at the moment, and err unchanged otherwise (nil
// stays nil).
func classify(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	cause, write := unavailableCause(err)
	if cause == "" {
		return err
	}
	return &store.UnavailableError{Cause: cause, Write: write, Err: err}
}

// unavailableCause names what err says is wrong with the database ("" when
// it says nothing of the kind); write reports a failure to write that
// reads may not see (disk full, read-only, an I/O error).
func unavailableCause(err error) (cause string, write bool) {
	if errors.Is(err, context.Canceled) {
		return "", false // the caller gave up: not the database's fault
	}
	var pg *pgconn.PgError
	var connect *pgconn.ConnectError
	var lite interface{ Code() int } // modernc.org/sqlite's *Error
	switch {
	case errors.As(err, &connect):
		if c, w := unavailableCause(connect.Unwrap()); c != "" {
			return c, w
		}
		return "cannot connect to the database", false
	case errors.As(err, &pg):
		return postgresCause(pg.Code)
	case errors.As(err, &lite):
		return sqliteCause(lite.Code())
	}
	return networkCause(err), false
}

// sqliteCause names an SQLite result code that says the database cannot
// serve at the moment.
func sqliteCause(code int) (cause string, write bool) {
	switch code & 0xff {
	case sqliteBusy, sqliteLocked:
		return "database is locked by another writer", false
	case sqliteNoMem:
		return "database is out of memory", false
	case sqliteReadOnly:
		return "database is read-only", true
	case sqliteIOErr:
		return "database I/O error", true
	case sqliteFull:
		return "database disk is full", true
	case sqliteCantOpen:
		return "database file cannot be opened", false
	}
	return "", false
}

// postgresCause names a PostgreSQL SQLSTATE that says the database cannot
// serve at the moment.
func postgresCause(state string) (cause string, write bool) {
	switch {
	case len(state) == 5 && state[:2] == "08":
		return "connection to the database lost", false
	case state == "57P01", state == "57P02":
		return "database is shutting down", false
	case state == "57P03":
		return "database is starting up", false
	case state == "53100":
		return "database disk is full", true
	case state == "53200":
		return "database is out of memory", false
	case state == "53300":
		return "database has too many connections", false
	case state == "25006":
		return "database is read-only", true
	case state == "58030":
		return "database I/O error", true
	}
	return "", false
}

// networkCause names a failure of the connection to a database server.
func networkCause(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF), errors.Is(err, driver.ErrBadConn), errors.Is(err, net.ErrClosed):
		return "connection to the database lost"
	case errors.As(err, &ne) && ne.Timeout():
		return "connection to the database timed out"
	case errors.As(err, &ne):
		return "cannot reach the database"
	}
	return ""
}

// guard is what the connections of one pool share: how to tell the Store
// about a failed write, and the Store's counters.
type guard struct {
	wrote func(*store.UnavailableError)
	n     *counts
	// detach runs statements without the caller's cancellation (SQLite's
	// write connection): its statements are short, and the driver would
	// otherwise start a goroutine per statement to watch the context.
	// Lock waits stay bounded by the busy timeout.
	detach bool
}

// stmtCtx is the context a statement runs with.
func (g *guard) stmtCtx(ctx context.Context) context.Context {
	if g.detach {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// counts are a Store's counters (store.Stats), shared by its pools.
type counts struct {
	commits, transactions, rollbacks, statements atomic.Uint64
}

func (n *counts) stats() store.Stats {
	return store.Stats{Commits: n.commits.Load(), Transactions: n.transactions.Load(),
		Rollbacks: n.rollbacks.Load(), Statements: n.statements.Load()}
}

// executed counts a statement that ran on c without error; changed says
// it changed a row: a durable commit of its own outside a transaction, or
// makes the transaction's commit one.
func (g *guard) executed(c *guardConn, changed bool) {
	g.n.statements.Add(1)
	if !changed {
		return
	}
	if c.inTx.Load() {
		c.txWrote.Store(true)
		return
	}
	g.n.commits.Add(1)
}

// changedRows says whether res, the result of a statement that writes,
// reports a changed row (only such a statement's count is its own: SQLite
// reports the last write's, PostgreSQL a SELECT's rows).
func changedRows(res driver.Result) bool {
	if res == nil {
		return false
	}
	n, err := res.RowsAffected()
	return err == nil && n > 0
}

// writes says whether query changes data, from its first keyword (a WITH
// query when it holds a writing one): its RETURNING rows are changed rows.
func writes(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	for _, kw := range []string{"INSERT", "UPDATE", "DELETE", "REPLACE"} {
		if len(q) >= len(kw) && strings.EqualFold(q[:len(kw)], kw) {
			return true
		}
	}
	if len(q) < 4 || !strings.EqualFold(q[:4], "WITH") {
		return false
	}
	for _, w := range strings.FieldsFunc(strings.ToUpper(q), func(r rune) bool { return !('A' <= r && r <= 'Z') }) {
		switch w {
		case "INSERT", "UPDATE", "DELETE":
			return true
		}
	}
	return false
}

func (g *guard) check(err error) error {
	if err == nil || err == driver.ErrSkip || err == driver.ErrRemoveArgument { //nolint:errorlint // database/sql compares these sentinels with ==
		return err
	}
	err = classify(err)
	var ue *store.UnavailableError
	if g.wrote != nil && errors.As(err, &ue) && ue.Write {
		g.wrote(ue)
	}
	return err
}

// guardConnector wraps a driver.Connector.
type guardConnector struct {
	inner driver.Connector
	g     *guard
	// stmtCache is how many statements each connection keeps prepared
	// (see stmtCache); 0 keeps none.
	stmtCache int
}

func (c *guardConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, c.g.check(err)
	}
	gc := &guardConn{inner: conn, g: c.g}
	if c.stmtCache > 0 {
		gc.stmts = newStmtCache(c.stmtCache)
	}
	if _, ok := conn.(driver.Validator); ok {
		// database/sql keeps a connection after a cancelled transaction only
		// when the driver's connection is both a SessionResetter and a
		// Validator: the wrapper must not change that.
		return &guardConnValid{gc}, nil
	}
	return gc, nil
}

func (c *guardConnector) Driver() driver.Driver { return c.inner.Driver() }

// guardConn wraps a driver.Conn; it offers every optional interface the two
// drivers implement and falls back as database/sql would when the wrapped
// connection lacks one.
type guardConn struct {
	inner driver.Conn
	g     *guard
	// inTx: a transaction is open on the connection; txWrote: a statement
	// in it changed a row.
	inTx, txWrote atomic.Bool
	stmts         *stmtCache // nil: every query prepared by the driver
}

var (
	_ driver.Conn               = (*guardConn)(nil)
	_ driver.ConnPrepareContext = (*guardConn)(nil)
	_ driver.ConnBeginTx        = (*guardConn)(nil)
	_ driver.ExecerContext      = (*guardConn)(nil)
	_ driver.QueryerContext     = (*guardConn)(nil)
	_ driver.Pinger             = (*guardConn)(nil)
	_ driver.SessionResetter    = (*guardConn)(nil)
	_ driver.NamedValueChecker  = (*guardConn)(nil)
	_ driver.Validator          = (*guardConnValid)(nil)
)

func (c *guardConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *guardConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// prepare is PrepareContext returning the concrete type.
func (c *guardConn) prepare(ctx context.Context, query string) (*guardStmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := c.inner.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = c.inner.Prepare(query)
	}
	if err != nil {
		return nil, c.g.check(err)
	}
	return &guardStmt{inner: st, conn: c, g: c.g, writes: writes(query)}, nil
}

func (c *guardConn) Close() error {
	if c.stmts != nil {
		c.stmts.close()
	}
	return c.inner.Close()
}

func (c *guardConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *guardConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var tx driver.Tx
	var err error
	if b, ok := c.inner.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(c.g.stmtCtx(ctx), opts)
	} else {
		tx, err = c.inner.Begin() //nolint:staticcheck // the fallback database/sql itself uses
	}
	if err != nil {
		return nil, c.g.check(err)
	}
	c.g.n.transactions.Add(1)
	c.inTx.Store(true)
	c.txWrote.Store(false)
	return &guardTx{inner: tx, conn: c}, nil
}

func (c *guardConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.stmts != nil {
		cs, err := c.stmts.acquire(ctx, query, c.prepare)
		if err != nil {
			return nil, err
		}
		if cs != nil {
			defer c.stmts.release(cs)
			return cs.st.ExecContext(c.g.stmtCtx(ctx), args)
		}
	}
	e, ok := c.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(c.g.stmtCtx(ctx), query, args)
	if err == nil {
		c.g.executed(c, writes(query) && changedRows(res))
	}
	return res, c.g.check(err)
}

func (c *guardConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.stmts != nil {
		cs, err := c.stmts.acquire(ctx, query, c.prepare)
		if err != nil {
			return nil, err
		}
		if cs != nil {
			rows, err := cs.st.QueryContext(c.g.stmtCtx(ctx), args)
			if err != nil {
				c.stmts.release(cs)
				return nil, err
			}
			gr := rows.(*guardRows)
			gr.done = func() { c.stmts.release(cs) }
			return gr, nil
		}
	}
	q, ok := c.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(c.g.stmtCtx(ctx), query, args)
	if err != nil {
		return nil, c.g.check(err)
	}
	return c.rows(rows, writes(query)), nil
}

func (c *guardConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return c.g.check(p.Ping(ctx))
	}
	return nil
}

func (c *guardConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *guardConn) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := c.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

// rows wraps the rows of a statement that ran on c; writes says the
// statement changes data, so that a row it returns is a changed row.
func (c *guardConn) rows(rows driver.Rows, writes bool) *guardRows {
	r := &guardRows{inner: rows, g: c.g}
	if !writes {
		c.g.executed(c, false)
		return r
	}
	r.conn = c
	return r
}

// guardConnValid is a guardConn whose wrapped connection is a
// driver.Validator.
type guardConnValid struct{ *guardConn }

func (c *guardConnValid) IsValid() bool { return c.inner.(driver.Validator).IsValid() }

// guardStmt wraps a driver.Stmt of conn; writes says its query changes
// data.
type guardStmt struct {
	inner  driver.Stmt
	conn   *guardConn
	g      *guard
	writes bool
}

var (
	_ driver.StmtExecContext   = (*guardStmt)(nil)
	_ driver.StmtQueryContext  = (*guardStmt)(nil)
	_ driver.NamedValueChecker = (*guardStmt)(nil)
)

func (s *guardStmt) Close() error  { return s.inner.Close() }
func (s *guardStmt) NumInput() int { return s.inner.NumInput() }

func (s *guardStmt) Exec(args []driver.Value) (driver.Result, error) {
	res, err := s.inner.Exec(args) //nolint:staticcheck // forwarding the deprecated method
	if err == nil {
		s.g.executed(s.conn, s.writes && changedRows(res))
	}
	return res, s.g.check(err)
}

func (s *guardStmt) Query(args []driver.Value) (driver.Rows, error) {
	rows, err := s.inner.Query(args) //nolint:staticcheck // forwarding the deprecated method
	if err != nil {
		return nil, s.g.check(err)
	}
	return s.conn.rows(rows, s.writes), nil
}

func (s *guardStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.inner.(driver.StmtExecContext)
	if !ok {
		values, err := plainValues(args)
		if err != nil {
			return nil, err
		}
		return s.Exec(values)
	}
	res, err := e.ExecContext(s.g.stmtCtx(ctx), args)
	if err == nil {
		s.g.executed(s.conn, s.writes && changedRows(res))
	}
	return res, s.g.check(err)
}

func (s *guardStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.inner.(driver.StmtQueryContext)
	if !ok {
		values, err := plainValues(args)
		if err != nil {
			return nil, err
		}
		return s.Query(values)
	}
	rows, err := q.QueryContext(s.g.stmtCtx(ctx), args)
	if err != nil {
		return nil, s.g.check(err)
	}
	return s.conn.rows(rows, s.writes), nil
}

// CheckNamedValue is the statement's checker, else its connection's (the
// order database/sql itself follows), else database/sql's default.
func (s *guardStmt) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := s.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	if n, ok := s.conn.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

// plainValues is database/sql's own fallback for a statement without
// context methods: positional arguments only.
func plainValues(named []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(named))
	for i, nv := range named {
		if nv.Name != "" {
			return nil, errors.New("sqlstore: the driver does not support named arguments")
		}
		out[i] = nv.Value
	}
	return out, nil
}

// guardTx wraps a driver.Tx of conn.
type guardTx struct {
	inner driver.Tx
	conn  *guardConn
}

// Commit commits; a transaction in which a statement changed a row is a
// durable commit.
func (t *guardTx) Commit() error {
	c := t.conn
	err := t.inner.Commit()
	c.inTx.Store(false)
	if err == nil && c.txWrote.Load() {
		c.g.n.commits.Add(1)
	}
	return c.g.check(err)
}

func (t *guardTx) Rollback() error {
	c := t.conn
	err := t.inner.Rollback()
	c.inTx.Store(false)
	c.g.n.rollbacks.Add(1)
	return c.g.check(err)
}

// guardRows wraps driver.Rows; conn is set for the rows of a statement that
// changes data, which is counted (a changed row or not) at its first row or
// its end.
type guardRows struct {
	inner driver.Rows
	g     *guard
	conn  *guardConn
	done  func() // when set, called once the Rows are closed
}

func (r *guardRows) Columns() []string { return r.inner.Columns() }

func (r *guardRows) Close() error {
	r.counted(false)
	err := r.g.check(r.inner.Close())
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

func (r *guardRows) Next(dest []driver.Value) error {
	err := r.inner.Next(dest)
	r.counted(err == nil)
	if err == io.EOF { //nolint:errorlint // the driver contract's end of rows, compared as database/sql does
		return err
	}
	return r.g.check(err)
}

// counted counts the writing statement of the rows once; row says a row
// came back, which it changed.
func (r *guardRows) counted(row bool) {
	if r.conn == nil {
		return
	}
	r.g.executed(r.conn, row)
	r.conn = nil
}
