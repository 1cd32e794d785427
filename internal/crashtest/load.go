package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Magic amounts of the simulators (docs/sandbox.md).
const (
	MagicDeclined = 66601 // the channel declines it
	MagicPending  = 66602 // never paid, a refund never settles
	MagicLost     = 66603 // processed, but the answer is lost
)

// Kinds of request.
const (
	KindPayment = "payment"
	KindRefund  = "refund"
)

// Request is one request of the load with what became of it. A request is
// acknowledged when it got a definite answer: 2xx, or a 4xx other than 409
// in_progress and 429.
type Request struct {
	Kind      string
	Key       string // its Idempotency-Key
	Method    string // payment method (payments)
	PaymentID string // the payment refunded (refunds)
	Amount    int64

	Started  time.Time
	Answered time.Time // zero: never acknowledged
	Attempts int
	// ConnErrors, ServerErrors and InProgress count the attempts that ended
	// in a connection error (the server was down or killed mid-request), a
	// 5xx or 429, or a 409 in_progress.
	ConnErrors, ServerErrors, InProgress int
	// FirstInterrupted is when the first attempt that got no definite
	// answer ended (zero if none); FirstInProgress when the first 409
	// in_progress came (the key was held, e.g. by a request a killed
	// server never finished).
	FirstInterrupted, FirstInProgress time.Time

	Status  int    // HTTP status of the definite answer
	Body    string // its body
	ID      string // the resource id of a 2xx answer
	State   string // its status field
	Failure string // its failure.code (a failed payment or refund)
	ErrCode string // error.code of a 4xx answer
}

// Acknowledged reports whether the request got a definite answer.
func (r *Request) Acknowledged() bool { return !r.Answered.IsZero() }

// OK reports whether the definite answer was a 2xx.
func (r *Request) OK() bool { return r.Acknowledged() && r.Status >= 200 && r.Status < 300 }

// LoadConfig configures a Load.
type LoadConfig struct {
	URL    string // the API's base URL, e.g. http://127.0.0.1:8080
	APIKey string // a tenant's API key
	// Workers is how many scenarios run at once (default 8). A scenario
	// whose request has been retried for a while (the server is down, or
	// its key is held) goes on retrying in the background and leaves its
	// place to a new one, so the load keeps its pace across kills.
	Workers int
	Seed    uint64 // the scenarios' random choices
	// RetryFor bounds how long one request is retried with its key before
	// the client gives up (default 3 minutes): longer than the server's
	// idempotency lease, so that a key a killed server held is answered.
	RetryFor time.Duration
	// AttemptTimeout bounds one HTTP attempt (default 30s).
	AttemptTimeout time.Duration
}

// Load is a retrying client load of payments and refunds.
type Load struct {
	cfg    LoadConfig
	client *http.Client

	mu   sync.Mutex
	reqs []*Request
	seq  int
}

// NewLoad returns a Load for cfg.
func NewLoad(cfg LoadConfig) *Load {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = 3 * time.Minute
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Workers
	return &Load{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.AttemptTimeout}}
}

// Requests returns every request, in the order they started; read their
// fields once Run has returned.
func (l *Load) Requests() []*Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Request(nil), l.reqs...)
}

// detachAfter is how long a request is retried before its scenario leaves
// its place to a new one.
const detachAfter = 2 * time.Second

// slot is a scenario's place among the Workers running at once.
type slot struct {
	once    sync.Once
	release func()
}

func (s *slot) leave() { s.once.Do(s.release) }

// Run starts scenarios, Workers at a time, until stop is closed, then
// waits for every scenario to finish (each request is retried until its
// definite answer, bounded by RetryFor). Cancelling ctx gives up at once.
func (l *Load) Run(ctx context.Context, stop <-chan struct{}) {
	places := make(chan struct{}, l.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := uint64(1); ; i++ {
		select {
		case places <- struct{}{}:
		case <-stop:
			return
		case <-ctx.Done():
			return
		}
		select {
		case <-stop:
			return
		default:
		}
		rng := rand.New(rand.NewPCG(l.cfg.Seed, i))
		s := &slot{release: func() { <-places }}
		wg.Go(func() {
			defer s.leave()
			l.scenario(ctx, rng, stop, s)
		})
	}
}

// scenario is one worker's step: a payment of a random kind, and for a
// barcode payment that succeeded at once, one or two refunds.
func (l *Load) scenario(ctx context.Context, rng *rand.Rand, stop <-chan struct{}, s *slot) {
	const wxCode, aliCode = "134567890123456789", "281234567890123456"
	x := rng.IntN(100)
	switch {
	case x < 45: // a barcode payment, paid at once, then refunds
		amount := 1 + rng.Int64N(60_000)
		if rng.IntN(2) == 0 {
			amount = 100_000 + rng.Int64N(200_000) // leaves room for a refund of a magic amount
		}
		method, code := "wechat.barcode", wxCode
		if rng.IntN(3) == 0 {
			method, code = "alipay.barcode", aliCode
		}
		p := l.pay(ctx, s, amount, method, code)
		if p.OK() && p.State == "succeeded" {
			l.refunds(ctx, rng, p, stop, s)
		}
	case x < 70: // a QR code the simulated payer pays a second later
		l.pay(ctx, s, 1+rng.Int64N(100_000), "wechat.native", "")
	case x < 80: // Alipay QR, routed to Adapay
		l.pay(ctx, s, 1+rng.Int64N(100_000), "alipay.qr", "")
	default: // a magic amount: declined, never paid, or its answer lost
		amount := []int64{MagicDeclined, MagicPending, MagicLost}[rng.IntN(3)]
		switch rng.IntN(3) {
		case 0:
			l.pay(ctx, s, amount, "wechat.native", "")
		case 1:
			l.pay(ctx, s, amount, "wechat.barcode", wxCode)
		default:
			l.pay(ctx, s, amount, "alipay.qr", "")
		}
	}
}

// refunds refunds part of a succeeded payment once or twice, each after the
// one before has settled (the provider refuses a refund while another is
// in flight).
func (l *Load) refunds(ctx context.Context, rng *rand.Rand, p *Request, stop <-chan struct{}, s *slot) {
	left := p.Amount
	for i, n := 0, 1+rng.IntN(2); i < n && left > 0; i++ {
		if i > 0 {
			select {
			case <-stop:
				return
			default:
			}
		}
		amount := 1 + rng.Int64N(left/2+1)
		switch x := rng.IntN(100); {
		case x < 12 && left >= MagicLost:
			amount = []int64{MagicDeclined, MagicLost}[rng.IntN(2)]
		case x < 15 && left >= MagicPending:
			amount = MagicPending
		}
		r := l.refund(ctx, s, p.ID, amount)
		if !r.OK() {
			return
		}
		if r.State != "failed" {
			left -= amount
		}
		if amount == MagicPending {
			return // it never settles: the provider would refuse the next
		}
		if !l.awaitRefund(ctx, r.ID) {
			return
		}
	}
}

func (l *Load) newRequest(kind string) *Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	r := &Request{Kind: kind, Key: fmt.Sprintf("%s-%06d", kind, l.seq), Started: time.Now()}
	l.reqs = append(l.reqs, r)
	return r
}

