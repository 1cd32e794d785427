package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
)

// minimal is the smallest valid configuration.
const minimal = `
plugins:
  - path: plugins/haotian.wasm
accounts:
  - name: main
    plugin: haotian
    endpoints:
      gateway: {url: "http://127.0.0.1:9999", allow_private: true, timeout: 2s}
    keys: {app_secret: env:HAOTIAN_SECRET}
    config: {mch_no: M1, app_id: A1, notify_max_age_seconds: 3600}
    methods: [alipay.qr]
tenants:
  - name: acme
    api_keys: [env:ACME_KEY]
    merchant_id: m-acme
    tags: [franchise]
    accounts: [main]
    payouts: [main]
admin_token: env:ADMIN_TOKEN
rules:
  file: rules.yaml
`

func TestParseMinimal(t *testing.T) {
	cfg, err := Parse([]byte(minimal), "/etc/payhost", Options{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", cfg.Server.Addr)
	assert.Equal(t, 30*time.Second, cfg.Server.ReadTimeout)
	assert.Equal(t, "sqlite", cfg.Store.Driver)
	assert.Equal(t, filepath.FromSlash("/etc/payhost/payhost.db"), cfg.Store.Path)
	assert.Equal(t, filepath.FromSlash("/etc/payhost/plugins/haotian.wasm"), cfg.Plugins[0].Path)
	assert.Equal(t, filepath.FromSlash("/etc/payhost/rules.yaml"), cfg.Rules.File)
	assert.Equal(t, 5, cfg.Rules.Keep)
	assert.Equal(t, "3600", cfg.Accounts[0].Config["notify_max_age_seconds"])

	hc := cfg.Host()
	require.Len(t, hc.Accounts, 1)
	a := hc.Accounts[0]
	assert.Equal(t, "main", a.Name)
	assert.Equal(t, 2*time.Second, a.Endpoints["gateway"].Timeout)
	assert.True(t, a.Endpoints["gateway"].AllowPrivate)
	assert.Equal(t, []core.Method{"alipay.qr"}, a.Methods)
	assert.Equal(t, "env:HAOTIAN_SECRET", a.Keys["app_secret"])
	require.Len(t, hc.Plugins, 1)
	assert.Equal(t, cfg.Plugins[0].Path, hc.Plugins[0].Path)
	assert.Equal(t, []host.TenantConfig{{Name: "acme", Accounts: []string{"main"}, Payouts: []string{"main"}}}, hc.Tenants)
}

func TestParseIdempotency(t *testing.T) {
	cfg, err := Parse([]byte(minimal+"\nidempotency: {lease: 45s, wait: 3s, node_heartbeat: 500ms, node_timeout: 4s}\n"), "/etc/payhost", Options{})
	require.NoError(t, err)
	hc := cfg.Host()
	assert.Equal(t, 45*time.Second, hc.IdempotencyLease)
	assert.Equal(t, 3*time.Second, hc.IdempotencyWait)
	assert.Equal(t, 500*time.Millisecond, hc.NodeHeartbeat)
	assert.Equal(t, 4*time.Second, hc.NodeTimeout)
}

func TestParseRefused(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(string) string
		want   string
		secret string // must not appear in the error
	}{
		{"unknown top-level key", func(s string) string { return s + "\nservr: {addr: x}\n" }, "servr: unknown key", ""},
		{"unknown nested key", func(s string) string { return s + "\nserver: {adr: ':80'}\n" }, "server.adr: unknown key", ""},
		{"unknown key in a list", func(s string) string {
			return strings.Replace(s, "merchant_id: m-acme", "merchant_id: m-acme\n    merchant: x", 1)
		}, "tenants[0].merchant: unknown key", ""},
		{"unknown key in an endpoint", func(s string) string { return strings.Replace(s, "timeout: 2s", "timeout: 2s, tls: off", 1) },
			"accounts[0].endpoints.gateway.tls: unknown key", ""},
		{"key in the wrong case", func(s string) string { return s + "\nServer: {addr: ':80'}\n" }, "Server: unknown key", ""},
		{"inline admin token", func(s string) string {
			return strings.Replace(s, "admin_token: env:ADMIN_TOKEN", "admin_token: s3cr3t-admin-token-value", 1)
		}, "admin_token: secrets are given as env:NAME or file:PATH", "s3cr3t-admin-token-value"},
		{"inline api key", func(s string) string { return strings.Replace(s, "[env:ACME_KEY]", "[sk_live_0123456789abcdef]", 1) },
			"tenants[0].api_keys[0]: secrets are given", "sk_live_0123456789abcdef"},
		{"inline account key", func(s string) string {
			return strings.Replace(s, "env:HAOTIAN_SECRET", "EWEFD123RGSRETYDFNGFGFGSHDFGH", 1)
		},
			"accounts[0].keys.app_secret: keys are given as env:NAME or file:PATH", "EWEFD123RGSRETYDFNGFGFGSHDFGH"},
		{"dsn with an inline password", func(s string) string {
			return s + "\nstore: {driver: postgres, path: '', dsn: 'postgres://payhost:hunter2hunter2@db/payhost'}\n"
		}, "store.dsn: holds a password", "hunter2hunter2"},
		{"key=value dsn with an inline password", func(s string) string {
			return s + "\nstore: {driver: postgres, path: '', dsn: 'host=db user=payhost password=hunter2hunter2'}\n"
		}, "store.dsn: holds a password", "hunter2hunter2"},
		{"unknown driver", func(s string) string { return s + "\nstore: {driver: mysql}\n" }, "store.driver: want sqlite or postgres", ""},
		{"negative pool", func(s string) string { return s + "\nstore: {max_conns: -1}\n" }, "store.max_conns: want 0", ""},
		{"short lease", func(s string) string { return s + "\nidempotency: {lease: 2s}\n" }, "idempotency.lease: must be at least 10s", ""},
		{"node timeout within a heartbeat", func(s string) string { return s + "\nidempotency: {node_heartbeat: 2s, node_timeout: 3s}\n" },
			"idempotency.node_timeout: must be at least twice", ""},
		{"duration without a unit", func(s string) string { return s + "\nserver: {read_timeout: 30}\n" }, "not a duration", ""},
		{"bad duration", func(s string) string { return s + "\nserver: {read_timeout: soon}\n" }, "not a duration", ""},
		{"negative duration", func(s string) string { return s + "\npoll: {first: -1s}\n" }, "poll.first: must not be negative", ""},
		{"bad addr", func(s string) string { return s + "\nserver: {addr: localhost}\n" }, "server.addr: want host:port", ""},
		{"bad public url", func(s string) string { return s + "\nserver: {public_url: 'ftp://x'}\n" }, "server.public_url", ""},
		{"unknown method", func(s string) string { return strings.Replace(s, "[alipay.qr]", "[alipay.qrcode]", 1) },
			`accounts[0].methods[0]: unknown payment method "alipay.qrcode"`, ""},
		{"account name unfit for a URL", func(s string) string { return strings.Replace(s, "name: main", "name: 'main/x'", 1) },
			"accounts[0].name", ""},
		{"tenant without keys", func(s string) string { return strings.Replace(s, "api_keys: [env:ACME_KEY]", "api_keys: []", 1) },
			"tenants[0].api_keys: at least one", ""},
		{"tenant without accounts", func(s string) string { return strings.Replace(s, "    accounts: [main]\n    payouts: [main]\n", "", 1) },
			"tenants[0].accounts: at least one account is required", ""},
		{"tenant naming an unknown account", func(s string) string { return strings.Replace(s, "accounts: [main]", "accounts: [main, ops]", 1) },
			`tenants[0].accounts[1]: unknown account "ops" (configured: main)`, ""},
		{"tenant naming an account twice", func(s string) string { return strings.Replace(s, "accounts: [main]", "accounts: [main, main]", 1) },
			`tenants[0].accounts[1]: account "main" is listed twice`, ""},
		{"payouts beyond the tenant's accounts", func(s string) string { return strings.Replace(s, "payouts: [main]", "payouts: [main, ops]", 1) },
			`tenants[0].payouts[1]: account "ops" is not one of this tenant's accounts`, ""},
		{"no rule file", func(s string) string { return strings.Replace(s, "file: rules.yaml", "file: ''", 1) }, "rules.file", ""},
		{"bad sha256", func(s string) string {
			return strings.Replace(s, "path: plugins/haotian.wasm", "path: p.wasm\n    sha256: abc", 1)
		},
			"plugins[0].sha256", ""},
		{"bad memory limit", func(s string) string { return s + "\nwasm: {memory_limit: 12 parsecs}\n" }, "not a size", ""},
		{"bad log level", func(s string) string { return s + "\nlog: {level: loud}\n" }, "log.level", ""},
		{"wrong type", func(s string) string {
			return strings.Replace(s, "file: rules.yaml", "file: rules.yaml\n  keep: many", 1)
		}, "keep", ""},
		{"not yaml", func(string) string { return "server: [unclosed" }, "yaml", ""},
		{"duplicate key", func(s string) string { return s + "\nlog: {level: info}\nlog: {level: debug}\n" }, "already defined", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.edit(minimal)), "/etc/payhost", Options{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			if tt.secret != "" {
				assert.NotContains(t, err.Error(), tt.secret)
			}
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		check   func(t *testing.T, c *Config)
		wantErr string
	}{
		{"scalars of every type", []string{
			"PAYHOST_SERVER__ADDR=0.0.0.0:9090", "PAYHOST_SERVER__PUBLIC_URL=https://pay.example.com/",
			"PAYHOST_SERVER__READ_TIMEOUT=5s", "PAYHOST_RULES__WATCH=true", "PAYHOST_RULES__KEEP=3",
			"PAYHOST_WASM__MEMORY_LIMIT=64MiB", "PAYHOST_LOG__LEVEL=debug", "PAYHOST_ADMIN_TOKEN=file:/run/secrets/admin",
			"PAYHOST_STORE__DRIVER=postgres", "PAYHOST_STORE__PATH=", "PAYHOST_STORE__DSN=env:DATABASE_URL",
		}, func(t *testing.T, c *Config) {
			assert.Equal(t, "0.0.0.0:9090", c.Server.Addr)
			assert.Equal(t, "https://pay.example.com", c.Server.PublicURL)
			assert.Equal(t, 5*time.Second, c.Server.ReadTimeout)
			assert.True(t, c.Rules.Watch)
			assert.Equal(t, 3, c.Rules.Keep)
			assert.Equal(t, ByteSize(64<<20), c.Wasm.MemoryLimit)
			assert.Equal(t, "debug", c.Log.Level)
			assert.Equal(t, "file:/run/secrets/admin", c.AdminToken)
			assert.Equal(t, "postgres", c.Store.Driver)
			assert.Equal(t, "env:DATABASE_URL", c.Store.DSN)
		}, ""},
		{"other PAYHOST variables are left alone", []string{"PAYHOST_ACME_KEY=sk_0123456789abcdef", "HOME=/root", "PAYHOST_SERVER=x"},
			func(t *testing.T, c *Config) { assert.Equal(t, "127.0.0.1:8080", c.Server.Addr) }, ""},
		{"unknown key", []string{"PAYHOST_SERVER__ADRR=:1"}, nil, "PAYHOST_SERVER__ADRR: unknown key server.adrr"},
		{"unknown section", []string{"PAYHOST_SERVR__ADDR=:1"}, nil, "PAYHOST_SERVR__ADDR: unknown key servr"},
		{"a list", []string{"PAYHOST_TENANTS__0__NAME=x"}, nil, "tenants is a list"},
		{"not a bool", []string{"PAYHOST_RULES__WATCH=yes please"}, nil, "PAYHOST_RULES__WATCH (rules.watch): \"yes please\" is not true or false"},
		{"not an int", []string{"PAYHOST_WASM__MAX_INSTANCES=four"}, nil, "not an integer"},
		{"not a duration", []string{"PAYHOST_POLL__MAX=10"}, nil, "not a duration"},
		{"an inline secret", []string{"PAYHOST_ADMIN_TOKEN=s3cr3t-admin-token-value"}, nil, "admin_token: secrets are given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(minimal), "/etc/payhost", Options{Environ: tt.environ})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "s3cr3t-admin-token-value")
				return
			}
			require.NoError(t, err)
			tt.check(t, cfg)
		})
	}
}

