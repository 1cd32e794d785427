// Package sqlstore implements store.Store on database/sql, once, for two
// databases: SQLite (modernc.org/sqlite, pure Go, the embedded default) and
// PostgreSQL (github.com/jackc/pgx/v5, for several payhost nodes sharing one
// database). A small dialect layer covers the differences: queries are
// written with ? placeholders and rebound to $1.. for PostgreSQL, and the
// embedded migrations substitute two column types.
//
// Every rule that must hold across nodes is enforced by the database:
// idempotency keys and notifications by unique keys with INSERT .. ON
// CONFLICT DO NOTHING, lease take-over and state transitions by conditional
// UPDATEs (WHERE status = From), and refund reservations by a conditional
// UPDATE of the payment in the same transaction as the refund.
//
// Each table is described once, by a table descriptor (table.go): its
// columns in order, each bound to a field of the Go type its rows are read
// into. The column lists of SELECT and RETURNING, the INSERT statements and
// their arguments, the scan destinations and the text checks are all
// derived from it, and a test checks every descriptor against the migrated
// schema of both databases.
//
// Stored values: times are Unix microseconds and read back in UTC at
// microsecond precision (the zero time stays zero); empty maps and byte
// slices read back as nil; strings holding a NUL byte or invalid UTF-8 are
// refused with ErrInvalidText on both databases.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // also registers the "sqlite" driver

	"github.com/payhost/payhost/host/store"
)

// Store is the database/sql implementation of store.Store. Make one with
// OpenSQLite or OpenPostgres; it is safe for concurrent use.
type Store struct {
	w *sql.DB // writes (and reads inside write transactions)
	r *sql.DB // reads; the same pool as w except for file-backed SQLite
	d *dialect
	// g batches SQLite's write transactions (group commit); nil on
	// PostgreSQL, whose concurrent commits share WAL flushes themselves.
	g *group
	// writeFailed is the last write that failed for want of the database
	// (disk full, read-only, an I/O error), until a write probe succeeds.
	writeFailed atomic.Pointer[store.UnavailableError]
	n           counts // Stats, counted by the guards of both pools
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.StatsReporter = (*Store)(nil)
)

// Option configures OpenSQLite or OpenPostgres.
type Option func(*options)

type options struct {
	schema  string
	maxOpen int
}

// WithSchema makes a PostgreSQL store live in the named schema: every
// connection gets it as its search_path, and the schema is created at open
// when it does not exist. The name must be a plain lower-case identifier
// ([a-z_][a-z0-9_]*, at most 63 bytes). PostgreSQL only.
func WithSchema(name string) Option {
	return func(o *options) { o.schema = name }
}

