package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
)

var tricky = []string{
	"", "plain", "咖啡 ☕", "'; DROP TABLE payments; --", `"quoted" \backslash\`, "tab\tnew\nline",
	"\x00", "nul\x00inside", "\xff\xfe", "bad \xc3\x28 utf8", "\u2028\u2029", "emoji 🇨🇳 👍🏽", "?", "$1", "{{BLOB}}",
}

// textRoundTrip stores s in every kind of text field of a payment, and
// checks it reads back unchanged, or is refused with ErrInvalidText exactly
// when it holds a NUL byte or invalid UTF-8.
func textRoundTrip(ctx context.Context, st store.Store, id string, s string) error {
	valid := utf8.ValidString(s) && !containsNUL(s)
	p := &store.Payment{ID: id, Tenant: "t1", Amount: 1, Currency: "CNY", Status: "created",
		Description: s, Metadata: map[string]string{"fixed": s, "key " + s: "v"}, PayInfo: []byte(s)}
	err := st.InsertPayment(ctx, p)
	if !valid {
		if !errors.Is(err, sqlstore.ErrInvalidText) {
			return fmt.Errorf("%q: err = %w, want ErrInvalidText", s, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	got, err := st.GetPayment(ctx, id)
	if err != nil {
		return err
	}
	if got.Description != s || got.Metadata["fixed"] != s || got.Metadata["key "+s] != "v" || string(got.PayInfo) != s {
		return fmt.Errorf("%q read back as %q, %q, %q", s, got.Description, got.Metadata, got.PayInfo)
	}
	return nil
}

func containsNUL(s string) bool {
	for i := range len(s) {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

func FuzzSQLiteText(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	st, err := sqlstore.OpenSQLite(context.Background(), ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, s string) {
		if err := textRoundTrip(t.Context(), st, fmt.Sprintf("pay_%d", n.Add(1)), s); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPostgresText is FuzzSQLiteText's seeds on PostgreSQL: both databases
// accept and refuse the same strings.
func TestPostgresText(t *testing.T) {
	dsn := postgresDSN(t)
	t.Parallel()
	st := openPostgres(t, dsn, freshSchema(t, dsn))
	for i, s := range tricky {
		if err := textRoundTrip(t.Context(), st, fmt.Sprintf("pay_%d", i), s); err != nil {
			t.Error(err)
		}
	}
}
