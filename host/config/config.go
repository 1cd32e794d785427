// Package config reads the configuration of the payhost server: one YAML
// file plus PAYHOST_* environment overrides, decoded strictly (an unknown
// key is an error naming it), checked with errors naming the key at fault,
// and turned into the engine's host.Config.
//
// Secrets — tenant API keys, the admin token, account keys and a database
// password — are never written in the file: they are references,
// "env:NAME" (an environment variable) or "file:PATH" (a file's content,
// trimmed), resolved when the server starts. An inline secret is refused
// with an error that names the key and never shows the value.
//
// Environment overrides: PAYHOST_ followed by the key path in upper case
// with a double underscore between levels, e.g. PAYHOST_SERVER__ADDR for
// server.addr, PAYHOST_SERVER__PUBLIC_URL for server.public_url,
// PAYHOST_STORE__DSN for store.dsn, PAYHOST_ADMIN_TOKEN for admin_token.
// A variable naming an unknown key of a known section is an error; the
// lists (plugins, accounts, tenants) are set in the file only. Other
// PAYHOST_* variables without a double underscore are left alone, so they
// may hold the secrets the references point at.
//
// Relative paths in the file (plugins, rules, audit log, SQLite database,
// wasm cache) are relative to the directory of the configuration file.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/internal/netpolicy"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "PAYHOST_"

// envLevel separates the levels of a key path in an environment variable.
const envLevel = "__"

// maxFileBytes bounds the configuration file.
const maxFileBytes = 1 << 20

// Config is the whole configuration of `payhost serve`.
type Config struct {
	Server      Server      `koanf:"server"`
	Store       Store       `koanf:"store"`
	Plugins     []Plugin    `koanf:"plugins"`
	Accounts    []Account   `koanf:"accounts"`
	Tenants     []Tenant    `koanf:"tenants"`
	AdminToken  string      `koanf:"admin_token"` // reference to the admin API's bearer token; empty disables /admin
	Rules       Rules       `koanf:"rules"`
	Wasm        Wasm        `koanf:"wasm"`
	Poll        Poll        `koanf:"poll"`
	Splits      Splits      `koanf:"splits"`
	Idempotency Idempotency `koanf:"idempotency"`
	Webhooks    Webhooks    `koanf:"webhooks"`
	Log         Log         `koanf:"log"`

	// Dir is the directory of the configuration file, against which
	// relative paths were resolved.
	Dir string `koanf:"-"`
}

// Server configures the HTTP listener.
type Server struct {
	Addr            string        `koanf:"addr"`       // host:port to listen on; port 0 picks a free one
	PublicURL       string        `koanf:"public_url"` // how providers reach this server (notification URLs); default http://<listen address>
	ReadTimeout     time.Duration `koanf:"read_timeout"`
	WriteTimeout    time.Duration `koanf:"write_timeout"`
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"` // how long in-flight requests may finish after SIGINT/SIGTERM
}

// Store selects the database.
type Store struct {
	Driver string `koanf:"driver"` // sqlite or postgres
	Path   string `koanf:"path"`   // SQLite file (or :memory:)
	DSN    string `koanf:"dsn"`    // PostgreSQL DSN, or a reference to one holding a password
	// MaxConns bounds the PostgreSQL connection pool (default 25), or
	// file-backed SQLite's reader pool (default 4).
	MaxConns int `koanf:"max_conns"`
}

// Plugin is a wasm plugin file to load.
type Plugin struct {
	Path      string `koanf:"path"`
	SHA256    string `koanf:"sha256"`     // hex SHA-256 the file must have
	PublicKey string `koanf:"public_key"` // base64 ed25519 key; PATH.sig must verify
}

// Account is a provider account of a plugin.
type Account struct {
	Name        string              `koanf:"name"`
	Plugin      string              `koanf:"plugin"`
	Environment string              `koanf:"environment"` // the manifest's URL set, default production
	Endpoints   map[string]Endpoint `koanf:"endpoints"`
	Keys        map[string]string   `koanf:"keys"` // manifest key name → env:NAME or file:PATH
	Config      map[string]string   `koanf:"config"`
	Methods     []string            `koanf:"methods"` // empty = every method of the plugin
}