// WithMaxOpenConns bounds the connection pool: for PostgreSQL the whole pool
// (default 25: each request holds a connection while it writes, see
// store.Unit), for file-backed SQLite the reader pool (default 4; writes
// always go through one connection per Store).
func WithMaxOpenConns(n int) Option {
	return func(o *options) { o.maxOpen = n }
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// sqliteParams are added to every SQLite connection: WAL so readers never
// block the writer, a busy timeout so writers from other Stores or
// processes queue, foreign keys, full fsync (payment records must survive a
// power cut), and BEGIN IMMEDIATE so a write transaction takes the write
// lock at its start instead of failing to upgrade a read lock later.
var sqliteParams = []string{
	"_pragma=busy_timeout(10000)",
	"_pragma=foreign_keys(1)",
	"_pragma=journal_mode(WAL)",
	"_pragma=synchronous(FULL)",
	// savepoints (store.Unit, group commit) journal in memory, not in a
	// temporary file per transaction
	"_pragma=temp_store(MEMORY)",
	"_txlock=immediate",
}

// OpenSQLite opens (creating when needed) the SQLite database at path and
// applies the embedded migrations.
//
// path is a file name ("payhost.db"), a SQLite URI ("file:payhost.db?..."),
// or ":memory:" (or "") for a private in-memory database that lives until
// Close. An in-memory database, and any URI with mode=memory, is used
// through a single connection. Many goroutines, and several Stores or
// processes, may open the same file: writers queue on SQLite's lock.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (store.Store, error) {
	o := applyOptions(opts)
	if o.schema != "" {
		return nil, errors.New("sqlstore: WithSchema applies to PostgreSQL only")
	}
	base, memory, err := sqliteBase(path)
	if err != nil {
		return nil, err
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	dsn := base + sep + strings.Join(sqliteParams, "&")

	s := &Store{d: sqliteDialect}
	w, err := s.sqliteDB(dsn, true)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s.w, s.r = w, w
	if err := s.migrate(ctx, ""); err != nil {
		// here and below, the failure to open is what is reported: closing
		// the pool of a store never handed out cannot lose anything
		_ = w.Close()
		return nil, sqliteOpenError(path, err)
	}
	// a database that opens but cannot be written (a read-only file,
	// directory or mount, a full disk) is refused now, not at the first
	// payment
	if err := s.probeWrite(ctx); err != nil {
		_ = w.Close()
		return nil, sqliteOpenError(path, err)
	}
	s.writeFailed.Store(nil)
	s.g = newGroup(w)
	if memory {
		return s, nil
	}
	r, err := s.sqliteDB(dsn+"&_pragma=query_only(1)", false)
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	n := o.maxOpen
	if n <= 0 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		_ = s.Close()
		return nil, sqliteOpenError(path, err)
	}
	return s, nil
}

// sqliteDB is a pool on SQLite whose errors are classified (see guard);
// writer says its write failures make the Store not ready.
func (s *Store) sqliteDB(dsn string, writer bool) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	g := &guard{n: &s.n}
	if writer {
		g.wrote, g.detach = s.noteWriteFailure, true
	}
	return sql.OpenDB(&guardConnector{inner: c, g: g, stmtCache: sqliteStmtCacheSize}), nil
}

// sqliteBase turns path into the DSN before our parameters, and says
// whether it is an in-memory database.
func sqliteBase(path string) (base string, memory bool, err error) {
	switch {
	case path == "" || path == ":memory:":
		var b [8]byte
		_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
		return "file:payhost-mem-" + hex.EncodeToString(b[:]) + "?mode=memory&cache=shared", true, nil
	case strings.HasPrefix(path, "file:"):
		u, err := url.Parse(path)
		if err != nil {
			return "", false, fmt.Errorf("sqlstore: sqlite uri: %w", err)
		}
		memory = u.Query().Get("mode") == "memory" || u.Opaque == ":memory:" || strings.HasPrefix(path, "file::memory:")
		return path, memory, nil
	case strings.ContainsAny(path, "?#"):
		return "", false, fmt.Errorf("sqlstore: sqlite path %q holds ? or #: write it as a file: URI", path)
	default:
		return path, false, nil
	}
}

// OpenPostgres connects to PostgreSQL with a pgx DSN (URL or key=value),
// applies the embedded migrations under an advisory lock, so nodes starting
// together migrate once, and returns the store. Errors never contain the
// DSN's password.
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (store.Store, error) {
	o := applyOptions(opts)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, scrubError(dsn, fmt.Errorf("sqlstore: postgres dsn: %w", err))
	}
	if o.schema != "" {
		if !identRE.MatchString(o.schema) {
			return nil, fmt.Errorf("sqlstore: schema name %q is not a plain lower-case identifier", o.schema)
		}
		cfg.RuntimeParams["search_path"] = o.schema
	}
	if cfg.ConnectTimeout == 0 {
		// without connect_timeout in the DSN, an unreachable server is
		// reported (unavailable) after this long instead of holding the
		// request until its own deadline
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	s := &Store{d: postgresDialect}
	// no stmtCache: pgx prepares each query once per connection and caches
	// it already (its default QueryExecModeCacheStatement)
	db := sql.OpenDB(&guardConnector{inner: stdlib.GetConnector(*cfg), g: &guard{wrote: s.noteWriteFailure, n: &s.n}})
	s.w, s.r = db, db
	n := o.maxOpen
	if n <= 0 {
		n = 25
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		// here and below, the failure to open is what is reported
		_ = db.Close()
		return nil, scrubError(dsn, fmt.Errorf("sqlstore: connect to postgres %s: %w", RedactDSN(dsn), err))
	}
	if err := s.migrate(ctx, o.schema); err != nil {
		_ = db.Close()
		return nil, scrubError(dsn, err)
	}
	if err := s.probeWrite(ctx); err != nil {
		_ = db.Close()
		return nil, scrubError(dsn, fmt.Errorf("sqlstore: postgres %s cannot be written: %w", RedactDSN(dsn), err))
	}
	s.writeFailed.Store(nil)
	return s, nil
}

