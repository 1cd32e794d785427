package sim

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the simulated Adapay API. It is an http.Handler; every method is
// safe for concurrent use. Close stops its background work.
type Server struct {
	cfg       Config
	now       func() time.Time
	client    *http.Client
	schedule  []time.Duration
	key       *rsa.PrivateKey
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu         sync.Mutex
	closed     bool
	accounts   map[string]*account // by API key
	apps       map[string]*account // by app_id
	entries    map[string]*entry   // by request_id
	settles    map[string]*SettleChange
	residents  map[string]*resident
	modifies   map[string]*ResidentModify
	realnames  map[string]*realName
	pictures   map[string]*Picture
	payments   map[string]*payment
	payByOrder map[string]string // app_id + order_no → payment id
	refunds    map[string]*refund
	refByOrder map[string]string // app_id + refund_order_no → refund id
	confirms   map[string]*Confirm
	members    map[string]map[string]bool // API key → member ids
	notes      []*Notification
	requests   []RequestRecord
	faults     []Fault
	tasks      []task
	seq        map[string]int64
}

// account is a merchant the simulator accepts requests from.
type account struct {
	Merchant
	pub   *rsa.PublicKey
	agent string // API key of the agent that opened it; "" for configured accounts
	sub   *SubMerchant
}

type task struct {
	name string
	fn   func()
}

// New returns a Server for cfg. A merchant whose public key cannot be read
// is skipped (its requests are refused as unknown).
func New(cfg Config) *Server {
	s := &Server{
		cfg: cfg, now: cfg.Now, client: cfg.HTTPClient, schedule: cfg.NotifySchedule, key: cfg.Key,
		accounts: map[string]*account{}, apps: map[string]*account{}, entries: map[string]*entry{},
		settles: map[string]*SettleChange{}, residents: map[string]*resident{}, modifies: map[string]*ResidentModify{},
		realnames: map[string]*realName{}, pictures: map[string]*Picture{}, payments: map[string]*payment{},
		payByOrder: map[string]string{}, refunds: map[string]*refund{}, refByOrder: map[string]string{}, seq: map[string]int64{},
		confirms: map[string]*Confirm{}, members: map[string]map[string]bool{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.client == nil {
		s.client = &http.Client{}
	}
	if s.schedule == nil {
		s.schedule = DefaultNotifySchedule
	}
	if len(s.schedule) == 0 {
		s.schedule = []time.Duration{0}
	}
	if s.key == nil {
		s.key = SimulatorKey().Private
	}
	if s.cfg.NotifyTimeout <= 0 {
		s.cfg.NotifyTimeout = defaultNotifyTimeout
	}
	if s.cfg.RequestLogSize <= 0 {
		s.cfg.RequestLogSize = defaultRequestLog
	}
	if s.cfg.MaxUpload <= 0 {
		s.cfg.MaxUpload = defaultMaxUpload
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, m := range cfg.Merchants {
		_ = s.AddMerchant(m)
	}
	return s
}

// AddMerchant adds an account the simulator accepts requests from.
func (s *Server) AddMerchant(m Merchant) error {
	pub, err := ParsePublicKey(m.PublicKey)
	if err != nil {
		return fmt.Errorf("merchant %s: %w", m.APIKey, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &account{Merchant: m, pub: pub}
	s.accounts[m.APIKey] = a
	if m.AppID != "" {
		s.apps[m.AppID] = a
	}
	return nil
}

// PublicKeyBase64 is the simulator's public key (Adapay's public key), base64
// of its PKIX DER: the plugin's adapay_public.
func (s *Server) PublicKeyBase64() string { return KeyPair{Private: s.key}.PublicKeyBase64() }

// Close stops notification delivery and every pending timer, and releases
// requests held by a timeout. It waits for background goroutines.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
	})
}

// goLocked runs fn in a background goroutine tracked by Close; it must be
// called with s.mu held and does nothing after Close.
func (s *Server) goLocked(fn func()) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// afterLocked runs fn with s.mu held once d has passed (at once, but after
// the current request, for d ≤ 0), unless the server is closed first.
func (s *Server) afterLocked(d time.Duration, fn func()) {
	s.goLocked(func() {
		if d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.closed {
			fn()
		}
	})
}

// stepLocked schedules an onboarding step: held for Advance with
// Config.Manual, else run after d.
func (s *Server) stepLocked(name string, d time.Duration, fn func()) {
	if s.cfg.Manual {
		s.tasks = append(s.tasks, task{name: name, fn: fn})
		return
	}
	s.afterLocked(d, fn)
}

// Advance runs every onboarding step waiting in Manual mode (entries
// complete, audits end, channels register, each real-name application moves
// one step, card changes complete) and returns how many ran. Steps that
// these schedule wait for the next Advance.
func (s *Server) Advance() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.tasks
	s.tasks = nil
	for _, t := range run {
		t.fn()
	}
	return len(run)
}

// Pending lists the names of the steps waiting for Advance.
func (s *Server) Pending() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.tasks))
	for i, t := range s.tasks {
		out[i] = t.name
	}
	return out
}