// Endpoint overrides a manifest endpoint of an account.
type Endpoint struct {
	URL          string        `koanf:"url"`
	AllowPrivate bool          `koanf:"allow_private"` // loopback and private addresses (simulators)
	Timeout      time.Duration `koanf:"timeout"`
}

// Tenant is a client of the API: its API keys, the merchant id and tags
// the rules see for its payments, and the accounts it may use
// (host.TenantConfig).
type Tenant struct {
	Name       string   `koanf:"name"`
	APIKeys    []string `koanf:"api_keys"` // references
	MerchantID string   `koanf:"merchant_id"`
	Tags       []string `koanf:"tags"`
	// Accounts take the tenant's payments and are the only accounts its
	// calls may name (receivers, terminals, splits, merchant onboarding).
	Accounts []string `koanf:"accounts"`
	// Payouts are the accounts the tenant may move money out of (payouts
	// of every kind) and read the merchant balance of; a subset of
	// Accounts. Omitted: none.
	Payouts []string `koanf:"payouts"`
}

// Rules configures the routing, split and fee rules.
type Rules struct {
	File      string `koanf:"file"`
	Watch     bool   `koanf:"watch"`     // reload the file when it changes
	AuditLog  string `koanf:"audit_log"` // JSON-lines audit of every activation, refusal and rollback
	Keep      int    `koanf:"keep"`      // previous rulesets kept for rollback
	Catalogue string `koanf:"catalogue"` // channels the rules may name that no account here serves
}

// Wasm tunes the plugin sandbox and the per-call limits of every plugin
// (plugin.Limits; zero values take the defaults).
type Wasm struct {
	CacheDir        string        `koanf:"cache_dir"`
	MaxInstances    int           `koanf:"max_instances"`
	MemoryLimit     ByteSize      `koanf:"memory_limit"`
	CallTimeout     time.Duration `koanf:"call_timeout"`
	IdleTimeout     time.Duration `koanf:"idle_timeout"`      // close instances idle this long
	UnloadAfter     time.Duration `koanf:"unload_after"`      // release the compiled code of a plugin without instances this long; negative keeps it
	LoadTimeout     time.Duration `koanf:"load_timeout"`      // validating, compiling and starting a module
	MaxOutput       ByteSize      `koanf:"max_output"`        // a call's encoded response
	MaxProviderData ByteSize      `koanf:"max_provider_data"` // one provider_data map, keys and values
	MaxField        ByteSize      `koanf:"max_field"`         // any other string of a response
	MaxLogLines     int           `koanf:"max_log_lines"`     // log lines a call may write
	MaxLogBytes     ByteSize      `koanf:"max_log_bytes"`     // log bytes a call may write
}

// Idempotency tunes how requests with an Idempotency-Key are owned and
// taken over (host.Config's IdempotencyLease, IdempotencyWait,
// NodeHeartbeat and NodeTimeout).
type Idempotency struct {
	Lease         time.Duration `koanf:"lease"`          // the most a request may work before a retry may take it over
	Wait          time.Duration `koanf:"wait"`           // how long a retry waits for the first request's answer
	NodeHeartbeat time.Duration `koanf:"node_heartbeat"` // how often a node records that it is alive
	NodeTimeout   time.Duration `koanf:"node_timeout"`   // a node unseen this long crashed: its requests are taken over
}

// Splits tunes split execution.
type Splits struct {
	// Delay is how long after a payment succeeds the engine executes the
	// split its rules decided (mode auto).
	Delay time.Duration `koanf:"delay"`
}

// Webhooks tunes the delivery of merchant webhooks (host.WebhookConfig).
type Webhooks struct {
	Disabled     bool          `koanf:"disabled"`      // this node delivers none (events are still recorded; other nodes deliver them)
	AllowPrivate bool          `koanf:"allow_private"` // endpoints may be loopback or private addresses (the sandbox)
	Interval     time.Duration `koanf:"interval"`
	Timeout      time.Duration `koanf:"timeout"`
	RetryFirst   time.Duration `koanf:"retry_first"`
	RetryMax     time.Duration `koanf:"retry_max"`
	MaxAttempts  int           `koanf:"max_attempts"`
	Lease        time.Duration `koanf:"lease"`
}

