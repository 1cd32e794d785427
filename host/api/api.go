// Package api is the JSON HTTP API of the payhost server: payments and
// refunds for tenants (Authorization: Bearer <API key>), provider
// notifications (verified by the plugins), the admin API for rules and
// plugins (a separate admin token), health and readiness, Prometheus
// metrics and the OpenAPI document (docs/openapi.json, served as is).
//
// Every error is an HTTP status and {"error": {...}}, the core.Error of the
// engine (code, message, param, provider fields). Request bodies are
// decoded strictly: exact field names, no unknown or repeated fields,
// integers that are integers. Each request is logged on one line with its
// request id; bodies and credentials never are.
//
// The package sees the engine through [Engine] (which *host.Host
// satisfies) and the rules through [RulesAdmin] (which cmd/payhost adapts
// from *rules.Holder): host never imports rules.
package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/docs"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/plugin"
)

// Engine is what the API needs of the engine; *host.Host implements it.
type Engine interface {
	MoneyEngine
	CreatePayment(ctx context.Context, in host.CreatePaymentInput) (*host.Payment, error)
	GetPayment(ctx context.Context, tenant, id string, opts ...host.GetOption) (*host.Payment, error)
	ClosePayment(ctx context.Context, tenant, id, idempotencyKey string) (*host.Payment, error)
	CreateRefund(ctx context.Context, in host.CreateRefundInput) (*host.Refund, error)
	GetRefund(ctx context.Context, tenant, id string, opts ...host.GetOption) (*host.Refund, error)
	CreateWebhookEndpoint(ctx context.Context, in host.CreateWebhookEndpointInput) (*host.WebhookEndpoint, error)
	ListWebhookEndpoints(ctx context.Context, tenant string) (*host.WebhookEndpointList, error)
	GetWebhookEndpoint(ctx context.Context, tenant, id string) (*host.WebhookEndpoint, error)
	DeleteWebhookEndpoint(ctx context.Context, tenant, id string) (*host.WebhookEndpoint, error)
	ListEvents(ctx context.Context, in host.ListEventsInput) (*host.EventList, error)
	GetEvent(ctx context.Context, tenant, id string) (*host.Event, error)
	ListEventDeliveries(ctx context.Context, tenant, eventID string) (*host.WebhookDeliveryList, error)
	CreateMerchant(ctx context.Context, in host.CreateMerchantInput) (*host.Merchant, error)
	GetMerchant(ctx context.Context, tenant, id string, opts ...host.GetOption) (*host.Merchant, error)
	UploadMerchantDocument(ctx context.Context, in host.UploadMerchantDocumentInput) (*host.Merchant, error)
	SubmitMerchant(ctx context.Context, in host.SubmitMerchantInput) (*host.Merchant, error)
	ActivateMerchantChannels(ctx context.Context, in host.ActivateMerchantChannelsInput) (*host.Merchant, error)
	RequestRealName(ctx context.Context, in host.RealNameInput) (*host.Merchant, error)
	ChangeSettlementAccount(ctx context.Context, in host.SettlementAccountInput) (*host.Merchant, error)
	HandleNotification(ctx context.Context, account string, req *core.ParseNotificationRequest) (core.Ack, error)
	Plugins() []host.PluginInfo
	PluginStats() map[string]plugin.Stats
	Ready(ctx context.Context) error
	Reconcile(ctx context.Context, in host.ReconcileInput) (*host.ReconcileReport, error)
	GetReconciliation(ctx context.Context, id string) (*host.ReconcileReport, error)
	ListReconciliations(ctx context.Context, account, date string, limit int) ([]*host.ReconcileReport, error)
}

var _ Engine = (*host.Host)(nil)

// Tenant is a client of the API with its resolved API keys.
type Tenant struct {
	Name       string
	APIKeys    []string // secrets: compared in constant time, never logged
	MerchantID string   // merchant_id the rules see (default: the tenant name)
	Tags       []string // merchant_tags the rules see
}

