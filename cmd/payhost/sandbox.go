package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/examples"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/config"
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/adapay"
	adapaysim "github.com/payhost/payhost/plugins/adapay/sim"
	"github.com/payhost/payhost/plugins/haotian"
	haotiansim "github.com/payhost/payhost/plugins/haotian/sim"
)

func init() {
	register(&command{path: "sandbox", usage: "[--addr HOST:PORT] [--data DIR] [--plugins DIR] [--rules FILE] [--keep] [--fast]",
		summary: "run the server with every provider simulator (docs/sandbox.md)", run: runSandbox})
}

// sandboxOptions configure a sandbox.
type sandboxOptions struct {
	Addr      string // the API's listen address
	DataDir   string // the SQLite database, the generated configuration and the rules audit log
	PluginDir string // where <plugin>.wasm files are looked for
	Rules     string // rule file; "" = examples/rules.yaml if it exists, else the embedded copy
	Keep      bool   // keep the database of an earlier run (the simulators forget theirs)
	Fast      bool   // simulated payers and refunds settle in a second (tests, demo)

	editSecrets func(map[string]string) // tests: change the secrets the sandbox made before it starts
}

// sandboxReady is the JSON line the sandbox prints once it serves.
type sandboxReady struct {
	Ready      bool   `json:"ready"`
	URL        string `json:"url"`
	APIKey     string `json:"api_key"`
	AdminToken string `json:"admin_token"`
}

// Environment variables the generated configuration refers to; the
// sandbox resolves them itself (they are never exported).
const (
	envSandboxAPIKey   = "PAYHOST_SANDBOX_API_KEY"
	envSandboxAdmin    = "PAYHOST_SANDBOX_ADMIN_TOKEN"
	envSandboxHaotian  = "PAYHOST_SANDBOX_HAOTIAN_SECRET"
	envSandboxAdapayPK = "PAYHOST_SANDBOX_ADAPAY_MERCHANT_PRIVATE"
	envSandboxAdapayPb = "PAYHOST_SANDBOX_ADAPAY_PUBLIC"
)