// Poll tunes the settlement poller.
type Poll struct {
	Disabled bool          `koanf:"disabled"` // this node runs no poller (other nodes settle open objects)
	Interval time.Duration `koanf:"interval"`
	First    time.Duration `koanf:"first"`
	Max      time.Duration `koanf:"max"`
	MaxAge   time.Duration `koanf:"max_age"`
	Lease    time.Duration `koanf:"lease"`
}

// Log configures the server's log.
type Log struct {
	Level  string `koanf:"level"`  // debug, info, warn, error
	Format string `koanf:"format"` // json or text
}

// ByteSize is a size in bytes, written as a number or with a unit:
// 128MiB, 64MB, 512KiB, 1GiB.
type ByteSize uint64

// Defaults is the configuration before the file is read.
func Defaults() Config {
	return Config{
		Server: Server{Addr: "127.0.0.1:8080", ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
			ShutdownTimeout: 30 * time.Second},
		Store: Store{Driver: "sqlite", Path: "payhost.db"},
		Rules: Rules{Keep: 5},
		Log:   Log{Level: "info", Format: "json"},
	}
}

// Options are where Load reads from besides the file.
type Options struct {
	// Environ lists the environment as KEY=VALUE (os.Environ); only
	// PAYHOST_* entries are read. Nil reads no overrides.
	Environ []string
}

// Load reads the YAML file at path, applies the environment overrides and
// checks the result. Errors name the key (or variable) at fault.
func Load(path string, opts Options) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("config: %s is larger than %d bytes", path, maxFileBytes)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, filepath.Dir(abs), opts)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return cfg, nil
}

// Parse is Load for a file already read; dir is where relative paths start.
func Parse(data []byte, dir string, opts Options) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(data), yaml.Parser()); err != nil {
		return nil, err
	}
	if err := checkKeys("", k.Raw(), reflect.TypeFor[Config]()); err != nil {
		return nil, err
	}
	if err := loadEnv(k, opts.Environ); err != nil {
		return nil, err
	}
	cfg := Defaults()
	dc := &mapstructure.DecoderConfig{
		DecodeHook:  mapstructure.ComposeDecodeHookFunc(durationHook, byteSizeHook, scalarStringHook),
		ErrorUnused: true,
		MatchName:   func(a, b string) bool { return a == b },
		TagName:     "koanf",
	}
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: dc}); err != nil {
		return nil, decodeError(err)
	}
	cfg.Dir = dir
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.resolvePaths()
	return &cfg, nil
}

// decodeError turns mapstructure's error list into one "key: problem"
// line per problem.
func decodeError(err error) error {
	msg := strings.ReplaceAll(err.Error(), "decoding failed due to the following error(s):\n\n", "")
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(msg), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "* ")
		if m := decodeLine.FindStringSubmatch(line); m != nil {
			line = m[1] + ": " + m[2]
		}
		lines = append(lines, line)
	}
	return errors.New(strings.Join(lines, "\n"))
}

var decodeLine = regexp.MustCompile(`^'([^']*)' (.*)$`)

var durationType = reflect.TypeFor[time.Duration]()

// durationHook reads durations written with a unit ("30s", "5m"); a bare
// number is refused (is 30 seconds or nanoseconds?).
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration: write it with a unit, e.g. 30s, 500ms or 5m", v)
		}
		return d, nil
	case time.Duration:
		return v, nil
	}
	if from.Kind() >= reflect.Int && from.Kind() <= reflect.Float64 {
		return nil, fmt.Errorf("%v is not a duration: write it with a unit, e.g. 30s, 500ms or 5m", data)
	}
	return data, nil
}

var byteSizeType = reflect.TypeFor[ByteSize]()

