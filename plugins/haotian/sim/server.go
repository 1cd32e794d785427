package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the simulated Haotian gateway. It is an http.Handler; every
// method is safe for concurrent use. Close stops its background work.
type Server struct {
	cfg       Config
	now       func() time.Time
	client    *http.Client
	schedule  []time.Duration
	feePPM    int64
	window    time.Duration
	location  *time.Location
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu            sync.Mutex
	closed        bool
	merchants     map[string]*merchant // by mchNo
	apps          map[string]*merchant // by appId
	groups        map[int64]*ReceiverGroup
	receivers     map[int64]*Receiver
	orders        map[string]*payOrder
	orderByMch    map[string]string
	refunds       map[string]*refundOrder
	refundByMch   map[string]string
	transfers     map[string]*TransferOrder
	transferByMch map[string]string
	batches       map[string]*DivisionBatch
	devices       map[string]*Device
	notes         []*Notification
	requests      []RequestRecord
	faults        []Fault
	mismatches    []BillMismatch // bill mismatch switches (bill.go)
	seq           map[string]int64
	nextReceiver  int64
	nextRecord    int64
	nextNote      int64
}

type merchant struct {
	Merchant
	ifCodes map[string]bool
	devices map[string]bool
	balance int64
}

type payOrder struct {
	PayOrder
	magic int64
}

type refundOrder struct {
	RefundOrder
	magic int64
}

