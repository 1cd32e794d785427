package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/host/store/storetest"
)

func openSQLite(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), path)
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

// TestSQLite runs the store suite on a database file (WAL, a writer and a
// reader pool).
func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "payhost.db"))
	})
}

// TestSQLiteMemory runs the store suite on an in-memory database.
func TestSQLiteMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLite(t, ":memory:")
	})
}

// TestSQLiteTwoStores runs the store suite with two Stores on one file,
// each call going to the other, as two processes sharing it would.
func TestSQLiteTwoStores(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "payhost.db")
		return storetest.Alternate(openSQLite(t, path), openSQLite(t, path))
	})
}

func TestSQLiteReopenKeepsDataAndMigratesOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "payhost.db")
	// several stores opening a new file at once: one migrates
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := sqlstore.OpenSQLite(ctx, path)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InsertPayment(ctx, &store.Payment{ID: "pay_1", Tenant: "t1", Amount: 5, Currency: "CNY", Status: "created"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSQLite(t, "file:"+path+"?cache=private")
	if p, err := s.GetPayment(ctx, "pay_1"); err != nil || p.Amount != 5 {
		t.Fatalf("after reopening: %v %v", p, err)
	}
	wantSchemaVersion(t, s)
}

// wantSchemaVersion checks the store has every embedded migration.
func wantSchemaVersion(t *testing.T, s store.Store) {
	t.Helper()
	v, err := s.(*sqlstore.Store).SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v != sqlstore.LatestSchemaVersion() {
		t.Fatalf("schema version %d, want %d", v, sqlstore.LatestSchemaVersion())
	}
}

func TestSQLiteMemoryStoresAreSeparate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := openSQLite(t, ":memory:"), openSQLite(t, "")
	if err := a.InsertPayment(ctx, &store.Payment{ID: "pay_1", Tenant: "t1", Amount: 5, Status: "created"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetPayment(ctx, "pay_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second in-memory store sees the first's payment: %v", err)
	}
}

func TestSQLiteBadPaths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, path := range []string{"what?.db", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")} {
		if s, err := sqlstore.OpenSQLite(ctx, path); err == nil {
			s.Close()
			t.Errorf("OpenSQLite(%q) succeeded", path)
		}
	}
	if _, err := sqlstore.OpenSQLite(ctx, ":memory:", sqlstore.WithSchema("x")); err == nil {
		t.Error("WithSchema accepted for SQLite")
	}
}
