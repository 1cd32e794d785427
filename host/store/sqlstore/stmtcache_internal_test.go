package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"modernc.org/sqlite"

	"github.com/payhost/payhost/host/store"
)

// prepCounts is what the guard asked of the SQLite driver.
type prepCounts struct {
	prepares   int // statements prepared (what the cache keeps)
	uncached   int // ExecContext and QueryContext of the connection: prepared inside the driver
	stmtCloses int
	connCloses int
}

// driverCounts prepCounts what the guard asks of the SQLite driver.
type driverCounts struct {
	mu sync.Mutex
	c  prepCounts
}

func (n *driverCounts) add(f func(*prepCounts) *int) {
	n.mu.Lock()
	*f(&n.c)++
	n.mu.Unlock()
}

func (n *driverCounts) get() prepCounts {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.c
}

type countingConnector struct {
	driver.Connector
	n *driverCounts
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{inner: conn, n: c.n}, nil
}

type countingConn struct {
	inner driver.Conn
	n     *driverCounts
}

func (c *countingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.n.add(func(c *prepCounts) *int { return &c.prepares })
	return &countingStmt{Stmt: st, n: c.n}, nil
}

func (c *countingConn) Close() error {
	c.n.add(func(c *prepCounts) *int { return &c.connCloses })
	return c.inner.Close()
}

func (c *countingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.n.add(func(c *prepCounts) *int { return &c.uncached })
	return c.inner.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.add(func(c *prepCounts) *int { return &c.uncached })
	return c.inner.(driver.QueryerContext).QueryContext(ctx, query, args)
}

type countingStmt struct {
	driver.Stmt
	n *driverCounts
}

func (s *countingStmt) Close() error {
	s.n.add(func(c *prepCounts) *int { return &c.stmtCloses })
	return s.Stmt.Close()
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// cachedDB is a one-connection pool on a new SQLite file, through the guard
// with a statement cache of size, holding table t (a INTEGER PRIMARY KEY, b
// TEXT) with rows 1..3. Failed writes the guard reports are appended to
// *reported.
func cachedDB(t *testing.T, size int, reported *[]string) (*sql.DB, *driverCounts) {
	t.Helper()
	c, err := sqlite.NewConnector(filepath.Join(t.TempDir(), "c.db") + "?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	n := &driverCounts{}
	g := &guard{wrote: func(e *store.UnavailableError) {
		if reported != nil {
			*reported = append(*reported, e.Cause)
		}
	}, n: &counts{}}
	db := sql.OpenDB(&guardConnector{inner: &countingConnector{Connector: c, n: n}, g: g, stmtCache: size})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	return db, n
}

const selectFrom = "SELECT a, b FROM t WHERE a >= ? ORDER BY a"

// selectAll runs selectFrom on q and returns its rows as "a b,...".
func selectAll(t *testing.T, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, from int) string {
	t.Helper()
	rows, err := q.QueryContext(t.Context(), selectFrom, from)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var a int
		var b string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(a, " ", b))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, ",")
}

