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
				Currency: "CNY", Method: string(core.MethodAlipayQR)})
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
