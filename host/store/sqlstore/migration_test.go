package sqlstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/payhost/payhost/internal/pgtest"
)

// migrationSQL is the text of the migration with the given version.
func migrationSQL(t *testing.T, d *dialect, version int) string {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.version == version {
			return d.ddl(m.sql)
		}
	}
	t.Fatalf("no migration %d", version)
	return ""
}

// checkWebhookLogMigration writes delivery log rows as the previous
// version stored them (the endpoint's answer, raw connection errors), runs
// migration 0010 again and checks only status codes and error classes
// remain.
func checkWebhookLogMigration(t *testing.T, s *Store) {
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.w.ExecContext(ctx, s.d.q(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO events (id, tenant, type) VALUES ('evt_1', 'acme', 'payment.succeeded')`)
	old := []struct {
		status    int
		err, body string
		want      string
	}{
		{500, "HTTP 500", "root:x:0:0:root:/root:/bin/bash", "http_5xx"},
		{302, "HTTP 302: redirect to http://10.0.0.5 not followed; give the final URL", "", "http_3xx"},
		{404, "HTTP 404", "<html>internal admin</html>", "http_4xx"},
		{0, "dial tcp 10.0.0.5:22: connect: connection refused", "", "connection_refused"},
		{0, "no answer within 10s", "", "timeout"},
		{0, "dial tcp 10.0.0.5:80: address 10.0.0.5:80 is not public and webhooks.allow_private is off", "", "address_not_allowed"},
		{0, "dial tcp: lookup nowhere.invalid: no such host", "", "dns"},
		{0, "tls: failed to verify certificate: x509: certificate signed by unknown authority", "", "tls"},
		{0, "read tcp 10.0.0.1:5000->10.0.0.5:6379: read: connection reset by peer", "", "connection_reset"},
		{0, `net/http: HTTP/1.x transport connection broken: malformed HTTP response "-ERR unknown command"`, "", "protocol_error"},
		{0, "interrupted: the node shut down (context canceled)", "", "interrupted"},
		{0, "something else entirely", "", "connection_error"},
		{204, "", `{"ok":true}`, ""},
	}
	for i := range len(old) + 1 {
		exec(`INSERT INTO webhook_endpoints (id, tenant, url, status) VALUES (?, 'acme', 'http://10.0.0.5/', 'enabled')`, fmt.Sprint("we_", i))
	}
	for i, o := range old {
		exec(`INSERT INTO webhook_deliveries (event_id, endpoint_id, tenant, status, last_status_code, last_error)
			VALUES ('evt_1', ?, 'acme', 'pending', ?, ?)`, fmt.Sprint("we_", i), o.status, o.err)
		exec(`INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error_message, response_body)
			VALUES (?, 1, ?, ?, ?)`, i+1, o.status, o.err, o.body)
	}
	exec(`INSERT INTO webhook_deliveries (event_id, endpoint_id, tenant, status, last_error)
		VALUES ('evt_1', ?, 'acme', 'canceled', 'the endpoint was deleted')`, fmt.Sprint("we_", len(old)))
	if _, err := s.w.ExecContext(ctx, migrationSQL(t, s.d, 10)); err != nil {
		t.Fatalf("migration 0010: %v", err)
	}
	for i, o := range old {
		var errMsg, body, last string
		if err := s.w.QueryRowContext(ctx, s.d.q(`SELECT error_message, response_body FROM webhook_attempts WHERE delivery_id = ?`), i+1).Scan(&errMsg, &body); err != nil {
			t.Fatal(err)
		}
		if err := s.w.QueryRowContext(ctx, s.d.q(`SELECT last_error FROM webhook_deliveries WHERE id = ?`), i+1).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if errMsg != o.want || last != o.want || body != "" {
			t.Errorf("%q: error %q, last_error %q, body %q; want %q and no body", o.err, errMsg, last, body, o.want)
		}
	}
	var deleted string
	if err := s.w.QueryRowContext(ctx, s.d.q(`SELECT last_error FROM webhook_deliveries WHERE status = 'canceled'`)).Scan(&deleted); err != nil {
		t.Fatal(err)
	}
	if deleted != "the endpoint was deleted" {
		t.Errorf("a canceled delivery's reason became %q", deleted)
	}
}

func TestSQLiteWebhookLogMigration(t *testing.T) {
	st, err := OpenSQLite(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkWebhookLogMigration(t, st.(*Store))
}

func TestPostgresWebhookLogMigration(t *testing.T) {
	dsn := pgtest.DSN(t)
	st, err := OpenPostgres(t.Context(), dsn, WithSchema(pgtest.Schema(t, dsn)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkWebhookLogMigration(t, st.(*Store))
}