// DefaultConnectTimeout bounds connecting to PostgreSQL when the DSN sets
// no connect_timeout.
const DefaultConnectTimeout = 10 * time.Second

func applyOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Ping checks both pools reach the database and, after a write failed for
// want of the database (disk full, read-only, an I/O error), that a write
// succeeds again: until one does, Ping fails with that cause. Its errors
// that say the database cannot serve match store.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlstore: ping: %w", err)
		}
	}
	failed := s.writeFailed.Load()
	if failed == nil {
		return nil
	}
	if err := s.probeWrite(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: writing still fails: %w", err)
	}
	s.writeFailed.CompareAndSwap(failed, nil)
	return nil
}

// noteWriteFailure remembers a write that failed for want of the database.
func (s *Store) noteWriteFailure(e *store.UnavailableError) { s.writeFailed.Store(e) }

// probeVersion is the schema_migrations row a write probe adds and takes
// back in the same transaction: migrations are numbered from 1, and no
// other transaction ever sees it.
const probeVersion = -1

// probeBytes is the size of the probe's row: many SQLite pages (WAL
// frames, disk blocks), more than a payment's writes need, so a probe
// succeeds only when the database has room for them again.
const probeBytes = 64 << 10

// probeWrite commits a transaction that writes a row of probeBytes and
// deletes it: it succeeds only when the database takes writes.
func (s *Store) probeWrite(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.d.q("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
			probeVersion, strings.Repeat("p", probeBytes), 0); err != nil {
			return fmt.Errorf("sqlstore: write probe: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM schema_migrations WHERE version = ?"), probeVersion); err != nil {
			return fmt.Errorf("sqlstore: write probe: %w", err)
		}
		return nil
	})
}

// Close closes the pools. An in-memory SQLite database is gone after it.
func (s *Store) Close() error {
	var err error
	if s.r != s.w {
		err = s.r.Close()
	}
	return errors.Join(err, s.w.Close())
}

// skipLocked is the row-lock clause of a claim subquery on PostgreSQL.
func (s *Store) skipLocked() string {
	if s.d.name == "postgres" {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// Stats counts the Store's work since it opened (its migrations and write
// probes too): durable commits, transactions, rollbacks and statements, as
// its connections' driver saw them.
func (s *Store) Stats() store.Stats { return s.n.stats() }

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// inTx runs fn in a write transaction and commits when it returns nil.
// Inside a store.Unit, fn runs in a savepoint of the unit's transaction
// instead, and nothing is committed.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	utx, err := s.unitTx(ctx)
	if err != nil {
		return err
	}
	if utx != nil {
		return s.savepoint(ctx, utx, fn)
	}
	if s.g != nil {
		seg, err := s.g.begin(ctx)
		if err != nil {
			return err
		}
		if err := fn(seg.tx); err != nil {
			_ = seg.Rollback() // fn's error is the one to report; a failed rollback fails the batch itself
			return err
		}
		return seg.Commit()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		// fn's error is the one to report; a transaction whose rollback
		// fails is never committed either
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
