package sqlstore_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the admin connection

	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/host/store/storetest"
)

// postgresDSN is PAYHOST_TEST_POSTGRES, or skips the test when it is unset
// (fails it when PAYHOST_REQUIRE_POSTGRES=1, as CI sets).
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("PAYHOST_TEST_POSTGRES")
	if dsn == "" {
		msg := "PAYHOST_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"
		if os.Getenv("PAYHOST_REQUIRE_POSTGRES") == "1" {
			t.Fatal(msg + " and PAYHOST_REQUIRE_POSTGRES=1")
		}
		t.Skip(msg + ": skipping the PostgreSQL tests")
	}
	return dsn
}

// freshSchema creates an empty schema for one test and drops it at cleanup
// (registered first, so it runs after the stores are closed).
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "payhost_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", sqlstore.RedactDSN(dsn), err)
	}
	if _, err := admin.ExecContext(t.Context(), `CREATE SCHEMA `+name); err != nil {
		admin.Close()
		t.Fatalf("create schema on %s: %v", sqlstore.RedactDSN(dsn), err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + name + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

func openPostgres(t *testing.T, dsn, schema string) store.Store {
	t.Helper()
	s, err := sqlstore.OpenPostgres(t.Context(), dsn, sqlstore.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// TestPostgres runs the store suite on PostgreSQL, one fresh schema per
// subtest.
func TestPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return openPostgres(t, dsn, freshSchema(t, dsn))
	})
}

// TestPostgresTwoNodes runs the store suite with two Stores (two connection
// pools, as two payhost nodes) on one schema, each call going to the other.
func TestPostgresTwoNodes(t *testing.T) {
	dsn := postgresDSN(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		schema := freshSchema(t, dsn)
		return storetest.Alternate(openPostgres(t, dsn, schema), openPostgres(t, dsn, schema))
	})
}

// TestPostgresNodesStartTogether opens several Stores at once on a schema
// that does not exist yet: each creates it and migrates under the advisory
// lock, and exactly one does the work.
func TestPostgresNodesStartTogether(t *testing.T) {
	dsn := postgresDSN(t)
	t.Parallel()
	schema := freshSchema(t, dsn) + "_new" // not created: the stores create it
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	var wg sync.WaitGroup
	stores := make([]store.Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = sqlstore.OpenPostgres(t.Context(), dsn, sqlstore.WithSchema(schema), sqlstore.WithMaxOpenConns(2))
		}()
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] == nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	wantSchemaVersion(t, stores[0])
	var rows int
	if err := admin.QueryRowContext(t.Context(), `SELECT count(*) FROM `+schema+`.schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != sqlstore.LatestSchemaVersion() {
		t.Fatalf("schema_migrations has %d rows, want %d", rows, sqlstore.LatestSchemaVersion())
	}
	// a store without WithSchema that sees the schema through the DSN
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	s, err := sqlstore.OpenPostgres(t.Context(), dsn+sep+"search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantSchemaVersion(t, s)
}

// TestPostgresErrorsHidePasswords opens stores whose DSNs hold a password
// and cannot connect or parse: no error shows the password. It needs no
// server.
func TestPostgresErrorsHidePasswords(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-PW"
	for _, dsn := range []string{
		"postgres://payhost:" + secret + "@127.0.0.1:1/test?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=payhost password=" + secret + " dbname=test sslmode=disable connect_timeout=2",
		"host=127.0.0.1 port=1 password='" + secret + "' sslmode=disable connect_timeout=2",
		"postgres://payhost:" + secret + "@127.0.0.1:1/test?sslmode=bogus",
		"postgres://payhost:" + secret + "@[::1/test",
		"postgres://payhost@127.0.0.1:1/test?password=" + secret + "&sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=notaport password=" + secret,
	} {
		s, err := sqlstore.OpenPostgres(t.Context(), dsn)
		if err == nil {
			s.Close()
			t.Errorf("OpenPostgres(%s) succeeded", sqlstore.RedactDSN(dsn))
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
		if red := sqlstore.RedactDSN(dsn); strings.Contains(red, secret) {
			t.Errorf("RedactDSN kept the password: %s", red)
		}
	}
	if _, err := sqlstore.OpenPostgres(t.Context(), "postgres://x@127.0.0.1:1/test", sqlstore.WithSchema("Bad-Name")); err == nil {
		t.Error("WithSchema accepted a name that is not a plain identifier")
	}
}
