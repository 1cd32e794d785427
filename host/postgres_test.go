package host_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/internal/pgtest"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// TestPostgresTwoEnginesOneKey: two payhost engines, each with its own
// connection pool to one PostgreSQL database, receive the same request with
// one idempotency key at the same time: exactly one provider call, one
// payment, the same answer everywhere.
func TestPostgresTwoEnginesOneKey(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	ctx := context.Background()
	open := func() store.Store {
		st, err := sqlstore.OpenPostgres(ctx, dsn, sqlstore.WithSchema(schema))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := newWorld(t, worldOpts{store: open()})
	bh := a.newEngine(open()) // a second node: its own pool, the same database
	a.sim.SetFaults(sim.Fault{Kind: sim.FaultLatency, Latency: 100 * time.Millisecond})
	var wg sync.WaitGroup
	ids := make(chan string, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			engine := a.host
			if i%2 == 1 {
				engine = bh
			}
			p, err := engine.CreatePayment(ctx, host.CreatePaymentInput{Tenant: "acme", IdempotencyKey: "two-nodes", Amount: 4200,
				Currency: "CNY", Method: core.MethodAlipayQR})
			if assert.NoError(t, err) {
				ids <- p.ID
			}
		}()
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		}
		assert.Equal(t, first, id)
	}
	assert.Equal(t, 1, a.unifiedOrders(), "exactly one provider call across both engines")
}

// postgresStore opens a store in a fresh schema of the test database.
func postgresStore(t *testing.T) store.Store {
	dsn := pgtest.DSN(t)
	st, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.WithSchema(pgtest.Schema(t, dsn)))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func TestPostgresPaymentLifecycle(t *testing.T)      { testPaymentLifecycle(t, postgresStore) }
func TestPostgresIdempotencyConcurrent(t *testing.T) { testIdempotencyConcurrent(t, postgresStore) }
func TestPostgresConcurrentRefunds(t *testing.T)     { testConcurrentRefunds(t, postgresStore) }

func TestPostgresAutoSplit(t *testing.T)            { testAutoSplit(t, postgresStore) }
func TestPostgresManualSplit(t *testing.T)          { testManualSplit(t, postgresStore) }
func TestPostgresTransfers(t *testing.T)            { testTransfers(t, postgresStore) }
func TestPostgresTerminals(t *testing.T)            { testTerminals(t, postgresStore) }
func TestPostgresSplitAndPayoutEvents(t *testing.T) { testSplitAndPayoutEvents(t, postgresStore) }
func TestPostgresSplitReturns(t *testing.T)         { testSplitReturns(t, postgresStore) }

// The cross-tenant attempts (tenancy_test.go) on PostgreSQL.
func TestPostgresTenantPayouts(t *testing.T)        { testTenantPayouts(t, postgresStore) }
func TestPostgresTenantBalances(t *testing.T)       { testTenantBalances(t, postgresStore) }
func TestPostgresTenantReceiverIDs(t *testing.T)    { testTenantReceiverIDs(t, postgresStore) }
func TestPostgresTenantReceiverQuery(t *testing.T)  { testTenantReceiverQuery(t, postgresStore) }
func TestPostgresTenantTerminals(t *testing.T)      { testTenantTerminals(t, postgresStore) }
func TestPostgresTenantRouting(t *testing.T)        { testTenantRouting(t, postgresStore) }
func TestPostgresTenantRevokedAccount(t *testing.T) { testTenantRevokedAccount(t, postgresStore) }

// TestPostgresTwoEnginesOneSplit: two engines on one database poll at the
// same time after a payment whose rules split it: one split, one call to
// the provider's split.
func TestPostgresTwoEnginesOneSplit(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	ctx := context.Background()
	open := func() store.Store {
		st, err := sqlstore.OpenPostgres(ctx, dsn, sqlstore.WithSchema(schema))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := newWorld(t, worldOpts{store: open(), rules: splitRules("auto")})
	bh := a.newEngine(open())
	bindPlatform(t, a)
	a.sim.SetFaults(sim.Fault{Kind: sim.FaultLatency, Latency: 50 * time.Millisecond, PathPrefix: "/api/division/exec"})
	for i := range 5 {
		barcodePayment(t, a, "two-split-"+string(rune('a'+i)), 10000)
	}
	var wg sync.WaitGroup
	for round := range 6 {
		for _, e := range []*host.Host{a.host, bh} {
			wg.Add(1)
			go func() { defer wg.Done(); e.Poll(ctx) }()
		}
		wg.Wait()
		_ = round
	}
	execs := 0
	for _, r := range a.sim.Requests() {
		if r.Path == "/api/division/exec" {
			execs++
		}
	}
	assert.Equal(t, 5, execs, "one split per payment across both engines")
}
