package host_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// signedNotification is a notification of the Haotian gateway for
// payment p, correctly signed with the merchant's secret; edit changes the
// fields before signing.
func signedNotification(p *host.Payment, state string, edit func(map[string]string)) []byte {
	params := map[string]string{
		"mchNo": sim.DefaultMerchant.MchNo, "appId": sim.DefaultMerchant.AppID, "payOrderId": p.ProviderPaymentID,
		"mchOrderNo": p.ID, "state": state, "amount": fmt.Sprint(p.Amount), "currency": "cny", "wayCode": "ALI_QR",
		"reqTime": fmt.Sprint(time.Now().UnixMilli()), "successTime": fmt.Sprint(time.Now().UnixMilli()),
	}
	if edit != nil {
		edit(params)
	}
	params["sign"] = sim.Sign(params, sim.DefaultMerchant.Secret)
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	return []byte(form.Encode())
}

// queries counts the payment queries the simulator received.
func (w *world) queries() int {
	n := 0
	for _, r := range w.sim.Requests() {
		if r.Path == "/api/pay/query" {
			n++
		}
	}
	return n
}

// TestSignedSuccessWithoutAmount: a correctly signed success notification
// that lacks the amount, or names another, does not mark an unpaid payment
// succeeded; the provider is queried instead, and the notification and the
// payment's transitions say why.
func TestSignedSuccessWithoutAmount(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(map[string]string)
		why      string
		incident bool
	}{
		{"no amount", func(f map[string]string) { delete(f, "amount") }, "success notification without the payment's amount", false},
		{"zero amount", func(f map[string]string) { f["amount"] = "0" }, "success notification without the payment's amount", false},
		{"wrong amount", func(f map[string]string) { f["amount"] = "1" }, "success notification for amount 1, the payment has 1000", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &incidents{}
			// no notifications from the simulator: only the test's own arrive
			w := newWorld(t, worldOpts{extra: func(c *host.Config) { c.Observer, c.PublicURL = obs, "" }})
			p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "n-" + tt.name})
			require.NoError(t, err)
			require.Equal(t, core.PaymentProcessing, p.Status)
			before := w.queries()

			body := signedNotification(p, "2", tt.edit)
			ack, err := w.host.HandleNotification(context.Background(), "main", &core.ParseNotificationRequest{Method: "POST", Body: body})
			require.NoError(t, err, "a verified notification is acknowledged")
			assert.Equal(t, "SUCCESS", ack.Body)

			assert.Equal(t, core.PaymentProcessing, w.payment(p.ID).Status, "the unpaid payment did not succeed")
			assert.Equal(t, before+1, w.queries(), "the provider was queried instead")
			n, err := w.store.GetNotification(context.Background(), "main", "payment:"+p.ProviderPaymentID+":2")
			require.NoError(t, err)
			assert.Equal(t, "refused: "+tt.why+"; queried the provider: processing", n.Result)
			ts, err := w.store.ListTransitions(context.Background(), p.ID)
			require.NoError(t, err)
			var refused []string
			for _, tr := range ts {
				if !tr.Applied && tr.To == string(core.PaymentSucceeded) {
					refused = append(refused, tr.Source+": "+tr.Detail)
				}
			}
			assert.Equal(t, []string{"notification: " + tt.why + "; querying the provider"}, refused)
			if tt.incident {
				assert.Equal(t, []string{p.ID}, obs.of(host.IncidentAmountMismatch))
			} else {
				assert.Empty(t, obs.of(host.IncidentAmountMismatch))
			}

			// once the money has really moved, the query a copy of such a
			// notification leads to settles it
			require.NoError(t, w.sim.Pay(p.ProviderPaymentID))
			_, err = w.host.HandleNotification(context.Background(), "main", &core.ParseNotificationRequest{Method: "POST", Body: body})
			require.NoError(t, err)
			assert.Equal(t, before+2, w.queries())
			assert.Equal(t, core.PaymentSucceeded, w.payment(p.ID).Status)
			n, err = w.store.GetNotification(context.Background(), "main", "payment:"+p.ProviderPaymentID+":2")
			require.NoError(t, err)
			assert.Equal(t, "refused: "+tt.why+"; queried the provider: succeeded", n.Result)
		})
	}

	t.Run("the right amount is applied without a query", func(t *testing.T) {
		w := newWorld(t, worldOpts{})
		p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "n-ok"})
		require.NoError(t, err)
		before := w.queries()
		_, err = w.host.HandleNotification(context.Background(), "main", &core.ParseNotificationRequest{Method: "POST",
			Body: signedNotification(p, "2", nil)})
		require.NoError(t, err)
		assert.Equal(t, core.PaymentSucceeded, w.payment(p.ID).Status)
		assert.Equal(t, before, w.queries())
		n, err := w.store.GetNotification(context.Background(), "main", "payment:"+p.ProviderPaymentID+":2")
		require.NoError(t, err)
		assert.Equal(t, "applied", n.Result)
	})
}