// sleep waits d or until ctx or the server is done.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil && s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.ctx.Done():
		return false
	}
}

// newIDLocked makes an id: Adapay-looking (a fixed prefix and the time) or
// from Config.IDFunc.
func (s *Server) newIDLocked(prefix string) string {
	s.seq[prefix]++
	n := s.seq[prefix]
	if s.cfg.IDFunc != nil {
		return s.cfg.IDFunc(prefix, n)
	}
	switch prefix {
	case "api_live", "api_test":
		return fmt.Sprintf("%s_%08x-%04x-4%03x-a%03x-%012x", prefix, n*2654435761%0xffffffff, n%0xffff, n%0xfff, n%0xfff, n*40503)
	case "app":
		return fmt.Sprintf("app_%08x-%04x-4%03x-b%03x-%012x", n*2246822519%0xffffffff, n%0xffff, n%0xfff, n%0xfff, n*7919)
	}
	return fmt.Sprintf("%s%s%018d", prefix, s.now().Format("20060102"), n)
}

func (s *Server) prodMode() string { return "true" }

// apiError is an error answer: HTTP status, error_code, error_msg,
// error_type and invalid_param.
type apiError struct {
	status int
	code   string
	msg    string
	typ    string
	param  string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

// Error codes and types of the simulator (README: "Errors").
const (
	typeInvalidRequest = "invalid_request_error"
	typeAPI            = "api_error"
	typeChannel        = "channel_error"

	codeParam          = "request_param_error"
	codeSecurity       = "security_exception"
	codeSystem         = "system_exception"
	codeRequestRepeat  = "request_id_repeat"
	codeOrderRepeat    = "order_no_repeat"
	codeNotExist       = "record_not_exist"
	codeSubKeyNotExist = "sub_api_key_not_exist"
	codeAppNotExist    = "app_id_not_exist"
	codePicNotExist    = "pic_id_not_exist"
	codeStatus         = "status_error"
	codeRefundOver     = "refund_amt_over"
	codeChannel        = "pay_channel_not_support"
	codeDeclined       = "channel_declined"
	codeModify         = "modify_err"
)

func paramErr(param, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeParam, msg: msg, typ: typeInvalidRequest, param: param}
}

func reqErr(code, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: msg, typ: typeInvalidRequest}
}

// obj is a response data object; encoding/json writes its keys sorted.
type obj = map[string]any

// call is one authenticated API request.
type call struct {
	method string
	path   string
	params map[string]string          // top-level values as signed strings
	raw    map[string]json.RawMessage // top-level values as JSON (POST JSON)
	file   []byte
	fname  string
	multi  bool // a multipart request
	acct   *account
	r      *http.Request
	hangup bool
}

func (c *call) get(k string) string { return c.params[k] }

type handler func(s *Server, c *call) (obj, error)

// route finds the handler of method and path; id is the {id} of
// /v1/payments/{id}[/close|/refunds].
func route(method, path string) (h handler, id string, known bool) {
	static := map[string]map[string]handler{
		"/v1/batchEntrys/userEntry":         {"POST": handleEntryCreate, "GET": handleEntryQuery},
		"/v1/batchEntrys/application":       {"POST": handleAppCreate, "GET": handleAppList},
		"/v1/merchant/modify":               {"POST": handleSettleModify},
		"/v1/batchInput/merConf":            {"POST": handleResidentCreate, "GET": handleResidentQuery},
		"/v1/batchInput/merResidentModify":  {"POST": handleResidentModify},
		"/v1/merProfile/merProfilePicture":  {"POST": handlePictureUpload},
		"/v1/merProfile/merProfileForAudit": {"POST": handleAuditSubmit},
		"/v1/merProfile/merProfile":         {"GET": handleAuditQuery},
		RealNamePath:                        {"POST": handleRealNameApply, "GET": handleRealNameQuery},
		"/v1/payments":                      {"POST": handlePaymentCreate},
		"/v1/payments/confirm":              {"POST": handlePaymentConfirm},
		"/v1/payments/list":                 {"GET": handlePaymentList},
		"/v1/payments/refunds":              {"GET": handleRefundQuery},
	}
	if m, ok := static[path]; ok {
		return m[method], "", true
	}
	rest, ok := strings.CutPrefix(path, "/v1/payments/")
	if !ok || rest == "" {
		return nil, "", false
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 1:
		if method == http.MethodGet {
			return handlePaymentQuery, parts[0], true
		}
		return nil, parts[0], true
	case len(parts) == 2 && parts[1] == "close":
		if method == http.MethodPost {
			return handlePaymentClose, parts[0], true
		}
		return nil, parts[0], true
	case len(parts) == 2 && parts[1] == "refunds":
		if method == http.MethodPost {
			return handleRefundCreate, parts[0], true
		}
		return nil, parts[0], true
	}
	return nil, "", false
}

