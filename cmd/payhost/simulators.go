package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	adapaysim "github.com/payhost/payhost/plugins/adapay/sim"
	haotiansim "github.com/payhost/payhost/plugins/haotian/sim"
)

func init() {
	register(&command{path: "simulators", usage: "[--haotian HOST:PORT] [--adapay HOST:PORT] [--keys DIR] [--fast] [--latency D]",
		summary: "run the provider simulators alone, for a payhost serve of your own (docs/sandbox.md)", run: runSimulators})
}

// simOptions configure the simulators.
type simOptions struct {
	HaotianAddr string // listen address of the Haotian simulator
	AdapayAddr  string // listen address of the Adapay simulator
	Fast        bool   // simulated payers and refunds settle in a second
	// Latency delays every answer of the simulators by that long, as a
	// provider far away would (each request on its own).
	Latency time.Duration
}

// simulators are the provider simulators, each serving on its own
// listener: the sandbox's, and those of `payhost simulators`.
type simulators struct {
	haotian    *haotiansim.Server
	adapay     *adapaysim.Server
	haotianURL string
	adapayURL  string
	// haotianSecret is the Haotian merchant's signing secret, new at every
	// start; adapayPrivate and adapayPublic are the Adapay merchant's
	// private key (PEM) and the simulator's public key (base64).
	haotianSecret string
	adapayPrivate string
	adapayPublic  string
	servers       []*http.Server
}

// startSimulators starts the Haotian and Adapay simulators with their
// sandbox configurations.
func startSimulators(o simOptions) (_ *simulators, err error) {
	s := &simulators{haotianSecret: randomHex(16)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	hcfg := haotiansim.SandboxConfig()
	hcfg.Merchants[0].Secret = s.haotianSecret
	acfg := adapaysim.SandboxConfig()
	if o.Fast {
		hcfg.AutoPayDelay, hcfg.RefundDelay = time.Second, 500*time.Millisecond
		acfg.AutoPayDelay, acfg.RefundDelay = time.Second, 500*time.Millisecond
	}
	hln, err := net.Listen("tcp", o.HaotianAddr)
	if err != nil {
		return nil, fmt.Errorf("haotian simulator: %w", err)
	}
	s.haotian = haotiansim.New(hcfg)
	s.haotianURL = s.serve(hln, delayed(s.haotian, o.Latency, sleep), s.haotian.Close)
	// Adapay signs the full URL, so the simulator must know the one clients use
	aln, err := net.Listen("tcp", o.AdapayAddr)
	if err != nil {
		return nil, fmt.Errorf("adapay simulator: %w", err)
	}
	acfg.PublicURL = listenURL(aln.Addr())
	s.adapay = adapaysim.New(acfg)
	s.adapayURL = s.serve(aln, delayed(s.adapay, o.Latency, sleep), s.adapay.Close)
	s.adapayPrivate = adapaysim.DefaultMerchantKey().PrivateKeyPEM()
	s.adapayPublic = s.adapay.PublicKeyBase64()
	return s, nil
}

// listenURL is the http URL of a listener, with a loopback host for one
// listening on every address.
func listenURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("http://127.0.0.1:%d", tcp.Port)
	}
	return "http://" + a.String()
}

// delayed is h answering each request after wait(ctx, d), in the request's
// own goroutine (requests wait side by side); a request whose client gave
// up while waiting gets no answer. d <= 0 is h.
func delayed(h http.Handler, d time.Duration, wait func(ctx context.Context, d time.Duration) bool) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wait(r.Context(), d) {
			h.ServeHTTP(w, r)
		}
	})
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *simulators) serve(ln net.Listener, h http.Handler, closeFn func()) string {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(closeFn)
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return listenURL(ln.Addr())
}

// close stops the simulators and their background work.
func (s *simulators) close() {
	for _, srv := range s.servers {
		_ = srv.Shutdown(context.Background())
		_ = srv.Close()
	}
	s.servers = nil
	// a simulator whose listener failed never served: stop its timers too
	if s.haotian != nil {
		s.haotian.Close()
	}
	if s.adapay != nil {
		s.adapay.Close()
	}
}

// simulatorsReady is the JSON line `payhost simulators` prints once both
// simulators serve: what an account of each needs. Secrets are file:
// references to files written under --keys, never the values.
type simulatorsReady struct {
	Ready   bool           `json:"ready"`
	Haotian haotianAccount `json:"haotian"`
	Adapay  adapayAccount  `json:"adapay"`
	// Accounts is a file holding the accounts section of a payhost
	// configuration wired to the simulators.
	Accounts string `json:"accounts"`
}

type haotianAccount struct {
	URL       string `json:"url"`
	MchNo     string `json:"mch_no"`
	AppID     string `json:"app_id"`
	AppSecret string `json:"app_secret"`
}

type adapayAccount struct {
	URL             string `json:"url"`
	APIKey          string `json:"api_key"`
	AppID           string `json:"app_id"`
	MerchantPrivate string `json:"merchant_private"`
	AdapayPublic    string `json:"adapay_public"`
}

// Files `payhost simulators` writes under --keys.
const (
	keyHaotianSecret  = "haotian_app_secret"
	keyAdapayPrivate  = "adapay_merchant_private.pem"
	keyAdapayPublic   = "adapay_public"
	simAccountsConfig = "accounts.yaml"
)

