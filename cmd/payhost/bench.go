package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for the run's schema

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/internal/procs"
	"github.com/payhost/payhost/plugins/haotian"
	haotiansim "github.com/payhost/payhost/plugins/haotian/sim"
)

func init() {
	register(&command{path: "bench",
		usage:   "[--postgres DSN] [--concurrency 1,8,32,64] [--duration D] [--requests N] [--latency D] [--json]",
		summary: "measure create-payment throughput of payhost serve against a direct client of the same simulator (docs/benchmarks.md)",
		run:     runBench})
}

// benchOptions configure `payhost bench`.
type benchOptions struct {
	Postgres    string        // PostgreSQL DSN; "" is SQLite on disk
	Concurrency []int         // the steps' concurrencies
	Duration    time.Duration // of each step
	Requests    int           // ends a step after that many requests too (0: no limit)
	Warmup      time.Duration // both variants at the highest concurrency before the steps
	Latency     time.Duration // of every simulator answer
	Plugin      string        // the Haotian plugin's wasm build
	WasmCache   string        // the server's wazero compilation cache ("" is one of the run's)
	JSON        bool
}

// benchAmount is the amount of every payment: the simulator's "never
// pays" amount, so no payer pays and no notification comes back during the
// run: the steps measure payment creation alone.
const benchAmount = haotiansim.MagicNeverPay

// benchReport is what `payhost bench` measured.
type benchReport struct {
	Version     string     `json:"version"`
	Store       string     `json:"store"` // "sqlite" or "postgres"
	Latency     string     `json:"latency"`
	Duration    string     `json:"duration"`
	Requests    int        `json:"requests_per_step,omitempty"`
	CPUs        int        `json:"cpus"`
	Rows        []benchRow `json:"rows"`
	FirstErrors []string   `json:"first_errors,omitempty"`
}

// benchRow is one step: one variant at one concurrency. The pointers are
// set on payhost rows only.
type benchRow struct {
	Variant     string   `json:"variant"` // "payhost" or "direct"
	Concurrency int      `json:"concurrency"`
	Requests    int      `json:"requests"` // answered successfully
	Errors      int      `json:"errors"`
	Seconds     float64  `json:"seconds"`
	PerSecond   float64  `json:"req_per_s"`
	P50ms       float64  `json:"p50_ms"`
	P99ms       float64  `json:"p99_ms"`
	Ratio       *float64 `json:"payhost_direct,omitempty"`         // payhost req/s over direct req/s at the same concurrency
	CPUms       *float64 `json:"server_cpu_ms_per_req,omitempty"`  // CPU time of the serve process per payment
	Commits     *float64 `json:"commits_per_payment,omitempty"`    // payhost_store_commits_total per payment
	Statements  *float64 `json:"statements_per_payment,omitempty"` // payhost_store_statements_total per payment
}

func runBench(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("payhost bench", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var o benchOptions
	fs.StringVar(&o.Postgres, "postgres", "", "run the server on PostgreSQL at `DSN` (loopback), in a schema of its own dropped afterwards; default SQLite on disk")
	conc := fs.String("concurrency", "1,8,32,64", "the steps' concurrencies, `LIST` of positive integers")
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "each step lasts `D`")
	fs.IntVar(&o.Requests, "requests", 0, "each step ends after `N` requests too (0: no limit)")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "both variants run `D` at the highest concurrency before the steps, unmeasured")
	fs.DurationVar(&o.Latency, "latency", 0, "the simulators answer every request after `D` (payhost simulators --latency)")
	fs.StringVar(&o.Plugin, "plugin", defaultBenchPlugin(), "the Haotian plugin's wasm `FILE` (make build)")
	fs.StringVar(&o.WasmCache, "wasm-cache", "", "the server's wazero compilation cache `DIR` (default: a new one, so the plugin compiles once per run)")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return flagExit(err, 2)
	}
	var err error
	if o.Concurrency, err = parseConcurrency(*conc); err == nil {
		err = o.validate()
	}
	if err == nil && fs.NArg() > 0 {
		err = errors.New("unexpected arguments: " + strings.Join(fs.Args(), " "))
	}
	if err != nil {
		fmt.Fprintln(env.stderr, "payhost bench:", err)
		fmt.Fprintln(env.stderr, "usage: payhost bench", commands["bench"].usage)
		return 2
	}
	rep, err := benchmark(ctx, o, env.stderr)
	if err != nil {
		fmt.Fprintln(env.stderr, "payhost bench:", err)
		return 1
	}
	if o.JSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(env.stdout, "%s\n", b)
	} else {
		rep.print(env.stdout)
	}
	for _, r := range rep.Rows {
		if r.Requests == 0 {
			fmt.Fprintf(env.stderr, "payhost bench: %s at concurrency %d: no request succeeded\n", r.Variant, r.Concurrency)
			return 1
		}
	}
	return 0
}