// Config configures the API.
type Config struct {
	Host       Engine
	Rules      RulesAdmin // nil: the /admin/rules endpoints answer 503
	Tenants    []Tenant
	AdminToken string       // empty disables the admin API (every call is 401)
	Logger     *slog.Logger // one line per request; nil discards
	// Metrics collects the request and provider-call metrics; it must be
	// the host's Observer to see provider calls. Nil makes a private one.
	Metrics *Metrics
	// MaxBodyBytes bounds a JSON request body; default 64 KiB.
	MaxBodyBytes int64
	// OpenAPI is the document served at /openapi.json; nil serves
	// docs/openapi.json.
	OpenAPI []byte
}

// Limits on request bodies.
const (
	DefaultMaxBodyBytes = 64 << 10
	// MaxRuleFileBytes bounds a rule file posted to /admin/rules.
	MaxRuleFileBytes = 8 << 20
	// readyTimeout bounds the readiness check.
	readyTimeout = 2 * time.Second
)

// Server is the API's http.Handler.
type Server struct {
	engine     Engine
	money      MoneyEngine // the engine again, as the split, payout, balance and terminal routes see it
	rules      RulesAdmin
	log        *slog.Logger
	metrics    *Metrics
	maxBody    int64
	openapi    []byte
	keys       []tenantKey
	adminHash  [32]byte
	adminOn    bool
	mux        *http.ServeMux
	routes     []route
	methodList []string

	metricsHandler http.Handler
}

type tenantKey struct {
	hash   [32]byte
	tenant *Tenant
}

// authKind says who may call a route.
type authKind int

const (
	authNone authKind = iota
	authTenant
	authAdmin
)

// handlerFunc serves a matched route; a returned error is written as the
// JSON error response. t is the caller's tenant on tenant routes.
type handlerFunc func(w http.ResponseWriter, r *http.Request, t *Tenant) error

type route struct {
	method, path string
	auth         authKind
	handle       handlerFunc
}

// Route is one route the API serves.
type Route struct {
	Method string // GET, POST or DELETE
	Path   string // ServeMux pattern path, e.g. /v1/payments/{id}
}

