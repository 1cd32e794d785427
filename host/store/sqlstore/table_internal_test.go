package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// describedTable is what the tests see of a table[T].
type describedTable interface {
	tableName() string
	columnNames() []string
	unreadColumns() []string
	insertSQL() string
	// bindings maps each column to the field of T it is bound to ("" when
	// none is), and lists the fields of T.
	bindings() (map[string]string, []string)
}

// descriptors are every table descriptor of the package.
var descriptors = []describedTable{
	paymentTable, refundTable, receiverTable, splitTable, splitReturnTable, payoutTable, terminalTable,
	merchantTable, documentTable, requestTable, itemTable, reconciliationTable,
	attemptTable, transitionTable, notificationTable, idemTable, nodeTable,
	eventTable, endpointTable, deliveryTable, webhookAttemptTable,
}

// undescribed are the tables of the schema no descriptor describes.
var undescribed = []string{
	"schema_migrations", // the migrations' own, written by migrate
}

// renamed are the columns whose name is not their field's in snake case.
var renamed = map[string]string{
	"idempotency_keys.idem_key":      "Key",
	"merchant_documents.doc_type":    "Type",
	"attempts.error_message":         "Error",
	"webhook_attempts.error_message": "Error",
	"transitions.from_status":        "From",
	"transitions.to_status":          "To",
	"reconciliations.day":            "Date",
}

// notStored are the fields of the rows' types that no column holds.
var notStored = map[string]string{
	"Link":  "the idempotency key a new object is linked to in its transaction",
	"Items": "a merchant request's items: rows of merchant_request_items",
}

func (t *table[T]) tableName() string       { return t.name }
func (t *table[T]) unreadColumns() []string { return t.unread }
func (t *table[T]) insertSQL() string       { return t.insert }

func (t *table[T]) columnNames() []string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	return names
}

func (t *table[T]) bindings() (map[string]string, []string) {
	v := new(T)
	byAddr := map[uintptr]string{}
	var fields []string
	var walk func(reflect.Value)
	walk = func(s reflect.Value) {
		for i := range s.NumField() {
			f := s.Type().Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(s.Field(i))
				continue
			}
			byAddr[s.Field(i).Addr().Pointer()] = f.Name
			fields = append(fields, f.Name)
		}
	}
	walk(reflect.ValueOf(v).Elem())
	bound := map[string]string{}
	for _, c := range t.cols {
		bound[c.name] = byAddr[reflect.ValueOf(c.field(v)).Pointer()]
	}
	return bound, fields
}

// snake is a Go name in snake case: MerchantOrderID is merchant_order_id,
// QRCode qr_code.
func snake(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 &&
			(unicode.IsLower(r[i-1]) || (unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"ID": "id", "MerchantOrderID": "merchant_order_id", "QRCode": "qr_code", "SHA256": "sha256",
		"RatioPPM": "ratio_ppm", "requestID": "request_id", "seenAt": "seen_at", "URL": "url",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTableColumnsBindTheirFields checks that every column of every
// descriptor is bound to the field of its name (or of the name renamed
// gives it), and that every field of the row's type is held by exactly
// one column or listed in notStored: a column bound to the wrong field,
// which would still round-trip, fails here.
func TestTableColumnsBindTheirFields(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range descriptors {
		t.Run(d.tableName(), func(t *testing.T) {
			if seen[d.tableName()] {
				t.Fatalf("%s is described twice", d.tableName())
			}
			seen[d.tableName()] = true
			bound, fields := d.bindings()
			held := map[string]int{}
			for _, col := range d.columnNames() {
				field := bound[col]
				if field == "" {
					t.Errorf("column %s is not bound to a field of the row", col)
					continue
				}
				held[field]++
				want, ok := renamed[d.tableName()+"."+col]
				if ok && field != want || !ok && snake(field) != col {
					t.Errorf("column %s is bound to field %s", col, field)
				}
			}
			for _, f := range fields {
				switch n := held[f]; {
				case n == 0 && notStored[f] == "":
					t.Errorf("field %s is held by no column (list it in notStored if that is meant)", f)
				case n > 1:
					t.Errorf("field %s is held by %d columns", f, n)
				}
			}
		})
	}
}

// TestTablesMatchSchema checks every descriptor against the schema the
// migrations build on SQLite.
func TestTablesMatchSchema(t *testing.T) {
	st, err := OpenSQLite(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkTables(t, st.(*Store), `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
}

// TestPostgresTablesMatchSchema is TestTablesMatchSchema on PostgreSQL.
func TestPostgresTablesMatchSchema(t *testing.T) {
	dsn := os.Getenv("PAYHOST_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("PAYHOST_REQUIRE_POSTGRES") == "1" {
			t.Fatal("PAYHOST_TEST_POSTGRES is not set and PAYHOST_REQUIRE_POSTGRES=1")
		}
		t.Skip("PAYHOST_TEST_POSTGRES is not set: skipping the PostgreSQL tests")
	}
	t.Parallel()
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	schema := "payhost_test_" + hex.EncodeToString(b[:])
	st, err := OpenPostgres(t.Context(), dsn, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*Store)
	defer func() {
		if _, err := s.w.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}()
	checkTables(t, s, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
}

// checkTables checks that every table listTables lists in s's database is
// described once (or listed in undescribed), that each descriptor's
// SELECT and INSERT are statements of the database, and that every column
// of its table is read or listed as unread.
func checkTables(t *testing.T, s *Store, listTables string) {
	ctx := t.Context()
	rows, err := s.r.QueryContext(ctx, listTables)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := collect(rows, func(row rowScanner) (string, error) {
		var name string
		err := row.Scan(&name)
		return name, err
	}, "list tables")
	if err != nil {
		t.Fatal(err)
	}
	described := map[string]describedTable{}
	for _, d := range descriptors {
		described[d.tableName()] = d
	}
	for _, name := range schema {
		if described[name] == nil && !slices.Contains(undescribed, name) {
			t.Errorf("table %s has no descriptor (nor is it listed in undescribed)", name)
		}
	}
	for _, d := range descriptors {
		t.Run(d.tableName(), func(t *testing.T) {
			if !slices.Contains(schema, d.tableName()) {
				t.Fatalf("the schema has no table %s", d.tableName())
			}
			if _, err := s.r.ExecContext(ctx, `SELECT `+strings.Join(d.columnNames(), ", ")+` FROM `+d.tableName()+` LIMIT 0`); err != nil {
				t.Errorf("the columns read: %v", err)
			}
			if err := prepare(ctx, s, s.d.q(d.insertSQL())); err != nil {
				t.Errorf("the INSERT: %v", err)
			}
			all, err := columnsOf(ctx, s.r, d.tableName())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range all {
				if !slices.Contains(d.columnNames(), c) && !slices.Contains(d.unreadColumns(), c) {
					t.Errorf("column %s is neither read nor listed as unread", c)
				}
			}
			for _, c := range d.unreadColumns() {
				if !slices.Contains(all, c) {
					t.Errorf("unread column %s is not in the table", c)
				}
				if slices.Contains(d.columnNames(), c) {
					t.Errorf("unread column %s is read", c)
				}
			}
			for i, c := range d.columnNames() {
				if slices.Index(d.columnNames(), c) != i {
					t.Errorf("column %s is described twice", c)
				}
			}
		})
	}
}

// prepare checks query is a statement of s's database, running nothing.
func prepare(ctx context.Context, s *Store, query string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // nothing to keep
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	return st.Close()
}

// columnsOf lists the columns of table.
func columnsOf(ctx context.Context, q *sql.DB, table string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT * FROM `+table+` LIMIT 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}