func runSandbox(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("payhost sandbox", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var o sandboxOptions
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "`HOST:PORT` the API listens on (port 0 picks a free one)")
	fs.StringVar(&o.DataDir, "data", ".sandbox", "`DIR` for the database, the generated configuration and the rules audit log")
	fs.StringVar(&o.PluginDir, "plugins", filepath.Join("bin", "plugins"), "`DIR` of the wasm plugins (make build); a missing one runs natively")
	fs.StringVar(&o.Rules, "rules", "", "rule `FILE` (default examples/rules.yaml, reloaded when it changes)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the database of an earlier run instead of starting empty")
	fs.BoolVar(&o.Fast, "fast", false, "simulated payers pay after 1s and refunds settle after 0.5s (default 5s and 2s)")
	if err := fs.Parse(args); err != nil {
		return flagExit(err, 2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(env.stderr, "usage: payhost sandbox", commands["sandbox"].usage)
		return 2
	}
	sb, err := startSandbox(ctx, env, o, printSandboxReady)
	if err != nil {
		fmt.Fprintln(env.stderr, "payhost sandbox:", err)
		return 1
	}
	return sb.wait(ctx)
}

// sandbox is a running sandbox: the server and the simulators behind it.
type sandbox struct {
	srv        *server
	sims       *simulators
	haotian    *haotiansim.Server
	adapay     *adapaysim.Server
	ready      sandboxReady
	configPath string
	rulesFile  string
}

// startSandbox starts the simulators on loopback, writes a configuration
// wiring an account of each to them, and starts the server on it. announce
// prints what a user needs (the ready line and examples).
func startSandbox(ctx context.Context, env *cmdEnv, o sandboxOptions, announce func(io.Writer, *sandbox)) (_ *sandbox, err error) {
	sb := &sandbox{}
	defer func() {
		if err != nil {
			sb.closeSims()
		}
	}()
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, err
	}
	if !o.Keep {
		for _, f := range []string{"payhost.db", "payhost.db-wal", "payhost.db-shm"} {
			if err := os.Remove(filepath.Join(dataDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("start with an empty database: %w", err)
			}
		}
	}
	// the simulators, on loopback
	sims, err := startSimulators(simOptions{HaotianAddr: "127.0.0.1:0", AdapayAddr: "127.0.0.1:0", Fast: o.Fast})
	if err != nil {
		return nil, err
	}
	sb.sims, sb.haotian, sb.adapay = sims, sims.haotian, sims.adapay
	haotianURL, adapayURL := sims.haotianURL, sims.adapayURL
	secrets := map[string]string{
		envSandboxAPIKey:   "sk_sandbox_" + randomHex(16),
		envSandboxAdmin:    "admin_" + randomHex(16),
		envSandboxHaotian:  sims.haotianSecret,
		envSandboxAdapayPK: sims.adapayPrivate,
		envSandboxAdapayPb: sims.adapayPublic,
	}
	if o.editSecrets != nil {
		o.editSecrets(secrets)
	}

	rulesFile, catalogueFile, err := sandboxRules(dataDir, o.Rules)
	if err != nil {
		return nil, err
	}
	sb.rulesFile = rulesFile
	natives := map[string]pdk.Plugin{}
	var wasm []string
	for name, p := range map[string]pdk.Plugin{haotian.Name: haotian.New(), adapay.Name: adapay.New()} {
		path, err := filepath.Abs(filepath.Join(o.PluginDir, name+".wasm"))
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); err == nil {
			wasm = append(wasm, path)
			continue
		}
		natives[name] = p
		fmt.Fprintf(env.stderr, "payhost sandbox: %s not found: the %s plugin runs natively (make build compiles it to wasm)\n", path, name)
	}
	text, err := sandboxConfig(sandboxConfigData{
		Addr: o.Addr, DataDir: dataDir, Rules: rulesFile, Catalogue: catalogueFile, Plugins: sortedStrings(wasm),
		HaotianURL: haotianURL, HaotianMchNo: haotiansim.DefaultMerchant.MchNo, HaotianAppID: haotiansim.DefaultMerchant.AppID,
		AdapayURL: adapayURL, AdapayAPIKey: adapaysim.DefaultMerchantAPIKey, AdapayAppID: adapaysim.DefaultMerchantAppID,
		PollFirst: map[bool]string{false: "2s", true: "500ms"}[o.Fast],
	})
	if err != nil {
		return nil, err
	}
	sb.configPath = filepath.Join(dataDir, "payhost.yaml")
	if err := os.WriteFile(sb.configPath, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("write the sandbox configuration: %w", err)
	}
	cfg, err := config.Parse([]byte(text), dataDir, config.Options{Environ: environ()})
	if err != nil {
		return nil, fmt.Errorf("sandbox configuration: %w", err)
	}
	senv := *env
	senv.getenv = func(k string) string {
		if v, ok := secrets[k]; ok {
			return v
		}
		return env.getenv(k)
	}
	sb.ready = sandboxReady{Ready: true, APIKey: secrets[envSandboxAPIKey], AdminToken: secrets[envSandboxAdmin]}
	srv, err := startServerWith(ctx, cfg, &senv, startOptions{
		loopback: true,
		adjust: func(hc *host.Config) {
			for _, name := range sortedKeys(natives) {
				hc.Plugins = append(hc.Plugins, host.PluginConfig{Native: natives[name]})
			}
		},
		// the ready line waits until the sandbox is complete (below)
		announce: func(_ io.Writer, url, _ string) { sb.ready.URL = url },
	})
	if err != nil {
		return nil, err
	}
	sb.srv = srv
	if err := sb.registerReceivers(ctx); err != nil {
		_ = srv.close(context.Background())
		return nil, err
	}
	if announce != nil {
		announce(env.stdout, sb)
	}
	return sb, nil
}

// sandboxPlatformMember is the Adapay member the sandbox's "platform"
// receiver is at account app.
const sandboxPlatformMember = "mem_sandbox_platform"