// notifier is the Haotian plugin whose notifications are the events the
// test sets: what any plugin may hand the engine.
type notifier struct {
	*haotian.Plugin
	events []core.Event
}

func (p *notifier) ParseNotification(context.Context, pdk.Host, *core.ParseNotificationRequest) (*core.ParseNotificationResponse, error) {
	return &core.ParseNotificationResponse{Events: p.events, Ack: core.Ack{Status: 200, Body: "SUCCESS"}}, nil
}

// TestSuccessEventsMatchTheObject: whatever plugin parses it, a success
// event of a payment, refund or payout is applied only with the object's
// amount and currency; otherwise the object is queried and left as the
// query finds it.
func TestSuccessEventsMatchTheObject(t *testing.T) {
	ctx := context.Background()
	plug := &notifier{Plugin: haotian.New()}
	w := newWorld(t, worldOpts{extra: withPlugin(plug), simConfig: func(c *sim.Config) { c.RefundDelay = time.Hour }})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "sm-pay", Amount: 1000})
	require.NoError(t, err)
	paid, err := w.create(host.CreatePaymentInput{IdempotencyKey: "sm-paid", Amount: 2000, Method: core.MethodWechatBarcode,
		Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	require.Equal(t, core.PaymentSucceeded, paid.Status)
	r, err := w.host.CreateRefund(ctx, host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "sm-ref", PaymentID: paid.ID, Amount: 500})
	require.NoError(t, err)
	require.NotEqual(t, core.RefundSucceeded, r.Status, "the simulator refunds later")

	notify := func(ev core.Event) string {
		t.Helper()
		ev.ID = fmt.Sprintf("%s:%s:%s:%d:%s", ev.Kind, ev.ObjectID, ev.Status, ev.Amount, ev.Currency)
		plug.events = []core.Event{ev}
		_, err := w.host.HandleNotification(ctx, "main", &core.ParseNotificationRequest{Method: "POST", Body: []byte("x")})
		require.NoError(t, err)
		n, err := w.store.GetNotification(ctx, "main", ev.ID)
		require.NoError(t, err)
		return n.Result
	}
	tests := []struct {
		name string
		ev   core.Event
		want string
	}{
		{"payment without amount", core.Event{Kind: core.EventPayment, ObjectID: p.ID, Status: "succeeded"},
			"refused: success notification without the payment's amount; queried the provider: processing"},
		{"payment in another currency", core.Event{Kind: core.EventPayment, ObjectID: p.ID, Status: "succeeded", Amount: 1000, Currency: "USD"},
			"refused: success notification in USD, the payment is in CNY; queried the provider: processing"},
		{"payment with a negative amount", core.Event{Kind: core.EventPayment, ObjectID: p.ID, Status: "succeeded", Amount: -1000},
			"refused: success notification without the payment's amount; queried the provider: processing"},
		{"refund without amount", core.Event{Kind: core.EventRefund, ObjectID: r.ID, Status: "succeeded"},
			"refused: success notification without the refund's amount; queried the provider: processing"},
		{"refund with the payment's amount", core.Event{Kind: core.EventRefund, ObjectID: r.ID, Status: "succeeded", Amount: 2000, Currency: "CNY"},
			"refused: success notification for amount 2000, the refund has 500; queried the provider: processing"},
		{"a failure needs no amount", core.Event{Kind: core.EventPayment, ObjectID: p.ID, Status: "failed", FailureCode: "declined"},
			"applied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, notify(tt.ev))
		})
	}
	got, err := w.host.GetRefund(ctx, "acme", r.ID)
	require.NoError(t, err)
	assert.NotEqual(t, core.RefundSucceeded, got.Status)
	assert.Equal(t, core.PaymentFailed, w.payment(p.ID).Status)
	assert.Equal(t, "applied", notify(core.Event{Kind: core.EventRefund, ObjectID: r.ID, Status: "succeeded", Amount: 500, Currency: "cny"}),
		"the currency compares without case")
}

