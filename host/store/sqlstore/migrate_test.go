package sqlstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

// TestSQLiteMigrationKeepsFirstBinding: see testMigrationKeepsFirstBinding.
func TestSQLiteMigrationKeepsFirstBinding(t *testing.T) {
	st, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testMigrationKeepsFirstBinding(t, st.(*Store), "")
}

// TestPostgresMigrationKeepsFirstBinding: see testMigrationKeepsFirstBinding.
func TestPostgresMigrationKeepsFirstBinding(t *testing.T) {
	dsn := os.Getenv("PAYHOST_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("PAYHOST_REQUIRE_POSTGRES") == "1" {
			t.Fatal("PAYHOST_TEST_POSTGRES is not set and PAYHOST_REQUIRE_POSTGRES=1")
		}
		t.Skip("PAYHOST_TEST_POSTGRES is not set: skipping the PostgreSQL tests")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "payhost_test_" + hex.EncodeToString(b[:])
	st, err := OpenPostgres(t.Context(), dsn, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*Store)
	t.Cleanup(func() {
		if _, err := s.w.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		st.Close()
	})
	testMigrationKeepsFirstBinding(t, s, schema)
}

// testMigrationKeepsFirstBinding: a database where one provider receiver
// id was bound at an account by two tenants (before migration 0009, as an
// attacker did) keeps the oldest binding; the later one goes back to
// pending with failure conflict. The same id at another account stays.
func testMigrationKeepsFirstBinding(t *testing.T, s *Store, schema string) {
	ctx := t.Context()
	for _, q := range []string{"DROP INDEX split_receivers_bound_provider", "DROP INDEX split_receivers_provider",
		"DROP INDEX split_receivers_status", "DELETE FROM schema_migrations WHERE version = 9"} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	at := time.Unix(1_700_000_000, 0)
	for _, r := range []*store.Receiver{
		{ID: "rcv_victim", Tenant: "acme", Account: "main", Name: "platform", ProviderID: "800001", Status: "bound", CreatedAt: at, UpdatedAt: at},
		{ID: "rcv_thief", Tenant: "globex", Account: "main", Name: "mine", ProviderID: "800001", Status: "bound", CreatedAt: at, UpdatedAt: at},
		{ID: "rcv_other", Tenant: "globex", Account: "side", Name: "mine", ProviderID: "800001", Status: "bound", CreatedAt: at, UpdatedAt: at},
	} {
		if err := s.InsertReceiver(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.migrate(ctx, schema); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"rcv_victim": "bound", "rcv_thief": "pending", "rcv_other": "bound"} {
		r, err := s.GetReceiver(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != want {
			t.Errorf("%s is %s after the migration, want %s", id, r.Status, want)
		}
		if id == "rcv_thief" && r.FailureCode != "conflict" {
			t.Errorf("%s: failure %q, want conflict", id, r.FailureCode)
		}
	}
	thief, err := s.GetReceiver(ctx, "rcv_thief")
	if err != nil {
		t.Fatal(err)
	}
	thief.Status = "bound"
	if err := s.ReplaceReceiver(ctx, thief, "pending"); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("binding the later receiver again: %v, want ErrDuplicate", err)
	}
}
