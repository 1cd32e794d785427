package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/internal/netpolicy"
	"github.com/payhost/payhost/webhook"
)

// Merchant webhooks.
//
// Outbox: every applied status transition of an object writes an event in
// the same database transaction as the change (store.EventSpec on the
// store update): type "<object type>.<new status>", a stable id (evt_...),
// and data — the object's API representation as the change left it,
// rendered inside that transaction and stored. Every delivery of an event
// sends the same stored bytes, whichever node delivers it and whatever
// changes later; an event is never re-rendered.
//
// Delivery: one pending delivery per event and subscribed endpoint is
// queued with the event. A worker (every node runs one unless
// Config.Webhooks.Disabled) claims due deliveries for a lease (FOR UPDATE
// SKIP LOCKED on PostgreSQL), POSTs the signed event, and records the
// attempt: 2xx is delivered; anything else, a timeout or a refused address
// is retried with exponential backoff until MaxAttempts, then failed.
// At-least-once: a node that dies mid-request leaves the delivery to
// another once the lease runs out.
//
// The worker costs nothing while no tenant has an endpoint: it reads
// whether one exists every Interval (another node may add one) and
// otherwise ignores the wake-ups of commits. With endpoints, a round reads
// whether a delivery is due before it writes a claim.
//
// The delivery log (stored attempts, ListEventDeliveries) keeps the status
// code and an error class (attemptClass), never the receiver's answer or
// the text of a connection error: a tenant chooses the URL, and the log
// must not let it read what an internal address answers or map which ports
// are open.

// Webhook limits.
const (
	maxWebhookURL        = 2048
	maxWebhookPatterns   = 32
	maxWebhookDesc       = 256
	webhookReadBytes     = 4 << 10 // read (and dropped) of an endpoint's answer, so the connection can be reused
	webhookSecretBytes   = 32
	webhookSecretPrefix  = "whsec_"
	defaultEventsPerPage = 20
	maxEventsPerPage     = 100
)

// WebhookConfig tunes the delivery of merchant webhooks.
type WebhookConfig struct {
	// Disabled: no background delivery on this node. Events are still
	// recorded and queued; another node, or DeliverWebhooks, delivers them.
	Disabled bool
	// AllowPrivate lets endpoints be loopback, private, link-local, CGNAT
	// or other special-purpose addresses (the sandbox, tests). Off, a URL
	// with such a literal address (or localhost) is refused when an
	// endpoint is created, and every address a host name resolves to is
	// checked when connecting (internal/netpolicy lists what is refused).
	AllowPrivate bool
	Interval     time.Duration // how often due deliveries are looked for; default 1s
	Timeout      time.Duration // one attempt, connecting to reading the answer; default 10s
	RetryFirst   time.Duration // wait after the first failed attempt, doubled after each; default 30s
	RetryMax     time.Duration // longest wait between attempts; default 1h
	MaxAttempts  int           // attempts before a delivery is failed; default 20
	Batch        int           // deliveries claimed per round; default 50
	Concurrent   int           // requests in parallel; default 8
	Lease        time.Duration // how long a claimed delivery is left to this node; default 2m, at least the longest a round can take
	MaxEndpoints int           // enabled endpoints per tenant; default 16
}