// TestPayoutSuccessWithoutAmount: the same for a payout.
func TestPayoutSuccessWithoutAmount(t *testing.T) {
	ctx := context.Background()
	plug := &notifier{Plugin: haotian.New()}
	w := newWorld(t, worldOpts{extra: withPlugin(plug), simConfig: func(c *sim.Config) { c.TransferDelay = time.Hour }})
	po, err := w.host.CreatePayout(ctx, host.CreatePayoutInput{Tenant: "acme", IdempotencyKey: "po", Account: "main",
		Kind: core.PayoutTransfer, Amount: 500, Currency: "CNY", Destination: core.Destination{Kind: "alipay", AccountNo: "2088102175953034", AccountName: "李四"}})
	require.NoError(t, err)
	require.NotEqual(t, core.PayoutSucceeded, po.Status)
	plug.events = []core.Event{{ID: "payout:" + po.ID + ":2", Kind: core.EventPayout, ObjectID: po.ID, Status: "succeeded"}}
	_, err = w.host.HandleNotification(ctx, "main", &core.ParseNotificationRequest{Method: "POST", Body: []byte("x")})
	require.NoError(t, err)
	n, err := w.store.GetNotification(ctx, "main", "payout:"+po.ID+":2")
	require.NoError(t, err)
	assert.Equal(t, "refused: success notification without the payout's amount; queried the provider: processing", n.Result)
	got, err := w.host.GetPayout(ctx, "acme", po.ID)
	require.NoError(t, err)
	assert.NotEqual(t, core.PayoutSucceeded, got.Status)
}

// TestNotificationTextRefused: an event a plugin parsed with a stored field
// that is not valid UTF-8 (or holds NUL) is refused whole: nothing is
// stored, the payment is unchanged, and the error names the field.
func TestNotificationTextRefused(t *testing.T) {
	ctx := context.Background()
	plug := &notifier{Plugin: haotian.New()}
	w := newWorld(t, worldOpts{extra: withPlugin(plug)})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "nt"})
	require.NoError(t, err)
	ok := core.Event{ID: "ok", Kind: core.EventPayment, ObjectID: p.ID, Status: "failed", FailureCode: "declined"}
	// Invalid UTF-8 is refused by the plugin layer's output check (the
	// field by its JSON path), NUL by the engine.
	for field, tt := range map[string]struct {
		edit func(*core.Event)
		want string
	}{
		"failure_message":    {func(e *core.Event) { e.FailureMessage = "caf\xe9" }, "events[1].failure_message is not valid UTF-8"},
		"provider_object_id": {func(e *core.Event) { e.ProviderObjectID = "P\x00" }, "event 1: provider_object_id is not valid UTF-8"},
		"id":                 {func(e *core.Event) { e.ID = "\xff" }, "events[1].id is not valid UTF-8"},
		"data":               {func(e *core.Event) { e.Data = map[string]string{"k": "\xed\xa0\x80"} }, "events[1].data.k is not valid UTF-8"},
	} {
		t.Run(field, func(t *testing.T) {
			bad := ok
			tt.edit(&bad)
			plug.events = []core.Event{ok, bad}
			_, err := w.host.HandleNotification(ctx, "main", &core.ParseNotificationRequest{Method: "POST", Body: []byte("x")})
			require.Error(t, err)
			assert.Equal(t, core.CodePluginFailure, core.CodeOf(err))
			assert.Contains(t, err.Error(), tt.want)
			_, err = w.store.GetNotification(ctx, "main", "ok")
			assert.ErrorIs(t, err, store.ErrNotFound, "nothing was stored, not even the good event")
			assert.Equal(t, core.PaymentProcessing, w.payment(p.ID).Status)
		})
	}
}