// RealNamePath is the path of 实名认证申请 (POST) and 实名认证查询 (GET); the
// seed names no path (README: assumptions).
const RealNamePath = "/v1/merchant/realname"

// maxBody bounds a request body: a picture and its form fields.
const maxBodyExtra = 1 << 20

// ServeHTTP implements http.Handler: the API under /v1/, the simulated
// payer behind pay links (GET /sim/pay/{payment id}), the simulated
// merchant contact scanning a real-name QR code (GET
// /sim/realname/{request_id}/{W|A}) and the simulator's payments and
// refunds (GET /sim/state, State).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/sim/state":
		s.serveState(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/sim/pay/"):
		s.servePayer(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/sim/realname/"):
		s.serveRealNameScan(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/sim/contract/"):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><meta charset=utf-8><title>电子合同</title><p>Adapay 模拟合同</p>")
		return
	}
	rec := RequestRecord{Time: s.now(), Method: r.Method, Path: r.URL.Path, APIKey: r.Header.Get("Authorization")}
	defer func() { s.logRequest(rec) }()
	h, id, known := route(r.Method, r.URL.Path)
	if !known {
		rec.HTTPStatus = http.StatusNotFound
		http.NotFound(w, r)
		return
	}
	if h == nil {
		rec.HTTPStatus = http.StatusMethodNotAllowed
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	c := &call{method: r.Method, path: r.URL.Path, r: r}
	body, perr := s.readParams(r, c)
	if id != "" {
		c.params["payment_id_path"] = id
	}
	rec.Params = maps.Clone(c.params)
	delete(rec.Params, "payment_id_path")

	s.mu.Lock()
	latency, hasLatency := s.takeFaultLocked(FaultLatency, r.URL.Path)
	before, hasBefore := s.takeFaultLocked(FaultHTTP5xxBefore, r.URL.Path)
	s.mu.Unlock()
	if hasLatency {
		rec.Faults = append(rec.Faults, FaultLatency.String())
		if !s.sleep(r.Context(), latency.Latency) {
			return
		}
	}
	if hasBefore {
		rec.Faults = append(rec.Faults, FaultHTTP5xxBefore.String())
		rec.HTTPStatus = before.StatusOr(http.StatusServiceUnavailable)
		http.Error(w, http.StatusText(rec.HTTPStatus), rec.HTTPStatus)
		return
	}

	s.mu.Lock()
	var data obj
	var err error
	if perr != nil {
		err = perr
	} else if err = s.authenticateLocked(c, body); err == nil {
		data, err = h(s, c)
	}
	after, hasAfter := s.takeFaultLocked(FaultHTTP5xxAfter, r.URL.Path)
	_, hasTimeout := s.takeFaultLocked(FaultTimeoutAfterProcessing, r.URL.Path)
	_, hasBadSign := s.takeFaultLocked(FaultBadSign, r.URL.Path)
	_, hasMalformed := s.takeFaultLocked(FaultMalformed, r.URL.Path)
	s.mu.Unlock()

	status := http.StatusOK
	signed := true
	if err != nil {
		ae := &apiError{}
		if !errors.As(err, &ae) {
			ae = &apiError{status: http.StatusInternalServerError, code: codeSystem, msg: "系统异常", typ: typeAPI}
		}
		status = ae.status
		signed = ae.code != codeSecurity
		data = obj{"status": "failed", "error_code": ae.code, "error_msg": ae.msg, "error_type": ae.typ, "prod_mode": s.prodMode()}
		if ae.param != "" {
			data["invalid_param"] = ae.param
		}
		rec.ErrorCode = ae.code
	}
	if hasTimeout || c.hangup {
		if hasTimeout {
			rec.Faults = append(rec.Faults, FaultTimeoutAfterProcessing.String())
		}
		s.hangUp(w, r)
		return
	}
	if hasAfter {
		rec.Faults = append(rec.Faults, FaultHTTP5xxAfter.String())
		rec.HTTPStatus = after.StatusOr(http.StatusBadGateway)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(rec.HTTPStatus)
		_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		return
	}
	dataText := marshal(data)
	env := struct {
		Data      string `json:"data"`
		Signature string `json:"signature,omitempty"`
	}{Data: dataText}
	if signed {
		env.Signature = Sign(s.key, dataText)
		if hasBadSign {
			rec.Faults = append(rec.Faults, FaultBadSign.String())
			env.Signature = Sign(s.key, dataText+" ")
		}
	}
	out := []byte(marshal(env))
	if hasMalformed {
		rec.Faults = append(rec.Faults, FaultMalformed.String())
		out = out[:len(out)/2]
	}
	rec.HTTPStatus = status
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// readParams fills c.params (and c.raw, c.file) from the query (GET), a JSON
// body or a multipart form (POST), and returns the raw body.
func (s *Server) readParams(r *http.Request, c *call) ([]byte, error) {
	c.params = map[string]string{}
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, paramErr("query", "查询参数格式错误")
		}
		for k, v := range q {
			c.params[k] = v[0]
		}
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxUpload+maxBodyExtra+1))
	if err != nil {
		return nil, paramErr("body", "请求体读取失败")
	}
	if int64(len(body)) > s.cfg.MaxUpload+maxBodyExtra {
		return nil, paramErr("file", "文件大小超过2M")
	}
	mt, mp, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		c.multi = true
		if err := readMultipart(body, mp["boundary"], c); err != nil {
			return body, paramErr("file", "表单格式错误")
		}
		return body, nil
	}
	if err := json.Unmarshal(body, &c.raw); err != nil || c.raw == nil {
		return body, paramErr("body", "请求体不是 JSON 对象")
	}
	for k, v := range c.raw {
		var str string
		if json.Unmarshal(v, &str) == nil {
			c.params[k] = str
			continue
		}
		var b bytes.Buffer
		if json.Compact(&b, v) == nil && b.String() != "null" {
			c.params[k] = b.String()
		}
	}
	return body, nil
}