// New builds the API handler.
func New(cfg Config) (*Server, error) {
	if cfg.Host == nil {
		return nil, errors.New("api: an engine is required")
	}
	s := &Server{engine: cfg.Host, rules: cfg.Rules, log: cfg.Logger, metrics: cfg.Metrics, maxBody: cfg.MaxBodyBytes,
		openapi: cfg.OpenAPI, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.openapi == nil {
		s.openapi = docs.OpenAPI
	}
	if s.metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	if err := s.metrics.watch(s.engine, s.rules); err != nil {
		return nil, err
	}
	s.metricsHandler = promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	if cfg.AdminToken != "" {
		s.adminHash, s.adminOn = sha256.Sum256([]byte(cfg.AdminToken)), true
	}
	names := map[string]bool{}
	for i := range cfg.Tenants {
		t := cfg.Tenants[i]
		if t.Name == "" || names[t.Name] {
			return nil, fmt.Errorf("api: tenant %d: a unique name is required", i)
		}
		names[t.Name] = true
		if t.MerchantID == "" {
			t.MerchantID = t.Name
		}
		for _, k := range t.APIKeys {
			if k == "" {
				return nil, fmt.Errorf("api: tenant %s: empty API key", t.Name)
			}
			s.keys = append(s.keys, tenantKey{hash: sha256.Sum256([]byte(k)), tenant: &t})
		}
	}
	s.routes = []route{
		{"POST", "/v1/payments", authTenant, s.createPayment},
		{"GET", "/v1/payments/{id}", authTenant, s.getPayment},
		{"POST", "/v1/payments/{id}/close", authTenant, s.closePayment},
		{"POST", "/v1/payments/{id}/refunds", authTenant, s.createRefund},
		{"GET", "/v1/refunds/{id}", authTenant, s.getRefund},
		{"POST", "/v1/merchants", authTenant, s.createMerchant},
		{"GET", "/v1/merchants/{id}", authTenant, s.getMerchant},
		{"POST", "/v1/merchants/{id}/documents", authTenant, s.uploadMerchantDocument},
		{"POST", "/v1/merchants/{id}/submit", authTenant, s.submitMerchant},
		{"POST", "/v1/merchants/{id}/channels", authTenant, s.activateMerchantChannels},
		{"POST", "/v1/merchants/{id}/realname", authTenant, s.requestRealName},
		{"POST", "/v1/merchants/{id}/settlement_account", authTenant, s.changeSettlementAccount},
		{"POST", "/v1/webhook_endpoints", authTenant, s.createWebhookEndpoint},
		{"GET", "/v1/webhook_endpoints", authTenant, s.listWebhookEndpoints},
		{"GET", "/v1/webhook_endpoints/{id}", authTenant, s.getWebhookEndpoint},
		{"DELETE", "/v1/webhook_endpoints/{id}", authTenant, s.deleteWebhookEndpoint},
		{"GET", "/v1/events", authTenant, s.listEvents},
		{"GET", "/v1/events/{id}", authTenant, s.getEvent},
		{"GET", "/v1/events/{id}/deliveries", authTenant, s.listEventDeliveries},
		{"POST", "/v1/notify/{account}", authNone, s.notify},
		{"GET", "/admin/rules", authAdmin, s.getRules},
		{"POST", "/admin/rules", authAdmin, s.postRules},
		{"POST", "/admin/rules/rollback", authAdmin, s.rollbackRules},
		{"GET", "/admin/plugins", authAdmin, s.getPlugins},
		{"POST", "/admin/reconciliations", authAdmin, s.postReconciliation},
		{"GET", "/admin/reconciliations", authAdmin, s.listReconciliations},
		{"GET", "/admin/reconciliations/{id}", authAdmin, s.getReconciliation},
		{"GET", "/healthz", authNone, s.healthz},
		{"GET", "/readyz", authNone, s.readyz},
		{"GET", "/metrics", authNone, s.serveMetrics},
		{"GET", "/openapi.json", authNone, s.serveOpenAPI},
	}
	s.money = cfg.Host
	s.routes = append(s.routes,
		route{"POST", "/v1/split_receivers", authTenant, s.createReceiver},
		route{"GET", "/v1/split_receivers", authTenant, s.listReceivers},
		route{"GET", "/v1/split_receivers/{id}", authTenant, s.getReceiver},
		route{"POST", "/v1/payments/{id}/splits", authTenant, s.createSplit},
		route{"GET", "/v1/splits/{id}", authTenant, s.getSplit},
		route{"POST", "/v1/splits/{id}/returns", authTenant, s.createSplitReturn},
		route{"GET", "/v1/split_returns/{id}", authTenant, s.getSplitReturn},
		route{"POST", "/v1/payouts", authTenant, s.createPayout},
		route{"GET", "/v1/payouts/{id}", authTenant, s.getPayout},
		route{"GET", "/v1/balances", authTenant, s.getBalances},
		route{"POST", "/v1/terminals", authTenant, s.registerTerminal},
		route{"GET", "/v1/terminals", authTenant, s.listTerminals},
		route{"GET", "/v1/terminals/{id}", authTenant, s.getTerminal},
		route{"GET", "/v1/terminals/{id}/transactions", authTenant, s.terminalTransactions},
		route{"GET", "/v1/terminals/{id}/summary", authTenant, s.terminalSummary},
		route{"GET", "/admin/split_receivers", authAdmin, s.adminReceivers},
		route{"POST", "/admin/split_receivers/{id}/bind", authAdmin, s.bindReceiver},
	)
	seen := map[string]bool{}
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
		if !seen[rt.method] {
			seen[rt.method] = true
			s.methodList = append(s.methodList, rt.method)
		}
	}
	sort.Strings(s.methodList)
	s.mux.HandleFunc("/", s.unmatched)
	return s, nil
}

// Routes lists the routes the API serves.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, rt := range s.routes {
		out[i] = Route{Method: rt.method, Path: rt.path}
	}
	return out
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// reqState is what the middleware learns while a request is served.
type reqState struct {
	http.ResponseWriter
	status  int
	written bool
	route   string
	tenant  string
	errCode core.Code
	errMsg  string
}