// defaultBenchPlugin is plugins/haotian.wasm beside the binary (bin/ after
// make build).
func defaultBenchPlugin() string {
	exe, err := os.Executable()
	if err != nil {
		return filepath.Join("bin", "plugins", "haotian.wasm")
	}
	return filepath.Join(filepath.Dir(exe), "plugins", "haotian.wasm")
}

// parseConcurrency reads a comma-separated list of positive integers.
func parseConcurrency(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("--concurrency %q: want a comma-separated list of integers from 1 to 4096", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func (o *benchOptions) validate() error {
	switch {
	case o.Duration <= 0:
		return errors.New("--duration must be positive")
	case o.Requests < 0:
		return errors.New("--requests must not be negative")
	case o.Warmup < 0:
		return errors.New("--warmup must not be negative")
	case o.Latency < 0:
		return errors.New("--latency must not be negative")
	}
	if _, err := os.Stat(o.Plugin); err != nil {
		return fmt.Errorf("--plugin: the Haotian plugin: %w (make build writes bin/plugins/haotian.wasm)", err)
	}
	if o.Postgres != "" {
		return loopbackDSN(o.Postgres)
	}
	return nil
}

// loopbackDSN refuses a PostgreSQL DSN whose server is not on this machine
// (a Unix socket or a loopback address): the bench measures one machine.
func loopbackDSN(dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return errors.New("--postgres: not a PostgreSQL DSN")
	}
	hosts := []string{cfg.Host}
	for _, f := range cfg.Fallbacks {
		hosts = append(hosts, f.Host)
	}
	for _, h := range hosts {
		ip := net.ParseIP(h)
		if !strings.HasPrefix(h, "/") && h != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("--postgres: server %q is not on this machine (a loopback address or a Unix socket)", h)
		}
	}
	return nil
}

// benchRun is the processes and clients of one run.
type benchRun struct {
	o       benchOptions
	dir     string
	log     io.Writer // progress
	sims    *procs.Process
	serve   *procs.Process
	url     string // the server's
	apiKey  string
	client  *http.Client // to the server
	direct  plugin.Plugin
	binding *caps.Binding
	seq     atomic.Int64 // makes idempotency keys and payment ids unique
	runID   string
	cleanup []func() error
}

// benchmark starts the simulators and the server, runs the warm-up and the
// steps, and stops everything it started.
func benchmark(ctx context.Context, o benchOptions, progress io.Writer) (_ *benchReport, err error) {
	r := &benchRun{o: o, log: progress, runID: randomHex(4)}
	defer func() { err = errors.Join(err, r.close()) }()
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	rep := &benchReport{Version: version, Store: "sqlite", Latency: o.Latency.String(), Duration: o.Duration.String(),
		Requests: o.Requests, CPUs: runtime.NumCPU()}
	if o.Postgres != "" {
		rep.Store = "postgres"
	}
	if o.Warmup > 0 {
		fmt.Fprintf(progress, "payhost bench: warming up for %s\n", o.Warmup)
		c := slices.Max(o.Concurrency)
		for _, v := range []string{"payhost", "direct"} {
			r.load(ctx, v, c, o.Warmup, 0)
		}
	}
	firstErr := map[string]string{}
	for i, c := range o.Concurrency {
		variants := []string{"payhost", "direct"}
		if i%2 == 1 { // interleaved: neither variant always goes first
			variants = []string{"direct", "payhost"}
		}
		rows := map[string]*benchRow{}
		for _, v := range variants {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			row, errText, err := r.step(ctx, v, c)
			if err != nil {
				return nil, err
			}
			if errText != "" && firstErr[v] == "" {
				firstErr[v] = errText
			}
			fmt.Fprintf(progress, "payhost bench: %-7s c=%-3d %8.0f req/s (%d ok, %d errors)\n", v, c, row.PerSecond, row.Requests, row.Errors)
			rows[v] = row
		}
		if d := rows["direct"].PerSecond; d > 0 {
			rows["payhost"].Ratio = ptr(rows["payhost"].PerSecond / d)
		}
		rep.Rows = append(rep.Rows, *rows["payhost"], *rows["direct"])
	}
	for _, v := range []string{"payhost", "direct"} {
		if firstErr[v] != "" {
			rep.FirstErrors = append(rep.FirstErrors, v+": "+firstErr[v])
		}
	}
	return rep, nil
}

