package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/payhost/payhost/host/store"
)

// liteError stands for modernc.org/sqlite's *Error, which tests cannot
// build: classify matches it by its Code method.
type liteError int

func (e liteError) Error() string { return fmt.Sprintf("sqlite error (%d)", int(e)) }
func (e liteError) Code() int     { return int(e) }

// TestClassify: which driver errors say the database cannot serve, and
// the cause each is reported with.
func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name  string
		err   error
		cause string // "" = not unavailable
		write bool
	}{
		{"sqlite full", liteError(13), "database disk is full", true},
		{"sqlite readonly", liteError(8), "database is read-only", true},
		{"sqlite readonly extended (cannot create the wal)", liteError(1544), "database is read-only", true},
		{"sqlite ioerr extended (fsync)", liteError(10 | 4<<8), "database I/O error", true},
		{"sqlite busy after the timeout", liteError(5), "database is locked by another writer", false},
		{"sqlite locked", liteError(6), "database is locked by another writer", false},
		{"sqlite nomem", liteError(7), "database is out of memory", false},
		{"sqlite cantopen", liteError(14), "database file cannot be opened", false},
		{"sqlite constraint", liteError(2067), "", false},
		{"sqlite corrupt is not an outage", liteError(11), "", false},
		{"pg connection failure", &pgconn.PgError{Code: "08006"}, "connection to the database lost", false},
		{"pg admin shutdown (pg_terminate_backend)", &pgconn.PgError{Code: "57P01"}, "database is shutting down", false},
		{"pg starting up", &pgconn.PgError{Code: "57P03"}, "database is starting up", false},
		{"pg disk full", &pgconn.PgError{Code: "53100"}, "database disk is full", true},
		{"pg too many connections", &pgconn.PgError{Code: "53300"}, "database has too many connections", false},
		{"pg read-only standby", &pgconn.PgError{Code: "25006"}, "database is read-only", true},
		{"pg io error", &pgconn.PgError{Code: "58030"}, "database I/O error", true},
		{"pg unique violation", &pgconn.PgError{Code: "23505"}, "", false},
		{"pg serialization failure", &pgconn.PgError{Code: "40001"}, "", false},
		{"connection refused", fmt.Errorf("query: %w", refused), "connection refused", false},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}, "connection to the database lost", false},
		{"unexpected eof", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), "connection to the database lost", false},
		{"bad connection after database/sql's retries", driver.ErrBadConn, "connection to the database lost", false},
		{"deadline", context.DeadlineExceeded, "connection to the database timed out", false},
		{"caller cancelled", fmt.Errorf("query: %w", context.Canceled), "", false},
		{"not found", sql.ErrNoRows, "", false},
		{"plain", errors.New("boom"), "", false},
		{"already classified", &store.UnavailableError{Cause: "x", Err: errors.New("y")}, "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("classify(%v) = %v, which no longer wraps the driver's error", tt.err, got)
			}
			cause, ok := store.UnavailableCause(got)
			if tt.cause == "" {
				if ok || errors.Is(got, store.ErrUnavailable) {
					t.Errorf("classify(%v) = %v: unavailable, want not", tt.err, got)
				}
				return
			}
			if !errors.Is(got, store.ErrUnavailable) || cause != tt.cause {
				t.Errorf("classify(%v) = %v (cause %q), want unavailable with cause %q", tt.err, got, cause, tt.cause)
			}
			var ue *store.UnavailableError
			if errors.As(got, &ue) && ue.Write != tt.write {
				t.Errorf("write = %v, want %v", ue.Write, tt.write)
			}
		})
	}
	if classify(nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}

// TestClassifyRealSQLite: the errors SQLite itself returns for a full
// database (max_page_count reached), a read-only one, a lock held past the
// busy timeout and a file that cannot be opened are classified with their
// cause.
func TestClassifyRealSQLite(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "real.db")
	open := func(t *testing.T, dsn string) *sql.DB {
		t.Helper()
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return db
	}
	w := open(t, path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(0)&_txlock=immediate")
	if _, err := w.ExecContext(ctx, "CREATE TABLE t (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cause string
		run   func(t *testing.T) error
	}{
		{"full", "database disk is full", func(t *testing.T) error {
			var n int
			if err := w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if _, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", n)); err != nil {
				t.Fatal(err)
			}
			defer w.ExecContext(ctx, "PRAGMA max_page_count = 1073741823")
			_, err := w.ExecContext(ctx, "INSERT INTO t VALUES (zeroblob(65536))")
			return err
		}},
		{"read-only", "database is read-only", func(t *testing.T) error {
			_, err := open(t, "file:"+path+"?mode=ro").ExecContext(ctx, "INSERT INTO t VALUES (x'00')")
			return err
		}},
		{"busy past the timeout", "database is locked by another writer", func(t *testing.T) error {
			other := open(t, path+"?_pragma=busy_timeout(0)&_txlock=immediate")
			tx, err := other.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (x'01')"); err != nil {
				t.Fatal(err)
			}
			_, err = w.ExecContext(ctx, "INSERT INTO t VALUES (x'02')")
			return err
		}},
		{"cannot open", "database file cannot be opened", func(t *testing.T) error {
			return open(t, filepath.Join(dir, "missing", "x.db")).PingContext(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(t)
			if err == nil {
				t.Fatal("no error")
			}
			got := classify(err)
			if cause, ok := store.UnavailableCause(got); !ok || cause != tt.cause {
				t.Errorf("classify(%v) cause %q, want %q", err, cause, tt.cause)
			}
		})
	}
}

