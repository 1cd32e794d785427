package caps

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// sensitiveKeys are attribute names whose values are never logged. A key
// matches when it contains one of these, case-insensitively.
var sensitiveKeys = []string{"secret", "password", "passwd", "token", "sign", "private", "authorization",
	"api_key", "apikey", "card_no", "cardno", "card_mobile", "cvv", "cert_id", "id_number", "idno", "auth_code", "authcode"}

// Redactor hides secrets in log output: values of sensitive attribute names,
// and every occurrence of a registered secret value in any string.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// NewRedactor returns an empty redactor.
func NewRedactor() *Redactor { return &Redactor{} }

// AddSecret registers a value that must never appear in a log line.
// Values shorter than 6 bytes are ignored (they would redact ordinary text).
func (r *Redactor) AddSecret(s string) {
	if len(s) < 6 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.secrets {
		if x == s {
			return
		}
	}
	r.secrets = append(r.secrets, s)
	for _, line := range strings.Split(s, "\n") { // PEM keys: each base64 line alone
		if line = strings.TrimSpace(line); len(line) >= 16 {
			r.secrets = append(r.secrets, line)
		}
	}
}

// Redacted is what replaces a secret.
const Redacted = "[REDACTED]"

// String replaces every registered secret in s.
func (r *Redactor) String(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, x := range r.secrets {
		if strings.Contains(s, x) {
			s = strings.ReplaceAll(s, x, Redacted)
		}
	}
	return s
}

// SensitiveKey reports whether an attribute or field name holds a secret.
func SensitiveKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range sensitiveKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// Handler wraps an slog.Handler and redacts secrets in the message and in
// every attribute, including grouped ones.
func (r *Redactor) Handler(inner slog.Handler) slog.Handler {
	return &redactHandler{inner: inner, r: r}
}

type redactHandler struct {
	inner slog.Handler
	r     *Redactor
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	if SensitiveKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]any, 0, len(attrs))
		for _, g := range attrs {
			out = append(out, h.attr(g))
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.String(err.Error()))
		}
		return slog.String(a.Key, h.r.String(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &redactHandler{inner: h.inner.WithAttrs(red), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{inner: h.inner.WithGroup(name), r: h.r}
}