func (c *WebhookConfig) defaults() {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RetryFirst <= 0 {
		c.RetryFirst = 30 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = time.Hour
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 20
	}
	if c.Batch <= 0 {
		c.Batch = 50
	}
	if c.Concurrent <= 0 {
		c.Concurrent = 8
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	// a round sends Batch deliveries Concurrent at a time, each up to
	// Timeout: a claim must outlast the round, or another node would
	// send the same event meanwhile
	c.Lease = max(c.Lease, time.Duration((c.Batch+c.Concurrent-1)/c.Concurrent+1)*c.Timeout)
	if c.MaxEndpoints <= 0 {
		c.MaxEndpoints = 16
	}
}

// Event is an event as the API lists it and as a webhook delivers it.
type Event struct {
	ID        string          `json:"id"`     // evt_...; the same in every delivery
	Object    string          `json:"object"` // "event"
	Type      string          `json:"type"`   // e.g. payment.succeeded
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"` // the object (a Payment, a Refund, ...) as the change left it
}

// EventList is a page of events, newest first.
type EventList struct {
	Object  string  `json:"object"` // "list"
	Data    []Event `json:"data"`
	HasMore bool    `json:"has_more"` // more, older events follow the last one
}

// ListEventsInput selects a tenant's events.
type ListEventsInput struct {
	Tenant        string
	Type          string // "" or "*" = any; a type; or "<object type>.*"
	StartingAfter string // an event id: the page starts after it (older events)
	Limit         int    // 1-100; default 20
}

// WebhookEndpoint is a URL of a tenant that receives events.
type WebhookEndpoint struct {
	ID          string    `json:"id"`     // we_...
	Object      string    `json:"object"` // "webhook_endpoint"
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description,omitempty"`
	Status      string    `json:"status"`           // enabled, deleted
	Secret      string    `json:"secret,omitempty"` // the signing secret: only in the answer to the creation
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// WebhookEndpointList lists a tenant's endpoints, oldest first.
type WebhookEndpointList struct {
	Object string            `json:"object"` // "list"
	Data   []WebhookEndpoint `json:"data"`
}

// CreateWebhookEndpointInput is a request to add a webhook endpoint.
type CreateWebhookEndpointInput struct {
	Tenant         string   `json:"-"`
	IdempotencyKey string   `json:"-"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Description    string   `json:"description,omitempty"`
}

// WebhookDelivery is an event's delivery to one endpoint, with its log.
type WebhookDelivery struct {
	Object        string           `json:"object"` // "webhook_delivery"
	EventID       string           `json:"event_id"`
	EndpointID    string           `json:"endpoint_id"`
	URL           string           `json:"url"`
	Status        string           `json:"status"` // pending, delivered, failed, canceled
	Attempts      []WebhookAttempt `json:"attempts"`
	NextAttemptAt *time.Time       `json:"next_attempt_at,omitempty"` // pending only
	DeliveredAt   *time.Time       `json:"delivered_at,omitempty"`
	CreatedAt     time.Time        `json:"created_at"`
}

// WebhookAttempt is one request of a delivery. It never holds what the
// endpoint answered beyond its status code.
type WebhookAttempt struct {
	Attempt    int       `json:"attempt"`               // 1 for the first
	StatusCode int       `json:"status_code,omitempty"` // absent when no answer came
	Error      string    `json:"error,omitempty"`       // why it did not count as delivered: an error class (WebhookError...)
	DurationMS int64     `json:"duration_ms"`
	CreatedAt  time.Time `json:"created_at"`
}

// Error classes of a webhook attempt (WebhookAttempt.Error).
const (
	WebhookErrorTimeout           = "timeout"             // no answer within webhooks.timeout
	WebhookErrorDNS               = "dns"                 // the host name did not resolve
	WebhookErrorConnectionRefused = "connection_refused"  // nothing listens on the port
	WebhookErrorConnectionReset   = "connection_reset"    // the connection was closed before a full answer
	WebhookErrorUnreachable       = "unreachable"         // no route to the network or host
	WebhookErrorTLS               = "tls"                 // the TLS handshake or the certificate failed
	WebhookErrorAddressNotAllowed = "address_not_allowed" // the address is not public and webhooks.allow_private is off
	WebhookErrorProtocol          = "protocol_error"      // the answer was not HTTP
	WebhookErrorConnection        = "connection_error"    // any other failure to connect or send
	WebhookErrorInterrupted       = "interrupted"         // the node shut down during the attempt; tried again at once
	WebhookErrorHTTP3xx           = "http_3xx"            // a redirect: not followed, give the final URL
	WebhookErrorHTTP4xx           = "http_4xx"
	WebhookErrorHTTP5xx           = "http_5xx"
	WebhookErrorHTTPOther         = "http_other" // another non-2xx status
)

// WebhookDeliveryList lists an event's deliveries.
type WebhookDeliveryList struct {
	Object string            `json:"object"` // "list"
	Data   []WebhookDelivery `json:"data"`
}

// paymentEventData is a payment's event data: its API representation,
// without the list of its refunds.
func (h *Host) paymentEventData(obj any) (any, error) {
	sp, ok := obj.(*store.Payment)
	if !ok {
		return nil, fmt.Errorf("host: payment event data from a %T", obj)
	}
	return h.toAPI(context.Background(), sp, false) // without refunds it reads nothing
}

// refundEventData is a refund's event data: its API representation.
func refundEventData(obj any) (any, error) {
	sr, ok := obj.(*store.Refund)
	if !ok {
		return nil, fmt.Errorf("host: refund event data from a %T", obj)
	}
	return refundToAPI(sr), nil
}

func eventToAPI(e *store.Event) Event {
	return Event{ID: e.ID, Object: "event", Type: e.Type, CreatedAt: e.CreatedAt, Data: json.RawMessage(e.Data)}
}

// webhookBody is the body of every delivery of an event: the same bytes
// each time.
func webhookBody(e *store.Event) ([]byte, error) {
	return json.Marshal(eventToAPI(e))
}

// webhooks is the delivery side of the engine.
type webhooks struct {
	client *http.Client
	wake   chan struct{}
	// endpoints: some tenant had an enabled endpoint at the last look (or
	// one was created on this node since). Until it holds, commits do not
	// wake the worker.
	endpoints atomic.Bool
}

// startWebhooks sets up delivery and, unless disabled, starts the worker
// (stopped by Close).
func (h *Host) startWebhooks(ctx context.Context) {
	c := &h.cfg.Webhooks
	c.defaults()
	h.hooks = &webhooks{client: newWebhookClient(*c), wake: make(chan struct{}, 1)}
	if c.Disabled {
		return
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	prev := h.stop
	h.stop = func() {
		cancel()
		if prev != nil {
			prev()
		}
	}
	h.wg.Add(1)
	go h.webhookLoop(wctx)
}

// wakeWebhooks asks the worker for a round now (a change was committed).
// Without endpoints there is nothing to deliver: the worker is left alone.
func (h *Host) wakeWebhooks() {
	if h.hooks == nil || !h.hooks.endpoints.Load() {
		return
	}
	select {
	case h.hooks.wake <- struct{}{}:
	default:
	}
}

func (h *Host) webhookLoop(ctx context.Context) {
	defer h.wg.Done()
	t := time.NewTicker(h.cfg.Webhooks.Interval)
	defer t.Stop()
	h.lookForEndpoints(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// another node may have added the first endpoint, or deleted
			// the last one
			h.lookForEndpoints(ctx)
		case <-h.hooks.wake:
		}
		if !h.hooks.endpoints.Load() {
			continue
		}
		for ctx.Err() == nil && h.deliverWebhooks(ctx) == h.cfg.Webhooks.Batch {
			// a full batch: more may be due
		}
	}
}

// lookForEndpoints notes whether any tenant has an enabled endpoint. When
// the store cannot tell, the worker goes on as if one had: its round
// reports the store's error.
func (h *Host) lookForEndpoints(ctx context.Context) {
	found, err := h.store.HasWebhookEndpoints(ctx)
	h.hooks.endpoints.Store(found || err != nil)
}

// newWebhookClient is the delivery client: bounded in time, no proxy from
// the environment, no redirects followed (a 3xx is a failed attempt), and
// without AllowPrivate only addresses netpolicy allows dialled, checked
// after DNS (so a name rebinding to an internal address is refused too).
func newWebhookClient(c WebhookConfig) *http.Client {
	dialer := &net.Dialer{Timeout: c.Timeout, KeepAlive: 30 * time.Second}
	if !c.AllowPrivate {
		dialer.Control = func(network, address string, rc syscall.RawConn) error {
			if err := netpolicy.Control(network, address, rc); err != nil {
				return fmt.Errorf("%w; webhooks.allow_private is off", err)
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: c.Timeout,
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            dialer.DialContext,
			ForceAttemptHTTP2:      true,
			MaxIdleConnsPerHost:    4,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    min(c.Timeout, 10*time.Second),
			ResponseHeaderTimeout:  c.Timeout,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// webhookBackoff is the wait after the n-th failed attempt.
func (h *Host) webhookBackoff(n int) time.Duration {
	c := h.cfg.Webhooks
	d := c.RetryFirst
	for i := 1; i < n && d < c.RetryMax; i++ {
		d *= 2
	}
	return min(d, c.RetryMax)
}

// deliverWebhooks runs one round of webhook delivery: the due deliveries
// are claimed (so workers of other nodes leave them alone for
// Config.Webhooks.Lease), sent and their attempts recorded. It returns how
// many were claimed. It runs in the background unless
// Config.Webhooks.Disabled.
func (h *Host) deliverWebhooks(ctx context.Context) int {
	c := h.cfg.Webhooks
	now := h.now()
	// a read first: a claim is a write (and a commit), most rounds find
	// nothing due
	due, err := h.store.WebhookDeliveriesDue(ctx, now)
	if err != nil {
		h.log.Error("webhooks: look for due deliveries", "err", err)
		return 0
	}
	if !due {
		return 0
	}
	ds, err := h.store.ClaimWebhookDeliveries(ctx, now, c.Lease, c.Batch)
	if err != nil {
		h.log.Error("webhooks: claim deliveries", "err", err)
		return 0
	}
	sem := make(chan struct{}, c.Concurrent)
	var wg sync.WaitGroup
	for _, d := range ds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			h.deliver(ctx, d)
		}()
	}
	wg.Wait()
	return len(ds)
}

// deliver makes one attempt of a claimed delivery and records it.
func (h *Host) deliver(ctx context.Context, d *store.WebhookDelivery) {
	// The reads finish even when the node is shutting down (they are quick),
	// so that the attempt is recorded as interrupted and the delivery is due
	// again at once; a failed read leaves the claim to its lease.
	bg := context.WithoutCancel(ctx)
	ev, err := h.store.GetEvent(bg, d.EventID)
	if err != nil {
		h.log.Error("webhooks: load event", "event", d.EventID, "err", err)
		return // the lease runs out and the delivery is tried again
	}
	ep, err := h.store.GetWebhookEndpoint(bg, d.EndpointID)
	if err != nil {
		h.log.Error("webhooks: load endpoint", "endpoint", d.EndpointID, "err", err)
		return
	}
	res := store.WebhookResult{DeliveryID: d.ID, ClaimToken: d.ClaimToken}
	if ep.Status != store.EndpointEnabled {
		res.Status, res.Now = store.DeliveryCanceled, h.now()
		h.finishDelivery(bg, d, res)
		return
	}
	body, err := webhookBody(ev)
	if err != nil {
		h.log.Error("webhooks: encode event", "event", ev.ID, "err", err)
		return
	}
	a := &store.WebhookAttempt{Attempt: d.Attempts + 1}
	start := time.Now()
	var detail string
	a.StatusCode, a.Error, detail = h.postWebhook(ctx, ep, ev, body)
	a.DurationMS = time.Since(start).Milliseconds()
	a.CreatedAt = h.now()
	res.Attempt, res.Now = a, a.CreatedAt
	switch {
	case a.Error == "":
		res.Status = store.DeliveryDelivered
	case ctx.Err() != nil:
		// this node is shutting down: due again at once, for any node
		a.Error = WebhookErrorInterrupted
		res.Status, res.NextAttemptAt = store.DeliveryPending, a.CreatedAt
	case a.Attempt >= h.cfg.Webhooks.MaxAttempts:
		res.Status = store.DeliveryFailed
	default:
		res.Status, res.NextAttemptAt = store.DeliveryPending, a.CreatedAt.Add(h.webhookBackoff(a.Attempt))
	}
	h.finishDelivery(bg, d, res)
	level := h.log.Info
	if res.Status == store.DeliveryFailed {
		level = h.log.Warn
	}
	// the operator's log may say more than the tenant's delivery log
	// (detail), but never what the endpoint answered
	level("webhook delivery", "event", ev.ID, "type", ev.Type, "endpoint", ep.ID, "attempt", a.Attempt,
		"status_code", a.StatusCode, "result", res.Status, "error", a.Error, "detail", detail, "duration_ms", a.DurationMS)
}

func (h *Host) finishDelivery(ctx context.Context, d *store.WebhookDelivery, res store.WebhookResult) {
	err := h.store.FinishWebhookDelivery(ctx, res)
	switch {
	case errors.Is(err, store.ErrConflict):
		h.log.Info("webhooks: delivery claimed elsewhere meanwhile", "event", d.EventID, "endpoint", d.EndpointID)
	case err != nil:
		h.log.Error("webhooks: record delivery", "event", d.EventID, "endpoint", d.EndpointID, "err", err)
	}
}

// postWebhook sends one signed delivery. It returns the answer's status,
// the error class of the attempt ("" when it counts as delivered: a 2xx
// answer), and for the operator's log a detail of a failure to connect.
// The endpoint's answer is read (up to webhookReadBytes, so the connection
// can be reused) and dropped.
func (h *Host) postWebhook(ctx context.Context, ep *store.WebhookEndpoint, ev *store.Event, body []byte) (int, string, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, WebhookErrorConnection, "bad endpoint URL"
	}
	now := h.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Payhost-Webhooks/1")
	req.Header.Set(webhook.HeaderEventID, ev.ID)
	req.Header.Set(webhook.HeaderEventType, ev.Type)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(ep.Secret, now, body))
	resp, err := h.hooks.client.Do(req)
	if err != nil {
		class := attemptClass(err)
		detail := ""
		if class != WebhookErrorProtocol { // its text quotes what the endpoint sent
			detail = clipText(errorText(err), 300)
		}
		return 0, class, detail
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhookReadBytes))
	return resp.StatusCode, statusClass(resp.StatusCode), ""
}

// statusClass is the error class of an answer's status ("" for 2xx).
func statusClass(code int) string {
	switch {
	case code >= 200 && code < 300:
		return ""
	case code >= 300 && code < 400:
		return WebhookErrorHTTP3xx
	case code >= 400 && code < 500:
		return WebhookErrorHTTP4xx
	case code >= 500 && code < 600:
		return WebhookErrorHTTP5xx
	}
	return WebhookErrorHTTPOther
}

// attemptClass sorts a failed request into an error class for the
// delivery log: the class, never the error's text, which can tell a tenant
// what an internal address answered or whether a port is open.
func attemptClass(err error) string {
	var (
		refused *netpolicy.RefusedError
		dnsErr  *net.DNSError
		ne      net.Error
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		ech     *tls.ECHRejectionError
	)
	switch {
	case errors.As(err, &refused):
		return WebhookErrorAddressNotAllowed
	case errors.As(err, &dnsErr):
		return WebhookErrorDNS
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return WebhookErrorTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return WebhookErrorConnectionRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return WebhookErrorConnectionReset
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return WebhookErrorUnreachable
	case errors.As(err, &recErr), errors.As(err, &alert), errors.As(err, &verify), errors.As(err, &unknown),
		errors.As(err, &host), errors.As(err, &invalid), errors.As(err, &ech):
		return WebhookErrorTLS
	case strings.Contains(err.Error(), "malformed HTTP"):
		return WebhookErrorProtocol
	}
	return WebhookErrorConnection
}

// errorText is an error's text without the URL a *url.Error repeats.
func errorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// clipText cuts s to at most n bytes on a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// newWebhookSecret returns a fresh signing secret.
func newWebhookSecret() string {
	var b [webhookSecretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("host: crypto/rand failed: " + err.Error())
	}
	return webhookSecretPrefix + hex.EncodeToString(b[:])
}

// checkWebhookURL refuses what an endpoint URL must not be.
func (h *Host) checkWebhookURL(raw string) error {
	if raw == "" {
		return bad("url", "url is required")
	}
	if len(raw) > maxWebhookURL {
		return bad("url", "url is longer than %d characters", maxWebhookURL)
	}
	if err := checkText("url", raw); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return bad("url", "url must be an absolute http or https URL")
	case u.User != nil:
		return bad("url", "url must not hold credentials; authenticate deliveries by their signature")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return bad("url", "url must not have a fragment")
	}
	if h.cfg.Webhooks.AllowPrivate {
		return nil
	}
	if err := netpolicy.CheckHost(u.Hostname()); err != nil {
		return bad("url", "url must be a public address (%v): loopback, private and other special-purpose addresses are allowed only when webhooks.allow_private is set", err)
	}
	return nil
}

// checkWebhookPatterns validates the events an endpoint subscribes to and
// returns them without repeats.
func (h *Host) checkWebhookPatterns(patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		return nil, bad("events", `events must list at least one event type, "<object>.*" or "*"`)
	}
	if len(patterns) > maxWebhookPatterns {
		return nil, bad("events", "events lists more than %d entries", maxWebhookPatterns)
	}
	seen := map[string]bool{}
	var out []string
	for i, p := range patterns {
		param := fmt.Sprintf("events[%d]", i)
		obj, wildcard := strings.CutSuffix(p, ".*")
		switch {
		case p == "*", wildcard && h.wiring.eventObjects[obj], h.wiring.eventTypes[p]:
		default:
			if err := checkText(param, p); err != nil {
				return nil, err
			}
			return nil, bad(param, "unknown event type %q; known: %s, \"<object>.*\" or \"*\"", p, strings.Join(EventTypes(), ", "))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func endpointToAPI(e *store.WebhookEndpoint) *WebhookEndpoint {
	events := e.Events
	if events == nil {
		events = []string{}
	}
	return &WebhookEndpoint{ID: e.ID, Object: "webhook_endpoint", URL: e.URL, Events: events, Description: e.Description,
		Status: e.Status, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// CreateWebhookEndpoint adds an endpoint for the tenant and returns it
// with its signing secret (the only answer that shows it; a retry with the
// same idempotency key answers the same).
func (h *Host) CreateWebhookEndpoint(ctx context.Context, in CreateWebhookEndpointInput) (*WebhookEndpoint, error) {
	if err := h.checkWebhookURL(in.URL); err != nil {
		return nil, err
	}
	events, err := h.checkWebhookPatterns(in.Events)
	if err != nil {
		return nil, err
	}
	in.Events = events
	if err := checkText("description", in.Description); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(in.Description) > maxWebhookDesc {
		return nil, bad("description", "description is longer than %d characters", maxWebhookDesc)
	}
	stored, err := idempotent(ctx, h, in.Tenant, in.IdempotencyKey, "webhook_endpoint.create", in,
		func(ctx context.Context, _ string, _ func() *store.IdemLink) (*WebhookEndpoint, error) {
			existing, err := h.store.ListWebhookEndpoints(ctx, in.Tenant)
			if err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "list webhook endpoints")
			}
			if len(existing) >= h.cfg.Webhooks.MaxEndpoints {
				return nil, &core.Error{Code: core.CodeLimitExceeded, Message: fmt.Sprintf(
					"a tenant may have at most %d webhook endpoints; delete one first", h.cfg.Webhooks.MaxEndpoints)}
			}
			now := h.now()
			e := &store.WebhookEndpoint{ID: newID("we_", now), Tenant: in.Tenant, URL: in.URL, Events: in.Events,
				Description: in.Description, Secret: newWebhookSecret(), Status: store.EndpointEnabled, CreatedAt: now, UpdatedAt: now}
			if err := h.store.InsertWebhookEndpoint(ctx, e); err != nil {
				return nil, core.WrapError(core.CodeInternal, err, "store webhook endpoint")
			}
			if h.hooks != nil {
				h.hooks.endpoints.Store(true) // this node's commits wake the worker from now on
			}
			h.log.Info("webhook endpoint created", "endpoint", e.ID, "tenant", e.Tenant, "events", strings.Join(e.Events, ","))
			return endpointToAPI(e), nil // stored without the secret
		})
	if err != nil {
		return nil, err
	}
	e, err := h.store.GetWebhookEndpoint(ctx, stored.ID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load webhook endpoint")
	}
	out := endpointToAPI(e)
	if e.Status == store.EndpointEnabled {
		out.Secret = e.Secret
	}
	return out, nil
}

func (h *Host) tenantEndpoint(ctx context.Context, tenant, id string) (*store.WebhookEndpoint, error) {
	e, err := h.store.GetWebhookEndpoint(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (e.Tenant != tenant || e.Status != store.EndpointEnabled)) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no webhook endpoint " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load webhook endpoint")
	}
	return e, nil
}

// GetWebhookEndpoint returns an endpoint of the tenant (without its secret).
func (h *Host) GetWebhookEndpoint(ctx context.Context, tenant, id string) (*WebhookEndpoint, error) {
	e, err := h.tenantEndpoint(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return endpointToAPI(e), nil
}

// ListWebhookEndpoints lists the tenant's endpoints (without secrets).
func (h *Host) ListWebhookEndpoints(ctx context.Context, tenant string) (*WebhookEndpointList, error) {
	es, err := h.store.ListWebhookEndpoints(ctx, tenant)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list webhook endpoints")
	}
	out := &WebhookEndpointList{Object: "list", Data: []WebhookEndpoint{}}
	for _, e := range es {
		out.Data = append(out.Data, *endpointToAPI(e))
	}
	return out, nil
}

// DeleteWebhookEndpoint deletes an endpoint of the tenant: its secret is
// wiped, its pending deliveries are canceled and it receives nothing more.
func (h *Host) DeleteWebhookEndpoint(ctx context.Context, tenant, id string) (*WebhookEndpoint, error) {
	if _, err := h.tenantEndpoint(ctx, tenant, id); err != nil {
		return nil, err
	}
	e, err := h.store.DeleteWebhookEndpoint(ctx, id, h.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no webhook endpoint " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "delete webhook endpoint")
	}
	h.log.Info("webhook endpoint deleted", "endpoint", id, "tenant", tenant)
	return endpointToAPI(e), nil
}

func (h *Host) tenantEvent(ctx context.Context, tenant, id, param string) (*store.Event, error) {
	e, err := h.store.GetEvent(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && e.Tenant != tenant) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: param, Message: "no event " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load event")
	}
	return e, nil
}

// ListEvents lists the tenant's events, newest first, a page at a time.
func (h *Host) ListEvents(ctx context.Context, in ListEventsInput) (*EventList, error) {
	limit := in.Limit
	switch {
	case limit == 0:
		limit = defaultEventsPerPage
	case limit < 0 || limit > maxEventsPerPage:
		return nil, bad("limit", "limit must be 1 to %d", maxEventsPerPage)
	}
	if in.Type == "*" {
		in.Type = ""
	}
	if in.Type != "" {
		if obj, ok := strings.CutSuffix(in.Type, ".*"); !(ok && h.wiring.eventObjects[obj]) && !h.wiring.eventTypes[in.Type] {
			if err := checkText("type", in.Type); err != nil {
				return nil, err
			}
			return nil, bad("type", "unknown event type %q", in.Type)
		}
	}
	q := store.EventQuery{Tenant: in.Tenant, Type: in.Type, Limit: limit + 1}
	if in.StartingAfter != "" {
		after, err := h.tenantEvent(ctx, in.Tenant, in.StartingAfter, "starting_after")
		if err != nil {
			if core.CodeOf(err) == core.CodeNotFound {
				return nil, bad("starting_after", "no event %s", in.StartingAfter)
			}
			return nil, err
		}
		q.BeforeSeq = after.Seq
	}
	evs, err := h.store.ListEvents(ctx, q)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list events")
	}
	out := &EventList{Object: "list", Data: []Event{}, HasMore: len(evs) > limit}
	for i, e := range evs {
		if i == limit {
			break
		}
		out.Data = append(out.Data, eventToAPI(e))
	}
	return out, nil
}

// GetEvent returns an event of the tenant.
func (h *Host) GetEvent(ctx context.Context, tenant, id string) (*Event, error) {
	e, err := h.tenantEvent(ctx, tenant, id, "id")
	if err != nil {
		return nil, err
	}
	out := eventToAPI(e)
	return &out, nil
}

// ListEventDeliveries returns the deliveries of an event of the tenant,
// each with every attempt made.
func (h *Host) ListEventDeliveries(ctx context.Context, tenant, eventID string) (*WebhookDeliveryList, error) {
	if _, err := h.tenantEvent(ctx, tenant, eventID, "id"); err != nil {
		return nil, err
	}
	ds, err := h.store.ListWebhookDeliveries(ctx, eventID)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list deliveries")
	}
	out := &WebhookDeliveryList{Object: "list", Data: []WebhookDelivery{}}
	for _, d := range ds {
		wd := WebhookDelivery{Object: "webhook_delivery", EventID: d.EventID, EndpointID: d.EndpointID, Status: d.Status,
			Attempts: []WebhookAttempt{}, CreatedAt: d.CreatedAt}
		if e, err := h.store.GetWebhookEndpoint(ctx, d.EndpointID); err == nil {
			wd.URL = e.URL
		}
		if d.Status == store.DeliveryPending && !d.NextAttemptAt.IsZero() {
			wd.NextAttemptAt = ptr(d.NextAttemptAt)
		}
		if !d.DeliveredAt.IsZero() {
			wd.DeliveredAt = ptr(d.DeliveredAt)
		}
		as, err := h.store.ListWebhookAttempts(ctx, d.ID)
		if err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "list delivery attempts")
		}
		for _, a := range as {
			wd.Attempts = append(wd.Attempts, WebhookAttempt{Attempt: a.Attempt, StatusCode: a.StatusCode, Error: a.Error,
				DurationMS: a.DurationMS, CreatedAt: a.CreatedAt})
		}
		out.Data = append(out.Data, wd)
	}
	return out, nil
}
