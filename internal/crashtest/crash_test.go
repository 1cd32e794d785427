package crashtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/payhost/payhost/internal/pgtest"
	"github.com/payhost/payhost/internal/procs"
	"github.com/payhost/payhost/internal/testwasm"
)

// settings are the crash test's knobs, from the environment.
type settings struct {
	kills        int           // SIGKILLs of the server under load (PAYHOST_CRASH_KILLS, default 30)
	workers      int           // scenarios at once (PAYHOST_CRASH_WORKERS, default 12)
	seed         uint64        // the killer's and the workers' random choices (PAYHOST_CRASH_SEED, default random)
	minUp, maxUp time.Duration // how long the server runs between kills (PAYHOST_CRASH_UPTIME=MIN-MAX, default 200ms-2.5s)
	lease        time.Duration // idempotency.lease to configure, when the server has the key (PAYHOST_CRASH_LEASE, default 10s)
	bin          string        // a built payhost (PAYHOST_CRASH_BIN; default: built by the test)
	keep         bool          // keep the database schema (PAYHOST_CRASH_KEEP=1)
}

func loadSettings(t *testing.T) settings {
	t.Helper()
	s := settings{kills: 30, workers: 12, minUp: 200 * time.Millisecond, maxUp: 2500 * time.Millisecond, lease: 10 * time.Second,
		bin: os.Getenv("PAYHOST_CRASH_BIN"), keep: os.Getenv("PAYHOST_CRASH_KEEP") == "1"}
	var b [8]byte
	_, _ = rand.Read(b[:])
	s.seed = uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	s.seed &= 1<<53 - 1 // printable and re-enterable exactly
	atoi := func(name string, dst *int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				t.Fatalf("%s=%q: want a non-negative integer", name, v)
			}
			*dst = n
		}
	}
	atoi("PAYHOST_CRASH_KILLS", &s.kills)
	atoi("PAYHOST_CRASH_WORKERS", &s.workers)
	if v := os.Getenv("PAYHOST_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("PAYHOST_CRASH_SEED=%q: want an unsigned integer", v)
		}
		s.seed = n
	}
	if v := os.Getenv("PAYHOST_CRASH_UPTIME"); v != "" {
		lo, hi, ok := strings.Cut(v, "-")
		a, err1 := time.ParseDuration(lo)
		b, err2 := time.ParseDuration(hi)
		if !ok || err1 != nil || err2 != nil || a < 0 || b < a {
			t.Fatalf("PAYHOST_CRASH_UPTIME=%q: want MIN-MAX, e.g. 200ms-2.5s", v)
		}
		s.minUp, s.maxUp = a, b
	}
	if v := os.Getenv("PAYHOST_CRASH_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("PAYHOST_CRASH_LEASE=%q: want a positive duration", v)
		}
		s.lease = d
	}
	if s.workers == 0 {
		s.workers = 1
	}
	return s
}

// fixedLease is the server's idempotency lease when it has no
// idempotency.lease key.
const fixedLease = 2 * time.Minute

