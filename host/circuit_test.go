package host_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/haotian"
)

// manualClock is the engine's clock in a test: it moves only when told.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fileStore is a file-backed SQLite store for the engine and a second
// connection to the same file, to count what was stored.
func fileStore(t *testing.T) (store.Store, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "payhost.db")
	st, err := sqlstore.OpenSQLite(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return st, db
}

func countPayments(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM payments").Scan(&n))
	return n
}

// gatedPlugin is Haotian whose create fails with provider_unavailable
// while down is set, and waits for a gate when one is given.
type gatedPlugin struct {
	down    atomic.Bool
	creates atomic.Int64
	mu      sync.Mutex
	entered chan struct{} // closed when a create enters the plugin
	gate    chan struct{} // the create waits until it is closed
}

func (g *gatedPlugin) plugin() *twisted {
	return &twisted{Plugin: haotian.New(), create: func(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
		g.creates.Add(1)
		g.mu.Lock()
		entered, gate := g.entered, g.gate
		g.entered, g.gate = nil, nil
		g.mu.Unlock()
		if entered != nil {
			close(entered)
			<-gate
		}
		if g.down.Load() {
			return nil, &core.Error{Code: core.CodeProviderUnavailable, Message: "gateway unreachable"}
		}
		return haotian.New().CreatePayment(ctx, h, req)
	}}
}

// hold makes the next create wait: entered is closed once it is in the
// plugin, and it goes on when gate is closed.
func (g *gatedPlugin) hold() (entered, gate chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.entered, g.gate = make(chan struct{}), make(chan struct{})
	return g.entered, g.gate
}

// TestCircuitOpenStoresNothing: with the only channel's circuit open, a
// payment is neither sent nor stored: circuit_open, retryable, with the
// seconds until the circuit half-opens, and the key stays free; once the
// circuit half-opens one probe goes through at a time (the others get
// circuit_open with a short Retry-After), and its success closes the
// circuit, so the same keys then succeed.
func TestCircuitOpenStoresNothing(t *testing.T) {
	ctx := context.Background()
	clk := &manualClock{t: time.Now()} // the simulator checks signed request times against its own clock
	g := &gatedPlugin{}
	g.down.Store(true)
	st, db := fileStore(t)
	w := newWorld(t, worldOpts{store: st, extra: func(c *host.Config) {
		withPlugin(g.plugin())(c)
		c.Now = clk.Now
	}})

	// five calls that reached the plugin and failed: each payment failed
	// (a provider was called), and the circuit is open
	for i := range 5 {
		p, err := w.create(host.CreatePaymentInput{IdempotencyKey: fmt.Sprintf("down-%d", i)})
		require.NoError(t, err)
		require.Equal(t, core.PaymentFailed, p.Status)
		require.Equal(t, core.CodeProviderUnavailable, p.Failure.Code)
	}
	require.Equal(t, 5, countPayments(t, db))

	keys := []string{"k-0", "k-1", "k-2", "k-3", "k-4", "k-5", "k-6", "k-7"}
	for i, key := range keys {
		if i == len(keys)/2 {
			clk.Add(20 * time.Second)
		}
		_, err := w.create(host.CreatePaymentInput{IdempotencyKey: key})
		ce := core.AsError(err)
		require.NotNil(t, ce, "key %s", key)
		assert.Equal(t, core.CodeCircuitOpen, ce.Code)
		assert.True(t, ce.Retryable)
		want := 30
		if i >= len(keys)/2 {
			want = 10
		}
		assert.Equal(t, want, ce.RetryAfter, "seconds until the circuit half-opens")
		assert.Contains(t, ce.Message, "haotian/main")
		_, gerr := st.GetIdempotencyKey(ctx, "acme", key)
		assert.ErrorIs(t, gerr, store.ErrNotFound, "the key is free")
	}
	assert.Equal(t, int64(5), g.creates.Load(), "nothing reached the plugin")
	assert.Equal(t, 5, countPayments(t, db), "no payment stored")

	// half-open: one probe at a time
	clk.Add(10 * time.Second)
	g.down.Store(false)
	entered, gate := g.hold()
	type result struct {
		p   *host.Payment
		err error
	}
	probe := make(chan result, 1)
	go func() {
		p, err := w.create(host.CreatePaymentInput{IdempotencyKey: keys[0]})
		probe <- result{p, err}
	}()
	<-entered
	_, err := w.create(host.CreatePaymentInput{IdempotencyKey: keys[1]})
	ce := core.AsError(err)
	require.NotNil(t, ce)
	assert.Equal(t, core.CodeCircuitOpen, ce.Code, "a second call while the probe is in flight")
	assert.Equal(t, 1, ce.RetryAfter)
	close(gate)
	r := <-probe
	require.NoError(t, r.err)
	assert.Equal(t, core.PaymentProcessing, r.p.Status, "the probe went through: %+v", r.p.Failure)

	// the probe's success closed the circuit: the refused keys now succeed
	for _, key := range keys[1:] {
		p, err := w.create(host.CreatePaymentInput{IdempotencyKey: key})
		require.NoError(t, err, "key %s", key)
		assert.Equal(t, core.PaymentProcessing, p.Status)
	}
	assert.Equal(t, 5+len(keys), countPayments(t, db))
	assert.Equal(t, int64(5+len(keys)), g.creates.Load())
}

