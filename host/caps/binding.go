package caps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
)

// AccountConfig is an operator-configured account of a plugin: which
// endpoints it reaches, which keys it signs with, and its non-secret
// settings. Secrets appear only as references.
type AccountConfig struct {
	Name        string                    `koanf:"name" json:"name"`
	Plugin      string                    `koanf:"plugin" json:"plugin"`
	Environment string                    `koanf:"environment" json:"environment"` // manifest URL set, default "production"
	Endpoints   map[string]EndpointConfig `koanf:"endpoints" json:"endpoints"`
	Keys        map[string]string         `koanf:"keys" json:"keys"` // manifest key name → env:NAME or file:PATH
	Config      map[string]string         `koanf:"config" json:"config"`
}

// Deps are the shared services of all bindings.
type Deps struct {
	Keys   Keys // nil = a KeyStore of the process's environment and files
	Cache  *Cache
	Logger *slog.Logger
	Now    func() time.Time
}

// Binding is pdk.Host for one account of one plugin.
type Binding struct {
	plugin, account string
	manifest        core.Manifest
	endpoints       map[string]*endpoint
	keys            map[string]string
	config          map[string]string
	deps            Deps
	log             *slog.Logger
}

// Log limits.
const (
	maxLogMessage = 2048
	maxLogAttrs   = 32
	maxLogValue   = 1024
)

// Bind checks an account against the plugin's manifest and returns its
// capabilities: every endpoint resolves to an allowed base URL, every
// required key has a syntactically valid reference, every required config
// value is set (defaults applied), and nothing unknown is configured.
func Bind(m core.Manifest, acct AccountConfig, deps Deps) (*Binding, error) {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Cache == nil {
		deps.Cache = NewCache(deps.Now)
	}
	if deps.Keys == nil {
		deps.Keys = NewKeyStore(nil)
	}
	env := acct.Environment
	if env == "" {
		env = "production"
	}
	b := &Binding{plugin: m.Name, account: acct.Name, manifest: m, endpoints: map[string]*endpoint{},
		keys: map[string]string{}, config: map[string]string{}, deps: deps,
		log: deps.Logger.With("plugin", m.Name, "account", acct.Name)}
	for name := range acct.Endpoints {
		if _, ok := m.Endpoint(name); !ok {
			return nil, fmt.Errorf("account %s: endpoint %q is not in plugin %s's manifest", acct.Name, name, m.Name)
		}
	}
	for _, spec := range m.Endpoints {
		cfg := acct.Endpoints[spec.Name]
		raw := cfg.URL
		if raw == "" {
			raw = spec.URLs[env]
		}
		if raw == "" {
			return nil, fmt.Errorf("account %s: endpoint %s has no URL for environment %q; set endpoints.%s.url", acct.Name, spec.Name, env, spec.Name)
		}
		ep, err := newEndpoint(spec.Name, raw, cfg)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", acct.Name, err)
		}
		b.endpoints[spec.Name] = ep
	}
	for name, ref := range acct.Keys {
		if _, ok := m.Key(name); !ok {
			return nil, fmt.Errorf("account %s: key %q is not in plugin %s's manifest", acct.Name, name, m.Name)
		}
		if err := CheckRef(ref); err != nil {
			return nil, fmt.Errorf("account %s: key %s: %w", acct.Name, name, err)
		}
		b.keys[name] = ref
	}
	for _, spec := range m.Keys {
		if _, ok := b.keys[spec.Name]; !ok && !spec.Optional {
			return nil, fmt.Errorf("account %s: plugin %s needs key %q (%s)", acct.Name, m.Name, spec.Name, spec.Kind)
		}
	}
	known := map[string]bool{}
	for _, spec := range m.Config {
		known[spec.Name] = true
		v, ok := acct.Config[spec.Name]
		if !ok || v == "" {
			v = spec.Default
		}
		if v == "" && spec.Required {
			return nil, fmt.Errorf("account %s: plugin %s needs config %q", acct.Name, m.Name, spec.Name)
		}
		if v != "" {
			b.config[spec.Name] = v
		}
	}
	for k := range acct.Config {
		if !known[k] {
			return nil, fmt.Errorf("account %s: config %q is not in plugin %s's manifest", acct.Name, k, m.Name)
		}
	}
	return b, nil
}

// ResolveKeys resolves every key configured for the account, so that a
// missing or unusable one is found at start, not by a payment. The error
// names the account and each key that failed.
func (b *Binding) ResolveKeys() error {
	names := make([]string, 0, len(b.keys))
	for name := range b.keys {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		spec, _ := b.manifest.Key(name)
		if err := b.deps.Keys.Resolve(b.keys[name], spec.Kind); err != nil {
			errs = append(errs, fmt.Errorf("account %s: key %s: %w", b.account, name, err))
		}
	}
	return errors.Join(errs...)
}

// Account is the account name of the binding.
func (b *Binding) Account() string { return b.account }

// Plugin is the plugin name of the binding.
func (b *Binding) Plugin() string { return b.plugin }

// Endpoints lists the allowed base URLs, for diagnostics.
func (b *Binding) Endpoints() map[string]string {
	out := map[string]string{}
	for n, ep := range b.endpoints {
		out[n] = ep.base.String()
	}
	return out
}