// TestCrash is the crash test: the simulators in their own process, a real
// `payhost serve` on PostgreSQL (a fresh schema) killed with SIGKILL at
// random moments and restarted under a retrying load of payments and
// refunds, then, once everything has settled, Check. It fails when a
// figure is not 0. It runs only with PAYHOST_CRASH_TEST=1 (make test-crash)
// and PAYHOST_TEST_POSTGRES; docs/crash-test.md has the knobs.
func TestCrash(t *testing.T) {
	if os.Getenv("PAYHOST_CRASH_TEST") != "1" {
		t.Skip("the crash test runs with PAYHOST_CRASH_TEST=1 (make test-crash)")
	}
	started := time.Now()
	set := loadSettings(t)
	t.Logf("crash test: seed %d (PAYHOST_CRASH_SEED), %d kills, %d workers, uptime %s-%s", set.seed, set.kills, set.workers, set.minUp, set.maxUp)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := t.TempDir()

	// the binary, the plugins and the database
	bin := set.bin
	if bin == "" {
		bin = buildPayhost(t, dir)
	}
	haotianWasm, adapayWasm := testwasm.Build(t, "plugins/haotian/wasm"), testwasm.Build(t, "plugins/adapay/wasm")
	dsn, db := freshSchema(t, set.keep)

	// the simulators, in their own process
	simLog := openLog(t, filepath.Join(dir, "simulators.log"))
	sims, line, err := procs.Start(bin, []string{"simulators", "--keys", filepath.Join(dir, "keys"), "--fast"}, nil, simLog, time.Minute)
	if err != nil {
		t.Fatalf("payhost simulators: %v\n%s", err, tail(simLog.Name(), 20))
	}
	t.Cleanup(func() { sims.Stop() })
	var simReady struct {
		Haotian  struct{ URL string }
		Adapay   struct{ URL string }
		Accounts string
	}
	if err := json.Unmarshal(line, &simReady); err != nil || simReady.Accounts == "" {
		t.Fatalf("simulators' ready line %q: %v", line, err)
	}
	accounts, err := os.ReadFile(simReady.Accounts)
	if err != nil {
		t.Fatal(err)
	}

	// webhooks go to a receiver here
	hooks := &receiver{seen: map[string]bool{}}
	hookSrv := httptest.NewServer(hooks)
	t.Cleanup(hookSrv.Close)

	// the server: one port for every restart, so clients and the
	// simulators' notifications find it again
	addr := freePort(t)
	apiKey, admin := "sk_crash_"+randomHex(12), "admin_"+randomHex(12)
	env := append(os.Environ(), "CRASH_API_KEY="+apiKey, "CRASH_ADMIN_TOKEN="+admin)
	cfgPath := filepath.Join(dir, "payhost.yaml")
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(crashRules), 0o600); err != nil {
		t.Fatal(err)
	}
	writeConfig := func(withLease bool) {
		c := serveConfig(string(accounts), addr, dsn, haotianWasm, adapayWasm, rulesPath, testwasm.CacheDir())
		if withLease {
			c += fmt.Sprintf("idempotency:\n  lease: %s\n", set.lease)
		}
		if err := os.WriteFile(cfgPath, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	serveLog := openLog(t, filepath.Join(dir, "serve.log"))
	serveArgs := []string{"serve", "--config", cfgPath}
	lease := set.lease
	writeConfig(true)
	srv, _, err := procs.Start(bin, serveArgs, env, serveLog, 2*time.Minute)
	if refused := tail(serveLog.Name(), 1); err != nil && strings.Contains(refused, "idempotency") {
		lease = fixedLease
		t.Logf("the server refused idempotency.lease (%s): its fixed %s lease applies (retries and settling wait that long)",
			strings.TrimSpace(refused), fixedLease)
		writeConfig(false)
		srv, _, err = procs.Start(bin, serveArgs, env, serveLog, 2*time.Minute)
	}
	if err != nil {
		t.Fatalf("payhost serve: %v\n%s", err, tail(serveLog.Name(), 30))
	}
	defer func() {
		if srv != nil { // nil when a restart failed
			srv.Stop()
		}
	}()
	if lease != fixedLease {
		t.Logf("idempotency.lease: %s", lease)
	}
	baseURL := "http://" + addr
	if err := registerWebhook(ctx, baseURL, apiKey, hookSrv.URL); err != nil {
		t.Fatal(err)
	}

	// the load, and the killer
	retryFor := lease + time.Minute
	load := NewLoad(LoadConfig{URL: baseURL, APIKey: apiKey, Workers: set.workers, Seed: set.seed, RetryFor: retryFor})
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	loadStart := time.Now()
	go func() { defer close(loadDone); load.Run(ctx, stop) }()
	rng := mrand.New(mrand.NewPCG(set.seed, 0))
	lastKill := loadStart
	var downs []time.Duration // from a kill to the ready line of the restarted server
	for i := 1; i <= set.kills; i++ {
		up := set.minUp + time.Duration(rng.Int64N(int64(set.maxUp-set.minUp)+1))
		time.Sleep(up) // the moment of the kill is the random part, not a wait for a condition
		srv.Kill()
		lastKill = time.Now()
		if i%5 == 0 || i == set.kills {
			t.Logf("kill %d/%d after %s up; %d requests so far", i, set.kills, up.Round(time.Millisecond), len(load.Requests()))
		}
		if srv, _, err = procs.Start(bin, serveArgs, env, serveLog, 2*time.Minute); err != nil {
			close(stop)
			t.Fatalf("restart %d: %v\n%s", i, err, tail(serveLog.Name(), 30))
		}
		downs = append(downs, time.Since(lastKill))
	}
	loadFor := time.Since(loadStart)
	close(stop)
	select {
	case <-loadDone:
	case <-time.After(retryFor + 2*time.Minute):
		t.Fatalf("the load did not finish within %s of its end", retryFor+2*time.Minute)
	}
	drained := time.Now()
	t.Logf("load stopped after %d kills; its requests got their answers %s later", set.kills, drained.Sub(lastKill).Round(time.Second))

	// settle: until every object still pending waits for a provider object
	// that is not final or is older than the lease and a few poller rounds
	// (the poller settles what a crash cut short once the lease is over),
	// and every webhook is delivered; bounded
	grace := lease + 30*time.Second
	settleBy := lastKill.Add(grace + time.Minute)
	if atLeast := drained.Add(time.Minute); settleBy.Before(atLeast) {
		settleBy = atLeast
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	var dbs *DB
	var prov *Providers
	for next := time.Now(); ; {
		if prov, err = ReadProviders(ctx, hc, simReady.Haotian.URL, simReady.Adapay.URL); err != nil {
			t.Fatal(err)
		}
		if dbs, err = ReadDB(ctx, db); err != nil {
			t.Fatal(err)
		}
		ok, unsettled := Settled(dbs, prov, time.Now(), grace)
		if ok && dbs.Deliveries["pending"] == 0 {
			t.Logf("settled %s after the load", time.Since(drained).Round(time.Second))
			break
		}
		if time.Now().After(settleBy) {
			t.Logf("not settled at the bound: %d objects, %d webhook deliveries pending; checking as it is",
				len(unsettled), dbs.Deliveries["pending"])
			break
		}
		if time.Now().After(next) {
			t.Logf("settling: %d objects unsettled (e.g. %s), %d webhook deliveries pending", len(unsettled), first(unsettled), dbs.Deliveries["pending"])
			next = time.Now().Add(15 * time.Second)
		}
		time.Sleep(500 * time.Millisecond) // the poller's round; the condition above is what is waited for
	}

	rep := Check(load.Requests(), dbs, prov)
	var out bytes.Buffer
	rep.Print(&out)
	fmt.Fprintf(&out, "  webhook events received %d (distinct), deliveries received %d\n", hooks.distinct(), hooks.total())
	fmt.Fprintf(&out, "  server down from a kill to its restart's ready line: %s\n", summarise(downs))
	fmt.Fprintf(&out, "run: seed %d, %d kills, %d workers, idempotency lease %s, load and kills %s, total %s\n",
		set.seed, set.kills, set.workers, lease, loadFor.Round(time.Second), time.Since(started).Round(time.Second))
	t.Log("\n" + out.String())
	if rep.Failed() {
		t.Errorf("crash test failed: a figure is not 0 (reproduce the choices with PAYHOST_CRASH_SEED=%d)", set.seed)
	}
}

// crashRules routes Alipay QR payments to Adapay and everything else to
// Haotian.
const crashRules = `version: 1
description: crash test routing
routing:
  - id: alipay-qr-adapay
    when: method == "alipay.qr"
    channel: adapay/app/alipay.qr
default_route:
  channel: haotian/main/*
`

// serveConfig is the server's configuration: the simulators' accounts, the
// run's schema, short poll and webhook intervals.
func serveConfig(accounts, addr, dsn, haotianWasm, adapayWasm, rules, cache string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return accounts + `server:
  addr: ` + q(addr) + `
  shutdown_timeout: 5s
store:
  driver: postgres
  dsn: ` + q(dsn) + `
plugins:
  - path: ` + q(haotianWasm) + `
  - path: ` + q(adapayWasm) + `
wasm:
  cache_dir: ` + q(cache) + `
tenants:
  - name: crash
    api_keys: [env:CRASH_API_KEY]
    accounts: [main, app]
admin_token: env:CRASH_ADMIN_TOKEN
rules:
  file: ` + q(rules) + `
poll:
  interval: 200ms
  first: 500ms
  max: 2s
  lease: 3s
webhooks:
  allow_private: true
  interval: 200ms
  timeout: 2s
  retry_first: 500ms
  retry_max: 2s
  lease: 20s
log:
  level: info
  format: json
`
}

// buildPayhost builds cmd/payhost into dir.
func buildPayhost(t *testing.T, dir string) string {
	t.Helper()
	root, err := testwasm.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "payhost")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/payhost")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/payhost: %v\n%s", err, out)
	}
	return bin
}

