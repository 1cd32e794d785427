package host_test

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/internal/pgtest"
)

// TestRestartLosesNothing: an engine stops (as a killed server would) with
// a payment waiting for its payer and a paid payment whose rules' split is
// not made yet; the payer pays while no engine runs and no notification
// gets through. A new engine on the same database settles the payment by
// query and makes the split.
func TestRestartLosesNothing(t *testing.T) {
	w := newWorld(t, worldOpts{rules: splitRules("auto"), extra: func(c *host.Config) { c.PublicURL = "" }})
	ctx := context.Background()
	bindPlatform(t, w)
	waiting, err := w.create(host.CreatePaymentInput{IdempotencyKey: "rs-1", Amount: 2000, Method: core.MethodWechatNative})
	require.NoError(t, err)
	require.Equal(t, core.PaymentProcessing, waiting.Status)
	paid := barcodePayment(t, w, "rs-2", 3000)
	require.NoError(t, w.host.Close(ctx)) // the server dies before its poller ran

	require.NoError(t, w.sim.Pay(waiting.ProviderPaymentID))
	w.host = w.newEngine(w.store) // restarted
	w.eventually(func() bool {
		w.host.Poll(ctx)
		a, b := w.payment(waiting.ID), w.payment(paid.ID)
		return a.Status == core.PaymentSucceeded && len(a.Splits) == 1 && a.Splits[0].Status == core.SplitSucceeded &&
			len(b.Splits) == 1 && b.Splits[0].Status == core.SplitSucceeded
	}, "the restarted engine to settle the payment and make both splits")
	assert.Equal(t, int64(300), w.payment(paid.ID).Splits[0].Amount)
}

// TestPostgresTwoEnginesOneNotification: the provider delivers the same
// notification to two nodes at once; it is stored once and applied once.
func TestPostgresTwoEnginesOneNotification(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	ctx := context.Background()
	open := func() store.Store {
		st, err := sqlstore.OpenPostgres(ctx, dsn, sqlstore.WithSchema(schema))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st
	}
	// notifications go nowhere: the test delivers the signed one itself
	w := newWorld(t, worldOpts{store: open(), extra: func(c *host.Config) { c.PublicURL = "http://127.0.0.1:1" }})
	other := w.newEngine(open())
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "n2", Amount: 1200})
	require.NoError(t, err)
	require.NoError(t, w.sim.Pay(p.ProviderPaymentID))
	w.eventually(func() bool { return len(w.sim.Notifications()) > 0 }, "the simulator's notification")
	form := url.Values{}
	for k, v := range w.sim.Notifications()[0].Params {
		form.Set(k, v)
	}
	body := []byte(form.Encode())
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := w.host
			if i%2 == 1 {
				e = other
			}
			ack, err := e.HandleNotification(ctx, "main", &core.ParseNotificationRequest{Method: "POST", Body: body,
				Header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}})
			if assert.NoError(t, err) {
				assert.Equal(t, "SUCCESS", ack.Body)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, core.PaymentSucceeded, w.payment(p.ID).Status)
	ts, err := w.store.ListTransitions(ctx, p.ID)
	require.NoError(t, err)
	applied := 0
	for _, tr := range ts {
		if tr.Applied && tr.To == string(core.PaymentSucceeded) {
			applied++
		}
	}
	assert.Equal(t, 1, applied, "one transition to succeeded across both nodes")
}