func TestEnvName(t *testing.T) {
	assert.Equal(t, "PAYHOST_SERVER__PUBLIC_URL", EnvName("server.public_url"))
	assert.Equal(t, "PAYHOST_ADMIN_TOKEN", EnvName("admin_token"))
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"1024", 1024, true}, {"128MiB", 128 << 20, true}, {"64 MB", 64_000_000, true}, {"1GiB", 1 << 30, true},
		{"512KiB", 512 << 10, true}, {"10B", 10, true}, {"1.5GiB", 0, false}, {"-1", 0, false}, {"lots", 0, false},
		{"99999999999GiB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseByteSize(tt.in)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestResolveSecrets(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "globex")
	require.NoError(t, os.WriteFile(keyFile, []byte("globex-key-0123456789\n"), 0o600))
	env := map[string]string{"ACME_KEY": "acme-key-0123456789", "ADMIN_TOKEN": "admin-token-0123456789",
		"DB": "postgres://payhost:pw-0123456789@db/payhost", "SHORT": "abc"}
	getenv := func(k string) string { return env[k] }
	base := func() *Config {
		doc := strings.Replace(minimal, "admin_token:", "  - {name: globex, api_keys: [\"file:"+keyFile+"\"], accounts: [main]}\nadmin_token:", 1)
		cfg, err := Parse([]byte(doc), dir, Options{})
		require.NoError(t, err)
		return cfg
	}

	t.Run("env and file", func(t *testing.T) {
		s, err := base().ResolveSecrets(getenv)
		require.NoError(t, err)
		assert.Equal(t, "admin-token-0123456789", s.AdminToken)
		assert.Equal(t, []string{"acme-key-0123456789"}, s.TenantKeys["acme"])
		assert.Equal(t, []string{"globex-key-0123456789"}, s.TenantKeys["globex"])
		assert.ElementsMatch(t, []string{"admin-token-0123456789", "acme-key-0123456789", "globex-key-0123456789"}, s.List())
	})
	t.Run("dsn reference", func(t *testing.T) {
		c := base()
		c.Store = Store{Driver: "postgres", DSN: "env:DB"}
		s, err := c.ResolveSecrets(getenv)
		require.NoError(t, err)
		assert.Equal(t, env["DB"], s.DSN)
		assert.Contains(t, s.List(), "pw-0123456789")
	})
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"unset variable", func(c *Config) { c.AdminToken = "env:NOPE" }, "admin_token: env:NOPE: the environment variable is empty or unset"},
		{"missing file", func(c *Config) { c.Tenants[0].APIKeys = []string{"file:" + filepath.Join(dir, "nope")} }, "tenants[0].api_keys[0]: file:"},
		{"short key", func(c *Config) { c.Tenants[0].APIKeys = []string{"env:SHORT"} }, "shorter than 16"},
		{"same key twice", func(c *Config) { c.Tenants[1].APIKeys = []string{"env:ACME_KEY"} }, "tenants[1].api_keys[0]: the same API key as tenants[0].api_keys[0]"},
		{"key equal to the admin token", func(c *Config) { c.Tenants[0].APIKeys = []string{"env:ADMIN_TOKEN"} }, "the same value as admin_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mutate(c)
			_, err := c.ResolveSecrets(getenv)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			for _, v := range env {
				if len(v) > 3 {
					assert.NotContains(t, err.Error(), v)
				}
			}
		})
	}
}