// TestSQLiteFileProblem: what the file system says is in the way of
// opening and writing a database, for a process that may not write some
// of it (writable stands in for access(2), which root always passes).
func TestSQLiteFileProblem(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "payhost.db")
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	roDir := filepath.Join(dir, "ro")
	if err := os.Mkdir(roDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(roDir, "old.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	notFile := filepath.Join(dir, "plain")
	if err := os.WriteFile(notFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	except := func(paths ...string) func(string) bool {
		return func(p string) bool {
			for _, q := range paths {
				if p == q {
					return false
				}
			}
			return true
		}
	}
	tests := []struct {
		name, path string
		writable   func(string) bool
		want       string // substring; "" = no problem
	}{
		{"fine", db, except(), ""},
		{"memory", ":memory:", except(), ""},
		{"memory uri", "file:x?mode=memory", except(), ""},
		{"read-only file", db, except(db), "the database file " + db + " is read-only for this process"},
		{"read-only wal", db, except(db + "-wal"), "the file " + db + "-wal is read-only"},
		{"read-only uri", "file:" + db + "?mode=ro", except(), "mode=ro"},
		{"missing directory", filepath.Join(dir, "nope", "x.db"), except(), "the directory " + filepath.Join(dir, "nope") + " does not exist"},
		{"directory", dir, except(), dir + " is a directory, not a database file"},
		{"parent is a file", filepath.Join(notFile, "x.db"), except(), notFile + " is not a directory"},
		{"new file in a read-only directory", filepath.Join(roDir, "new.db"), except(roDir), "cannot be created in it"},
		{"wal in a read-only directory", filepath.Join(roDir, "old.db"), except(roDir), "must create old.db-wal beside the database"},
		{"uri", "file:" + filepath.Join(roDir, "new.db") + "?cache=shared", except(roDir), "cannot be created in it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sqliteFileProblem(tt.path, tt.writable)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("sqliteFileProblem(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

// TestGuardStatements: prepared statements, rows and transactions go
// through the guard like direct calls: values pass unchanged, errors are
// classified, and a failed write is reported.
func TestGuardStatements(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "g.db")
	var reported []string
	open := func(dsn string) *sql.DB {
		c, err := sqlite.NewConnector(dsn)
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(&guardConnector{inner: c, g: &guard{wrote: func(e *store.UnavailableError) { reported = append(reported, e.Cause) }, n: &counts{}}})
		t.Cleanup(func() { db.Close() })
		return db
	}
	rw := open(path + "?_pragma=journal_mode(WAL)")
	if _, err := rw.ExecContext(ctx, "CREATE TABLE t (a INTEGER, b TEXT)"); err != nil {
		t.Fatal(err)
	}
	ins, err := rw.PrepareContext(ctx, "INSERT INTO t VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	tx, err := rw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := tx.StmtContext(ctx, ins).ExecContext(ctx, int64(i), fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	sel, err := rw.PrepareContext(ctx, "SELECT a, b FROM t WHERE a >= ? ORDER BY a")
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	rows, err := sel.QueryContext(ctx, int64(1))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var a int64
		var b string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s", a, b))
	}
	if err := rows.Err(); err != nil || strings.Join(got, ",") != "1 v1,2 v2" {
		t.Fatalf("rows %v, err %v", got, err)
	}

	ro := open("file:" + path + "?mode=ro")
	roIns, err := ro.PrepareContext(ctx, "INSERT INTO t VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer roIns.Close()
	_, err = roIns.ExecContext(ctx, int64(9), "x")
	if cause, ok := store.UnavailableCause(err); !ok || cause != "database is read-only" {
		t.Fatalf("insert into a read-only database: %v", err)
	}
	if strings.Join(reported, ",") != "database is read-only" {
		t.Errorf("reported %q, want the read-only write once", reported)
	}
	if _, err := rw.ExecContext(ctx, "INSERT INTO nope VALUES (1)"); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a bad statement: %v, want a plain error", err)
	}
}