// HTTP implements pdk.Host.
func (b *Binding) HTTP(ctx context.Context, req *core.HTTPRequest) (*core.HTTPResponse, error) {
	ep, ok := b.endpoints[req.Endpoint]
	if !ok {
		return nil, core.Errorf(core.CodeInvalidRequest, "http: plugin %s has no endpoint %q", b.plugin, req.Endpoint)
	}
	return ep.do(ctx, req)
}

func (b *Binding) keySpec(name string, alg core.SignAlg) (core.KeySpec, string, error) {
	spec, ok := b.manifest.Key(name)
	if !ok {
		return spec, "", core.Errorf(core.CodeInvalidRequest, "key %q is not in the manifest", name)
	}
	allowed := false
	for _, a := range spec.Algorithms {
		allowed = allowed || a == alg
	}
	if !allowed {
		return spec, "", core.Errorf(core.CodeInvalidRequest, "key %q may not be used with %s", name, alg)
	}
	ref, ok := b.keys[name]
	if !ok {
		return spec, "", core.Errorf(core.CodeInvalidRequest, "key %q is not configured for account %s", name, b.account)
	}
	return spec, ref, nil
}

// Sign implements pdk.Host.
func (b *Binding) Sign(_ context.Context, key string, alg core.SignAlg, data []byte) ([]byte, error) {
	spec, ref, err := b.keySpec(key, alg)
	if err != nil {
		return nil, err
	}
	sig, err := b.deps.Keys.Sign(ref, spec.Kind, alg, data)
	if err != nil {
		// the request was never signed, so it never left: safe to try
		// another channel; the message says which key to fix
		return nil, &core.Error{Code: core.CodeProviderUnavailable, Provider: b.plugin, Err: err,
			Message: fmt.Sprintf("account %s cannot sign with key %s (%v); no request was sent", b.account, key, err)}
	}
	return sig, nil
}

// Verify implements pdk.Host.
func (b *Binding) Verify(_ context.Context, key string, alg core.SignAlg, data, sig []byte) error {
	spec, ref, err := b.keySpec(key, alg)
	if err != nil {
		return err
	}
	err = b.deps.Keys.Verify(ref, spec.Kind, alg, data, sig)
	if err != nil && core.CodeOf(err) != core.CodeSignatureInvalid {
		return core.WrapError(core.CodeInternal, err, "verify with key %s", key)
	}
	return err
}

// Digest implements pdk.Host.
func (b *Binding) Digest(_ context.Context, alg core.DigestAlg, data []byte) ([]byte, error) {
	d, err := Digest(alg, data)
	if err != nil {
		return nil, core.WrapError(core.CodeInvalidRequest, err, "digest")
	}
	return d, nil
}

// Now implements pdk.Host.
func (b *Binding) Now() time.Time { return b.deps.Now() }

// Log implements pdk.Host: secrets are redacted first, then the message
// and attributes are capped (so a secret cut by the cap cannot leave its
// prefix behind), and the level is clamped to a known one. The plugin's
// attributes are grouped under "attrs": they can never stand in for the
// host's own (plugin, account, source).
func (b *Binding) Log(ctx context.Context, level core.LogLevel, msg string, attrs ...string) {
	var l slog.Level
	switch level {
	case core.LogDebug:
		l = slog.LevelDebug
	case core.LogWarn:
		l = slog.LevelWarn
	case core.LogError:
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	if !b.log.Enabled(ctx, l) {
		return
	}
	red := func(s string) string { return s }
	if r, ok := b.deps.Keys.(interface{ Redact(string) string }); ok {
		red = r.Redact // the key store knows the secrets it loaded
	}
	group := make([]any, 0, min(len(attrs)/2, maxLogAttrs))
	for i := 0; i+1 < len(attrs) && len(group) < maxLogAttrs; i += 2 {
		k, v := clip(red(attrs[i]), 64), red(attrs[i+1])
		if SensitiveKey(k) {
			v = Redacted
		}
		group = append(group, slog.String(k, clip(v, maxLogValue)))
	}
	out := []slog.Attr{slog.String("source", "plugin")}
	if len(group) > 0 {
		out = append(out, slog.Group("attrs", group...))
	}
	b.log.LogAttrs(ctx, l, clip(red(msg), maxLogMessage), out...)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// Config implements pdk.Host.
func (b *Binding) Config(key string) (string, bool) {
	v, ok := b.config[key]
	return v, ok
}

// ConfigValues returns the account's non-secret configuration. The wasm
// transport sends it with each call, so Config needs no round trip.
func (b *Binding) ConfigValues() map[string]string { return b.config }

// ConfigKeys lists the configured keys, for diagnostics.
func (b *Binding) ConfigKeys() []string {
	out := make([]string, 0, len(b.config))
	for k := range b.config {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CacheGet implements pdk.Host.
func (b *Binding) CacheGet(key string) ([]byte, bool) {
	return b.deps.Cache.get(b.plugin+"/"+b.account, key)
}

// CacheSet implements pdk.Host.
func (b *Binding) CacheSet(key string, value []byte, ttl time.Duration) {
	b.deps.Cache.set(b.plugin+"/"+b.account, key, value, ttl)
}
