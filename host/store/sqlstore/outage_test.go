package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/internal/pgtest"
	"github.com/payhost/payhost/internal/tcpproxy"
)

func outagePayment(id string) *store.Payment {
	now := time.Now().UTC()
	return &store.Payment{ID: id, Tenant: "acme", Amount: 1000, Currency: "CNY", Method: "alipay.qr", Status: "created",
		Description: strings.Repeat("d", 200), Decision: []byte(`{"channels":[]}`), CreatedAt: now, UpdatedAt: now}
}

// wantUnavailable fails unless err is store.ErrUnavailable with a cause
// holding want.
func wantUnavailable(t *testing.T, what string, err error, want string) {
	t.Helper()
	cause, ok := store.UnavailableCause(err)
	if !errors.Is(err, store.ErrUnavailable) || !ok || !strings.Contains(cause, want) {
		t.Fatalf("%s: %v (cause %q), want store.ErrUnavailable naming %q", what, err, cause, want)
	}
}

// TestSQLiteUnwritableAtStart: a database that cannot be written is
// refused at open with a message naming why, not at the first payment
// with "unable to open database file (14)".
func TestSQLiteUnwritableAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "payhost.db")
	openSQLite(t, path).Close()
	tests := []struct {
		name, path string
		want       []string
	}{
		{"read-only", "file:" + path + "?mode=ro", []string{"mode=ro", "database is read-only"}},
		{"missing directory", filepath.Join(dir, "gone", "payhost.db"), []string{"the directory " + filepath.Join(dir, "gone") + " does not exist", "database file cannot be opened"}},
		{"a directory", dir, []string{"is a directory, not a database file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlstore.OpenSQLite(t.Context(), tt.path)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%v is not store.ErrUnavailable", err)
			}
		})
	}
}

// fullSQLite is a store on a database file that can grow by only a few
// pages (max_page_count, which makes SQLite answer SQLITE_FULL exactly as
// a full disk does), and free, which gives it room again by deleting a
// table of ballast through another connection, as an operator freeing disk
// space would.
func fullSQLite(t *testing.T) (s store.Store, free func()) {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "payhost.db")
	raw, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	if _, err := raw.ExecContext(ctx, "CREATE TABLE ballast (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	for range 64 {
		if _, err := raw.ExecContext(ctx, "INSERT INTO ballast VALUES (zeroblob(4000))"); err != nil {
			t.Fatal(err)
		}
	}
	openSQLite(t, path).Close() // migrated
	var pages int
	if err := raw.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	s = openSQLite(t, fmt.Sprintf("file:%s?_pragma=max_page_count(%d)", path, pages+40))
	return s, func() {
		if _, err := raw.ExecContext(ctx, "DELETE FROM ballast"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSQLiteDiskFull: a full database fails writes with
// store.ErrUnavailable ("database disk is full"), reads go on, and Ping
// reports the store not ready until a write succeeds again; once there is
// room, Ping and writes succeed.
func TestSQLiteDiskFull(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, free := fullSQLite(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping before: %v", err)
	}
	var stored []string
	var full error
	for i := range 2000 {
		id := fmt.Sprintf("pay_%04d", i)
		if err := s.InsertPayment(ctx, outagePayment(id)); err != nil {
			full = err
			break
		}
		stored = append(stored, id)
	}
	if len(stored) == 0 || full == nil {
		t.Fatalf("stored %d payments, then %v: want some, then a full database", len(stored), full)
	}
	wantUnavailable(t, "insert", full, "database disk is full")
	if _, err := s.GetPayment(ctx, stored[0]); err != nil {
		t.Errorf("reads stop too: %v", err)
	}
	for range 2 {
		wantUnavailable(t, "ping while full", s.Ping(ctx), "database disk is full")
	}
	free()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping once there is room: %v", err)
	}
	if err := s.InsertPayment(ctx, outagePayment("pay_after")); err != nil {
		t.Fatalf("insert once there is room: %v", err)
	}
}

// proxied starts a proxy in front of dsn's server and returns it with dsn
// pointing at it.
func proxied(t *testing.T, dsn string) (*tcpproxy.Proxy, string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := tcpproxy.Start(t, fmt.Sprintf("%s:%d", cfg.Host, cfg.Port))
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = p.Addr()
		return p, u.String()
	}
	host, port, _ := strings.Cut(p.Addr(), ":")
	return p, dsn + " host=" + host + " port=" + port
}

// TestPostgresOutage: with the connection to PostgreSQL cut (every open
// connection reset, new ones too), every call fails with
// store.ErrUnavailable naming the cause, within a bounded time and without
// hanging; when the connection comes back, the same store works again.
// With nothing listening any more, the cause is "connection refused".
func TestPostgresOutage(t *testing.T) {
	dsn := pgtest.DSN(t)
	t.Parallel()
	ctx := t.Context()
	schema := pgtest.Schema(t, dsn)
	p, pdsn := proxied(t, dsn)
	s, err := sqlstore.OpenPostgres(ctx, pdsn, sqlstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.InsertPayment(ctx, outagePayment("pay_before")); err != nil {
		t.Fatal(err)
	}

	p.Cut()
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"insert", func(ctx context.Context) error { return s.InsertPayment(ctx, outagePayment("pay_during")) }},
		{"get", func(ctx context.Context) error { _, err := s.GetPayment(ctx, "pay_before"); return err }},
		{"claim key", func(ctx context.Context) error {
			_, _, err := s.ClaimIdempotencyKey(ctx, store.IdemClaim{Tenant: "acme", Key: "k", Operation: "payment.create",
				RequestHash: "h", Now: time.Now(), Lease: time.Minute, Owner: "o"})
			return err
		}},
		{"ping", s.Ping},
	}
	for _, c := range calls {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a bound, not a wait: the calls fail at once
		err := c.call(cctx)
		cancel()
		wantUnavailable(t, c.name+" during the outage", err, "connect") // connection lost, cannot connect
		if strings.Contains(err.Error(), "context deadline exceeded") {
			t.Errorf("%s hung until its deadline: %v", c.name, err)
		}
	}

	p.Restore()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after the outage: %v", err)
	}
	if err := s.InsertPayment(ctx, outagePayment("pay_after")); err != nil {
		t.Fatalf("insert after the outage: %v", err)
	}
	if _, err := s.GetPayment(ctx, "pay_during"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the insert during the outage: %v, want not found", err)
	}

	p.Close() // nothing listens on the port any more
	// each ping first meets one of the pool's dead connections (lost),
	// then, with none left, dials
	for range 12 {
		err = s.Ping(ctx)
		wantUnavailable(t, "ping with the server gone", err, "connection")
		if cause, _ := store.UnavailableCause(err); cause == "connection refused" {
			break
		}
	}
	wantUnavailable(t, "ping with the server gone", err, "connection refused")
	_, err = sqlstore.OpenPostgres(ctx, pdsn, sqlstore.WithSchema(schema))

	wantUnavailable(t, "open with the server gone", err, "connection refused")
}