func runSimulators(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("payhost simulators", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var o simOptions
	fs.StringVar(&o.HaotianAddr, "haotian", "127.0.0.1:0", "`HOST:PORT` the Haotian simulator listens on (port 0 picks a free one)")
	fs.StringVar(&o.AdapayAddr, "adapay", "127.0.0.1:0", "`HOST:PORT` the Adapay simulator listens on (port 0 picks a free one)")
	keys := fs.String("keys", ".simulators", "`DIR` the merchants' keys and an accounts configuration are written to")
	fs.BoolVar(&o.Fast, "fast", false, "simulated payers pay after 1s and refunds settle after 0.5s (default 5s and 2s)")
	fs.DurationVar(&o.Latency, "latency", 0, "delay every answer by `D` (e.g. 50ms), as a provider far away would")
	if err := fs.Parse(args); err != nil {
		return flagExit(err, 2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(env.stderr, "usage: payhost simulators", commands["simulators"].usage)
		return 2
	}
	if o.Latency < 0 {
		fmt.Fprintln(env.stderr, "payhost simulators: --latency must not be negative")
		return 2
	}
	dir, err := filepath.Abs(*keys)
	if err == nil {
		err = os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		fmt.Fprintln(env.stderr, "payhost simulators: --keys:", err)
		return 1
	}
	sims, err := startSimulators(o)
	if err != nil {
		fmt.Fprintln(env.stderr, "payhost simulators:", err)
		return 1
	}
	defer sims.close()
	ready, err := sims.writeKeys(dir)
	if err != nil {
		fmt.Fprintln(env.stderr, "payhost simulators:", err)
		return 1
	}
	printSimulatorsReady(env.stdout, ready)
	<-ctx.Done()
	return 0
}

// writeKeys writes the merchants' secrets and an accounts configuration
// naming them to dir (files only the user can read) and returns the ready
// line.
func (s *simulators) writeKeys(dir string) (simulatorsReady, error) {
	files := map[string]string{
		keyHaotianSecret: s.haotianSecret,
		keyAdapayPrivate: s.adapayPrivate,
		keyAdapayPublic:  s.adapayPublic,
	}
	for name, v := range files {
		if err := writePrivate(filepath.Join(dir, name), v); err != nil {
			return simulatorsReady{}, err
		}
	}
	ref := func(name string) string { return "file:" + filepath.Join(dir, name) }
	r := simulatorsReady{
		Ready: true,
		Haotian: haotianAccount{URL: s.haotianURL, MchNo: haotiansim.DefaultMerchant.MchNo, AppID: haotiansim.DefaultMerchant.AppID,
			AppSecret: ref(keyHaotianSecret)},
		Adapay: adapayAccount{URL: s.adapayURL, APIKey: adapaysim.DefaultMerchantAPIKey, AppID: adapaysim.DefaultMerchantAppID,
			MerchantPrivate: ref(keyAdapayPrivate), AdapayPublic: ref(keyAdapayPublic)},
		Accounts: filepath.Join(dir, simAccountsConfig),
	}
	if err := writePrivate(r.Accounts, simAccountsYAML(r)); err != nil {
		return simulatorsReady{}, err
	}
	return r, nil
}

// writePrivate writes a file only its owner can read, replacing one of an
// earlier run.
func writePrivate(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil { // an earlier file kept its mode
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// simAccountsYAML is the accounts section of a payhost configuration wired
// to the simulators: the sandbox's accounts main (Haotian) and app (Adapay).
func simAccountsYAML(r simulatorsReady) string {
	q := quoteYAML
	var b strings.Builder
	fmt.Fprintf(&b, `# Generated by payhost simulators: the accounts of a payhost configuration
# wired to the simulators while they run (their keys are new at every start).
accounts:
  - name: main
    plugin: haotian
    endpoints:
      gateway: {url: %s, allow_private: true, timeout: 5s}
    keys:
      app_secret: %s
    config:
      mch_no: %s
      app_id: %s
  - name: app
    plugin: adapay
    endpoints:
      api: {url: %s, allow_private: true, timeout: 5s}
    keys:
      merchant_private: %s
      adapay_public: %s
    config:
      api_key: %s
      app_id: %s
      base_url: %s
`, q(r.Haotian.URL), q(r.Haotian.AppSecret), q(r.Haotian.MchNo), q(r.Haotian.AppID),
		q(r.Adapay.URL), q(r.Adapay.MerchantPrivate), q(r.Adapay.AdapayPublic), q(r.Adapay.APIKey), q(r.Adapay.AppID), q(r.Adapay.URL))
	return b.String()
}

// printSimulatorsReady prints the ready line, then how to use the
// simulators.
func printSimulatorsReady(w io.Writer, r simulatorsReady) {
	line, _ := json.Marshal(r)
	fmt.Fprintf(w, "%s\n", line)
	fmt.Fprintf(w, `
Haotian simulator at %[1]s, Adapay simulator at %[2]s.
The accounts section of a payhost configuration wired to them is in
%[3]s (accounts main and app, as in the sandbox; their keys are
file: references next to it, new at every start). The simulators keep
their orders in memory until they stop; GET %[1]s/sim/state
and GET %[2]s/sim/state show them.
Stop with Ctrl-C.
`, r.Haotian.URL, r.Adapay.URL, r.Accounts)
}