// scalarStringHook lets a string key hold a YAML integer or boolean
// (`notify_max_age_seconds: 3600`), written back as the same text.
func scalarStringHook(_, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.String || to == durationType {
		return data, nil
	}
	switch v := data.(type) {
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return data, nil
}

var sizeUnits = []struct {
	suffix string
	mult   uint64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}

func byteSizeHook(_, to reflect.Type, data any) (any, error) {
	if to != byteSizeType {
		return data, nil
	}
	s, ok := data.(string)
	if !ok {
		return data, nil
	}
	return ParseByteSize(s)
}

// ParseByteSize reads a size such as 134217728, 128MiB or 64MB.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := uint64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || (n != 0 && n > ^uint64(0)/mult) {
		return 0, fmt.Errorf("%q is not a size: write bytes or a whole number with KiB, MiB, GiB, KB, MB or GB", s)
	}
	return ByteSize(n * mult), nil
}

// checkKeys reports keys the configuration does not have, with their path.
func checkKeys(path string, v any, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil // a type error, reported by the decoder
		}
		fields := structKeys(t)
		keys := make([]string, 0, len(m))
		for key := range m {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			ft, ok := fields[key]
			if !ok {
				return fmt.Errorf("%s: unknown key (known: %s)", join(path, key), strings.Join(sortedKeys(fields), ", "))
			}
			if err := checkKeys(join(path, key), m[key], ft); err != nil {
				return err
			}
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, item := range list {
			if err := checkKeys(fmt.Sprintf("%s[%d]", path, i), item, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for key, item := range m {
			if err := checkKeys(join(path, key), item, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// structKeys maps a struct's koanf keys to their types.
func structKeys(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("koanf"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		out[tag] = f.Type
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EnvName is the environment variable that overrides a key path such as
// "server.public_url".
func EnvName(keyPath string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(keyPath, ".", envLevel))
}

// loadEnv merges the PAYHOST_* variables of environ into k, with values
// of each key's type.
func loadEnv(k *koanf.Koanf, environ []string) error {
	if len(environ) == 0 {
		return nil
	}
	root := reflect.TypeFor[Config]()
	top := structKeys(root)
	var errs []error
	provider := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			rest := strings.TrimPrefix(name, EnvPrefix)
			parts := strings.Split(strings.ToLower(rest), envLevel)
			if len(parts) == 1 {
				if t, ok := top[parts[0]]; !ok || t.Kind() == reflect.Struct || t.Kind() == reflect.Slice {
					return "", nil // not a key: e.g. a secret an env: reference reads
				}
			}
			keyPath := strings.Join(parts, ".")
			t := root
			for i, p := range parts {
				if t.Kind() == reflect.Slice {
					errs = append(errs, fmt.Errorf("%s: %s is a list, set in the configuration file only", name, strings.Join(parts[:i], ".")))
					return "", nil
				}
				if t.Kind() != reflect.Struct {
					errs = append(errs, fmt.Errorf("%s: %s has no sub-keys", name, strings.Join(parts[:i], ".")))
					return "", nil
				}
				ft, ok := structKeys(t)[p]
				if !ok {
					errs = append(errs, fmt.Errorf("%s: unknown key %s", name, join(strings.Join(parts[:i], "."), p)))
					return "", nil
				}
				t = ft
			}
			v, err := envValue(value, t)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", name, keyPath, err))
				return "", nil
			}
			return keyPath, v
		},
	})
	if err := k.Load(provider, nil); err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	return errors.Join(errs...)
}

// envValue converts an environment string to a key's type.
func envValue(s string, t reflect.Type) (any, error) {
	switch {
	case t == durationType, t == byteSizeType:
		return s, nil // decoded by the hooks
	case t.Kind() == reflect.String:
		return s, nil
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	}
	return nil, fmt.Errorf("cannot be set from the environment")
}

// IsRef reports whether s is a secret reference (env:NAME or file:PATH).
func IsRef(s string) bool { return caps.CheckRef(s) == nil }

// Resolve reads a secret reference: env:NAME from getenv, file:PATH from
// the file (trimmed). Errors name the reference, never the value.
func Resolve(ref string, getenv func(string) string) (string, error) {
	v, err := caps.ReadRef(ref, getenv, os.ReadFile)
	if err != nil {
		return "", err
	}
	return string(v), nil
}

// Secrets are the resolved secrets of a configuration.
type Secrets struct {
	AdminToken string
	TenantKeys map[string][]string // tenant name → API keys
	DSN        string              // the PostgreSQL DSN, resolved
}

// List returns every secret value (to register with a log redactor).
func (s *Secrets) List() []string {
	out := []string{}
	if s.AdminToken != "" {
		out = append(out, s.AdminToken)
	}
	for _, keys := range s.TenantKeys {
		out = append(out, keys...)
	}
	if s.DSN != "" {
		if u, err := url.Parse(s.DSN); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				out = append(out, p)
			}
		}
		if m := kvPassword.FindStringSubmatch(s.DSN); m != nil {
			out = append(out, strings.Trim(m[1], "'"))
		}
		out = append(out, s.DSN)
	}
	return out
}