// TestStmtCache: each query text is prepared once per connection and its
// statement reused, in and out of transactions, also after a failed run,
// an abandoned iteration or a cancelled context.
func TestStmtCache(t *testing.T) {
	ctx := t.Context()
	db, n := cachedDB(t, sqliteStmtCacheSize, nil)
	// CREATE TABLE and INSERT so far
	if c := n.get(); c.prepares != 2 || c.uncached != 0 {
		t.Fatalf("after setup: %+v, want 2 statements prepared and none uncached", c)
	}
	for range 3 {
		if got := selectAll(t, db, 2); got != "2 v2,3 v3" {
			t.Fatalf("select: %q", got)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", 4, "v4"); err != nil {
		t.Fatal(err)
	}
	if got := selectAll(t, tx, 3); got != "3 v3,4 v4" {
		t.Fatalf("select in a transaction: %q", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// a failed run (a duplicate key) leaves the statement usable
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", 1, "dup"); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("duplicate key: %v, want a plain error", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", 5, "v5"); err != nil {
		t.Fatal(err)
	}
	// an iteration left after its first row
	rows, err := db.QueryContext(ctx, selectFrom, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no first row")
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	// a cancelled context
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.QueryContext(cancelled, selectFrom, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled query: %v", err)
	}
	if got := selectAll(t, db, 4); got != "4 v4,5 v5" {
		t.Fatalf("select after all that: %q", got)
	}
	c := n.get()
	if c.prepares != 3 || c.uncached != 0 || c.stmtCloses != 0 {
		t.Errorf("driver calls %+v, want 3 statements prepared (create, insert, select), none uncached or closed", c)
	}
}

// TestStmtCacheNested: a query of the same text while the cached
// statement's Rows are open runs on a statement of its own.
func TestStmtCacheNested(t *testing.T) {
	ctx := t.Context()
	db, n := cachedDB(t, sqliteStmtCacheSize, nil)
	before := n.get()
	tx, err := db.BeginTx(ctx, nil) // one connection for the outer and inner queries
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	rows, err := tx.QueryContext(ctx, selectFrom, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var a int
		var b string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d[%s]", a, selectAll(t, tx, a)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if want := "1[1 v1,2 v2,3 v3],2[2 v2,3 v3],3[3 v3]"; strings.Join(got, ",") != want {
		t.Fatalf("nested queries: %q, want %q", strings.Join(got, ","), want)
	}
	c := n.get()
	if c.prepares-before.prepares != 1 || c.uncached-before.uncached != 3 {
		t.Errorf("driver calls %+v (before %+v): want the outer query prepared and cached, the 3 inner ones uncached", c, before)
	}
	// the outer statement is free again
	if got := selectAll(t, tx, 3); got != "3 v3" {
		t.Fatalf("select after: %q", got)
	}
	if c2 := n.get(); c2.prepares != c.prepares || c2.uncached != c.uncached {
		t.Errorf("driver calls %+v after the nested ones %+v: want the cached statement", c2, c)
	}
}

// TestStmtCacheBound: the least recently used statement leaves a full
// cache and is closed, once its Rows are closed when they are open.
func TestStmtCacheBound(t *testing.T) {
	ctx := t.Context()
	db, n := cachedDB(t, 2, nil)
	q := func(i int) string { return fmt.Sprintf("SELECT b FROM t WHERE a = ? AND %d = %d", i, i) }
	one := func(query string) string {
		var b string
		if err := db.QueryRowContext(ctx, query, 1).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := range 5 {
		if got := one(q(i)); got != "v1" {
			t.Fatalf("query %d: %q", i, got)
		}
	}
	c := n.get()
	// 2 setup statements + 5 queries prepared; all but the last 2 closed
	if c.prepares != 7 || c.stmtCloses != 5 {
		t.Fatalf("driver calls %+v, want 7 statements prepared and 5 closed", c)
	}
	// q(0) left the cache: prepared again; q(4) is still there
	one(q(0))
	one(q(4))
	if c2 := n.get(); c2.prepares != 8 || c2.stmtCloses != 6 {
		t.Fatalf("driver calls %+v, want 8 statements prepared and 6 closed", c2)
	}

	// a statement evicted while its Rows are open is closed with them
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	rows, err := tx.QueryContext(ctx, selectFrom, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no first row")
	}
	for i := 5; i <= 6; i++ { // selectFrom leaves the cache
		var b string
		if err := tx.QueryRowContext(ctx, q(i), 2).Scan(&b); err != nil || b != "v2" {
			t.Fatalf("query %d: %q, %v", i, b, err)
		}
	}
	before := n.get()
	var got []int
	for ok := true; ok; ok = rows.Next() {
		var a int
		var b string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("rows of the evicted statement: %v", got)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	after := n.get()
	if after.stmtCloses != before.stmtCloses+1 {
		t.Errorf("statement closes %d before closing the rows, %d after: want one more", before.stmtCloses, after.stmtCloses)
	}
}

// TestStmtCacheConnClose: closing a connection closes its cached
// statements, also when Rows were still open as the pool closed.
func TestStmtCacheConnClose(t *testing.T) {
	tests := []struct {
		name     string
		openRows bool
	}{
		{"idle", false},
		{"rows open", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			db, n := cachedDB(t, sqliteStmtCacheSize, nil)
			selectAll(t, db, 1)
			var rows *sql.Rows
			if tt.openRows {
				var err error
				if rows, err = db.QueryContext(ctx, selectFrom, 2); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if rows != nil {
				// the pool closes the connection once its rows are done
				if c := n.get(); c.connCloses != 0 {
					t.Fatalf("connection closed under open rows: %+v", c)
				}
				var got []int
				for rows.Next() {
					var a int
					var b string
					if err := rows.Scan(&a, &b); err != nil {
						t.Fatal(err)
					}
					got = append(got, a)
				}
				if err := rows.Err(); err != nil || fmt.Sprint(got) != "[2 3]" {
					t.Fatalf("rows after the pool closed: %v, %v", got, err)
				}
				if err := rows.Close(); err != nil {
					t.Fatal(err)
				}
			}
			c := n.get()
			if c.connCloses != 1 || c.stmtCloses != c.prepares || c.prepares != 3 {
				t.Errorf("driver calls %+v: want the connection closed and its 3 statements with it", c)
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", 9, "v9"); err == nil {
				t.Error("a closed pool ran a statement")
			}
		})
	}
}

// TestStmtCacheErrors: the errors of a cached statement are classified
// as those of an uncached one, every time, and a failed write is reported
// each time.
func TestStmtCacheErrors(t *testing.T) {
	ctx := t.Context()
	var reported []string
	db, n := cachedDB(t, sqliteStmtCacheSize, &reported)
	if _, err := db.ExecContext(ctx, "PRAGMA query_only(1)"); err != nil {
		t.Fatal(err)
	}
	before := n.get()
	for i := range 2 {
		_, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", 10+i, "x")
		if cause, ok := store.UnavailableCause(err); !ok || cause != "database is read-only" {
			t.Fatalf("write %d to a read-only connection: %v, want unavailable, read-only", i, err)
		}
	}
	if strings.Join(reported, ",") != "database is read-only,database is read-only" {
		t.Errorf("reported %q, want both failed writes", reported)
	}
	if c := n.get(); c.prepares != before.prepares || c.uncached != 0 {
		t.Errorf("driver calls %+v (before %+v): want the cached INSERT", c, before)
	}
	if _, err := db.QueryContext(ctx, "SELECT nope FROM t"); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a bad query: %v, want a plain error", err)
	}
}