// New returns a Server for cfg. Invalid entries of cfg (a receiver whose
// merchant or group is unknown) are skipped.
func New(cfg Config) *Server {
	s := &Server{
		cfg:           cfg,
		now:           cfg.Now,
		client:        cfg.HTTPClient,
		schedule:      cfg.NotifySchedule,
		feePPM:        cfg.FeeRatePPM,
		window:        cfg.ReqTimeWindow,
		location:      cfg.Location,
		merchants:     map[string]*merchant{},
		apps:          map[string]*merchant{},
		groups:        map[int64]*ReceiverGroup{},
		receivers:     map[int64]*Receiver{},
		orders:        map[string]*payOrder{},
		orderByMch:    map[string]string{},
		refunds:       map[string]*refundOrder{},
		refundByMch:   map[string]string{},
		transfers:     map[string]*TransferOrder{},
		transferByMch: map[string]string{},
		batches:       map[string]*DivisionBatch{},
		devices:       map[string]*Device{},
		seq:           map[string]int64{},
		nextReceiver:  cfg.ReceiverIDStart,
		nextRecord:    cfg.RecordIDStart,
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
	switch {
	case s.feePPM == 0:
		s.feePPM = defaultFeeRatePPM
	case s.feePPM < 0:
		s.feePPM = 0
	}
	if s.window == 0 {
		s.window = defaultReqTimeWindow
	}
	if s.location == nil {
		s.location = time.FixedZone("CST", 8*3600)
	}
	if s.nextReceiver == 0 {
		s.nextReceiver = defaultReceiverStart
	}
	if s.nextRecord == 0 {
		s.nextRecord = defaultRecordStart
	}
	if s.cfg.NotifyTimeout <= 0 {
		s.cfg.NotifyTimeout = defaultNotifyTimeout
	}
	if s.cfg.OrderExpiry <= 0 {
		s.cfg.OrderExpiry = defaultOrderExpiry
	}
	if s.cfg.RequestLogSize <= 0 {
		s.cfg.RequestLogSize = defaultRequestLog
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, m := range cfg.Merchants {
		mm := &merchant{Merchant: m, ifCodes: map[string]bool{}, devices: map[string]bool{}, balance: m.OpeningBalance}
		codes := m.IfCodes
		if len(codes) == 0 {
			codes = []string{ifWxpay, ifAlipay, ifYsfpay, ifPppay}
		}
		for _, c := range codes {
			mm.ifCodes[c] = true
		}
		for _, d := range m.Devices {
			mm.devices[d] = true
		}
		s.merchants[m.MchNo] = mm
		s.apps[m.AppID] = mm
	}
	for _, g := range cfg.Groups {
		s.groups[g.ID] = &g
	}
	for _, r := range cfg.Receivers {
		_, _ = s.AddReceiver(r)
	}
	return s
}

// Close stops notification delivery and every pending timer, and releases
// requests held by a timeout fault. It waits for background goroutines.
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

// afterLocked runs fn with s.mu held once d has passed, unless the server is
// closed first. A non-positive d runs fn at once, in the caller (which holds
// s.mu).
func (s *Server) afterLocked(d time.Duration, fn func()) {
	if d <= 0 {
		fn()
		return
	}
	s.goLocked(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.closed {
			fn()
		}
	})
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

func (s *Server) newIDLocked(prefix string) string {
	s.seq[prefix]++
	n := s.seq[prefix]
	if s.cfg.IDFunc != nil {
		return s.cfg.IDFunc(prefix, n)
	}
	return fmt.Sprintf("%s%019d", prefix, idBase+n)
}

// idBase makes the default ids look like the gateway's 19-digit ones.
const idBase = 1_700_000_000_000_000_000

func (s *Server) nowMs() int64 { return s.now().UnixMilli() }

// apiError is a non-zero envelope code with its msg.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return fmt.Sprintf("code %d: %s", e.code, e.msg) }

// Envelope codes.
const (
	codeOK      = 0
	codeSystem  = 10
	codeParams  = 11
	codeBizFail = 9999
)

func bizErr(msg string) *apiError { return &apiError{code: codeBizFail, msg: msg} }

func paramErr(detail string) *apiError {
	return &apiError{code: codeParams, msg: "参数有误[" + detail + "]"}
}

// call is one authenticated API request.
type call struct {
	path   string
	params map[string]string
	mch    *merchant
	r      *http.Request
	hangup bool
}

func (c *call) get(k string) string { return c.params[k] }

// required is a field that must be present, with the gateway's message.
type required struct{ name, msg string }

type route struct {
	required []required
	handle   func(s *Server, c *call) (fields, error)
}

var commonRequired = []required{
	{"version", "版本号不能为空"},
	{"signType", "签名类型不能为空"},
	{"sign", "签名值不能为空"},
	{"reqTime", "时间戳不能为空"},
	{"mchNo", "商户号不能为空"},
	{"appId", "商户应用ID不能为空"},
}

// envelope is the gateway's response; fastjson writes keys sorted. Data is
// nil (left out) for errors and a fields value, possibly empty ({}), for
// success.
type envelope struct {
	Code int    `json:"code"`
	Data any    `json:"data,omitempty"`
	Msg  string `json:"msg,omitempty"`
	Sign string `json:"sign,omitempty"`
}

// ServeHTTP implements http.Handler: the gateway's POST API under /api/,
// GET /sim/pay/{payOrderId}, the simulated payer behind every pay link, and
// GET /sim/state, the simulator's orders, refunds and transfers (State).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/sim/pay/") {
		s.servePayer(w, r)
		return
	}
	if r.URL.Path == "/sim/state" {
		s.serveState(w, r)
		return
	}
	rt, ok := routes[r.URL.Path]
	rec := RequestRecord{Time: s.now(), Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Code: -1}
	defer func() { s.logRequest(rec) }()
	if !ok {
		rec.HTTPStatus = http.StatusNotFound
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		rec.HTTPStatus = http.StatusMethodNotAllowed
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	var params map[string]string
	if err == nil && len(body) <= maxBody {
		params, err = parseParams(rec.ContentType, r.URL.RawQuery, body)
	} else if err == nil {
		err = fmt.Errorf("request body over %d bytes", maxBody)
	}
	if params != nil {
		rec.Params = params
	}

	s.mu.Lock()
	latency, hasLatency := s.takeFaultLocked(FaultLatency, r.URL.Path)
	before, hasBefore := s.takeFaultLocked(FaultHTTP5xxBefore, r.URL.Path)
	s.mu.Unlock()
	if hasLatency {
		rec.Faults = append(rec.Faults, FaultLatency.String())
		if !s.sleep(r.Context(), latency.Latency) {
			rec.HTTPStatus = 0
			return
		}
	}
	if hasBefore {
		rec.Faults = append(rec.Faults, FaultHTTP5xxBefore.String())
		rec.HTTPStatus = before.StatusOr(http.StatusServiceUnavailable)
		http.Error(w, http.StatusText(before.StatusOr(http.StatusServiceUnavailable)), before.StatusOr(http.StatusServiceUnavailable))
		return
	}

	var env envelope
	var hangup bool
	s.mu.Lock()
	if err != nil {
		env = envelope{Code: codeParams, Msg: "参数有误[" + err.Error() + "]"}
	} else {
		env, hangup = s.processLocked(rt, &call{path: r.URL.Path, params: params, r: r})
	}
	after, hasAfter := s.takeFaultLocked(FaultHTTP5xxAfter, r.URL.Path)
	_, hasTimeout := s.takeFaultLocked(FaultTimeoutAfterProcessing, r.URL.Path)
	_, hasBadSign := s.takeFaultLocked(FaultBadSign, r.URL.Path)
	_, hasMalformed := s.takeFaultLocked(FaultMalformed, r.URL.Path)
	s.mu.Unlock()
	rec.Code, rec.Msg = env.Code, env.Msg

	if hasTimeout {
		rec.Faults = append(rec.Faults, FaultTimeoutAfterProcessing.String())
		hangup = true
	}
	if hangup {
		rec.HTTPStatus = 0
		rec.Code = -1
		s.hangUp(w, r)
		return
	}
	if hasAfter {
		rec.Faults = append(rec.Faults, FaultHTTP5xxAfter.String())
		rec.HTTPStatus = after.StatusOr(http.StatusServiceUnavailable)
		rec.Code = -1
		http.Error(w, http.StatusText(after.StatusOr(http.StatusServiceUnavailable)), after.StatusOr(http.StatusServiceUnavailable))
		return
	}
	if hasBadSign {
		rec.Faults = append(rec.Faults, FaultBadSign.String())
		env.Sign = badSign(env)
	}
	out, merr := json.Marshal(env)
	if merr != nil {
		rec.HTTPStatus = http.StatusInternalServerError
		rec.Code = -1
		http.Error(w, "encode response: "+merr.Error(), http.StatusInternalServerError)
		return
	}
	if hasMalformed {
		rec.Faults = append(rec.Faults, FaultMalformed.String())
		out = out[:len(out)/2]
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	rec.HTTPStatus = http.StatusOK
	_, _ = w.Write(out)
}

// badSign returns a sign that does not match env's data: the signature made
// with a wrong secret, or an arbitrary one when the envelope has no data.
func badSign(env envelope) string {
	data, ok := env.Data.(fields)
	if !ok {
		return "00000000000000000000000000000000"
	}
	return Sign(data.strings(), "wrong-secret")
}

// hangUp drops the connection without a response. When the writer cannot be
// hijacked (an httptest.ResponseRecorder, HTTP/2), it holds the request
// until the client gives up or the server closes, and writes nothing.
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

// processLocked validates, authenticates and runs one API call.
func (s *Server) processLocked(rt route, c *call) (envelope, bool) {
	data, err := s.runLocked(rt, c)
	if err != nil {
		if ae := (*apiError)(nil); errors.As(err, &ae) {
			return envelope{Code: ae.code, Msg: ae.msg}, c.hangup
		}
		return envelope{Code: codeSystem, Msg: "系统异常[" + err.Error() + "]"}, c.hangup
	}
	if data == nil {
		data = fields{}
	}
	return envelope{Code: codeOK, Msg: "SUCCESS", Data: data, Sign: Sign(data.strings(), c.mch.Secret)}, c.hangup
}

func (s *Server) runLocked(rt route, c *call) (fields, error) {
	for _, req := range commonRequired {
		if strings.TrimSpace(c.get(req.name)) == "" {
			return nil, bizErr(req.msg)
		}
	}
	for _, req := range rt.required {
		if strings.TrimSpace(c.get(req.name)) == "" {
			return nil, bizErr(req.msg)
		}
	}
	if err := s.authenticateLocked(c); err != nil {
		return nil, err
	}
	return rt.handle(s, c)
}

// authenticateLocked checks the version, the merchant application, the
// signature and the freshness of reqTime.
func (s *Server) authenticateLocked(c *call) error {
	if v := c.get("version"); v != "1.0" {
		return bizErr("接口版本号有误[" + v + "], 固定为1.0")
	}
	if st := c.get("signType"); !strings.EqualFold(st, "MD5") {
		return bizErr("不支持的签名类型[" + st + "], 目前仅支持MD5")
	}
	mchNo, appID := c.get("mchNo"), c.get("appId")
	m := s.merchants[mchNo]
	if m == nil {
		return bizErr("商户不存在或商户状态不可用")
	}
	app := s.apps[appID]
	if app == nil {
		return bizErr("商户应用不存在或商户状态不可用")
	}
	if app.MchNo != mchNo {
		return bizErr("商户应用与商户号不匹配")
	}
	if !Verify(c.params, m.Secret) {
		return bizErr("验签失败")
	}
	reqTime, err := parseAmount(c.get("reqTime"))
	if err != nil {
		return paramErr("reqTime")
	}
	if s.window > 0 {
		diff := s.nowMs() - reqTime // both are non-negative: no overflow
		if diff < 0 {
			diff = -diff
		}
		if diff > s.window.Milliseconds() {
			return paramErr(fmt.Sprintf("reqTime已失效, 与网关时间相差超过%d秒", int64(s.window/time.Second)))
		}
	}
	c.mch = m
	return nil
}

func (s *Server) logRequest(rec RequestRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	if over := len(s.requests) - s.cfg.RequestLogSize; over > 0 {
		s.requests = slices.Delete(s.requests, 0, over)
	}
}

// Requests returns the request log, oldest first (at most
// Config.RequestLogSize entries).
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

// checkURL refuses a notifyUrl or returnUrl that is not http(s) with msg.
func checkURL(u, msg string) error {
	if u == "" {
		return nil
	}
	lu := strings.ToLower(u)
	if !strings.HasPrefix(lu, "http://") && !strings.HasPrefix(lu, "https://") {
		return bizErr(msg)
	}
	return nil
}

// publicBase is the base URL of pay links for r.
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

// servePayer is the simulated payer: GET /sim/pay/{payOrderId} pays the
// order as if the payer had scanned the code and confirmed.
func (s *Server) servePayer(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/sim/pay/")
	err := s.Pay(id)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b bytes.Buffer
	b.WriteString("<!doctype html><meta charset=utf-8><title>Haotian simulator</title>")
	if err != nil {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(&b, "<p>支付失败: %s</p>", htmlEscape(err.Error()))
	} else {
		fmt.Fprintf(&b, "<p>支付成功: %s</p>", htmlEscape(id))
	}
	_, _ = w.Write(b.Bytes())
}

func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
	return r.Replace(s)
}
