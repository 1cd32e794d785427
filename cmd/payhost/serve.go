package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/payhost/payhost/docs"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/api"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/config"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/rules"
)

func init() {
	register(&command{path: "serve", usage: "--config FILE",
		summary: "run the payhost HTTP server (docs/configuration.md)", run: runServe})
}

// environ is where PAYHOST_* configuration overrides are read.
var environ = os.Environ

func runServe(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("payhost serve", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	path := fs.String("config", "", "configuration `FILE` (YAML, see docs/configuration.md)")
	if err := fs.Parse(args); err != nil {
		return flagExit(err, 2)
	}
	if *path == "" || fs.NArg() > 0 {
		fmt.Fprintln(env.stderr, "usage: payhost serve --config FILE")
		return 2
	}
	cfg, err := config.Load(*path, config.Options{Environ: environ()})
	if err != nil {
		fmt.Fprintln(env.stderr, "payhost serve:", err)
		return 1
	}
	srv, err := startServer(ctx, cfg, env)
	if err != nil {
		fmt.Fprintln(env.stderr, "payhost serve:", err)
		return 1
	}
	return srv.wait(ctx)
}

// server is a running payhost server and what it must close.
type server struct {
	cfg      *config.Config
	log      *slog.Logger
	ln       net.Listener
	http     *http.Server
	url      string
	served   chan error
	host     *host.Host
	store    store.Store
	holder   *rules.Holder
	watcher  *rules.Watcher
	audit    *rules.JSONLinesAudit
	redactor *caps.Redactor
}

// ready is the line printed on stdout once the server listens.
type ready struct {
	Ready     bool   `json:"ready"`
	URL       string `json:"url"`
	PublicURL string `json:"public_url"`
}

// startOptions adapt startServer for the sandbox.
type startOptions struct {
	// adjust changes the engine's configuration before the engine starts
	// (the sandbox links plugins in when their wasm build is missing).
	adjust func(*host.Config)
	// announce replaces the ready line printed on stdout.
	announce func(w io.Writer, url, publicURL string)
	// loopback: notifications go to the listen address on purpose (the
	// simulators run beside the server), so no warning about public_url.
	loopback bool
}

// startServer opens everything the configuration names, in order, and
// starts serving; on an error it closes what it opened. Errors are redacted.
func startServer(ctx context.Context, cfg *config.Config, env *cmdEnv) (*server, error) {
	return startServerWith(ctx, cfg, env, startOptions{})
}

func startServerWith(ctx context.Context, cfg *config.Config, env *cmdEnv, so startOptions) (_ *server, err error) {
	s := &server{cfg: cfg, redactor: caps.NewRedactor(), served: make(chan error, 1)}
	defer func() {
		if err != nil {
			err = errors.New(s.redactor.String(errors.Join(err, s.close(context.Background())).Error()))
		}
	}()
	s.log = newLogger(env.stderr, cfg.Log, s.redactor)

	secrets, err := cfg.ResolveSecrets(env.getenv)
	for _, v := range secretsList(secrets) {
		s.redactor.AddSecret(v)
	}
	if err != nil {
		return nil, err
	}
	if s.store, err = openStore(ctx, cfg.Store, secrets.DSN); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	// Listening before the engine starts gives the notification URLs their
	// port; connections wait in the backlog until Serve.
	s.ln = ln
	s.url = "http://" + ln.Addr().String()

	metrics, err := api.NewMetrics(nil)
	if err != nil {
		return nil, err
	}
	if sr, ok := s.store.(store.StatsReporter); ok {
		if err := metrics.WatchStore(sr); err != nil {
			return nil, err
		}
	}
	hc := cfg.Host()
	hc.Store, hc.Logger, hc.Observer = s.store, s.log, metrics
	hc.Keys = caps.NewKeyStore(s.redactor).WithEnv(env.getenv)
	if hc.PublicURL == "" {
		hc.PublicURL = publicURL(ln.Addr())
		if !so.loopback {
			s.log.Warn("server.public_url is not set: providers are told to notify " + hc.PublicURL)
		}
	}
	if cfg.Rules.Catalogue != "" {
		cat, err := rules.LoadCatalogueFile(cfg.Rules.Catalogue)
		if err != nil {
			return nil, fmt.Errorf("rules.catalogue: %w", err)
		}
		hc.UnavailableChannels = cat.Channels()
	}
	if so.adjust != nil {
		so.adjust(&hc)
	}
	if s.host, err = host.New(ctx, hc); err != nil {
		return nil, err
	}
	if cfg.Rules.AuditLog != "" {
		if s.audit, err = rules.OpenJSONLinesAudit(cfg.Rules.AuditLog); err != nil {
			return nil, fmt.Errorf("rules.audit_log: %w", err)
		}
	}
	opts := rules.HolderOptions{Options: rules.Options{Catalogue: s.host, Health: s.host}, Logger: s.log, Keep: cfg.Rules.Keep}
	if s.audit != nil {
		opts.Audit = s.audit
	}
	s.holder = rules.NewHolder(opts)
	if err := s.loadRules(ctx); err != nil {
		return nil, err
	}
	s.host.SetDecider(s.holder)

	tenants := make([]api.Tenant, 0, len(cfg.Tenants))
	for _, t := range cfg.Tenants {
		tenants = append(tenants, api.Tenant{Name: t.Name, APIKeys: secrets.TenantKeys[t.Name], MerchantID: t.MerchantID, Tags: t.Tags})
	}
	a, err := api.New(api.Config{Host: s.host, Rules: rulesAdmin{s.holder}, Tenants: tenants, AdminToken: secrets.AdminToken,
		Logger: s.log, Metrics: metrics, OpenAPI: docs.OpenAPI})
	if err != nil {
		return nil, err
	}
	s.http = &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: cfg.Server.ReadTimeout,
		WriteTimeout: cfg.Server.WriteTimeout, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	if t := cfg.Server.ReadTimeout; t > 0 && t < s.http.ReadHeaderTimeout {
		s.http.ReadHeaderTimeout = t
	}
	go func() { s.served <- s.http.Serve(ln) }()

	s.log.Info("payhost serving", "url", s.url, "public_url", hc.PublicURL, "store", cfg.Store.Driver,
		"plugins", len(hc.Plugins), "accounts", len(hc.Accounts), "tenants", len(cfg.Tenants), "ruleset", s.holder.Current().ShortHash())
	if so.announce != nil {
		so.announce(env.stdout, s.url, hc.PublicURL)
		return s, nil
	}
	line, _ := json.Marshal(ready{Ready: true, URL: s.url, PublicURL: hc.PublicURL})
	fmt.Fprintf(env.stdout, "%s\n", line)
	return s, nil
}

// publicURL is the notification base when none is configured: the listen
// address, with a loopback host instead of an unspecified one.
func publicURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return "http://" + a.String()
	}
	return fmt.Sprintf("http://127.0.0.1:%d", tcp.Port)
}