// TestCircuitOpenProbeFailureReopens: a probe that fails opens the circuit
// for another period, and the payment it carried failed (it reached the
// plugin); the next call is refused without being stored.
func TestCircuitOpenProbeFailureReopens(t *testing.T) {
	clk := &manualClock{t: time.Now()} // the simulator checks signed request times against its own clock
	g := &gatedPlugin{}
	g.down.Store(true)
	st, db := fileStore(t)
	w := newWorld(t, worldOpts{store: st, extra: func(c *host.Config) {
		withPlugin(g.plugin())(c)
		c.Now = clk.Now
	}})
	for i := range 5 {
		_, err := w.create(host.CreatePaymentInput{IdempotencyKey: fmt.Sprintf("down-%d", i)})
		require.NoError(t, err)
	}
	clk.Add(30 * time.Second)
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "probe"})
	require.NoError(t, err)
	assert.Equal(t, core.PaymentFailed, p.Status, "the probe reached the plugin, which failed it")
	assert.Equal(t, int64(6), g.creates.Load())

	clk.Add(time.Second)
	_, err = w.create(host.CreatePaymentInput{IdempotencyKey: "after"})
	ce := core.AsError(err)
	require.NotNil(t, ce)
	assert.Equal(t, core.CodeCircuitOpen, ce.Code)
	assert.Equal(t, 29, ce.RetryAfter, "open again for 30 s from the probe's failure")
	assert.Equal(t, 6, countPayments(t, db))
}

// TestCircuitFallbackChannel: a rule with a fallback channel keeps
// payments flowing while the first channel's circuit is open: they go to
// the fallback, recording the refusal, and never reach the broken gateway.
func TestCircuitFallbackChannel(t *testing.T) {
	dead := httptest.NewServer(nil)
	deadURL := dead.URL
	dead.Close() // connection refused: nothing can happen there
	w := newWorld(t, worldOpts{
		rules: "version: 1\ndefault_route:\n  channels: [haotian/main/alipay.qr, haotian/backup/alipay.qr]\n",
		extra: func(c *host.Config) {
			c.Accounts = append(c.Accounts, account("backup", w0(c)))
			c.Accounts[0] = account("main", deadURL)
		},
	})
	ctx := context.Background()
	for i := range 8 {
		p, err := w.create(host.CreatePaymentInput{IdempotencyKey: fmt.Sprintf("fb-%d", i)})
		require.NoError(t, err)
		assert.Equal(t, core.PaymentProcessing, p.Status, "payment %d", i)
		attempts, err := w.store.ListAttempts(ctx, p.ID)
		require.NoError(t, err)
		require.Len(t, attempts, 2)
		want := core.CodeProviderUnavailable
		if i >= 5 {
			want = core.CodeCircuitOpen // main is skipped, not called
		}
		assert.Equal(t, string(want), attempts[0].Outcome, "payment %d", i)
		assert.Equal(t, "ok", attempts[1].Outcome)
	}
	assert.Equal(t, 8, w.unifiedOrders())
}

// TestCircuitHalfOpenUnderLoad: 200 concurrent payments on the only
// channel while its circuit is half-open: one is the probe, the other 199
// are circuit_open with nothing stored and nothing sent — none failed.
func TestCircuitHalfOpenUnderLoad(t *testing.T) {
	clk := &manualClock{t: time.Now()} // the simulator checks signed request times against its own clock
	g := &gatedPlugin{}
	g.down.Store(true)
	st, db := fileStore(t)
	w := newWorld(t, worldOpts{store: st, extra: func(c *host.Config) {
		withPlugin(g.plugin())(c)
		c.Now = clk.Now
	}})
	for i := range 5 {
		_, err := w.create(host.CreatePaymentInput{IdempotencyKey: fmt.Sprintf("down-%d", i)})
		require.NoError(t, err)
	}
	clk.Add(30 * time.Second)
	g.down.Store(false)
	entered, gate := g.hold()

	const n = 200
	var wg sync.WaitGroup
	var probe *host.Payment
	var refused, other atomic.Int64
	var mu sync.Mutex
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			p, err := w.create(host.CreatePaymentInput{IdempotencyKey: fmt.Sprintf("load-%d", i)})
			switch {
			case err == nil:
				mu.Lock()
				probe = p
				mu.Unlock()
			case core.CodeOf(err) == core.CodeCircuitOpen && core.AsError(err).RetryAfter == 1:
				refused.Add(1)
			default:
				other.Add(1)
				t.Errorf("payment %d: %v", i, err)
			}
		}()
	}
	close(start)
	<-entered
	deadline := time.Now().Add(2 * time.Minute) // a bound on a hang, not a wait
	for refused.Load()+other.Load() < n-1 {     // every call but the probe has its answer
		if time.Now().After(deadline) {
			close(gate)
			t.Fatalf("%d of %d calls answered", refused.Load()+other.Load(), n-1)
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	require.NotNil(t, probe)
	assert.Equal(t, core.PaymentProcessing, probe.Status)
	assert.Equal(t, int64(n-1), refused.Load())
	assert.Equal(t, int64(6), g.creates.Load(), "only the probe reached the plugin")
	assert.Equal(t, 6, countPayments(t, db), "only the probe's payment was stored")
	t.Logf("%d concurrent payments on a half-open circuit: 1 probe (processing), %d circuit_open (Retry-After 1 s, not stored), 0 failed", n, refused.Load())
}
