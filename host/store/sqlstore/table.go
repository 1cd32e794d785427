package sqlstore

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Every table the store reads or writes has one descriptor, a table[T]:
// its columns in order, each named once and bound once to a field of T,
// the Go type a row is read into. Everything positional is derived from
// it: the column list of SELECT and RETURNING, the columns, placeholders
// and arguments of INSERT, the destinations of Scan, and the text checks
// of a row about to be stored. A column cannot be swapped or forgotten in
// one of them and not the others, and the compiler checks that the field
// of a column has the type its kind converts (a time for timeCol, a map
// for mapCol, ...). TestTablesMatchSchema checks the descriptors against
// the migrated schema of both databases, and that each column is bound to
// the field of its name.
//
// Partial UPDATEs (a status change, the poller's schedule) still name
// their columns in a setList, each next to its value.

// table describes the rows of one table read into, and written from, a T.
type table[T any] struct {
	name string // the table
	what string // what a row is, in errors: "payment", "split return"
	cols []column[T]
	// unread are the table's columns the descriptor leaves out on purpose
	// (seq, which only orders rows, and columns no longer used).
	unread []string

	list   string // the columns in order: what SELECT and RETURNING read
	sel    string // SELECT list FROM name
	byID   string // sel WHERE id = ?
	insert string // INSERT INTO name (the columns the store writes) VALUES (?, ..)
	// insertNew is insert ON CONFLICT DO NOTHING: it stores a new row and
	// changes nothing when the row's keys are taken (RowsAffected 0)
	insertNew string
	nargs     int // the columns the store writes
}

// column is one column of a table[T] and the field of T it is bound to.
type column[T any] struct {
	name string
	// auto: the database assigns it (an identity); INSERT leaves it out
	auto bool
	// arg is the value an INSERT stores for the field of v; it refuses
	// text a TEXT column cannot hold (ErrInvalidText).
	arg func(v *T) (any, error)
	// dest is what Scan reads the column into: the field of v, or a
	// sql.Scanner that converts into it.
	dest func(v *T) any
	// field is the field of v the column is bound to (for the tests).
	field func(v *T) any
}

// newTable describes table name, whose rows are what (in errors), as cols
// in order; unread lists the table's other columns.
func newTable[T any](name, what string, unread []string, cols ...column[T]) *table[T] {
	t := &table[T]{name: name, what: what, cols: cols, unread: unread}
	var all, written []string
	for _, c := range cols {
		all = append(all, c.name)
		if !c.auto {
			written = append(written, c.name)
		}
	}
	t.nargs = len(written)
	t.list = strings.Join(all, ", ")
	t.sel = "SELECT " + t.list + " FROM " + name
	t.byID = t.sel + " WHERE id = ?"
	t.insert = "INSERT INTO " + name + " (" + strings.Join(written, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(written)), ", ") + ")"
	t.insertNew = t.insert + " ON CONFLICT DO NOTHING"
	return t
}

// listAs is the column list with each column prefixed by alias (a join's
// table alias).
func (t *table[T]) listAs(alias string) string {
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = alias + "." + c.name
	}
	return strings.Join(out, ", ")
}