func secretsList(s *config.Secrets) []string {
	if s == nil {
		return nil
	}
	return s.List()
}

// newLogger is the server's log: JSON (or text) lines through the redactor.
func newLogger(w io.Writer, lc config.Log, r *caps.Redactor) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(lc.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if lc.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(r.Handler(h))
}

func openStore(ctx context.Context, sc config.Store, dsn string) (store.Store, error) {
	switch sc.Driver {
	case "postgres":
		st, err := sqlstore.OpenPostgres(ctx, dsn, sqlstore.WithMaxOpenConns(sc.MaxConns))
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return st, nil
	default:
		st, err := sqlstore.OpenSQLite(ctx, sc.Path, sqlstore.WithMaxOpenConns(sc.MaxConns))
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return st, nil
	}
}

// loadRules activates the rule file, watching it when configured.
func (s *server) loadRules(ctx context.Context) error {
	file := s.cfg.Rules.File
	if s.cfg.Rules.Watch {
		w, err := s.holder.WatchFile(ctx, file)
		if err != nil {
			return fmt.Errorf("rules.file: %w", err)
		}
		s.watcher = w
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("rules.file: %w", err)
	}
	if _, err := s.holder.Activate(file, data); err != nil {
		return fmt.Errorf("rules.file: %w", err)
	}
	return nil
}

// wait serves until ctx ends (SIGINT, SIGTERM) or the listener fails, then
// shuts down: stop accepting, let in-flight requests finish (bounded by
// server.shutdown_timeout), then close the engine and the store.
func (s *server) wait(ctx context.Context) int {
	code := 0
	select {
	case <-ctx.Done():
		s.log.Info("shutting down: finishing requests in flight", "timeout", s.cfg.Server.ShutdownTimeout.String())
	case err := <-s.served:
		s.log.Error("server stopped", "err", err)
		code = 1
	}
	timeout := s.cfg.Server.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		s.log.Error("requests still in flight at the shutdown timeout were cut", "err", err)
		_ = s.http.Close()
		code = 1
	}
	s.http, s.ln = nil, nil
	if err := s.close(sctx); err != nil {
		s.log.Error("shutdown", "err", err)
		code = 1
	}
	s.log.Info("payhost stopped")
	return code
}