// publicBase is the base URL clients reach the simulator at.
func (s *Server) publicBase(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r != nil && r.TLS != nil {
		scheme = "https"
	}
	host := "localhost"
	if r != nil && r.Host != "" {
		host = r.Host
	}
	return scheme + "://" + host
}

// SignedText returns what a request's Signature covers: the full URL
// (without query) followed by the raw JSON body of a POST, or by the sorted
// "k=v&k=v" of a GET's query or a multipart request's non-file fields.
func SignedText(fullURL, method string, body []byte, plain map[string]string, multipart bool) string {
	if method == http.MethodPost && !multipart {
		return fullURL + string(body)
	}
	return fullURL + PlainText(plain)
}

// authenticateLocked checks the API key and the request's signature.
func (s *Server) authenticateLocked(c *call, body []byte) error {
	deny := func(msg string) error {
		return &apiError{status: http.StatusUnauthorized, code: codeSecurity, msg: msg, typ: typeInvalidRequest}
	}
	key := c.r.Header.Get("Authorization")
	if key == "" {
		return deny("Authorization 不能为空")
	}
	a := s.accounts[key]
	if a == nil {
		return deny("API Key 不存在或已失效")
	}
	sig := c.r.Header.Get("Signature")
	if sig == "" {
		return deny("Signature 不能为空")
	}
	text := SignedText(s.publicBase(c.r)+c.r.URL.Path, c.method, body, withoutPathID(c.params), c.multi)
	if !Verify(a.pub, text, sig) {
		return deny("签名验证失败")
	}
	c.acct = a
	return nil
}

func withoutPathID(p map[string]string) map[string]string {
	if _, ok := p["payment_id_path"]; !ok {
		return p
	}
	out := maps.Clone(p)
	delete(out, "payment_id_path")
	return out
}

// marshal encodes v as compact JSON without HTML escaping.
func marshal(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "{}"
	}
	return strings.TrimRight(b.String(), "\n")
}

// hangUp drops the connection without a response; when the writer cannot be
// hijacked it holds the request until the client or the server gives up.
func (s *Server) hangUp(w http.ResponseWriter, r *http.Request) {
	if hj, ok := w.(http.Hijacker); ok {
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
			return
		}
	}
	select {
	case <-r.Context().Done():
	case <-s.ctx.Done():
	}
}

// RequestRecord is one request as the simulator saw it.
type RequestRecord struct {
	Time       time.Time
	Method     string
	Path       string
	APIKey     string
	Params     map[string]string // query, JSON (nested values as compact JSON) or form fields
	HTTPStatus int               // 0 when no answer was sent
	ErrorCode  string            // error_code of an error answer
	Faults     []string          // fault switches applied
}

func (s *Server) logRequest(rec RequestRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	if over := len(s.requests) - s.cfg.RequestLogSize; over > 0 {
		s.requests = slices.Delete(s.requests, 0, over)
	}
}

// Requests returns the request log, oldest first.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RequestRecord, len(s.requests))
	for i, r := range s.requests {
		r.Params = maps.Clone(r.Params)
		r.Faults = slices.Clone(r.Faults)
		out[i] = r
	}
	return out
}