// args are the values t.insert stores for v, in its order. Text that a
// TEXT column cannot hold is refused with ErrInvalidText.
func (t *table[T]) args(v *T) ([]any, error) {
	args := make([]any, 0, t.nargs)
	for i := range t.cols {
		c := &t.cols[i]
		if c.auto {
			continue
		}
		a, err := c.arg(v)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	return args, nil
}

// scan reads one row of t.list into a new T.
func (t *table[T]) scan(row rowScanner) (*T, error) {
	v := new(T)
	dest := make([]any, len(t.cols))
	for i := range t.cols {
		dest[i] = t.cols[i].dest(v)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return v, nil
}

// setExcept is the SET clause of an UPDATE of every column the store
// writes but keep, and where their values are among t.args. A name in keep
// that is no column of t is a mistake in this package: it panics (when the
// package is initialised).
func (t *table[T]) setExcept(keep ...string) colSet {
	for _, k := range keep {
		if !slices.ContainsFunc(t.cols, func(c column[T]) bool { return c.name == k }) {
			panic("sqlstore: table " + t.name + " has no column " + k)
		}
	}
	var set colSet
	var cols []string
	i := 0
	for _, c := range t.cols {
		if c.auto {
			continue
		}
		if !slices.Contains(keep, c.name) {
			cols = append(cols, c.name+" = ?")
			set.idx = append(set.idx, i)
		}
		i++
	}
	set.sql = strings.Join(cols, ", ")
	return set
}

// colSet is some of a table's columns: the SET clause of an UPDATE and
// the positions of its values among the table's args.
type colSet struct {
	sql string
	idx []int
}

// args picks the set's values out of all (a table's args) and appends
// more (those of the WHERE clause).
func (c colSet) args(all []any, more ...any) []any {
	out := make([]any, 0, len(c.idx)+len(more))
	for _, i := range c.idx {
		out = append(out, all[i])
	}
	return append(out, more...)
}

// The kinds of columns. Each binds a column to a field through an accessor
// returning the field's address, and converts between the field and the
// stored value.

// str is a TEXT column holding a string field.
func str[T any](name string, f func(*T) *string) column[T] {
	return column[T]{
		name: name,
		arg: func(v *T) (any, error) {
			s := *f(v)
			if !validText(s) {
				return nil, invalidText(name)
			}
			return s, nil
		},
		dest:  func(v *T) any { return f(v) },
		field: func(v *T) any { return f(v) },
	}
}

// num is an integer column holding an integer field.
func num[T any, V int | int64](name string, f func(*T) *V) column[T] {
	return column[T]{
		name:  name,
		arg:   func(v *T) (any, error) { return *f(v), nil },
		dest:  func(v *T) any { return f(v) },
		field: func(v *T) any { return f(v) },
	}
}

// autoID is an identity column the database assigns (id or seq), read
// into an int64 field and never written.
func autoID[T any](name string, f func(*T) *int64) column[T] {
	return column[T]{
		name:  name,
		auto:  true,
		dest:  func(v *T) any { return f(v) },
		field: func(v *T) any { return f(v) },
	}
}

// timeCol is a BIGINT column holding a time as Unix microseconds (micros,
// fromMicros).
func timeCol[T any](name string, f func(*T) *time.Time) column[T] {
	return column[T]{
		name:  name,
		arg:   func(v *T) (any, error) { return micros(*f(v)), nil },
		dest:  func(v *T) any { return microsDest{f(v)} },
		field: func(v *T) any { return f(v) },
	}
}

// boolCol is an integer column holding a bool as 1 or 0.
func boolCol[T any](name string, f func(*T) *bool) column[T] {
	return column[T]{
		name: name,
		arg: func(v *T) (any, error) {
			if *f(v) {
				return 1, nil
			}
			return 0, nil
		},
		dest:  func(v *T) any { return boolDest{f(v)} },
		field: func(v *T) any { return f(v) },
	}
}

// mapCol is a TEXT column holding a map as JSON (encodeMap, decodeMap).
func mapCol[T any](name string, f func(*T) *map[string]string) column[T] {
	return column[T]{
		name: name,
		arg: func(v *T) (any, error) {
			m := *f(v)
			for k, x := range m {
				if !validText(k) || !validText(x) {
					return nil, invalidText(name)
				}
			}
			return encodeMap(m)
		},
		dest:  func(v *T) any { return mapDest{f(v)} },
		field: func(v *T) any { return f(v) },
	}
}

// textCol is a TEXT column holding a byte slice (JSON, a report): it must
// be valid UTF-8 without NUL bytes, and reads back nil when empty
// (bytesOrNil).
func textCol[T any](name string, f func(*T) *[]byte) column[T] {
	return column[T]{
		name: name,
		arg: func(v *T) (any, error) {
			b := *f(v)
			if !validBytes(b) {
				return nil, invalidText(name)
			}
			return string(b), nil
		},
		dest:  func(v *T) any { return bytesDest{f(v)} },
		field: func(v *T) any { return f(v) },
	}
}

// blobCol is a BLOB column holding any bytes, stored as they are (a nil
// slice as the driver binds it); it reads back nil when empty or NULL.
func blobCol[T any](name string, f func(*T) *[]byte) column[T] {
	return column[T]{
		name:  name,
		arg:   func(v *T) (any, error) { return *f(v), nil },
		dest:  func(v *T) any { return bytesDest{f(v)} },
		field: func(v *T) any { return f(v) },
	}
}

// nullBlobCol is a BLOB column whose nil slice is stored as NULL.
func nullBlobCol[T any](name string, f func(*T) *[]byte) column[T] {
	c := blobCol(name, f)
	c.arg = func(v *T) (any, error) {
		if b := *f(v); b != nil {
			return b, nil
		}
		return nil, nil
	}
	return c
}

// jsonCol is a TEXT column holding a value as JSON, written by enc (which
// checks its text), "" for none; "" reads back as the zero value.
func jsonCol[T, V any](name string, f func(*T) *V, enc func(V) (string, error)) column[T] {
	return column[T]{
		name:  name,
		arg:   func(v *T) (any, error) { return enc(*f(v)) },
		dest:  func(v *T) any { return jsonDest[V]{f(v)} },
		field: func(v *T) any { return f(v) },
	}
}

func invalidText(column string) error {
	return fmt.Errorf("%w: column %s", ErrInvalidText, column)
}

// The scan destinations of the converting kinds: each holds only the
// field's address, so that putting one in an interface allocates nothing.

type microsDest struct{ t *time.Time }

func (d microsDest) Scan(src any) error {
	v, err := scanInt64(src)
	if err != nil {
		return err
	}
	*d.t = fromMicros(v)
	return nil
}

type boolDest struct{ b *bool }

func (d boolDest) Scan(src any) error {
	v, err := scanInt64(src)
	if err != nil {
		return err
	}
	*d.b = v != 0
	return nil
}

type mapDest struct{ m *map[string]string }

func (d mapDest) Scan(src any) error {
	s, err := scanText(src)
	if err != nil {
		return err
	}
	*d.m, err = decodeMap(s)
	return err
}

// bytesDest reads TEXT or BLOB into a byte slice: nil when empty or NULL.
type bytesDest struct{ b *[]byte }

func (d bytesDest) Scan(src any) error {
	switch s := src.(type) {
	case nil:
		*d.b = nil
	case []byte:
		*d.b = bytesOrNil(bytes.Clone(s)) // the driver may reuse s
	case string:
		*d.b = bytesOrNil([]byte(s))
	default:
		return fmt.Errorf("sqlstore: bytes stored as %T", src)
	}
	return nil
}

type jsonDest[V any] struct{ v *V }

func (d jsonDest[V]) Scan(src any) error {
	s, err := scanText(src)
	if err != nil || s == "" {
		return err
	}
	if err := json.Unmarshal([]byte(s), d.v); err != nil {
		return fmt.Errorf("sqlstore: decode JSON: %w", err)
	}
	return nil
}

// scanInt64 reads an integer as database/sql would into an int64 (the
// drivers give int64; anything else converts as sql.Null does).
func scanInt64(src any) (int64, error) {
	if v, ok := src.(int64); ok {
		return v, nil
	}
	var n sql.Null[int64]
	if err := n.Scan(src); err != nil {
		return 0, err
	}
	if !n.Valid {
		return 0, errors.New("sqlstore: NULL where an integer is stored")
	}
	return n.V, nil
}

// scanText reads TEXT as database/sql would into a string.
func scanText(src any) (string, error) {
	switch s := src.(type) {
	case string:
		return s, nil
	case []byte:
		return string(s), nil
	}
	var n sql.Null[string]
	if err := n.Scan(src); err != nil {
		return "", err
	}
	if !n.Valid {
		return "", errors.New("sqlstore: NULL where text is stored")
	}
	return n.V, nil
}
