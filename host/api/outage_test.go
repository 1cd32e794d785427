package api

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/internal/pgtest"
	"github.com/payhost/payhost/internal/tcpproxy"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

const paymentBody = `{"amount":1000,"currency":"CNY","method":"alipay.qr"}`

// wantRetry checks a 503 answer with its code, Retry-After header and the
// same advice in the body.
func wantRetry(t *testing.T, r response, code string, retryAfter int, msg string) {
	t.Helper()
	require.Equal(t, http.StatusServiceUnavailable, r.status, "%s", r.body)
	e := r.errorObj(t)
	assert.Equal(t, code, e["code"])
	assert.Equal(t, true, e["retryable"])
	assert.Equal(t, float64(retryAfter), e["retry_after"])
	assert.Equal(t, fmt.Sprint(retryAfter), r.header.Get("Retry-After"))
	assert.Contains(t, e["message"], msg)
}

// creates counts the create calls the simulator received.
func creates(s *sim.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == "/api/pay/unifiedOrder" {
			n++
		}
	}
	return n
}

// TestPostgresOutageAnswers503: while the connection to PostgreSQL is cut,
// every route that needs the store answers 503 unavailable with
// Retry-After (not 500), and /readyz is 503; once it is back, the same
// Idempotency-Keys succeed. An outage that starts while the provider call
// is in flight is also a 503, and never a failed payment or a second
// provider call: the key stays in progress with the payment it created.
func TestPostgresOutageAnswers503(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	schema := pgtest.Schema(t, dsn)
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	proxy := tcpproxy.Start(t, fmt.Sprintf("%s:%d", cfg.Host, cfg.Port))
	u, err := url.Parse(dsn)
	require.NoError(t, err, "PAYHOST_TEST_POSTGRES must be a URL for this test")
	u.Host = proxy.Addr()
	app := "payhost-outage-" + schema
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	st, err := sqlstore.OpenPostgres(ctx, u.String(), sqlstore.WithSchema(schema))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })

	var cutOnCreate atomic.Bool
	e := newEnv(t, envOptions{store: st,
		gateway: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api/pay/unifiedOrder" && cutOnCreate.CompareAndSwap(true, false) {
					proxy.Cut() // the database goes away while the provider takes the payment
				}
				next.ServeHTTP(w, r)
			})
		},
		engine: func(c *host.Config) { c.IdempotencyWait = time.Millisecond }})
	first := e.createPayment(t, keyAcme, paymentBody)

	t.Run("outage", func(t *testing.T) {
		proxy.Cut()
		keys := make([]string, 15)
		for i := range keys {
			keys[i] = e.key()
			r := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: keys[i], body: paymentBody})
			wantRetry(t, r, "unavailable", 2, "the payment store is unavailable (")
			assert.Contains(t, r.errorObj(t)["message"], "connect", "the cause: the connection")
		}
		r := e.do(t, req{method: "GET", path: "/v1/payments/" + first["id"].(string), key: keyAcme})
		wantRetry(t, r, "unavailable", 2, "connect")
		r = e.do(t, req{method: "GET", path: "/readyz"})
		require.Equal(t, http.StatusServiceUnavailable, r.status)
		assert.Equal(t, "unavailable", r.errorObj(t)["code"])
		assert.Contains(t, r.errorObj(t)["message"], "not ready: the payment store is unavailable (connection")
		assert.NotContains(t, string(r.body), proxy.Addr(), "no address in the answer")
		assert.Equal(t, 1, creates(e.sim), "nothing reached the provider")

		proxy.Restore()
		require.Equal(t, http.StatusOK, e.do(t, req{method: "GET", path: "/readyz"}).status)
		for _, k := range keys {
			r := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: k, body: paymentBody})
			assert.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		}
		assert.Equal(t, 1+len(keys), creates(e.sim))
	})

	t.Run("outage during the provider call", func(t *testing.T) {
		before := creates(e.sim)
		key := e.key()
		cutOnCreate.Store(true)
		r := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: key, body: paymentBody})
		wantRetry(t, r, "unavailable", 2, "the payment store is unavailable")
		assert.Equal(t, before+1, creates(e.sim))
		proxy.Restore()

		rec, err := st.GetIdempotencyKey(ctx, "acme", key)
		require.NoError(t, err)
		assert.Equal(t, store.IdemInProgress, rec.State, "the key is kept for the payment, not released")
		require.NotEmpty(t, rec.ResourceID)
		p, err := st.GetPayment(ctx, rec.ResourceID)
		require.NoError(t, err)
		assert.NotEqual(t, "failed", p.Status, "no false failure")
		assert.Equal(t, "haotian", p.Plugin)

		r = e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: key, body: paymentBody})
		assert.Equal(t, http.StatusConflict, r.status, "%s", r.body)
		assert.Equal(t, "in_progress", r.errorObj(t)["code"])
		assert.Equal(t, before+1, creates(e.sim), "no second provider call")
	})

	t.Run("backends terminated", func(t *testing.T) {
		admin, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		defer admin.Close()
		var n int
		require.NoError(t, admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1`, app).Scan(&n))
		require.Positive(t, n)
		// each pooled connection fails once at most (503) before the pool
		// connects afresh; none is a 500
		ok := 0
		for range 15 {
			r := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: e.key(), body: paymentBody})
			switch r.status {
			case http.StatusCreated:
				ok++
			case http.StatusServiceUnavailable:
				wantRetry(t, r, "unavailable", 2, "the payment store is unavailable")
			default:
				t.Fatalf("status %d: %s", r.status, r.body)
			}
		}
		t.Logf("after pg_terminate_backend of %d connections: %d of 15 payments created, the others 503", n, ok)
		assert.GreaterOrEqual(t, ok, 5)
	})
}

// fullStore is a SQLite store on a file that can grow by only a few pages
// (max_page_count: SQLite answers SQLITE_FULL as for a full disk), and
// free, which makes room by deleting a ballast table through another
// connection, as an operator freeing disk space would.
func fullStore(t *testing.T) (store.Store, func()) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "payhost.db")
	raw, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	_, err = raw.ExecContext(ctx, "CREATE TABLE ballast (b BLOB)")
	require.NoError(t, err)
	for range 64 {
		_, err := raw.ExecContext(ctx, "INSERT INTO ballast VALUES (zeroblob(4000))")
		require.NoError(t, err)
	}
	st, err := sqlstore.OpenSQLite(ctx, path)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	var pages int
	require.NoError(t, raw.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages))
	st, err = sqlstore.OpenSQLite(ctx, fmt.Sprintf("file:%s?_pragma=max_page_count(%d)", path, pages+40))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st, func() {
		_, err := raw.ExecContext(ctx, "DELETE FROM ballast")
		require.NoError(t, err)
	}
}

// TestSQLiteDiskFullAnswers503: when SQLite's disk is full, payments are
// 503 unavailable naming the cause with Retry-After (never 500), /readyz is
// 503 until a write succeeds again, and once there is room both recover.
func TestSQLiteDiskFullAnswers503(t *testing.T) {
	st, free := fullStore(t)
	e := newEnv(t, envOptions{store: st})
	created := 0
	var full response
	for range 1000 {
		r := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: e.key(), body: paymentBody})
		if r.status != http.StatusCreated {
			full = r
			break
		}
		created++
	}
	require.Positive(t, created)
	t.Logf("%d payments created before the database was full", created)
	wantRetry(t, full, "unavailable", 2, "the payment store is unavailable (database disk is full)")
	for range 3 {
		r := e.do(t, req{method: "GET", path: "/readyz"})
		require.Equal(t, http.StatusServiceUnavailable, r.status, "%s", r.body)
		assert.Contains(t, r.errorObj(t)["message"], "not ready: the payment store is unavailable (database disk is full)")
		assert.Equal(t, "2", r.header.Get("Retry-After"))
		r = e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: e.key(), body: paymentBody})
		wantRetry(t, r, "unavailable", 2, "database disk is full")
	}

	free()
	require.Equal(t, http.StatusOK, e.do(t, req{method: "GET", path: "/readyz"}).status)
	e.createPayment(t, keyAcme, paymentBody)
}

// TestCircuitOpenAnswers503: with the only channel's circuit open, a
// payment is 503 circuit_open with Retry-After counting down to the
// half-open probe, nothing is stored under the key, and the same key
// succeeds once the circuit lets a call through.
func TestCircuitOpenAnswers503(t *testing.T) {
	clk := &testClock{t: time.Now()} // the simulator checks signed request times against its own clock
	e := newEnv(t, envOptions{engine: func(c *host.Config) { c.Now = clk.Now }})
	e.sim.SetFaults(sim.Fault{Kind: sim.FaultHTTP5xxBefore, PathPrefix: "/api/pay/unifiedOrder", Count: 5})
	for range 5 {
		// the gateway answers 503: an outcome the engine cannot know, which
		// counts against the channel
		p := e.createPayment(t, keyAcme, paymentBody)
		require.Equal(t, "unknown_outcome", p["pending_reason"])
	}
	key := e.key()
	for _, tt := range []struct {
		advance time.Duration
		after   int
	}{{0, 30}, {12 * time.Second, 18}, {17*time.Second + 500*time.Millisecond, 1}} {
		clk.Add(tt.advance)
		r := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: key, body: paymentBody})
		wantRetry(t, r, "circuit_open", tt.after, "no channel can take this payment now")
		assert.Contains(t, r.errorObj(t)["message"], "a rule with a fallback channel avoids this")
	}
	assert.Equal(t, 5, creates(e.sim))

	clk.Add(time.Second) // half-open: this request is the probe
	r := e.do(t, req{method: "POST", path: "/v1/payments", key: keyAcme, idem: key, body: paymentBody})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	assert.Equal(t, "processing", r.json(t)["status"])
	e.createPayment(t, keyAcme, paymentBody) // closed again
	assert.Equal(t, 7, creates(e.sim))
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestPublicError: a store outage is unavailable whatever code the engine
// wrapped it in, with a message that names the cause only.
func TestPublicError(t *testing.T) {
	cause := &store.UnavailableError{Cause: "database disk is full", Write: true,
		Err: fmt.Errorf("sqlite /var/lib/payhost/payhost.db: database or disk is full (13)")}
	for _, err := range []error{
		cause,
		fmt.Errorf("sqlstore: insert payment: %w", cause),
		core.WrapError(core.CodeInternal, fmt.Errorf("sqlstore: insert payment: %w", cause), "store payment"),
	} {
		ce := publicError(err)
		assert.Equal(t, "unavailable", string(ce.Code))
		assert.Equal(t, 503, ce.Code.HTTPStatus())
		assert.True(t, ce.Retryable)
		assert.Equal(t, 2, ce.RetryAfter)
		assert.Equal(t, "the payment store is unavailable (database disk is full); retry the same request, with the same Idempotency-Key, after Retry-After", ce.Message)
		assert.False(t, strings.Contains(ce.Message, "/var/lib"), "no file in the answer")
	}
	assert.Equal(t, "internal", string(publicError(fmt.Errorf("boom")).Code))
}
