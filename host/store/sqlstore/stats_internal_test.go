package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/internal/pgtest"
)

func TestWrites(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"INSERT INTO t VALUES (1)", true},
		{"  \n\tupdate t SET v = 1", true},
		{"DELETE FROM t", true},
		{"REPLACE INTO t VALUES (1)", true},
		{"(INSERT INTO t VALUES (1))", true},
		{"WITH x AS (SELECT 1) UPDATE t SET v = 1", true},
		{"with d as (delete from t returning id) select count(*) from d", true},
		{"WITH x AS (SELECT updated_at FROM t) SELECT * FROM x", false},
		{"SELECT * FROM t", false},
		{"SELECT id FROM t FOR UPDATE", false},
		{"PRAGMA foreign_keys", false},
		{"", false},
		{"UPD", false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			assert.Equal(t, tt.want, writes(tt.query))
		})
	}
}

// TestStats: the guard counts statements, transactions and rollbacks, and a
// durable commit for each transaction in which a statement changed a row
// and each statement outside a transaction that changed one — prepared or
// not, on both databases.
func TestStats(t *testing.T) {
	ctx := context.Background()
	stores := map[string]func(t *testing.T) *Store{
		"sqlite file": func(t *testing.T) *Store {
			st, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "stats.db"))
			require.NoError(t, err)
			return st.(*Store)
		},
		"sqlite memory": func(t *testing.T) *Store {
			st, err := OpenSQLite(ctx, ":memory:")
			require.NoError(t, err)
			return st.(*Store)
		},
		"postgres": func(t *testing.T) *Store {
			dsn := pgtest.DSN(t)
			st, err := OpenPostgres(ctx, dsn, WithSchema(pgtest.Schema(t, dsn)))
			require.NoError(t, err)
			return st.(*Store)
		},
	}
	for _, name := range []string{"sqlite file", "sqlite memory", "postgres"} {
		t.Run(name, func(t *testing.T) {
			s := stores[name](t)
			t.Cleanup(func() { _ = s.Close() })
			opened := s.Stats()
			assert.Positive(t, opened.Commits, "the migrations and the write probe committed")
			_, err := s.w.ExecContext(ctx, "CREATE TABLE stats_t (id INTEGER PRIMARY KEY, v TEXT)")
			require.NoError(t, err)
			ins, err := s.w.PrepareContext(ctx, s.d.q("INSERT INTO stats_t (id, v) VALUES (?, ?)"))
			require.NoError(t, err)
			t.Cleanup(func() { _ = ins.Close() })
			inTx := func(commit bool, fn func(tx *sql.Tx)) {
				tx, err := s.w.BeginTx(ctx, nil)
				require.NoError(t, err)
				fn(tx)
				if commit {
					require.NoError(t, tx.Commit())
				} else {
					require.NoError(t, tx.Rollback())
				}
			}
			exec := func(q querier, query string, args ...any) {
				_, err := q.ExecContext(ctx, s.d.q(query), args...)
				require.NoError(t, err)
			}
			returning := func(query string, args ...any) {
				rows, err := s.w.QueryContext(ctx, s.d.q(query), args...)
				require.NoError(t, err)
				for rows.Next() {
				}
				require.NoError(t, rows.Err())
				require.NoError(t, rows.Close())
			}
			steps := []struct {
				name string
				do   func()
				want store.Stats // the change
			}{
				{"insert", func() { exec(s.w, "INSERT INTO stats_t (id, v) VALUES (1, 'a')") },
					store.Stats{Commits: 1, Statements: 1}},
				{"update of no row", func() { exec(s.w, "UPDATE stats_t SET v = 'b' WHERE id = 99") },
					store.Stats{Statements: 1}},
				{"read", func() { returning("SELECT v FROM stats_t") },
					store.Stats{Statements: 1}},
				{"update returning a row", func() { returning("UPDATE stats_t SET v = 'c' WHERE id = 1 RETURNING id") },
					store.Stats{Commits: 1, Statements: 1}},
				{"update returning nothing", func() { returning("UPDATE stats_t SET v = 'c' WHERE id = 99 RETURNING id") },
					store.Stats{Statements: 1}},
				{"prepared insert", func() {
					_, err := ins.ExecContext(ctx, 2, "p")
					require.NoError(t, err)
				}, store.Stats{Commits: 1, Statements: 1}},
				{"transaction of three writes", func() {
					inTx(true, func(tx *sql.Tx) {
						exec(tx, "SELECT v FROM stats_t WHERE id = 1")
						exec(tx, "INSERT INTO stats_t (id, v) VALUES (3, 'x')")
						exec(tx, "UPDATE stats_t SET v = 'y' WHERE id = 3")
						_, err := tx.StmtContext(ctx, ins).ExecContext(ctx, 4, "q")
						require.NoError(t, err)
					})
				}, store.Stats{Commits: 1, Transactions: 1, Statements: 4}},
				{"transaction of reads", func() {
					inTx(true, func(tx *sql.Tx) {
						exec(tx, "SELECT v FROM stats_t")
						exec(tx, "UPDATE stats_t SET v = 'z' WHERE id = 99")
					})
				}, store.Stats{Transactions: 1, Statements: 2}},
				{"rolled back", func() {
					inTx(false, func(tx *sql.Tx) { exec(tx, "INSERT INTO stats_t (id, v) VALUES (5, 'r')") })
				}, store.Stats{Transactions: 1, Rollbacks: 1, Statements: 1}},
				{"insert after a rollback", func() { exec(s.w, "INSERT INTO stats_t (id, v) VALUES (6, 'a')") },
					store.Stats{Commits: 1, Statements: 1}},
			}
			for _, step := range steps {
				before := s.Stats()
				step.do()
				after := s.Stats()
				got := store.Stats{Commits: after.Commits - before.Commits, Transactions: after.Transactions - before.Transactions,
					Rollbacks: after.Rollbacks - before.Rollbacks, Statements: after.Statements - before.Statements}
				assert.Equal(t, step.want, got, step.name)
			}
		})
	}
}