// start starts the simulators, the run's schema on PostgreSQL, the server,
// and the direct client.
func (r *benchRun) start(ctx context.Context) error {
	var err error
	if r.dir, err = os.MkdirTemp("", "payhost-bench-"); err != nil {
		return err
	}
	r.cleanup = append(r.cleanup, func() error { return os.RemoveAll(r.dir) })
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	env := benchEnviron()

	fmt.Fprintf(r.log, "payhost bench: starting the simulators (latency %s)\n", r.o.Latency)
	line, err := r.startProcess(&r.sims, bin, []string{"simulators", "--keys", filepath.Join(r.dir, "keys"),
		"--latency", r.o.Latency.String()}, env, "simulators.log", time.Minute)
	if err != nil {
		return err
	}
	var sims simulatorsReady
	if err := json.Unmarshal(line, &sims); err != nil || !sims.Ready {
		return fmt.Errorf("payhost simulators: ready line %q", line)
	}

	storeYAML := "  driver: sqlite\n  path: " + quoteYAML(filepath.Join(r.dir, "payhost.db")) + "\n"
	if r.o.Postgres != "" {
		dsn, err := r.freshSchema(ctx)
		if err != nil {
			return err
		}
		env = append(env, "PAYHOST_BENCH_DSN="+dsn)
		storeYAML = "  driver: postgres\n  dsn: env:PAYHOST_BENCH_DSN\n"
	}
	r.apiKey = "sk_bench_" + randomHex(16)
	env = append(env, "PAYHOST_BENCH_API_KEY="+r.apiKey)
	cfg, err := r.writeConfig(sims.Haotian, storeYAML)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.log, "payhost bench: starting payhost serve (%s)\n", strings.Fields(storeYAML)[1])
	if line, err = r.startProcess(&r.serve, bin, []string{"serve", "--config", cfg}, env, "serve.log", 5*time.Minute); err != nil {
		return err
	}
	var rd ready
	if err := json.Unmarshal(line, &rd); err != nil || !rd.Ready {
		return fmt.Errorf("payhost serve: ready line %q", line)
	}
	r.url = rd.URL
	maxc := slices.Max(r.o.Concurrency)
	r.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil, MaxIdleConns: maxc, MaxIdleConnsPerHost: maxc}}

	// the direct client: the plugin linked in, on the same capabilities
	if r.direct, err = plugin.NewNative(haotian.New()); err != nil {
		return err
	}
	r.binding, err = caps.Bind(r.direct.Manifest(), caps.AccountConfig{Name: "main", Plugin: haotian.Name,
		Endpoints: map[string]caps.EndpointConfig{"gateway": {URL: sims.Haotian.URL, AllowPrivate: true, Timeout: 30 * time.Second}},
		Keys:      map[string]string{"app_secret": sims.Haotian.AppSecret},
		Config:    map[string]string{"mch_no": sims.Haotian.MchNo, "app_id": sims.Haotian.AppID}}, caps.Deps{})
	return err
}

