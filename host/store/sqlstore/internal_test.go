package sqlstore

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, sqlite, pg string }{
		{"SELECT 1", "SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = ? AND b = ?", "a = $1 AND b = $2"},
		{"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
	} {
		if got := sqliteDialect.q(c.in); got != c.sqlite {
			t.Errorf("sqlite %q → %q, want %q", c.in, got, c.sqlite)
		}
		if got := postgresDialect.q(c.in); got != c.pg {
			t.Errorf("postgres %q → %q, want %q", c.in, got, c.pg)
		}
	}
	for _, d := range []*dialect{sqliteDialect, postgresDialect} {
		ms, err := loadMigrations()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if out := d.ddl(m.sql); strings.Contains(out, "{{") {
				t.Errorf("%s: migration %s keeps a token: %s", d.name, m.name, out[strings.Index(out, "{{"):][:20])
			}
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u:pw@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgresql://u:p%40ss@h/db", "postgresql://u:xxxxx@h/db"},
		{"postgres://u@h/db?password=pw&sslpassword=k", "postgres://u@h/db?password=xxxxx&sslpassword=xxxxx"},
		{"host=h user=u password=pw dbname=db", "host=h user=u password=xxxxx dbname=db"},
		{"host=h password = 'p w\\'x' dbname=db", "host=h password = xxxxx dbname=db"},
		{"postgres://u:pw@[::1/db", "postgres://u:xxxxx@[::1/db"},
	} {
		if got := RedactDSN(c.in); got != c.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	err := scrubError("postgres://u:p%40ss@h/db", errors.New("cannot use p@ss or p%40ss"))
	if strings.Contains(err.Error(), "p@ss") || strings.Contains(err.Error(), "p%40ss") {
		t.Errorf("scrubbed error shows the password: %v", err)
	}
}

func TestSQLiteBase(t *testing.T) {
	for _, c := range []struct {
		in     string
		memory bool
		bad    bool
	}{
		{"", true, false},
		{":memory:", true, false},
		{"file:x?mode=memory&cache=shared", true, false},
		{"file::memory:", true, false},
		{"file:data/payhost.db", false, false},
		{"data/payhost.db", false, false},
		{"data/pay?host.db", false, true},
	} {
		_, memory, err := sqliteBase(c.in)
		if (err != nil) != c.bad || memory != c.memory {
			t.Errorf("sqliteBase(%q): memory=%v err=%v", c.in, memory, err)
		}
	}
}

// TestSQLiteConnectionSettings checks every connection of a file store
// has the pragmas the concurrency rules rely on.
func TestSQLiteConnectionSettings(t *testing.T) {
	ctx := t.Context()
	st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*Store)
	check := func(pool, pragma, want string) {
		t.Helper()
		db := s.w
		if pool == "r" {
			db = s.r
		}
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s pool: PRAGMA %s = %s, want %s", pool, pragma, got, want)
		}
	}
	for _, pool := range []string{"w", "r"} {
		check(pool, "journal_mode", "wal")
		check(pool, "foreign_keys", "1")
		check(pool, "busy_timeout", "10000")
		check(pool, "synchronous", "2")
	}
	check("w", "query_only", "0")
	check("r", "query_only", "1")
	if _, err := s.r.ExecContext(ctx, "DELETE FROM payments"); err == nil {
		t.Error("the reader pool can write")
	}
}