// close releases what was opened, in reverse order.
func (s *server) close(ctx context.Context) error {
	var errs []error
	switch {
	case s.http != nil:
		errs = append(errs, s.http.Close())
	case s.ln != nil:
		errs = append(errs, s.ln.Close())
	}
	if s.watcher != nil {
		errs = append(errs, s.watcher.Close())
	}
	if s.host != nil {
		errs = append(errs, s.host.Close(ctx))
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	if s.audit != nil {
		errs = append(errs, s.audit.Close())
	}
	return errors.Join(errs...)
}

// rulesAdmin adapts *rules.Holder to the API's rules administration, so
// that the host packages never import rules.
type rulesAdmin struct{ h *rules.Holder }

// Status implements api.RulesAdmin.
func (a rulesAdmin) Status() api.RulesStatus {
	st := a.h.Status()
	out := api.RulesStatus{Successes: st.Successes, Failures: st.Failures, Rollbacks: st.Rollbacks, LastError: st.LastError,
		LastErrorSource: st.LastErrorSource, History: st.History}
	if !st.LastErrorAt.IsZero() {
		at := st.LastErrorAt
		out.LastErrorAt = &at
	}
	if rs := a.h.Current(); rs != nil {
		out.Active = a.loaded(rulesetInfo(rs, false))
	}
	return out
}

// Activate implements api.RulesAdmin.
func (a rulesAdmin) Activate(source string, data []byte) (*api.RulesetInfo, error) {
	rs, err := a.h.Activate(source, data)
	if err != nil {
		return nil, rulesErr(err)
	}
	return a.loaded(rulesetInfo(rs, true)), nil
}

// DryRun implements api.RulesAdmin.
func (a rulesAdmin) DryRun(source string, data []byte) (*api.RulesetInfo, error) {
	rs, err := a.h.DryRun(source, data)
	if err != nil {
		return nil, rulesErr(err)
	}
	return rulesetInfo(rs, true), nil
}

// Rollback implements api.RulesAdmin.
func (a rulesAdmin) Rollback() (*api.RulesetInfo, error) {
	rs, err := a.h.Rollback()
	if err != nil {
		return nil, rulesErr(err)
	}
	return a.loaded(rulesetInfo(rs, false)), nil
}

// loaded notes when info's ruleset started serving, if it serves.
func (a rulesAdmin) loaded(info *api.RulesetInfo) *api.RulesetInfo {
	if st := a.h.Status(); st.Hash == info.Hash && !st.ActivatedAt.IsZero() {
		at := st.ActivatedAt
		info.LoadedAt = &at
	}
	return info
}

func rulesErr(err error) error {
	var ve *rules.ValidationError
	switch {
	case errors.As(err, &ve):
		refused := &api.RulesRefused{}
		for _, is := range ve.Issues {
			refused.Issues = append(refused.Issues, api.RuleIssue{File: is.File, Line: is.Line, Column: is.Column, Kind: is.Kind,
				RuleID: is.RuleID, Field: is.Field, Message: is.Message, Text: is.String()})
		}
		return refused
	case errors.Is(err, rules.ErrNoRollback):
		return fmt.Errorf("%w", api.ErrNoPreviousRuleset)
	}
	return err
}

func rulesetInfo(rs *rules.Ruleset, withTests bool) *api.RulesetInfo {
	info := &api.RulesetInfo{Hash: rs.Hash(), Source: rs.Source(), Description: rs.Description(), Rules: []api.RuleRef{}}
	for _, r := range rs.Rules() {
		info.Rules = append(info.Rules, api.RuleRef{Kind: r.Kind, ID: r.ID})
	}
	if withTests {
		rep := rs.TestReport()
		t := &api.RulesTests{Passed: rep.Passed, Failed: rep.Failed, RulesHit: rep.Hit, RulesTotal: rep.Total,
			Results: []api.RulesTestResult{}}
		for _, m := range rep.Missed {
			t.Missed = append(t.Missed, api.RuleRef{Kind: m.Kind, ID: m.ID})
		}
		for _, r := range rep.Results {
			t.Results = append(t.Results, api.RulesTestResult{Name: r.Name, Line: r.Line, Passed: r.Passed, Failures: r.Failures})
		}
		info.Tests = t
	}
	return info
}