// freshSchema creates a schema of its own for the run and returns a DSN
// whose search_path selects it, and a connection to it.
func freshSchema(t *testing.T, keep bool) (string, *sql.DB) {
	t.Helper()
	base := pgtest.DSN(t)
	schema := "payhost_crash_" + randomHex(6)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("PostgreSQL at PAYHOST_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() {
		if keep {
			t.Logf("schema %s kept (PAYHOST_CRASH_KEEP=1)", schema)
			return
		}
		if _, err := admin.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		t.Fatalf("PAYHOST_TEST_POSTGRES must be a URL for the crash test: %v", err)
	}
	qs := u.Query()
	qs.Set("search_path", schema)
	u.RawQuery = qs.Encode()
	dsn := u.String()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return dsn, db
}

func openLog(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func first(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return s[0]
}

// registerWebhook adds an endpoint for every payment and refund event.
func registerWebhook(ctx context.Context, baseURL, apiKey, hookURL string) error {
	body := fmt.Sprintf(`{"url":%q,"events":["payment.*","refund.*"]}`, hookURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/webhook_endpoints", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Idempotency-Key", "crash-webhook")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("register the webhook endpoint: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
		return fmt.Errorf("register the webhook endpoint: %s %s", res.Status, b)
	}
	return nil
}

// receiver is the merchant's webhook endpoint: it acknowledges every
// delivery and counts the event ids.
type receiver struct {
	mu   sync.Mutex
	seen map[string]bool
	n    int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	r.mu.Lock()
	r.seen[req.Header.Get("Payhost-Event-Id")] = true
	r.n++
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func (r *receiver) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
