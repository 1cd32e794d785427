// Package pgtest gives tests a PostgreSQL database: the DSN from
// PAYHOST_TEST_POSTGRES and a fresh schema per test, dropped afterwards. Without
// the variable a test is skipped with a clear message — unless
// PAYHOST_REQUIRE_POSTGRES=1 (CI), where it fails.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// DSN returns PAYHOST_TEST_POSTGRES or skips (fails in CI).
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("PAYHOST_TEST_POSTGRES")
	if dsn == "" {
		msg := "PAYHOST_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable); PostgreSQL tests skipped"
		if os.Getenv("PAYHOST_REQUIRE_POSTGRES") == "1" {
			t.Fatal(msg + " — but PAYHOST_REQUIRE_POSTGRES=1 requires them")
		}
		t.Skip(msg)
	}
	return dsn
}

// Schema returns the name of a new, empty schema that is dropped when the
// test ends.
func Schema(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "payhost_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Ping(); err != nil {
		_ = admin.Close()
		t.Fatalf("PostgreSQL at PAYHOST_TEST_POSTGRES is not reachable: %v", err)
	}
	t.Cleanup(func() {
		defer func() { _ = admin.Close() }()
		if _, err := admin.Exec(`DROP SCHEMA IF EXISTS ` + name + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}
