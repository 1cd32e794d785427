package host_test

import (
	"context"
	"errors"
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
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// twisted is the Haotian plugin with its create and refund replaced, to
// stage what a real plugin or network may do: crash after sending, answer
// wrongly, lose a request.
type twisted struct {
	*haotian.Plugin
	create func(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error)
	refund func(ctx context.Context, h pdk.Host, req *core.CreateRefundRequest) (*core.CreateRefundResponse, error)
}

func (p *twisted) CreatePayment(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
	if p.create != nil {
		return p.create(ctx, h, req)
	}
	return p.Plugin.CreatePayment(ctx, h, req)
}

func (p *twisted) CreateRefund(ctx context.Context, h pdk.Host, req *core.CreateRefundRequest) (*core.CreateRefundResponse, error) {
	if p.refund != nil {
		return p.refund(ctx, h, req)
	}
	return p.Plugin.CreateRefund(ctx, h, req)
}

func withPlugin(p pdk.Plugin) func(*host.Config) {
	return func(c *host.Config) { c.Plugins = []host.PluginConfig{{Native: p}} }
}

// incidents records the incidents the engine reports.
type incidents struct {
	mu    sync.Mutex
	kinds map[string][]string // kind → object ids
}

func (o *incidents) ProviderCall(core.Channel, core.Op, core.Code, time.Duration) {}

func (o *incidents) Incident(kind, objectID, _ string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.kinds == nil {
		o.kinds = map[string][]string{}
	}
	o.kinds[kind] = append(o.kinds[kind], objectID)
}

func (o *incidents) of(kind string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.kinds[kind]...)
}

// TestFailurePolicy: what a create's error does to the payment. Only a
// refusal that proves nothing happened moves on to the next channel (an
// internal error before any request left the host is one); only the
// provider's own refusal fails the payment; anything else — a plugin that
// panicked after sending, an internal error after sending, a duplicate
// order number — leaves it processing for the poller.
func TestFailurePolicy(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) error
		status    core.PaymentStatus
		pending   string
		failCode  core.Code
		attempts  int // channels tried
		reachedGW int // creates that reached the gateway
	}{
		{"panic after sending", func(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) error {
			if _, err := haotian.New().CreatePayment(ctx, h, req); err != nil {
				return err
			}
			panic("plugin bug after the provider answered")
		}, core.PaymentProcessing, host.PendingUnknownOutcome, "", 1, 1},
		{"panic before sending fails over", func(context.Context, pdk.Host, *core.CreatePaymentRequest) error {
			panic("plugin bug before any request")
		}, core.PaymentFailed, "", core.CodePluginFailure, 2, 0},
		{"internal error after sending", func(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) error {
			if _, err := haotian.New().CreatePayment(ctx, h, req); err != nil {
				return err
			}
			return errors.New("could not read my own answer")
		}, core.PaymentProcessing, host.PendingUnknownOutcome, "", 1, 1},
		{"internal error before sending fails over", func(context.Context, pdk.Host, *core.CreatePaymentRequest) error {
			return &core.Error{Code: core.CodeInternal, Message: "could not encode the request"}
		}, core.PaymentFailed, "", core.CodeProviderUnavailable, 2, 0},
		{"duplicate order number", func(context.Context, pdk.Host, *core.CreatePaymentRequest) error {
			return &core.Error{Code: core.CodeDuplicate, Message: "order number exists"}
		}, core.PaymentProcessing, host.PendingUnknownOutcome, "", 1, 0},
		{"provider refused the request", func(context.Context, pdk.Host, *core.CreatePaymentRequest) error {
			return &core.Error{Code: core.CodeInvalidRequest, Message: "bad subject"}
		}, core.PaymentFailed, "", core.CodeInvalidRequest, 1, 0},
		{"provider forbade the request", func(context.Context, pdk.Host, *core.CreatePaymentRequest) error {
			return &core.Error{Code: core.CodeForbidden, Message: "merchant not allowed to use this product"}
		}, core.PaymentFailed, "", core.CodeForbidden, 1, 0},
		{"declined everywhere", func(context.Context, pdk.Host, *core.CreatePaymentRequest) error {
			return &core.Error{Code: core.CodeDeclined, Message: "risk control"}
		}, core.PaymentFailed, "", core.CodeDeclined, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &twisted{Plugin: haotian.New(), create: func(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
				return nil, tt.fail(ctx, h, req)
			}}
			w := newWorld(t, worldOpts{
				rules: "version: 1\ndefault_route:\n  channels: [haotian/main/alipay.qr, haotian/backup/alipay.qr]\n",
				extra: func(c *host.Config) {
					withPlugin(p)(c)
					c.Accounts = append(c.Accounts, account("backup", w0(c)))
				},
			})
			got, err := w.create(host.CreatePaymentInput{IdempotencyKey: "fp"})
			require.NoError(t, err)
			assert.Equal(t, tt.status, got.Status)
			assert.Equal(t, tt.pending, got.PendingReason)
			if tt.failCode != "" {
				require.NotNil(t, got.Failure)
				assert.Equal(t, tt.failCode, got.Failure.Code)
			}
			attempts, err := w.store.ListAttempts(context.Background(), got.ID)
			require.NoError(t, err)
			assert.Len(t, attempts, tt.attempts)
			assert.Equal(t, tt.reachedGW, w.unifiedOrders())
		})
	}
}

