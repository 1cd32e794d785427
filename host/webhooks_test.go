package host_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
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
	"github.com/payhost/payhost/internal/pgtest"
	"github.com/payhost/payhost/webhook"
)

// hookRequest is one delivery a receiver got.
type hookRequest struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is a merchant's webhook endpoint: it records every request and
// answers what answer says for the n-th (from 1) request.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []hookRequest
	answer func(n int) int
	delay  func(n int) time.Duration
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	rc := &receiver{answer: answer}
	release := make(chan struct{})
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, hookRequest{path: r.URL.Path, header: r.Header.Clone(), body: body})
		n := len(rc.got)
		delay := rc.delay
		rc.mu.Unlock()
		if delay != nil {
			select {
			case <-time.After(delay(n)):
			case <-release:
			case <-r.Context().Done():
			}
		}
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(n)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"received":true}`)
	}))
	t.Cleanup(func() { close(release); rc.srv.Close() })
	return rc
}

// setDelay makes the receiver wait delay(n) before answering the n-th request.
func (rc *receiver) setDelay(delay func(n int) time.Duration) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.delay = delay
}

func (rc *receiver) requests() []hookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookRequest(nil), rc.got...)
}

// byEvent counts the requests per Payhost-Event-Id.
func (rc *receiver) byEvent() map[string]int {
	out := map[string]int{}
	for _, r := range rc.requests() {
		out[r.header.Get(webhook.HeaderEventID)]++
	}
	return out
}

// hookConfig is the webhook configuration of the tests: deliveries driven
// by DeliverWebhooks, loopback endpoints, retries due almost at once.
func hookConfig(c *host.Config) {
	c.Webhooks = host.WebhookConfig{Disabled: true, AllowPrivate: true, RetryFirst: time.Millisecond,
		RetryMax: 4 * time.Millisecond, Timeout: 2 * time.Second}
}

func addEndpoint(t *testing.T, h *host.Host, url string, events ...string) *host.WebhookEndpoint {
	t.Helper()
	ep, err := h.CreateWebhookEndpoint(context.Background(), host.CreateWebhookEndpointInput{Tenant: "acme",
		IdempotencyKey: "we-" + url + strings.Join(events, ","), URL: url, Events: events})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(ep.Secret, "whsec_"), "the creation shows the secret")
	return ep
}

// deliverUntil runs delivery rounds until cond holds.
func deliverUntil(t *testing.T, h *host.Host, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if h.DeliverWebhooks(context.Background()) == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func events(t *testing.T, h *host.Host, typ string) []host.Event {
	t.Helper()
	list, err := h.ListEvents(context.Background(), host.ListEventsInput{Tenant: "acme", Type: typ, Limit: 100})
	require.NoError(t, err)
	return list.Data
}

func deliveries(t *testing.T, h *host.Host, eventID string) []host.WebhookDelivery {
	t.Helper()
	list, err := h.ListEventDeliveries(context.Background(), "acme", eventID)
	require.NoError(t, err)
	return list.Data
}

// checkSignature verifies a delivery as a receiver would, computing the
// HMAC itself.
func checkSignature(t *testing.T, secret string, r hookRequest) {
	t.Helper()
	ts := r.header.Get(webhook.HeaderTimestamp)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(r.body)))
	assert.Equal(t, "t="+ts+",v1="+hex.EncodeToString(mac.Sum(nil)), r.header.Get(webhook.HeaderSignature))
	assert.NoError(t, webhook.Verify(secret, r.header.Get(webhook.HeaderSignature), r.body, time.Hour, time.Now()))
	assert.Error(t, webhook.Verify(secret, r.header.Get(webhook.HeaderSignature), append([]byte(" "), r.body...), time.Hour, time.Now()),
		"a changed body does not verify")
	assert.Error(t, webhook.Verify("whsec_other", r.header.Get(webhook.HeaderSignature), r.body, time.Hour, time.Now()),
		"another secret does not verify")
}

// TestWebhooksPaymentAndRefundEvents: a payment's and a refund's
// transitions each become an event, delivered signed to the endpoints that
// subscribed to it, with the object as it was right after the change.
func TestWebhooksPaymentAndRefundEvents(t *testing.T) {
	w := newWorld(t, worldOpts{extra: hookConfig})
	all := newReceiver(t, nil)
	refunds := newReceiver(t, nil)
	epAll := addEndpoint(t, w.host, all.srv.URL+"/hooks", "payment.*", "refund.*")
	addEndpoint(t, w.host, refunds.srv.URL, "refund.succeeded")

	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "wh1", Amount: 2000})
	require.NoError(t, err)
	require.NoError(t, w.sim.Pay(p.ProviderPaymentID))
	w.eventually(func() bool { return w.payment(p.ID).Status == core.PaymentSucceeded }, "the payment to succeed")
	r, err := w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "wr1", PaymentID: p.ID, Amount: 500})
	require.NoError(t, err)
	require.Equal(t, core.RefundSucceeded, r.Status)

	var types []string
	for _, e := range events(t, w.host, "") {
		types = append([]string{e.Type}, types...) // oldest first
	}
	assert.Equal(t, []string{"payment.processing", "payment.succeeded", "refund.succeeded"}, types)
	deliverUntil(t, w.host, "every delivery", func() bool { return len(all.requests()) == 3 && len(refunds.requests()) == 1 })

	for _, req := range all.requests() {
		checkSignature(t, epAll.Secret, req)
		assert.Equal(t, "application/json", req.header.Get("Content-Type"))
		var body host.Event
		require.NoError(t, json.Unmarshal(req.body, &body))
		assert.Equal(t, body.ID, req.header.Get(webhook.HeaderEventID))
		assert.Equal(t, body.Type, req.header.Get(webhook.HeaderEventType))
		assert.Equal(t, "event", body.Object)
		// the body is the event as the API shows it
		stored, err := w.host.GetEvent(context.Background(), "acme", body.ID)
		require.NoError(t, err)
		want, err := json.Marshal(stored)
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(req.body))
		// data: the object as right after the change
		switch body.Type {
		case "payment.processing", "payment.succeeded":
			var pay host.Payment
			require.NoError(t, json.Unmarshal(body.Data, &pay))
			assert.Equal(t, p.ID, pay.ID)
			assert.Equal(t, strings.TrimPrefix(body.Type, "payment."), string(pay.Status), "the snapshot keeps the status of its change")
			assert.Equal(t, int64(2000), pay.Amount)
		case "refund.succeeded":
			var ref host.Refund
			require.NoError(t, json.Unmarshal(body.Data, &ref))
			assert.Equal(t, r.ID, ref.ID)
			assert.Equal(t, core.RefundSucceeded, ref.Status)
			assert.Equal(t, p.ID, ref.PaymentID)
		default:
			t.Errorf("unexpected event %s", body.Type)
		}
	}
	assert.Equal(t, "refund.succeeded", refunds.requests()[0].header.Get(webhook.HeaderEventType), "an endpoint gets only what it subscribed to")
	for _, e := range events(t, w.host, "") {
		for _, d := range deliveries(t, w.host, e.ID) {
			assert.Equal(t, "delivered", d.Status)
			require.Len(t, d.Attempts, 1)
			assert.Equal(t, http.StatusOK, d.Attempts[0].StatusCode)
			assert.Empty(t, d.Attempts[0].Error)
			b, err := json.Marshal(d)
			require.NoError(t, err)
			assert.NotContains(t, string(b), "received", "the endpoint's answer is not in the log")
		}
	}
	assert.Zero(t, w.host.DeliverWebhooks(context.Background()), "nothing is delivered twice")
	assert.Len(t, events(t, w.host, "refund.*"), 1)
	assert.Len(t, events(t, w.host, "payment.succeeded"), 1)
}

// TestWebhooksRetries: an endpoint that answers 500, then times out, then
// 204 gets the same event three times — the same id and body, a fresh
// signature each time — and the delivery log has each attempt.
func TestWebhooksRetries(t *testing.T) {
	w := newWorld(t, worldOpts{extra: func(c *host.Config) {
		hookConfig(c)
		c.Webhooks.Timeout = 200 * time.Millisecond
	}})
	rc := newReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	rc.setDelay(func(n int) time.Duration {
		if n == 2 {
			return 10 * time.Second // longer than the timeout
		}
		return 0
	})
	ep := addEndpoint(t, w.host, rc.srv.URL, "payment.processing")
	_, err := w.create(host.CreatePaymentInput{IdempotencyKey: "wh-retry"})
	require.NoError(t, err)
	evs := events(t, w.host, "payment.processing")
	require.Len(t, evs, 1)
	deliverUntil(t, w.host, "the delivery", func() bool { return deliveries(t, w.host, evs[0].ID)[0].Status == "delivered" })

	got := rc.requests()
	require.Len(t, got, 3)
	for _, r := range got {
		checkSignature(t, ep.Secret, r)
		assert.Equal(t, evs[0].ID, r.header.Get(webhook.HeaderEventID))
		assert.Equal(t, string(got[0].body), string(r.body), "every delivery of an event sends the same body")
	}
	d := deliveries(t, w.host, evs[0].ID)[0]
	require.Len(t, d.Attempts, 3)
	assert.Equal(t, http.StatusInternalServerError, d.Attempts[0].StatusCode)
	assert.Equal(t, host.WebhookErrorHTTP5xx, d.Attempts[0].Error)
	assert.Zero(t, d.Attempts[1].StatusCode)
	assert.Equal(t, host.WebhookErrorTimeout, d.Attempts[1].Error)
	assert.Equal(t, http.StatusNoContent, d.Attempts[2].StatusCode)
	assert.Empty(t, d.Attempts[2].Error)
	assert.NotNil(t, d.DeliveredAt)
	assert.Nil(t, d.NextAttemptAt)
	for i, a := range d.Attempts {
		assert.Equal(t, i+1, a.Attempt)
	}
}

// TestWebhooksGiveUp: after MaxAttempts failures a delivery is failed and
// not tried again; a redirect is a failure and is not followed.
func TestWebhooksGiveUp(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/hooks", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	w := newWorld(t, worldOpts{extra: func(c *host.Config) {
		hookConfig(c)
		c.Webhooks.MaxAttempts = 3
	}})
	addEndpoint(t, w.host, redirect.URL, "payment.*")
	_, err := w.create(host.CreatePaymentInput{IdempotencyKey: "wh-redirect"})
	require.NoError(t, err)
	ev := events(t, w.host, "")[0]
	deliverUntil(t, w.host, "the delivery to fail", func() bool { return deliveries(t, w.host, ev.ID)[0].Status == "failed" })
	d := deliveries(t, w.host, ev.ID)[0]
	require.Len(t, d.Attempts, 3)
	for _, a := range d.Attempts {
		assert.Equal(t, http.StatusTemporaryRedirect, a.StatusCode)
		assert.Equal(t, host.WebhookErrorHTTP3xx, a.Error, "a redirect is not followed")
	}
	assert.Zero(t, elsewhere.Load(), "the redirect was not followed")
	time.Sleep(10 * time.Millisecond)
	assert.Zero(t, w.host.DeliverWebhooks(context.Background()), "a failed delivery is not tried again")
}

// TestWebhooksEndpoints: creation checks, tenants, deletion.
func TestWebhooksEndpoints(t *testing.T) {
	w := newWorld(t, worldOpts{extra: hookConfig})
	ctx := context.Background()
	rc := newReceiver(t, nil)
	ep := addEndpoint(t, w.host, rc.srv.URL, "payment.*", "refund.succeeded", "payment.*")
	assert.Equal(t, []string{"payment.*", "refund.succeeded"}, ep.Events, "repeats are dropped")

	again, err := w.host.CreateWebhookEndpoint(ctx, host.CreateWebhookEndpointInput{Tenant: "acme",
		IdempotencyKey: "we-" + rc.srv.URL + "payment.*,refund.succeeded,payment.*", URL: rc.srv.URL,
		Events: []string{"payment.*", "refund.succeeded", "payment.*"}})
	require.NoError(t, err)
	assert.Equal(t, ep.ID, again.ID, "the same idempotency key answers the same endpoint")
	assert.Equal(t, ep.Secret, again.Secret)

	got, err := w.host.GetWebhookEndpoint(ctx, "acme", ep.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Secret, "the secret is shown at creation only")
	_, err = w.host.GetWebhookEndpoint(ctx, "globex", ep.ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err), "another tenant's endpoint")
	_, err = w.host.DeleteWebhookEndpoint(ctx, "globex", ep.ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	list, err := w.host.ListWebhookEndpoints(ctx, "globex")
	require.NoError(t, err)
	assert.Empty(t, list.Data)

	for _, tt := range []struct {
		name   string
		in     host.CreateWebhookEndpointInput
		param  string
		reason string
	}{
		{"no url", host.CreateWebhookEndpointInput{Events: []string{"*"}}, "url", "required"},
		{"ftp", host.CreateWebhookEndpointInput{URL: "ftp://hooks.example/x", Events: []string{"*"}}, "url", "http or https"},
		{"relative", host.CreateWebhookEndpointInput{URL: "/hooks", Events: []string{"*"}}, "url", "absolute"},
		{"credentials", host.CreateWebhookEndpointInput{URL: "https://user:pw@hooks.example/x", Events: []string{"*"}}, "url", "credentials"},
		{"fragment", host.CreateWebhookEndpointInput{URL: "https://hooks.example/x#y", Events: []string{"*"}}, "url", "fragment"},
		{"no events", host.CreateWebhookEndpointInput{URL: "https://hooks.example/x"}, "events", "at least one"},
		{"unknown event", host.CreateWebhookEndpointInput{URL: "https://hooks.example/x", Events: []string{"payment.paid"}}, "events[0]", "unknown event type"},
		{"unknown object", host.CreateWebhookEndpointInput{URL: "https://hooks.example/x", Events: []string{"*", "invoice.*"}}, "events[1]", "unknown event type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Tenant, tt.in.IdempotencyKey = "acme", "bad-"+tt.name
			_, err := w.host.CreateWebhookEndpoint(ctx, tt.in)
			ce := core.AsError(err)
			assert.Equal(t, core.CodeInvalidRequest, ce.Code)
			assert.Equal(t, tt.param, ce.Param)
			assert.Contains(t, ce.Message, tt.reason)
		})
	}

	// deleting cancels what is pending and ends deliveries to it
	_, err = w.create(host.CreatePaymentInput{IdempotencyKey: "wh-del"})
	require.NoError(t, err)
	pending := events(t, w.host, "payment.processing")
	require.Len(t, pending, 1)
	require.Equal(t, "pending", deliveries(t, w.host, pending[0].ID)[0].Status)
	deleted, err := w.host.DeleteWebhookEndpoint(ctx, "acme", ep.ID)
	require.NoError(t, err)
	assert.Equal(t, "deleted", deleted.Status)
	assert.Empty(t, deleted.Secret)
	assert.Equal(t, "canceled", deliveries(t, w.host, pending[0].ID)[0].Status)
	_, err = w.host.GetWebhookEndpoint(ctx, "acme", ep.ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.DeleteWebhookEndpoint(ctx, "acme", ep.ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	assert.Zero(t, w.host.DeliverWebhooks(ctx))
	assert.Empty(t, rc.requests())
}

// TestWebhooksPrivateAddresses: without allow_private a loopback endpoint
// is refused when created, and an address that turns out private when
// dialled is refused at delivery.
func TestWebhooksPrivateAddresses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payhost.db")
	st, err := sqlstore.OpenSQLite(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	w := newWorld(t, worldOpts{store: st, extra: hookConfig})
	rc := newReceiver(t, nil)
	addEndpoint(t, w.host, rc.srv.URL, "*") // allowed on this node

	strict := newWorld(t, worldOpts{store: st, extra: func(c *host.Config) {
		hookConfig(c)
		c.Webhooks.AllowPrivate = false
		c.Webhooks.MaxAttempts = 1
	}})
	for _, u := range []string{rc.srv.URL, "http://localhost:8080/x", "http://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest",
		"http://[64:ff9b::a9fe:a9fe]/latest", "http://[::ffff:127.0.0.1]/x", "http://[2002:a9fe:a9fe::1]/x", "http://[fec0::1]/x",
		"http://198.18.0.1/x", "http://100.64.0.1/x", "http://192.0.0.1/x", "http://240.0.0.1/x", "http://255.255.255.255/x",
		"http://[::7f00:1]/x", "http://2130706433/x", "http://0x7f.1/x"} {
		_, err := strict.host.CreateWebhookEndpoint(context.Background(), host.CreateWebhookEndpointInput{Tenant: "acme",
			IdempotencyKey: "private-" + u, URL: u, Events: []string{"*"}})
		assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), u)
		assert.Contains(t, core.AsError(err).Message, "webhooks.allow_private", u)
	}
	_, err = w.create(host.CreatePaymentInput{IdempotencyKey: "wh-private"})
	require.NoError(t, err)
	ev := events(t, w.host, "")[0]
	deliverUntil(t, strict.host, "the delivery to fail", func() bool { return deliveries(t, w.host, ev.ID)[0].Status == "failed" })
	assert.Equal(t, host.WebhookErrorAddressNotAllowed, deliveries(t, w.host, ev.ID)[0].Attempts[0].Error)
	assert.Empty(t, rc.requests())
}

// TestWebhooksLogHidesAnswers: where private delivery is allowed, the
// delivery log still shows only status codes and error classes — not what
// an internal service answered, nor which ports are open (dial errors).
func TestWebhooksLogHidesAnswers(t *testing.T) {
	const secret = "root:x:0:0:internal-admin-token-42"
	leaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, secret)
	}))
	t.Cleanup(leaky.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	w := newWorld(t, worldOpts{extra: func(c *host.Config) {
		hookConfig(c)
		c.Webhooks.MaxAttempts = 1
	}})
	addEndpoint(t, w.host, leaky.URL, "payment.*")
	addEndpoint(t, w.host, closedURL+"/hooks", "payment.*")
	_, err := w.create(host.CreatePaymentInput{IdempotencyKey: "wh-leak"})
	require.NoError(t, err)
	ev := events(t, w.host, "")[0]
	deliverUntil(t, w.host, "both deliveries to fail", func() bool {
		ds := deliveries(t, w.host, ev.ID)
		return len(ds) == 2 && ds[0].Status == "failed" && ds[1].Status == "failed"
	})
	ds := deliveries(t, w.host, ev.ID)
	byURL := map[string]host.WebhookAttempt{}
	for _, d := range ds {
		require.Len(t, d.Attempts, 1)
		byURL[d.URL] = d.Attempts[0]
	}
	assert.Equal(t, host.WebhookAttempt{Attempt: 1, StatusCode: http.StatusForbidden, Error: host.WebhookErrorHTTP4xx,
		DurationMS: byURL[leaky.URL].DurationMS, CreatedAt: byURL[leaky.URL].CreatedAt}, byURL[leaky.URL])
	assert.Equal(t, host.WebhookErrorConnectionRefused, byURL[closedURL+"/hooks"].Error)
	assert.Zero(t, byURL[closedURL+"/hooks"].StatusCode)
	b, err := json.Marshal(ds)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "internal-admin-token")
	assert.NotContains(t, string(b), "dial tcp")
	assert.NotContains(t, string(b), "connect:")
	assert.NotContains(t, string(b), "response_body")
}

// TestWebhooksEventsList: newest first, by type, a page at a time, per tenant.
func TestWebhooksEventsList(t *testing.T) {
	w := newWorld(t, worldOpts{extra: hookConfig})
	ctx := context.Background()
	for i := range 5 {
		_, err := w.create(host.CreatePaymentInput{IdempotencyKey: "wh-list-" + string(rune('a'+i))})
		require.NoError(t, err)
	}
	all := events(t, w.host, "")
	require.Len(t, all, 5)
	var seen []string
	after := ""
	for {
		page, err := w.host.ListEvents(ctx, host.ListEventsInput{Tenant: "acme", Limit: 2, StartingAfter: after})
		require.NoError(t, err)
		for _, e := range page.Data {
			seen = append(seen, e.ID)
		}
		if !page.HasMore {
			break
		}
		after = page.Data[len(page.Data)-1].ID
	}
	var want []string
	for _, e := range all {
		want = append(want, e.ID)
	}
	assert.Equal(t, want, seen)
	assert.Len(t, events(t, w.host, "payment.*"), 5)
	assert.Empty(t, events(t, w.host, "refund.*"))

	other, err := w.host.ListEvents(ctx, host.ListEventsInput{Tenant: "globex"})
	require.NoError(t, err)
	assert.Empty(t, other.Data)
	_, err = w.host.GetEvent(ctx, "globex", all[0].ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.ListEventDeliveries(ctx, "globex", all[0].ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	for _, in := range []host.ListEventsInput{{Type: "payment.paid"}, {Type: "invoice.*"}, {Limit: 101}, {Limit: -1}, {StartingAfter: "evt_missing"}} {
		in.Tenant = "acme"
		_, err := w.host.ListEvents(ctx, in)
		assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "%+v", in)
	}
	_, err = w.host.ListEvents(ctx, host.ListEventsInput{Tenant: "globex", StartingAfter: all[0].ID})
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "another tenant's cursor")
}

// hookCallStore counts the webhook worker's calls to the store.
type hookCallStore struct {
	store.Store
	claims, dueLooks, endpointLooks atomic.Int64
}

func (s *hookCallStore) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.WebhookDelivery, error) {
	s.claims.Add(1)
	return s.Store.ClaimWebhookDeliveries(ctx, now, lease, limit)
}

func (s *hookCallStore) WebhookDeliveriesDue(ctx context.Context, now time.Time) (bool, error) {
	s.dueLooks.Add(1)
	return s.Store.WebhookDeliveriesDue(ctx, now)
}

func (s *hookCallStore) HasWebhookEndpoints(ctx context.Context) (bool, error) {
	s.endpointLooks.Add(1)
	return s.Store.HasWebhookEndpoints(ctx)
}

// TestWebhooksWorkerIdle: a running worker does no work for webhooks
// nobody configured — with no endpoint, payments commit events and the
// worker neither claims (a write) nor looks for due deliveries — and with
// an endpoint it claims only when a delivery is due.
func TestWebhooksWorkerIdle(t *testing.T) {
	calls := &hookCallStore{}
	w := newWorld(t, worldOpts{
		wrapStore: func(st store.Store) store.Store { calls.Store = st; return calls },
		extra: func(c *host.Config) {
			hookConfig(c)
			c.Webhooks.Disabled = false // the worker runs
			c.Webhooks.Interval = 2 * time.Millisecond
		}})
	// the worker's next two looks for endpoints: every round before them is over
	twoRounds := func(what string) {
		t.Helper()
		seen := calls.endpointLooks.Load()
		w.eventually(func() bool { return calls.endpointLooks.Load() >= seen+2 }, what)
	}
	for i := range 5 {
		_, err := w.create(host.CreatePaymentInput{IdempotencyKey: fmt.Sprint("idle-", i)})
		require.NoError(t, err)
	}
	require.Len(t, events(t, w.host, "payment.processing"), 5, "events are recorded without endpoints")
	twoRounds("two rounds of the worker after the payments")
	assert.Zero(t, calls.claims.Load(), "claims without an endpoint")
	assert.Zero(t, calls.dueLooks.Load(), "looks for due deliveries without an endpoint")

	rc := newReceiver(t, nil)
	addEndpoint(t, w.host, rc.srv.URL, "payment.processing")
	_, err := w.create(host.CreatePaymentInput{IdempotencyKey: "idle-hooked"})
	require.NoError(t, err)
	evs := events(t, w.host, "payment.processing")
	require.Len(t, evs, 6)
	w.eventually(func() bool {
		ds := deliveries(t, w.host, evs[0].ID)
		return len(ds) == 1 && ds[0].Status == "delivered"
	}, "the delivery")
	claims := calls.claims.Load()
	assert.Equal(t, int64(1), claims, "one claim for one delivery")
	twoRounds("two rounds of the worker after the delivery")
	assert.Equal(t, claims, calls.claims.Load(), "claims with nothing due")
	assert.Greater(t, calls.dueLooks.Load(), claims, "rounds read before they claim")
	assert.Len(t, rc.requests(), 1)
}

// TestWebhooksRestart: an engine closed with undelivered events — never
// attempted, and one cut off mid-request — leaves them to the next engine
// on the same store, which delivers them.
func TestWebhooksRestart(t *testing.T) { testWebhooksRestart(t, nil) }

func testWebhooksRestart(t *testing.T, open func(t *testing.T) store.Store) {
	rc := newReceiver(t, nil)
	var hang atomic.Bool
	hang.Store(true)
	rc.setDelay(func(int) time.Duration {
		if hang.Load() {
			return time.Minute
		}
		return 0
	})
	st := openStore(t, open)
	if st == nil {
		var err error
		st, err = sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "payhost.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
	}
	w := newWorld(t, worldOpts{store: st, extra: func(c *host.Config) {
		hookConfig(c)
		c.Webhooks.Disabled = false // the worker runs
		c.Webhooks.Interval = 5 * time.Millisecond
	}})
	addEndpoint(t, w.host, rc.srv.URL, "*")
	for i := range 3 {
		_, err := w.create(host.CreatePaymentInput{IdempotencyKey: "wh-restart-" + string(rune('a'+i))})
		require.NoError(t, err)
	}
	w.eventually(func() bool { return len(rc.requests()) > 0 }, "a delivery in flight")
	require.NoError(t, w.host.Close(context.Background()))

	hang.Store(false)
	next := w.newEngine(st) // a restarted node: its worker runs too
	evs := events(t, next, "")
	require.Len(t, evs, 3)
	deliverUntil(t, next, "every event delivered", func() bool {
		for _, e := range evs {
			if deliveries(t, next, e.ID)[0].Status != "delivered" {
				return false
			}
		}
		return true
	})
	counts := rc.byEvent()
	for _, e := range evs {
		assert.GreaterOrEqual(t, counts[e.ID], 1, e.ID)
	}
	interrupted := 0
	for _, e := range evs {
		for _, a := range deliveries(t, next, e.ID)[0].Attempts {
			if strings.HasPrefix(a.Error, "interrupted") {
				interrupted++
			}
		}
	}
	assert.GreaterOrEqual(t, interrupted, 1, "the request cut off by the shutdown is in the log")
}

// TestWebhooksTwoNodes: two engines on one SQLite file, both workers
// running: every event is delivered exactly once.
func TestWebhooksTwoNodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payhost.db")
	testWebhooksTwoNodes(t, func() store.Store {
		st, err := sqlstore.OpenSQLite(context.Background(), path)
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st
	})
}

func testWebhooksTwoNodes(t *testing.T, open func() store.Store) {
	rc := newReceiver(t, nil)
	rc.setDelay(func(int) time.Duration { return 5 * time.Millisecond })
	running := func(c *host.Config) {
		hookConfig(c)
		c.Webhooks.Disabled = false
		c.Webhooks.Interval = 2 * time.Millisecond
		c.Webhooks.Batch = 3
		c.Webhooks.Concurrent = 2
	}
	a := newWorld(t, worldOpts{store: open(), extra: running})
	b := a.newEngine(open())
	addEndpoint(t, a.host, rc.srv.URL, "payment.*")
	addEndpoint(t, b, rc.srv.URL+"/second", "*")
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			engine := a.host
			if i%2 == 1 {
				engine = b
			}
			p, err := engine.CreatePayment(context.Background(), host.CreatePaymentInput{Tenant: "acme", IdempotencyKey: "two-" + string(rune('a'+i)),
				Amount: 1000 + int64(i), Currency: "CNY", Method: core.MethodAlipayQR})
			if assert.NoError(t, err) {
				assert.NoError(t, a.sim.Pay(p.ProviderPaymentID))
			}
		}()
	}
	wg.Wait()
	a.eventually(func() bool { return len(events(t, a.host, "payment.succeeded")) == n }, "every payment to succeed")
	evs := events(t, a.host, "")
	require.Len(t, evs, 2*n)
	// every delivery recorded as delivered: after that nothing more can be
	// sent (delivered is final), so the requests received are all there is
	a.eventually(func() bool {
		for _, e := range evs {
			for _, d := range deliveries(t, b, e.ID) {
				if d.Status != "delivered" {
					return false
				}
			}
		}
		return true
	}, "every delivery of every event recorded as delivered")
	for _, e := range evs {
		perPath := map[string]int{}
		for _, r := range rc.requests() {
			if r.header.Get(webhook.HeaderEventID) == e.ID {
				perPath[r.path]++
			}
		}
		assert.Equal(t, map[string]int{"/": 1, "/second": 1}, perPath, "event %s: once to each endpoint", e.ID)
		for _, d := range deliveries(t, b, e.ID) {
			assert.Equal(t, "delivered", d.Status)
			assert.Len(t, d.Attempts, 1, "event %s to %s", e.ID, d.EndpointID)
		}
	}
	assert.Len(t, rc.requests(), 4*n)
}

// TestPostgresWebhooksTwoNodes: two engines, each with its own connection
// pool to one PostgreSQL database, both workers running: every event is
// delivered exactly once to each endpoint.
func TestPostgresWebhooksTwoNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	testWebhooksTwoNodes(t, func() store.Store {
		st, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.WithSchema(schema))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st
	})
}

// TestPostgresWebhooksRestart is TestWebhooksRestart on PostgreSQL.
func TestPostgresWebhooksRestart(t *testing.T) { testWebhooksRestart(t, postgresStore) }