// benchEnviron is this process's environment without the PAYHOST_*
// configuration overrides (a double underscore), which would change the
// server the bench configures.
func benchEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PAYHOST_") && strings.Contains(name, "__") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// startProcess starts one of the run's processes, its stderr in a log file
// of the run; when it fails, the log's end is in the error.
func (r *benchRun) startProcess(p **procs.Process, bin string, args, env []string, logName string, timeout time.Duration) ([]byte, error) {
	path := filepath.Join(r.dir, logName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	r.cleanup = append(r.cleanup, f.Close)
	proc, line, err := procs.Start(bin, args, env, f, timeout)
	if err != nil {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return nil, fmt.Errorf("%w\n%s", err, strings.Join(lines[max(0, len(lines)-20):], "\n"))
	}
	*p = proc
	r.cleanup = append(r.cleanup, func() error { proc.Stop(); return nil })
	return line, nil
}

// freshSchema creates the run's schema and returns a DSN selecting it.
func (r *benchRun) freshSchema(ctx context.Context) (string, error) {
	db, err := sql.Open("pgx", r.o.Postgres)
	if err != nil {
		return "", errors.New("--postgres: not a PostgreSQL DSN")
	}
	schema := "payhost_bench_" + r.runID
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = db.Close()
		return "", fmt.Errorf("--postgres: create schema %s: %w", schema, err)
	}
	r.cleanup = append(r.cleanup, func() error {
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			return errors.Join(fmt.Errorf("drop schema %s: %w", schema, err), db.Close())
		}
		return db.Close()
	})
	if u, err := url.Parse(r.o.Postgres); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return r.o.Postgres + " search_path=" + schema, nil
}