// w0 is the gateway URL of the main account of a config being built.
func w0(c *host.Config) string { return c.Accounts[0].Endpoints["gateway"].URL }

// TestLateSuccessIsAnIncident: the provider took a payment the engine had
// failed; its success notification cannot undo the record, so it is an
// incident for a person, and the missing provider id is filled in.
func TestLateSuccessIsAnIncident(t *testing.T) {
	var providerID atomic.Value
	p := &twisted{Plugin: haotian.New(), create: func(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
		resp, err := haotian.New().CreatePayment(ctx, h, req)
		if err != nil {
			return nil, err
		}
		providerID.Store(resp.Payment.ProviderID)
		return nil, &core.Error{Code: core.CodeInvalidRequest, Message: "a plugin that misread the answer"}
	}}
	obs := &incidents{}
	w := newWorld(t, worldOpts{extra: func(c *host.Config) { withPlugin(p)(c); c.Observer = obs }})
	got, err := w.create(host.CreatePaymentInput{IdempotencyKey: "late"})
	require.NoError(t, err)
	require.Equal(t, core.PaymentFailed, got.Status)
	assert.Empty(t, got.ProviderPaymentID)

	require.NoError(t, w.sim.Pay(providerID.Load().(string)))
	w.eventually(func() bool { return len(obs.of(host.IncidentLateSuccess)) == 1 }, "the late success incident")
	assert.Equal(t, []string{got.ID}, obs.of(host.IncidentLateSuccess))
	after := w.payment(got.ID)
	assert.Equal(t, core.PaymentFailed, after.Status, "the record is not rewritten")
	assert.Equal(t, providerID.Load(), after.ProviderPaymentID, "but it learns the provider's id")
}

// flakyStore fails payment updates while failing is set.
type flakyStore struct {
	store.Store
	failing atomic.Bool
}

func (s *flakyStore) UpdatePayment(ctx context.Context, u store.PaymentUpdate) (*store.Payment, error) {
	if s.failing.Load() && u.To != "" {
		return nil, errors.New("database is down")
	}
	return s.Store.UpdatePayment(ctx, u)
}

// TestNotificationApplyErrorIsRetried: a verified notification the engine
// could not apply is not acknowledged; the provider's next delivery applies it.
func TestNotificationApplyErrorIsRetried(t *testing.T) {
	flaky := &flakyStore{}
	w := newWorld(t, worldOpts{
		simConfig: func(c *sim.Config) {
			c.NotifySchedule = []time.Duration{0, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
		},
		wrapStore: func(st store.Store) store.Store { flaky.Store = st; return flaky },
	})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "na"})
	require.NoError(t, err)

	flaky.failing.Store(true)
	require.NoError(t, w.sim.Pay(p.ProviderPaymentID))
	w.eventually(func() bool {
		ns := w.sim.Notifications()
		return len(ns) == 1 && ns[0].Attempts >= 1
	}, "the first delivery")
	assert.Equal(t, core.PaymentProcessing, w.payment(p.ID).Status)
	flaky.failing.Store(false)
	w.eventually(func() bool { return w.payment(p.ID).Status == core.PaymentSucceeded }, "a redelivery to apply it")
	w.eventually(func() bool { return !w.sim.Notifications()[0].Pending() }, "the acknowledgement of the applied notification")
}

// TestPollerGivesUpOnAPaymentTheProviderNeverGot: a create lost on its way
// (unknown outcome, the provider has no such order) is not failed at the
// first not-found: only after several queries and ten minutes, and after
// a close so a late arrival cannot succeed.
func TestPollerGivesUpOnAPaymentTheProviderNeverGot(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	p := &twisted{Plugin: haotian.New(), create: func(context.Context, pdk.Host, *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Message: "connection reset after sending"}
	}}
	w := newWorld(t, worldOpts{
		simConfig: func(c *sim.Config) { c.ReqTimeWindow = -1 },
		extra:     func(c *host.Config) { withPlugin(p)(c); c.Now = clock; c.PublicURL = "" },
	})
	got, err := w.create(host.CreatePaymentInput{IdempotencyKey: "lost"})
	require.NoError(t, err)
	require.Equal(t, host.PendingUnknownOutcome, got.PendingReason)

	for i := range 3 {
		now.Add(int64(time.Minute))
		w.host.Poll(context.Background())
		assert.Equal(t, core.PaymentProcessing, w.payment(got.ID).Status, "not given up after %d queries within minutes", i+1)
	}
	now.Add(int64(10 * time.Minute))
	w.host.Poll(context.Background())
	after := w.payment(got.ID)
	assert.Equal(t, core.PaymentFailed, after.Status)
	require.NotNil(t, after.Failure)
	assert.Equal(t, core.CodeNotFound, after.Failure.Code)
	var closes int
	for _, r := range w.sim.Requests() {
		if r.Path == "/api/pay/close" {
			closes++
		}
	}
	assert.Equal(t, 1, closes, "closed at the provider before giving up")
}