// ResolveSecrets reads every secret the configuration references.
func (c *Config) ResolveSecrets(getenv func(string) string) (*Secrets, error) {
	s := &Secrets{TenantKeys: map[string][]string{}}
	var errs []error
	if c.AdminToken != "" {
		v, err := Resolve(c.AdminToken, getenv)
		if err != nil {
			errs = append(errs, fmt.Errorf("admin_token: %w", err))
		} else if len(v) < minTokenLen {
			errs = append(errs, fmt.Errorf("admin_token: the token is shorter than %d characters", minTokenLen))
		}
		s.AdminToken = v
	}
	seen := map[string]string{}
	for i, t := range c.Tenants {
		for j, ref := range t.APIKeys {
			key := fmt.Sprintf("tenants[%d].api_keys[%d]", i, j)
			v, err := Resolve(ref, getenv)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
				continue
			}
			if len(v) < minTokenLen {
				errs = append(errs, fmt.Errorf("%s: the API key is shorter than %d characters", key, minTokenLen))
				continue
			}
			if other, dup := seen[v]; dup {
				errs = append(errs, fmt.Errorf("%s: the same API key as %s", key, other))
				continue
			}
			if v == s.AdminToken {
				errs = append(errs, fmt.Errorf("%s: the same value as admin_token", key))
				continue
			}
			seen[v] = key
			s.TenantKeys[t.Name] = append(s.TenantKeys[t.Name], v)
		}
	}
	if c.Store.Driver == "postgres" {
		if IsRef(c.Store.DSN) {
			v, err := Resolve(c.Store.DSN, getenv)
			if err != nil {
				errs = append(errs, fmt.Errorf("store.dsn: %w", err))
			}
			s.DSN = v
		} else {
			s.DSN = c.Store.DSN
		}
	}
	return s, errors.Join(errs...)
}

// minTokenLen is the shortest API key or admin token accepted.
const minTokenLen = 16

var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	kvPassword  = regexp.MustCompile(`(?i)(?:^|\s)password\s*=\s*('[^']*'|\S+)`)
)