// TestExample loads examples/payhost.yaml, the documented example.
func TestExample(t *testing.T) {
	path := filepath.Join("..", "..", "examples", "payhost.yaml")
	cfg, err := Load(path, Options{})
	require.NoError(t, err)
	assert.Equal(t, "https://pay.example.com", cfg.Server.PublicURL)
	assert.Equal(t, ByteSize(128<<20), cfg.Wasm.MemoryLimit)
	assert.True(t, cfg.Rules.Watch)
	for _, p := range []string{cfg.Rules.File, cfg.Rules.Catalogue} {
		_, err := os.Stat(p)
		assert.NoError(t, err, "the example names %s", p)
	}
	env := map[string]string{"ACME_API_KEY": "acme-0123456789abcdef", "GLOBEX_API_KEY": "globex-0123456789abcdef",
		"ADMIN_TOKEN": "admin-0123456789abcdef"}
	s, err := cfg.ResolveSecrets(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Len(t, s.TenantKeys, 2)
	hc := cfg.Host()
	assert.Len(t, hc.Accounts, 1)
	assert.Equal(t, []host.TenantConfig{{Name: "acme", Accounts: []string{"main"}, Payouts: []string{"main"}},
		{Name: "globex", Accounts: []string{"main"}}}, hc.Tenants)
	assert.Equal(t, 30*time.Second, hc.Wasm.CallTimeout)
	assert.Equal(t, 5*time.Minute, hc.Poll.Max)
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), Options{})
	require.Error(t, err)
	path := filepath.Join(t.TempDir(), "payhost.yaml")
	require.NoError(t, os.WriteFile(path, []byte("servr: {}\n"), 0o600))
	_, err = Load(path, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+": servr: unknown key")
}