// TestPollerResubmitsALostRefund: a refund whose request never reached the
// provider is sent again under the same id, and succeeds.
func TestPollerResubmitsALostRefund(t *testing.T) {
	var lost atomic.Bool
	lost.Store(true)
	p := &twisted{Plugin: haotian.New(), refund: func(ctx context.Context, h pdk.Host, req *core.CreateRefundRequest) (*core.CreateRefundResponse, error) {
		if lost.CompareAndSwap(true, false) {
			return nil, &core.Error{Code: core.CodeUnknownOutcome, Message: "timeout; the request may or may not have arrived"}
		}
		return haotian.New().CreateRefund(ctx, h, req)
	}}
	w := newWorld(t, worldOpts{extra: withPlugin(p)})
	paid, err := w.create(host.CreatePaymentInput{IdempotencyKey: "rp", Amount: 500, Method: core.MethodWechatBarcode, Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	require.Equal(t, core.PaymentSucceeded, paid.Status)
	r, err := w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "rr", PaymentID: paid.ID, Amount: 200})
	require.NoError(t, err)
	assert.Equal(t, core.RefundProcessing, r.Status)
	assert.Equal(t, host.PendingUnknownOutcome, r.PendingReason)

	w.poll()
	got, err := w.host.GetRefund(context.Background(), "acme", r.ID)
	require.NoError(t, err)
	assert.Equal(t, core.RefundSucceeded, got.Status)
	assert.Equal(t, int64(200), w.payment(paid.ID).RefundedAmount)
}

// failingDecider fails every decision with an internal error.
type failingDecider struct{}

func (failingDecider) Decide(context.Context, core.Transaction) (core.Decision, error) {
	return core.Decision{}, core.Errorf(core.CodeInternal, "rules unavailable")
}

// TestTransientFailureReleasesTheKey: a request that failed before anything
// was stored does not pin its idempotency key to the failure.
func TestTransientFailureReleasesTheKey(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.host.SetDecider(failingDecider{})
	_, err := w.create(host.CreatePaymentInput{IdempotencyKey: "tr"})
	require.Equal(t, core.CodeInternal, core.CodeOf(err))

	w.host = w.newEngine(w.store) // a node with working rules
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "tr"})
	require.NoError(t, err, "the retry runs, it does not replay the failure")
	assert.Equal(t, core.PaymentProcessing, p.Status)
}

// TestInputTextIsChecked: strings a provider or a database would mangle
// are refused before anything is stored.
func TestInputTextIsChecked(t *testing.T) {
	w := newWorld(t, worldOpts{})
	tests := []struct {
		name  string
		in    host.CreatePaymentInput
		param string
	}{
		{"NUL in description", host.CreatePaymentInput{IdempotencyKey: "x1", Description: "a\x00b"}, "description"},
		{"invalid UTF-8 in order id", host.CreatePaymentInput{IdempotencyKey: "x2", MerchantOrderID: "o\xff"}, "merchant_order_id"},
		{"NUL in metadata value", host.CreatePaymentInput{IdempotencyKey: "x3", Metadata: map[string]string{"k": "\x00"}}, "metadata.k"},
		{"invalid UTF-8 in payer", host.CreatePaymentInput{IdempotencyKey: "x4", Payer: core.Payer{OpenID: "\xc3"}}, "payer.open_id"},
		{"NUL in idempotency key", host.CreatePaymentInput{IdempotencyKey: "x\x005"}, "Idempotency-Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.create(tt.in)
			ce := core.AsError(err)
			assert.Equal(t, core.CodeInvalidRequest, ce.Code, ce.Error())
			assert.Equal(t, tt.param, ce.Param)
		})
	}
	_, err := w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "rx", PaymentID: "pay_x", Amount: 1 << 60})
	assert.Equal(t, "amount", core.AsError(err).Param)
	assert.Zero(t, w.unifiedOrders())
}

// TestNotificationBodyNotStored: a notification's body may hold personal
// data or credentials; only its digest is kept.
func TestNotificationBodyNotStored(t *testing.T) {
	w := newWorld(t, worldOpts{})
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "nb"})
	require.NoError(t, err)
	require.NoError(t, w.sim.Pay(p.ProviderPaymentID))
	w.eventually(func() bool { return w.payment(p.ID).Status == core.PaymentSucceeded }, "the notification")
	ns := w.sim.Notifications()
	require.NotEmpty(t, ns)
	var stored *store.Notification
	w.eventually(func() bool {
		for _, ev := range []string{"payment:" + p.ProviderPaymentID + ":2"} {
			if n, err := w.store.GetNotification(context.Background(), "main", ev); err == nil {
				stored = n
				return true
			}
		}
		return false
	}, "the stored notification")
	assert.True(t, strings.HasPrefix(string(stored.Body), "sha256:"), "%s", stored.Body)
	assert.NotContains(t, string(stored.Body), p.ProviderPaymentID)
}