type payer struct {
	AuthCode string `json:"auth_code,omitempty"`
}

func (l *Load) pay(ctx context.Context, s *slot, amount int64, method, authCode string) *Request {
	r := l.newRequest(KindPayment)
	r.Method, r.Amount = method, amount
	body := map[string]any{"amount": amount, "currency": "CNY", "method": method, "description": "crash test " + r.Key}
	if authCode != "" {
		body["payer"] = payer{AuthCode: authCode}
	}
	l.send(ctx, s, r, "/v1/payments", body)
	return r
}

func (l *Load) refund(ctx context.Context, s *slot, paymentID string, amount int64) *Request {
	r := l.newRequest(KindRefund)
	r.PaymentID, r.Amount = paymentID, amount
	l.send(ctx, s, r, "/v1/payments/"+paymentID+"/refunds", map[string]any{"amount": amount, "reason": "crash test " + r.Key})
	return r
}

// answer is what one attempt got.
type answer struct {
	status  int
	body    []byte
	errCode string
	retryIn time.Duration // Retry-After
}

// send posts body with r's key until a definite answer or RetryFor.
func (l *Load) send(ctx context.Context, s *slot, r *Request, path string, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		panic("crashtest: encode request: " + err.Error())
	}
	deadline := r.Started.Add(l.cfg.RetryFor)
	wait := 50 * time.Millisecond
	for {
		r.Attempts++
		a, err := l.post(ctx, path, r.Key, b)
		now := time.Now()
		switch {
		case err != nil:
			r.ConnErrors++
		case a.status >= 500 || a.status == http.StatusTooManyRequests:
			r.ServerErrors++
		case a.status == http.StatusConflict && a.errCode == "in_progress":
			r.InProgress++
			if r.FirstInProgress.IsZero() {
				r.FirstInProgress = now
			}
		default:
			l.record(r, a, now)
			return
		}
		if r.FirstInterrupted.IsZero() {
			r.FirstInterrupted = now
		}
		if ctx.Err() != nil || now.After(deadline) {
			return
		}
		if now.Sub(r.FirstInterrupted) >= detachAfter {
			s.leave()
		}
		d := wait
		if a.retryIn > 0 {
			d = min(a.retryIn, 2*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		wait = min(wait*2, time.Second)
	}
}

func (*Load) record(r *Request, a answer, at time.Time) {
	var v struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Failure struct {
			Code string `json:"code"`
		} `json:"failure"`
	}
	_ = json.Unmarshal(a.body, &v)
	r.Answered, r.Status, r.Body, r.ErrCode = at, a.status, string(a.body), a.errCode
	if a.status >= 200 && a.status < 300 {
		r.ID, r.State, r.Failure = v.ID, v.Status, v.Failure.Code
	}
}

// post is one attempt.
func (l *Load) post(ctx context.Context, path, key string, body []byte) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.cfg.URL+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+l.cfg.APIKey)
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := l.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return answer{}, err // cut mid-answer: no answer
	}
	a := answer{status: res.StatusCode, body: b}
	if res.StatusCode >= 400 {
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		a.errCode = e.Error.Code
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
		a.retryIn = time.Duration(s) * time.Second
	}
	return a, nil
}

// awaitRefund waits until the refund is no longer processing, bounded:
// false means it did not settle in time (or the server kept failing).
func (l *Load) awaitRefund(ctx context.Context, id string) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, err := l.getStatus(ctx, "/v1/refunds/"+id)
		if err == nil && st != "processing" && st != "created" {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
	return false
}

func (l *Load) getStatus(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.cfg.URL+path, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+l.cfg.APIKey)
	res, err := l.client.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return "", errors.New(res.Status)
	}
	var v struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&v); err != nil {
		return "", err
	}
	return v.Status, nil
}