// writeConfig writes the server's rules and configuration: the Haotian
// account on the simulator, one tenant, and a poller whose first query of a
// payment is an hour away, so that the steps measure creation alone.
func (r *benchRun) writeConfig(h haotianAccount, storeYAML string) (string, error) {
	q := quoteYAML
	rules := filepath.Join(r.dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte("version: 1\ndescription: payhost bench\ndefault_route:\n  channel: haotian/main/*\n"), 0o600); err != nil {
		return "", err
	}
	cache := r.o.WasmCache
	if cache == "" {
		cache = filepath.Join(r.dir, "wazero-cache")
	}
	cfg := `accounts:
  - name: main
    plugin: haotian
    endpoints:
      gateway: {url: ` + q(h.URL) + `, allow_private: true, timeout: 30s}
    keys:
      app_secret: ` + q(h.AppSecret) + `
    config:
      mch_no: ` + q(h.MchNo) + `
      app_id: ` + q(h.AppID) + `
server:
  addr: 127.0.0.1:0
  shutdown_timeout: 10s
store:
` + storeYAML + `plugins:
  - path: ` + q(r.o.Plugin) + `
wasm:
  cache_dir: ` + q(cache) + `
tenants:
  - name: bench
    api_keys: [env:PAYHOST_BENCH_API_KEY]
    accounts: [main]
rules:
  file: ` + q(rules) + `
poll:
  first: 1h
`
	path := filepath.Join(r.dir, "payhost.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// close stops what start started, in reverse order.
func (r *benchRun) close() error {
	var errs []error
	if r.direct != nil {
		errs = append(errs, r.direct.Close(context.Background()))
	}
	for i := len(r.cleanup) - 1; i >= 0; i-- {
		errs = append(errs, r.cleanup[i]())
	}
	return errors.Join(errs...)
}

// step measures one variant at concurrency c; errText is the first error.
func (r *benchRun) step(ctx context.Context, variant string, c int) (*benchRow, string, error) {
	var cpu0 time.Duration
	var before map[string]float64
	if variant == "payhost" {
		var err error
		if before, err = r.counters(ctx); err != nil {
			return nil, "", err
		}
		if cpu0, err = r.serve.CPUTime(); err != nil {
			cpu0 = -1
		}
	}
	res := r.load(ctx, variant, c, r.o.Duration, r.o.Requests)
	row := &benchRow{Variant: variant, Concurrency: c, Requests: len(res.latencies), Errors: res.errors,
		Seconds: res.elapsed.Seconds(), PerSecond: float64(len(res.latencies)) / res.elapsed.Seconds(),
		P50ms: percentile(res.latencies, 50), P99ms: percentile(res.latencies, 99)}
	if variant != "payhost" || row.Requests == 0 {
		return row, res.firstErr, nil
	}
	n := float64(row.Requests)
	if cpu1, err := r.serve.CPUTime(); err == nil && cpu0 >= 0 {
		row.CPUms = ptr(float64(cpu1-cpu0) / float64(time.Millisecond) / n)
	}
	after, err := r.counters(ctx)
	if err != nil {
		return nil, "", err
	}
	if a, ok := after[metricCommits]; ok {
		row.Commits = ptr((a - before[metricCommits]) / n)
	}
	if a, ok := after[metricStatements]; ok {
		row.Statements = ptr((a - before[metricStatements]) / n)
	}
	return row, res.firstErr, nil
}

// loadResult is what a load measured.
type loadResult struct {
	latencies []time.Duration // of the requests that succeeded
	errors    int
	firstErr  string
	elapsed   time.Duration
}

// load runs c workers sending variant's requests one after the other for
// d (or n requests in all when n > 0); each worker sends at least one.
func (r *benchRun) load(ctx context.Context, variant string, c int, d time.Duration, n int) loadResult {
	send := r.viaPayhost
	if variant == "direct" {
		send = r.direct1
	}
	var (
		mu      sync.Mutex
		res     loadResult
		started atomic.Int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for range c {
		wg.Go(func() {
			var lat []time.Duration
			var errs int
			var firstErr string
			for i := 0; ; i++ {
				more := ctx.Err() == nil && time.Now().Before(end) && (n == 0 || started.Add(1) <= int64(n))
				if !more && i > 0 {
					break
				}
				t0 := time.Now()
				if err := send(ctx); err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, lat...)
			res.errors += errs
			if res.firstErr == "" {
				res.firstErr = firstErr
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res
}

// viaPayhost creates a payment through the server, with a new
// Idempotency-Key.
func (r *benchRun) viaPayhost(ctx context.Context) error {
	body := fmt.Sprintf(`{"amount":%d,"currency":"CNY","method":"alipay.qr","description":"bench"}`, benchAmount)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/v1/payments", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%s-%d", r.runID, r.seq.Add(1)))
	res, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST /v1/payments: %d %s", res.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// direct1 creates a payment at the simulator with the plugin linked in:
// its own signed unifiedOrder, through the same HTTP capability the server
// uses, and no server.
func (r *benchRun) direct1(ctx context.Context) error {
	_, err := plugin.Call[core.CreatePaymentResponse](ctx, r.direct, r.binding, core.OpPaymentCreate, &core.CreatePaymentRequest{
		PaymentID: fmt.Sprintf("bench_%s_%d", r.runID, r.seq.Add(1)), Amount: benchAmount, Currency: "CNY",
		Method: core.MethodAlipayQR, Subject: "bench", NotifyURL: "http://127.0.0.1:9/notify"})
	return err
}

// The server's counters read for each payhost step.
const (
	metricCommits    = "payhost_store_commits_total"
	metricStatements = "payhost_store_statements_total"
)

// counters reads the store's counters from the server's /metrics.
func (r *benchRun) counters(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	res, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	return parseCounters(string(b), metricCommits, metricStatements), nil
}

// parseCounters reads the unlabelled samples named in Prometheus' text
// exposition format.
func parseCounters(text string, names ...string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || !slices.Contains(names, f[0]) {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	return out
}

// percentile is the p-th percentile (nearest rank) of sorted, in
// milliseconds; 0 when there is none.
func percentile(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return float64(sorted[max(i, 1)-1]) / float64(time.Millisecond)
}

func ptr(f float64) *float64 { return &f }

// print writes the report as a table.
func (rep *benchReport) print(w io.Writer) {
	store := "SQLite on disk"
	if rep.Store == "postgres" {
		store = "PostgreSQL"
	}
	fmt.Fprintf(w, "payhost bench %s: %s, provider latency %s, %s per step", rep.Version, store, rep.Latency, rep.Duration)
	if rep.Requests > 0 {
		fmt.Fprintf(w, " (at most %d requests)", rep.Requests)
	}
	fmt.Fprintf(w, ", %d CPUs\n\n", rep.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tconcurrency\treq/s\tp50 ms\tp99 ms\tpayhost/direct\tserver CPU ms/req\tcommits/payment\tstatements/payment\terrors\t")
	opt := func(p *float64, format string) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf(format, *p)
	}
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%-7s\t%d\t%.0f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%d\t\n", r.Variant, r.Concurrency, r.PerSecond, r.P50ms, r.P99ms,
			opt(r.Ratio, "%.2f"), opt(r.CPUms, "%.2f"), opt(r.Commits, "%.2f"), opt(r.Statements, "%.1f"), r.Errors)
	}
	_ = tw.Flush()
	for _, e := range rep.FirstErrors {
		fmt.Fprintln(w, "first error of", e)
	}
}