// Validate checks the configuration; the error lists every problem, each
// naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	secret := func(key, v string) {
		if v != "" && !IsRef(v) {
			bad(key, "secrets are given as env:NAME or file:PATH references, not inline")
		}
	}

	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		bad("server.addr", "want host:port (e.g. 127.0.0.1:8080 or :8080), got %q", c.Server.Addr)
	}
	if c.Server.PublicURL != "" {
		u, err := url.Parse(c.Server.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			bad("server.public_url", "want an absolute http(s) URL without query or credentials, got %q", c.Server.PublicURL)
		}
		c.Server.PublicURL = strings.TrimRight(c.Server.PublicURL, "/")
	}
	for key, d := range map[string]time.Duration{"server.read_timeout": c.Server.ReadTimeout, "server.write_timeout": c.Server.WriteTimeout,
		"server.shutdown_timeout": c.Server.ShutdownTimeout, "wasm.call_timeout": c.Wasm.CallTimeout, "wasm.load_timeout": c.Wasm.LoadTimeout, "wasm.idle_timeout": c.Wasm.IdleTimeout, "poll.interval": c.Poll.Interval,
		"poll.first": c.Poll.First, "poll.max": c.Poll.Max, "poll.max_age": c.Poll.MaxAge, "poll.lease": c.Poll.Lease, "splits.delay": c.Splits.Delay} {
		if d < 0 {
			bad(key, "must not be negative")
		}
	}
	for key, d := range map[string]time.Duration{"webhooks.interval": c.Webhooks.Interval, "webhooks.timeout": c.Webhooks.Timeout,
		"webhooks.retry_first": c.Webhooks.RetryFirst, "webhooks.retry_max": c.Webhooks.RetryMax, "webhooks.lease": c.Webhooks.Lease} {
		if d < 0 {
			bad(key, "must not be negative")
		}
	}
	if c.Webhooks.MaxAttempts < 0 {
		bad("webhooks.max_attempts", "must not be negative")
	}

	switch c.Store.Driver {
	case "sqlite":
		if c.Store.Path == "" {
			bad("store.path", "the SQLite database file is required with driver sqlite")
		}
		if c.Store.DSN != "" {
			bad("store.dsn", "applies to driver postgres only")
		}
	case "postgres":
		switch {
		case c.Store.DSN == "":
			bad("store.dsn", "the PostgreSQL DSN is required with driver postgres")
		case !IsRef(c.Store.DSN) && dsnHasPassword(c.Store.DSN):
			bad("store.dsn", "holds a password: give the DSN as an env:NAME or file:PATH reference")
		}
	default:
		bad("store.driver", "want sqlite or postgres, got %q", c.Store.Driver)
	}
	if c.Store.MaxConns < 0 || c.Store.MaxConns > 1000 {
		bad("store.max_conns", "want 0 (the default) to 1000, got %d", c.Store.MaxConns)
	}

	for i, p := range c.Plugins {
		key := fmt.Sprintf("plugins[%d]", i)
		if p.Path == "" {
			bad(key+".path", "the wasm file is required")
		}
		if p.SHA256 != "" {
			if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != 32 {
				bad(key+".sha256", "want 64 hex digits")
			}
		}
		if p.PublicKey != "" {
			if b, err := base64.StdEncoding.DecodeString(p.PublicKey); err != nil || len(b) != 32 {
				bad(key+".public_key", "want a base64 ed25519 public key (32 bytes)")
			}
		}
	}

	accounts := map[string]bool{}
	for i, a := range c.Accounts {
		key := fmt.Sprintf("accounts[%d]", i)
		switch {
		case !namePattern.MatchString(a.Name):
			bad(key+".name", "want 1-64 letters, digits, '_', '.' or '-' (it is part of the notification URL), got %q", a.Name)
		case accounts[a.Name]:
			bad(key+".name", "account %q is configured twice", a.Name)
		}
		accounts[a.Name] = true
		if a.Plugin == "" {
			bad(key+".plugin", "the plugin (manifest name) is required")
		}
		for _, name := range sortedKeys(a.Endpoints) {
			ep := a.Endpoints[name]
			if ep.URL != "" {
				u, err := url.Parse(ep.URL)
				switch {
				case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
					bad(fmt.Sprintf("%s.endpoints.%s.url", key, name), "want an absolute http(s) URL, got %q", ep.URL)
				case !ep.AllowPrivate:
					if err := netpolicy.CheckHost(u.Hostname()); err != nil {
						bad(fmt.Sprintf("%s.endpoints.%s.url", key, name), "%v; set allow_private to reach it", err)
					}
				}
			}
			if ep.Timeout < 0 {
				bad(fmt.Sprintf("%s.endpoints.%s.timeout", key, name), "must not be negative")
			}
		}
		for _, name := range sortedKeys(a.Keys) {
			ref := a.Keys[name]
			if ref == "" || !IsRef(ref) {
				bad(fmt.Sprintf("%s.keys.%s", key, name), "keys are given as env:NAME or file:PATH references, not inline")
			}
		}
		for j, m := range a.Methods {
			if !core.Method(m).Valid() {
				bad(fmt.Sprintf("%s.methods[%d]", key, j), "unknown payment method %q", m)
			}
		}
	}

	tenants := map[string]bool{}
	for i, t := range c.Tenants {
		key := fmt.Sprintf("tenants[%d]", i)
		switch {
		case !namePattern.MatchString(t.Name):
			bad(key+".name", "want 1-64 letters, digits, '_', '.' or '-', got %q", t.Name)
		case tenants[t.Name]:
			bad(key+".name", "tenant %q is configured twice", t.Name)
		}
		tenants[t.Name] = true
		if len(t.APIKeys) == 0 {
			bad(key+".api_keys", "at least one API key reference is required")
		}
		for j, ref := range t.APIKeys {
			secret(fmt.Sprintf("%s.api_keys[%d]", key, j), ref)
			if ref == "" {
				bad(fmt.Sprintf("%s.api_keys[%d]", key, j), "empty")
			}
		}
		for j, tag := range t.Tags {
			if tag == "" {
				bad(fmt.Sprintf("%s.tags[%d]", key, j), "empty")
			}
		}
		if len(t.Accounts) == 0 {
			bad(key+".accounts", "at least one account is required: the accounts whose channels take this tenant's payments")
		}
		mine := map[string]bool{}
		for j, name := range t.Accounts {
			k := fmt.Sprintf("%s.accounts[%d]", key, j)
			switch {
			case !accounts[name]:
				bad(k, "unknown account %q (configured: %s)", name, strings.Join(sortedKeys(accounts), ", "))
			case mine[name]:
				bad(k, "account %q is listed twice", name)
			}
			mine[name] = true
		}
		payouts := map[string]bool{}
		for j, name := range t.Payouts {
			k := fmt.Sprintf("%s.payouts[%d]", key, j)
			switch {
			case !mine[name]:
				bad(k, "account %q is not one of this tenant's accounts", name)
			case payouts[name]:
				bad(k, "account %q is listed twice", name)
			}
			payouts[name] = true
		}
	}
	secret("admin_token", c.AdminToken)

	if c.Rules.File == "" {
		bad("rules.file", "a rule file is required: the server routes no payment without one")
	}
	if c.Rules.Keep < 0 {
		bad("rules.keep", "must not be negative")
	}
	if c.Wasm.MaxInstances < 0 {
		bad("wasm.max_instances", "must not be negative")
	}
	for key, d := range map[string]time.Duration{"idempotency.lease": c.Idempotency.Lease, "idempotency.wait": c.Idempotency.Wait,
		"idempotency.node_heartbeat": c.Idempotency.NodeHeartbeat, "idempotency.node_timeout": c.Idempotency.NodeTimeout} {
		if d < 0 {
			bad(key, "must not be negative")
		}
	}
	if id := c.Idempotency; id.Lease > 0 && id.Lease < 10*time.Second {
		bad("idempotency.lease", "must be at least 10s: a request may not finish sooner, and a retry would take it over while it runs")
	}
	if id := c.Idempotency; id.NodeTimeout > 0 && id.NodeTimeout < 2*max(id.NodeHeartbeat, time.Second) {
		bad("idempotency.node_timeout", "must be at least twice idempotency.node_heartbeat (default 1s), or a live node looks crashed")
	}
	if c.Wasm.MaxLogLines < 0 {
		bad("wasm.max_log_lines", "must not be negative")
	}
	for key, v := range map[string]ByteSize{"wasm.max_output": c.Wasm.MaxOutput, "wasm.max_provider_data": c.Wasm.MaxProviderData,
		"wasm.max_field": c.Wasm.MaxField, "wasm.max_log_bytes": c.Wasm.MaxLogBytes} {
		if v > 1<<30 {
			bad(key, "must be at most 1GiB")
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		bad("log.format", "want json or text, got %q", c.Log.Format)
	}
	return errors.Join(errs...)
}