func (w *reqState) WriteHeader(code int) {
	if !w.written {
		w.status, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *reqState) Write(b []byte) (int, error) {
	if !w.written {
		w.status, w.written = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *reqState) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// newRequestID returns 24 random hex digits.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ServeHTTP implements http.Handler: request id, logging, metrics, panic
// recovery around the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		id = newRequestID()
	}
	w.Header().Set("X-Request-Id", id)
	st := &reqState{ResponseWriter: w, route: "unmatched"}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // the sentinel is compared as net/http does
				panic(v)
			}
			s.log.Error("panic serving request", "request_id", id, "panic", fmt.Sprint(v))
			if !st.written {
				s.writeError(st, r, http.StatusInternalServerError, &core.Error{Code: core.CodeInternal,
					Message: "internal error; the server log has the details (request id " + id + ")"})
			}
		}
		s.finish(r, st, id, time.Since(start))
	}()
	s.mux.ServeHTTP(st, r)
}

func (s *Server) finish(r *http.Request, st *reqState, id string, d time.Duration) {
	if !st.written {
		st.status = http.StatusOK
	}
	s.metrics.request(r.Method, st.route, st.status, d)
	attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", st.route),
		slog.String("path", r.URL.Path), slog.Int("status", st.status), slog.Float64("duration_ms", float64(d.Microseconds())/1000)}
	if st.tenant != "" {
		attrs = append(attrs, slog.String("tenant", st.tenant))
	}
	if st.errCode != "" {
		attrs = append(attrs, slog.String("error_code", string(st.errCode)), slog.String("error", st.errMsg))
	}
	level := slog.LevelInfo
	if st.status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// wrap turns a route into an http.Handler: authentication, then the
// handler, then the error response.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, _ := w.(*reqState)
		if st != nil {
			st.route = rt.path
		}
		var t *Tenant
		switch rt.auth {
		case authTenant:
			var err *core.Error
			if t, err = s.tenantOf(r); err != nil {
				s.unauthorized(w, r, err)
				return
			}
			if st != nil {
				st.tenant = t.Name
			}
		case authAdmin:
			if err := s.checkAdmin(r); err != nil {
				s.unauthorized(w, r, err)
				return
			}
		}
		if err := rt.handle(w, r, t); err != nil {
			s.fail(w, r, err)
		}
	})
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// tenantOf finds the tenant of the request's API key, comparing against
// every key in constant time.
func (s *Server) tenantOf(r *http.Request) (*Tenant, *core.Error) {
	token, ok := bearer(r)
	if !ok {
		return nil, &core.Error{Code: core.CodeAuthFailed, Message: "an API key is required: send Authorization: Bearer <API key>"}
	}
	sum := sha256.Sum256([]byte(token))
	var found *Tenant
	for i := range s.keys {
		if subtle.ConstantTimeCompare(sum[:], s.keys[i].hash[:]) == 1 {
			found = s.keys[i].tenant
		}
	}
	if found == nil {
		return nil, &core.Error{Code: core.CodeAuthFailed, Message: "the API key is not valid"}
	}
	return found, nil
}

func (s *Server) checkAdmin(r *http.Request) *core.Error {
	token, ok := bearer(r)
	if !ok {
		return &core.Error{Code: core.CodeAuthFailed, Message: "the admin token is required: send Authorization: Bearer <admin token>"}
	}
	sum := sha256.Sum256([]byte(token))
	if !s.adminOn || subtle.ConstantTimeCompare(sum[:], s.adminHash[:]) != 1 {
		return &core.Error{Code: core.CodeAuthFailed, Message: "the admin token is not valid"}
	}
	return nil
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, e *core.Error) {
	challenge := `Bearer realm="payhost"`
	if _, given := bearer(r); given {
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	s.writeError(w, r, http.StatusUnauthorized, e)
}

// unmatched answers a request no route matched: 405 with Allow when the
// path exists for other methods, else 404.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range s.methodList {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, http.StatusMethodNotAllowed, &core.Error{Code: core.CodeInvalidRequest,
			Message: fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or "))})
		return
	}
	s.writeError(w, r, http.StatusNotFound, &core.Error{Code: core.CodeNotFound, Message: "no route " + r.Method + " " + r.URL.Path})
}
