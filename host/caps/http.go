package caps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/internal/netpolicy"
)

// Defaults of an endpoint.
const (
	DefaultHTTPTimeout      = 30 * time.Second
	DefaultMaxResponseBytes = 8 << 20
	MaxRequestBytes         = 8 << 20
	maxRedirects            = 3
)

// EndpointConfig is the operator's setting of one manifest endpoint.
type EndpointConfig struct {
	URL              string        `koanf:"url" json:"url"`                               // base URL; empty = the manifest's URL for the account's environment
	AllowPrivate     bool          `koanf:"allow_private" json:"allow_private"`           // allow loopback and private addresses (simulators)
	Timeout          time.Duration `koanf:"timeout" json:"timeout"`                       // per request, default 30s
	MaxResponseBytes int64         `koanf:"max_response_bytes" json:"max_response_bytes"` // default 8 MiB
}

// endpoint is a resolved, allow-listed endpoint with its own client.
type endpoint struct {
	name   string
	base   *url.URL
	cfg    EndpointConfig
	client *http.Client
}

func newEndpoint(name, rawURL string, cfg EndpointConfig) (*endpoint, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("endpoint %s: %q is not a plain absolute http(s) base URL", name, rawURL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultHTTPTimeout
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if !cfg.AllowPrivate {
		// a literal address or localhost is refused now; what a name
		// resolves to is checked when connecting
		if err := netpolicy.CheckHost(u.Hostname()); err != nil {
			return nil, fmt.Errorf("endpoint %s: %w; set allow_private to reach it", name, err)
		}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	ep := &endpoint{name: name, base: u, cfg: cfg}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		// every address tried, after DNS resolution: rebinding cannot bypass it
		dialer.Control = func(network, address string, c syscall.RawConn) error {
			if err := netpolicy.Control(network, address, c); err != nil {
				return fmt.Errorf("endpoint %s: %w and allow_private is off", name, err)
			}
			return nil
		}
	}
	ep.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // never take a proxy from the environment
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   256, // keep a connection for each call in flight (wasm.max_instances and more)
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: cfg.Timeout,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("too many redirects")
			}
			if !sameOrigin(req.URL, u) {
				return fmt.Errorf("redirect to %s://%s refused: not endpoint %s", req.URL.Scheme, req.URL.Host, name)
			}
			return nil
		},
	}
	return ep, nil
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Host, b.Host)
}

// resolve joins the base URL with a plugin-supplied path and checks the
// result stays on the endpoint's origin.
func (ep *endpoint) resolve(path string) (*url.URL, error) {
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.ContainsAny(path, "\\#") {
		return nil, fmt.Errorf("path %q must start with a single '/' and contain no '\\' or '#'", path)
	}
	for _, c := range path {
		if c < 0x20 || c == 0x7f {
			return nil, fmt.Errorf("path contains a control character")
		}
	}
	p, q, _ := strings.Cut(path, "?")
	u, err := url.Parse(ep.base.Scheme + "://" + ep.base.Host + ep.base.Path + p)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", path, err)
	}
	u.RawQuery = q
	if !sameOrigin(u, ep.base) || u.User != nil {
		return nil, fmt.Errorf("path %q leaves endpoint %s", path, ep.name)
	}
	return u, nil
}

// forbiddenHeaders are set by the host only.
var forbiddenHeaders = map[string]bool{"Host": true, "Connection": true, "Content-Length": true, "Transfer-Encoding": true,
	"Te": true, "Upgrade": true, "Proxy-Authorization": true, "Proxy-Connection": true, "Keep-Alive": true, "Trailer": true}

var allowedMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true}

// do sends one request for a plugin. Errors are *core.Error:
// provider_unavailable when the request was not written (safe to fail
// over), unknown_outcome once it may have reached the provider.
func (ep *endpoint) do(ctx context.Context, req *core.HTTPRequest) (*core.HTTPResponse, error) {
	if !allowedMethods[req.Method] {
		return nil, core.Errorf(core.CodeInvalidRequest, "http: method %q not allowed", req.Method)
	}
	if len(req.Body) > MaxRequestBytes {
		return nil, core.Errorf(core.CodeInvalidRequest, "http: request body of %d bytes exceeds %d", len(req.Body), MaxRequestBytes)
	}
	u, err := ep.resolve(req.Path)
	if err != nil {
		return nil, core.WrapError(core.CodeInvalidRequest, err, "http: endpoint %s", ep.name)
	}
	ctx, cancel := context.WithTimeout(ctx, ep.cfg.Timeout)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }})
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return nil, core.WrapError(core.CodeInvalidRequest, err, "http: build request")
	}
	for k, vs := range req.Header {
		ck := http.CanonicalHeaderKey(k)
		if forbiddenHeaders[ck] || strings.HasPrefix(ck, "Proxy-") {
			continue
		}
		for _, v := range vs {
			hr.Header.Add(ck, v)
		}
	}
	resp, err := ep.client.Do(hr)
	if err != nil {
		if !wrote.Load() {
			return nil, &core.Error{Code: core.CodeProviderUnavailable, Message: fmt.Sprintf("endpoint %s not reached", ep.name), Retryable: true, Err: err}
		}
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Message: fmt.Sprintf("endpoint %s: no answer after the request was sent", ep.name), Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, ep.cfg.MaxResponseBytes+1))
	if err != nil {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Message: fmt.Sprintf("endpoint %s: response body cut off", ep.name), Err: err}
	}
	if int64(len(b)) > ep.cfg.MaxResponseBytes {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Message: fmt.Sprintf("endpoint %s: response larger than %d bytes", ep.name, ep.cfg.MaxResponseBytes)}
	}
	out := &core.HTTPResponse{Status: resp.StatusCode, Body: b}
	for _, name := range req.ResponseHeaders {
		if vs := resp.Header.Values(name); len(vs) > 0 {
			if out.Header == nil {
				out.Header = map[string][]string{}
			}
			out.Header[http.CanonicalHeaderKey(name)] = vs
		}
	}
	return out, nil
}