// dsnHasPassword reports whether an inline DSN carries a password.
func dsnHasPassword(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			return true
		}
		return u.Query().Has("password")
	}
	return kvPassword.MatchString(dsn)
}

func (c *Config) resolvePaths() {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(c.Dir, p)
	}
	for i := range c.Plugins {
		c.Plugins[i].Path = abs(c.Plugins[i].Path)
	}
	c.Rules.File = abs(c.Rules.File)
	c.Rules.AuditLog = abs(c.Rules.AuditLog)
	c.Rules.Catalogue = abs(c.Rules.Catalogue)
	if c.Wasm.CacheDir != "-" {
		c.Wasm.CacheDir = abs(c.Wasm.CacheDir)
	}
	if c.Store.Driver == "sqlite" && c.Store.Path != ":memory:" && !strings.HasPrefix(c.Store.Path, "file:") {
		c.Store.Path = abs(c.Store.Path)
	}
}

// Host returns the engine configuration the file describes. The caller
// adds what is not configuration: the store, key store, logger, observer,
// decider and the public URL when none is configured.
func (c *Config) Host() host.Config {
	hc := host.Config{
		PublicURL: c.Server.PublicURL,
		Wasm: plugin.WasmConfig{CacheDir: c.Wasm.CacheDir, MaxInstances: c.Wasm.MaxInstances,
			MemoryLimit: uint64(c.Wasm.MemoryLimit), CallTimeout: c.Wasm.CallTimeout, LoadTimeout: c.Wasm.LoadTimeout,
			IdleTimeout: c.Wasm.IdleTimeout, UnloadAfter: c.Wasm.UnloadAfter,
			Limits: plugin.Limits{MaxOutputBytes: int(c.Wasm.MaxOutput), MaxProviderData: int(c.Wasm.MaxProviderData),
				MaxField: int(c.Wasm.MaxField), MaxLogLines: c.Wasm.MaxLogLines, MaxLogBytes: int(c.Wasm.MaxLogBytes)}},
		Poll:             host.PollConfig{Disabled: c.Poll.Disabled, Interval: c.Poll.Interval, First: c.Poll.First, Max: c.Poll.Max, MaxAge: c.Poll.MaxAge, Lease: c.Poll.Lease},
		SplitDelay:       c.Splits.Delay,
		IdempotencyLease: c.Idempotency.Lease, IdempotencyWait: c.Idempotency.Wait,
		NodeHeartbeat: c.Idempotency.NodeHeartbeat, NodeTimeout: c.Idempotency.NodeTimeout,
		Webhooks: host.WebhookConfig{Disabled: c.Webhooks.Disabled, AllowPrivate: c.Webhooks.AllowPrivate,
			Interval: c.Webhooks.Interval, Timeout: c.Webhooks.Timeout, RetryFirst: c.Webhooks.RetryFirst,
			RetryMax: c.Webhooks.RetryMax, MaxAttempts: c.Webhooks.MaxAttempts, Lease: c.Webhooks.Lease},
	}
	for _, p := range c.Plugins {
		hc.Plugins = append(hc.Plugins, host.PluginConfig{Path: p.Path, SHA256: p.SHA256, PublicKey: p.PublicKey})
	}
	for _, a := range c.Accounts {
		ac := host.AccountConfig{Name: a.Name, Plugin: a.Plugin, Environment: a.Environment,
			Keys: a.Keys, Config: a.Config}
		if len(a.Endpoints) > 0 {
			ac.Endpoints = map[string]caps.EndpointConfig{}
			for name, ep := range a.Endpoints {
				ac.Endpoints[name] = caps.EndpointConfig{URL: ep.URL, AllowPrivate: ep.AllowPrivate, Timeout: ep.Timeout}
			}
		}
		for _, m := range a.Methods {
			ac.Methods = append(ac.Methods, core.Method(m))
		}
		hc.Accounts = append(hc.Accounts, ac)
	}
	for _, t := range c.Tenants {
		hc.Tenants = append(hc.Tenants, host.TenantConfig{Name: t.Name, Accounts: slices.Clone(t.Accounts), Payouts: slices.Clone(t.Payouts)})
	}
	return hc
}