// registerReceivers gives the sandbox tenant the receiver its split rule
// names ("platform"): bound at the Haotian simulator in WeChat and Alipay
// (through the plugin, as POST /v1/split_receivers does), and registered as
// an existing Adapay member — which the plugin cannot confirm, so the
// sandbox, as the operator, binds it (POST /admin/split_receivers/{id}/bind).
func (sb *sandbox) registerReceivers(ctx context.Context) error {
	sb.adapay.AddMember(adapaysim.DefaultMerchantAPIKey, sandboxPlatformMember)
	for _, in := range []host.CreateReceiverInput{
		{Channel: "wxpay", AccountNo: "o8jhotwaUEffs1fyWE5O3N4HWvbk", AccountName: "平台"},
		{Channel: "alipay", AccountNo: "2088102175953034", AccountName: "平台"},
	} {
		in.Tenant, in.Name, in.Account, in.Kind, in.Relation, in.GroupID, in.RatioPPM = "sandbox", "platform", "main", "business", "PARTNER", "100001", 50_000
		r, err := sb.srv.host.CreateReceiver(ctx, in)
		if core.CodeOf(err) == core.CodeConflict {
			continue // kept from an earlier run (--keep)
		}
		if err != nil {
			return fmt.Errorf("register the sandbox's split receiver: %w", err)
		}
		if r.Failure != nil {
			return fmt.Errorf("register the sandbox's split receiver: %s: %s", r.Failure.Code, r.Failure.Message)
		}
	}
	r, err := sb.srv.host.CreateReceiver(ctx, host.CreateReceiverInput{Tenant: "sandbox", Name: "platform", Account: "app",
		ProviderReceiverID: sandboxPlatformMember})
	if core.CodeOf(err) == core.CodeConflict { // kept from an earlier run (--keep)
		rs, lerr := sb.srv.host.ListReceivers(ctx, "sandbox")
		if lerr != nil {
			return fmt.Errorf("register the sandbox's split receiver: %w", lerr)
		}
		for i := range rs {
			if rs[i].Account == "app" && rs[i].Name == "platform" {
				r, err = &rs[i], nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("register the sandbox's split receiver: %w", err)
	}
	if r != nil && r.Status == core.ReceiverPending {
		if _, err := sb.srv.host.ConfirmReceiver(ctx, r.ID); err != nil {
			return fmt.Errorf("bind the sandbox's split receiver: %w", err)
		}
	}
	return nil
}

func (sb *sandbox) closeSims() {
	if sb.sims != nil {
		sb.sims.close()
		sb.sims = nil
	}
}

// wait serves until ctx ends, then stops the server and the simulators.
func (sb *sandbox) wait(ctx context.Context) int {
	code := sb.srv.wait(ctx)
	sb.closeSims()
	return code
}

// sandboxRules picks the rule file and the catalogue: the checkout's
// examples when present (so edits to examples/rules.yaml reload), else the
// embedded copies written to the data directory.
func sandboxRules(dataDir, rulesFlag string) (rulesFile, catalogueFile string, err error) {
	abs := func(p string) (string, error) { return filepath.Abs(p) }
	rulesFile, catalogueFile = rulesFlag, filepath.Join("examples", "catalogue.yaml")
	if rulesFile == "" {
		rulesFile = filepath.Join("examples", "rules.yaml")
	}
	if _, err := os.Stat(rulesFile); err != nil {
		if rulesFlag != "" {
			return "", "", fmt.Errorf("--rules: %w", err)
		}
		rulesFile = filepath.Join(dataDir, "rules.yaml")
		if err := os.WriteFile(rulesFile, examples.Rules, 0o600); err != nil {
			return "", "", err
		}
	}
	if _, err := os.Stat(catalogueFile); err != nil {
		catalogueFile = filepath.Join(dataDir, "catalogue.yaml")
		if err := os.WriteFile(catalogueFile, examples.Catalogue, 0o600); err != nil {
			return "", "", err
		}
	}
	if rulesFile, err = abs(rulesFile); err != nil {
		return "", "", err
	}
	if catalogueFile, err = abs(catalogueFile); err != nil {
		return "", "", err
	}
	return rulesFile, catalogueFile, nil
}

type sandboxConfigData struct {
	Addr, DataDir, Rules, Catalogue      string
	Plugins                              []string
	HaotianURL, HaotianMchNo             string
	HaotianAppID                         string
	AdapayURL, AdapayAPIKey, AdapayAppID string
	PollFirst                            string
}

// sandboxTemplate is the configuration the sandbox runs on: a complete
// `payhost serve` configuration, written to DATA/payhost.yaml for reference.
var sandboxTemplate = template.Must(template.New("sandbox").Funcs(template.FuncMap{"q": quoteYAML}).Parse(`# Generated by payhost sandbox: the server's configuration while it runs.
# Secrets are references to values the sandbox generated at start.
server:
  addr: {{q .Addr}}
  shutdown_timeout: 10s
store:
  driver: sqlite
  path: {{q (print .DataDir "/payhost.db")}}
plugins:{{if not .Plugins}} []{{end}}
{{- range .Plugins}}
  - path: {{q .}}
{{- end}}
accounts:
  - name: main
    plugin: haotian
    endpoints:
      gateway: {url: {{q .HaotianURL}}, allow_private: true, timeout: 5s}
    keys:
      app_secret: env:` + envSandboxHaotian + `
    config:
      mch_no: {{q .HaotianMchNo}}
      app_id: {{q .HaotianAppID}}
  - name: app
    plugin: adapay
    endpoints:
      api: {url: {{q .AdapayURL}}, allow_private: true, timeout: 5s}
    keys:
      merchant_private: env:` + envSandboxAdapayPK + `
      adapay_public: env:` + envSandboxAdapayPb + `
    config:
      api_key: {{q .AdapayAPIKey}}
      app_id: {{q .AdapayAppID}}
      base_url: {{q .AdapayURL}}
tenants:
  - name: sandbox
    api_keys: [env:` + envSandboxAPIKey + `]
    merchant_id: sandbox
    tags: [marketplace]   # the example rules' marketplace split: 5% (at least 1 yuan) to "platform"
    accounts: [main, app] # its payments go to these accounts' channels; its calls may name them
    payouts: [main]       # it may move money out of main (transfers, cash-outs) and read main's balance
admin_token: env:` + envSandboxAdmin + `
rules:
  file: {{q .Rules}}
  catalogue: {{q .Catalogue}}
  watch: true
  audit_log: {{q (print .DataDir "/rules-audit.jsonl")}}
poll:
  interval: 500ms
  first: {{.PollFirst}}
  max: 30s
splits:
  delay: {{.PollFirst}}
log:
  level: info
  format: text
webhooks:
  allow_private: true   # endpoints on this machine (http://127.0.0.1:...) may receive the sandbox's events
`))

func sandboxConfig(d sandboxConfigData) (string, error) {
	var b strings.Builder
	if err := sandboxTemplate.Execute(&b, d); err != nil {
		return "", fmt.Errorf("sandbox configuration: %w", err)
	}
	return b.String(), nil
}

// quoteYAML quotes s as a YAML double-quoted scalar (JSON strings are).
func quoteYAML(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("payhost: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return sortedStrings(keys)
}

// printSandboxReady prints the ready line, then how to use the sandbox:
// commands that paste into a shell as they are.
func printSandboxReady(w io.Writer, sb *sandbox) {
	line, _ := json.Marshal(sb.ready)
	fmt.Fprintf(w, "%s\n", line)
	fmt.Fprintf(w, `
Payhost sandbox at %[1]s, with the Haotian and Adapay simulators behind it.
Rules: %[3]s (edit it: it reloads). Configuration: %[4]s.
Paste these into another shell:

  URL=%[1]s KEY=%[2]s

  # a payment; the simulated payer pays it a few seconds later
  ID=$(curl -s $URL/v1/payments -H "Authorization: Bearer $KEY" \
    -H 'Idempotency-Key: order-1001' -H 'Content-Type: application/json' \
    -d '{"amount":1000,"currency":"CNY","method":"wechat.native","merchant_order_id":"order-1001","description":"coffee"}' \
    | tee /dev/stderr | sed -n 's/^{"id":"\([^"]*\)".*/\1/p'); echo

  # a few seconds later it is "succeeded" (?refresh=true asks the provider)
  curl -s $URL/v1/payments/$ID -H "Authorization: Bearer $KEY"; echo

  # refund 3.00 of it
  curl -s $URL/v1/payments/$ID/refunds -H "Authorization: Bearer $KEY" \
    -H 'Idempotency-Key: refund-1001-1' -H 'Content-Type: application/json' \
    -d '{"amount":300,"reason":"one cup returned"}'; echo

  # the payment with its refund
  curl -s $URL/v1/payments/$ID -H "Authorization: Bearer $KEY"; echo

Magic amounts (any method): 66601 is declined, 66602 stays pending, 66603 is
processed but its answer is lost (the poller settles it). alipay.qr goes to
Adapay; hfpay and intl channels are not installed here, so they fail over.

Admin API: curl -s $URL/admin/rules -H "Authorization: Bearer %[5]s"
A scripted tour: bin/payhost demo --url $URL --api-key $KEY
Stop with Ctrl-C.
`, sb.ready.URL, sb.ready.APIKey, sb.rulesFile, sb.configPath, sb.ready.AdminToken)
}
