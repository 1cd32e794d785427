package host

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/pdk"
)

// PluginConfig is one plugin to load: a wasm file (Path) or a plugin
// package linked in (Native, for tests and trusted first-party builds).
type PluginConfig struct {
	Path      string     `koanf:"path" json:"path,omitempty"`
	SHA256    string     `koanf:"sha256" json:"sha256,omitempty"`         // pin the module's hash
	PublicKey string     `koanf:"public_key" json:"public_key,omitempty"` // base64 ed25519 key; FILE.sig must verify
	Native    pdk.Plugin `koanf:"-" json:"-"`
}

// AccountConfig is a provider account: the plugin that serves it, where
// its endpoints are, its keys and settings, and the methods it offers.
type AccountConfig struct {
	Name   string
	Plugin string
	// Environment picks the manifest's set of endpoint URLs; default
	// "production".
	Environment string
	// Endpoints override the manifest's endpoints by name (a simulator's
	// URL, a timeout).
	Endpoints map[string]EndpointConfig
	// Keys maps the manifest's key names to references: env:NAME or
	// file:PATH. The keys themselves never reach the plugin.
	Keys map[string]string
	// Config is the plugin's settings for the account (merchant numbers,
	// app ids), as its manifest lists them.
	Config map[string]string
	// Methods are the methods the account offers; empty = every method of
	// its plugin.
	Methods []core.Method
}

// EndpointConfig overrides one endpoint of an account.
type EndpointConfig = caps.EndpointConfig

// binding is what the capability binding needs of the account.
func (ac AccountConfig) binding() caps.AccountConfig {
	return caps.AccountConfig{Name: ac.Name, Plugin: ac.Plugin, Environment: ac.Environment, Endpoints: ac.Endpoints,
		Keys: ac.Keys, Config: ac.Config}
}

// Decider turns a transaction into a decision; *rules.Holder is one. The
// engine takes one decision per payment and uses it from start to end.
type Decider interface {
	Decide(ctx context.Context, tx core.Transaction) (core.Decision, error)
}

// Observer is told about every provider call (metrics).
type Observer interface {
	ProviderCall(channel core.Channel, op core.Op, code core.Code, d time.Duration)
}

// PollConfig tunes the settlement poller.
type PollConfig struct {
	Interval   time.Duration // how often due objects are looked for; default 1s
	First      time.Duration // first query after a payment went pending; default 5s
	Max        time.Duration // longest backoff; default 5m
	MaxAge     time.Duration // stop polling objects older than this; default 48h
	Batch      int           // objects per round; default 50
	Disabled   bool          // this node runs no poller: other nodes sharing the store settle open objects
	Concurrent int           // queries in parallel; default 4
	Lease      time.Duration // how long a claimed object is left to this node's poller; default 1m
}

// Config configures a Host.
type Config struct {
	Store    store.Store
	Plugins  []PluginConfig
	Accounts []AccountConfig
	// Tenants grants each tenant its accounts (see TenantConfig). A tenant
	// not listed here may name no account: its payments, payouts,
	// balances, receivers, terminals and merchant applications are refused
	// (forbidden). An engine configured without tenants serves no
	// tenant, rather than letting any tenant name any account.
	Tenants   []TenantConfig
	Decider   Decider // may be set later with SetDecider
	PublicURL string  // base of notification URLs: {PublicURL}/v1/notify/{account}
	Wasm      plugin.WasmConfig
	Keys      caps.Keys // nil = a caps.KeyStore of this process's environment and files; every account's keys are resolved by New
	Logger    *slog.Logger
	Now       func() time.Time
	Poll      PollConfig
	Webhooks  WebhookConfig
	Observer  Observer
	// UnavailableChannels are channels the rules may name although no
	// loaded plugin serves them (accounts of providers not installed here,
	// e.g. in the sandbox). Calls to them fail as provider_unavailable, so
	// the engine moves on to the next channel.
	UnavailableChannels []core.ChannelInfo
	// IdempotencyWait is how long a request waits for the first request with
	// the same key to finish before answering in_progress; default 10s.
	IdempotencyWait time.Duration
	// NodeHeartbeat is how often this engine records in the store that it
	// is alive; default 1s. NodeTimeout is how long a node may go unseen
	// before it counts as crashed, and the requests it was working on
	// (idempotency keys in progress) are taken over by the clients'
	// retries, before their lease runs out; default 5s. Keep the clocks of
	// nodes sharing a database in sync well within NodeTimeout.
	NodeHeartbeat time.Duration
	NodeTimeout   time.Duration
	// IdempotencyLease is how long the owner of a key may work before a
	// retry may take over (after a crash); default 2m.
	IdempotencyLease time.Duration
	// SplitDelay is how long after a payment succeeds the engine executes
	// the split its rules decided (mode auto); providers want some time
	// between a payment and its split (Jeepay: a minute or more in
	// production). Default 0: at the poller's next round.
	SplitDelay time.Duration
}

// Host is the engine. It is safe for concurrent use.
type Host struct {
	cfg     Config
	store   store.Store
	log     *slog.Logger
	now     func() time.Time
	health  *health
	decider atomic.Pointer[deciderBox]

	plugins  map[string]plugin.Plugin
	accounts map[string]*account
	channels map[core.Channel]core.ChannelInfo
	offline  map[core.Channel]bool
	tenants  map[string]*grant
	wiring   wiring // the flows' pollers, event appliers and webhook event types

	stop    context.CancelFunc
	wg      sync.WaitGroup
	node    string             // this engine's id among the nodes sharing the store
	beat    context.CancelFunc // stops the heartbeat
	beatWG  sync.WaitGroup
	closing atomic.Bool
	hooks   *webhooks
}

type deciderBox struct{ d Decider }

type account struct {
	name    string
	plugin  plugin.Plugin
	binding *caps.Binding
	methods map[core.Method]bool
}

// New loads the plugins, binds the accounts and starts the poller.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if cfg.Store == nil {
		return nil, errors.New("host: a store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.IdempotencyWait <= 0 {
		cfg.IdempotencyWait = 10 * time.Second
	}
	if cfg.NodeHeartbeat <= 0 {
		cfg.NodeHeartbeat = time.Second
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = 5 * time.Second
	}
	if cfg.IdempotencyLease <= 0 {
		cfg.IdempotencyLease = 2 * time.Minute
	}
	p := &cfg.Poll
	if p.Interval <= 0 {
		p.Interval = time.Second
	}
	if p.First <= 0 {
		p.First = 5 * time.Second
	}
	if p.Max <= 0 {
		p.Max = 5 * time.Minute
	}
	if p.MaxAge <= 0 {
		p.MaxAge = 48 * time.Hour
	}
	if p.Batch <= 0 {
		p.Batch = 50
	}
	if p.Concurrent <= 0 {
		p.Concurrent = 4
	}
	if p.Lease <= 0 {
		p.Lease = time.Minute
	}
	if cfg.Wasm.Logger == nil {
		cfg.Wasm.Logger = cfg.Logger
	}
	h := &Host{cfg: cfg, store: cfg.Store, log: cfg.Logger, now: cfg.Now, health: newHealth(cfg.Now),
		plugins: map[string]plugin.Plugin{}, accounts: map[string]*account{},
		channels: map[core.Channel]core.ChannelInfo{}, offline: map[core.Channel]bool{}, wiring: wire(engineFlows())}
	if cfg.Decider != nil {
		h.SetDecider(cfg.Decider)
	}
	if err := h.load(ctx); err != nil {
		if cerr := h.closePlugins(ctx); cerr != nil {
			h.log.Warn("close plugins after a failed start", "err", cerr)
		}
		return nil, err
	}
	if err := h.startHeartbeat(ctx); err != nil {
		if cerr := h.closePlugins(ctx); cerr != nil {
			h.log.Warn("close plugins after a failed start", "err", cerr)
		}
		return nil, err
	}
	if !cfg.Poll.Disabled {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		h.stop = cancel
		h.wg.Add(1)
		go h.pollLoop(pctx)
	}
	h.startWebhooks(ctx)
	return h, nil
}

func (h *Host) load(ctx context.Context) error {
	for i, pc := range h.cfg.Plugins {
		var p plugin.Plugin
		var err error
		switch {
		case pc.Native != nil:
			p, err = plugin.NewNativeWithLimits(pc.Native, h.cfg.Wasm.Limits)
		case pc.Path != "":
			wc := h.cfg.Wasm
			wc.ExpectSHA256 = pc.SHA256
			if pc.PublicKey != "" {
				key, kerr := base64.StdEncoding.DecodeString(pc.PublicKey)
				if kerr != nil || len(key) != ed25519.PublicKeySize {
					return fmt.Errorf("host: plugin %s: public_key is not a base64 ed25519 key", pc.Path)
				}
				wc.PublicKey = key
			}
			p, err = plugin.LoadWasmFile(ctx, pc.Path, wc)
		default:
			return fmt.Errorf("host: plugins[%d]: set a path or a native plugin", i)
		}
		if err != nil {
			return fmt.Errorf("host: %w", err)
		}
		name := p.Manifest().Name
		if _, dup := h.plugins[name]; dup {
			_ = p.Close(ctx)
			return fmt.Errorf("host: plugin %s loaded twice", name)
		}
		h.plugins[name] = p
		h.log.Info("plugin loaded", "plugin", name, "version", p.Manifest().Version, "transport", p.Transport())
	}
	deps := caps.Deps{Keys: h.cfg.Keys, Logger: h.log, Now: h.now, Cache: caps.NewCache(h.now)}
	if deps.Keys == nil {
		deps.Keys = caps.NewKeyStore(nil)
	}
	var keyErrs []error // every unusable key of every account, reported together
	for _, ac := range h.cfg.Accounts {
		if ac.Name == "" {
			return errors.New("host: an account has no name")
		}
		if _, dup := h.accounts[ac.Name]; dup {
			return fmt.Errorf("host: account %s configured twice", ac.Name)
		}
		p, ok := h.plugins[ac.Plugin]
		if !ok {
			return fmt.Errorf("host: account %s: plugin %q is not loaded", ac.Name, ac.Plugin)
		}
		m := p.Manifest()
		b, err := caps.Bind(m, ac.binding(), deps)
		if err != nil {
			return fmt.Errorf("host: %w", err)
		}
		if err := b.ResolveKeys(); err != nil {
			keyErrs = append(keyErrs, err)
		}
		a := &account{name: ac.Name, plugin: p, binding: b, methods: map[core.Method]bool{}}
		methods := ac.Methods
		if len(methods) == 0 {
			methods = m.Methods
		}
		for _, me := range methods {
			if !m.SupportsMethod(me) {
				return fmt.Errorf("host: account %s: plugin %s does not offer method %s", ac.Name, m.Name, me)
			}
			a.methods[me] = true
			c := core.Channel{Plugin: m.Name, Account: ac.Name, Method: me}
			h.channels[c] = core.ChannelInfo{Channel: c, Currencies: m.Currencies, Limits: m.Limits}
		}
		h.accounts[ac.Name] = a
	}
	if len(keyErrs) > 0 {
		return fmt.Errorf("host: an account's key cannot be used: %w", errors.Join(keyErrs...))
	}
	for _, ci := range h.cfg.UnavailableChannels {
		if _, served := h.channels[ci.Channel]; served {
			continue
		}
		if a, ok := h.accounts[ci.Channel.Account]; ok && a.plugin.Manifest().Name != ci.Channel.Plugin {
			return fmt.Errorf("host: unavailable channel %s: account %q belongs to plugin %s here; account names are unique within a host",
				ci.Channel, ci.Channel.Account, a.plugin.Manifest().Name)
		}
		h.channels[ci.Channel] = ci
		h.offline[ci.Channel] = true
	}
	return h.loadTenants()
}

// SetDecider installs (or replaces) the decision maker.
func (h *Host) SetDecider(d Decider) { h.decider.Store(&deciderBox{d}) }

// LookupChannel implements the rules' catalogue: the channels this host can
// serve (and the unavailable ones it was told about).
func (h *Host) LookupChannel(c core.Channel) (core.ChannelInfo, bool) {
	ci, ok := h.channels[c]
	return ci, ok
}

// Channels lists the catalogue, sorted.
func (h *Host) Channels() []core.ChannelInfo {
	out := make([]core.ChannelInfo, 0, len(h.channels))
	for _, ci := range h.channels {
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Channel.String() < out[j].Channel.String() })
	return out
}

// ChannelHealth reports a channel's live health (the rules' health source).
func (h *Host) ChannelHealth(c core.Channel) core.ChannelHealth {
	if h.offline[c] {
		return core.ChannelHealth{Circuit: core.CircuitOpen}
	}
	return h.health.ChannelHealth(c)
}

// Plugins describes the loaded plugins and their accounts.
func (h *Host) Plugins() []PluginInfo {
	out := make([]PluginInfo, 0, len(h.plugins))
	for name, p := range h.plugins {
		info := PluginInfo{Name: name, Version: p.Manifest().Version, Transport: string(p.Transport()), Manifest: p.Manifest()}
		for _, a := range h.accounts {
			if a.plugin == p {
				info.Accounts = append(info.Accounts, a.name)
			}
		}
		sort.Strings(info.Accounts)
		st := p.Stats()
		info.Stats = map[string]any{"calls": st.Calls, "errors": st.Errors, "in_use": st.InUse, "idle": st.Idle,
			"max_instances": st.MaxInstances, "instantiations": st.Instantiations, "discards": st.Discards}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PluginStats reports the pool counters of each plugin (metrics).
func (h *Host) PluginStats() map[string]plugin.Stats {
	out := make(map[string]plugin.Stats, len(h.plugins))
	for name, p := range h.plugins {
		out[name] = p.Stats()
	}
	return out
}

// Ready checks the store is reachable and a decider is installed.
func (h *Host) Ready(ctx context.Context) error {
	if h.closing.Load() {
		return errors.New("shutting down")
	}
	if h.decider.Load() == nil {
		return errors.New("no ruleset loaded")
	}
	return h.store.Ping(ctx)
}

// Close stops the poller, waits for it and closes the plugins (each waits
// for its calls in flight until ctx ends). The store is the caller's.
func (h *Host) Close(ctx context.Context) error {
	h.closing.Store(true)
	if h.stop != nil {
		h.stop()
	}
	h.wg.Wait()
	h.stopHeartbeat(ctx)
	return h.closePlugins(ctx)
}

// startHeartbeat records this node as alive now, then every NodeHeartbeat.
func (h *Host) startHeartbeat(ctx context.Context) error {
	h.node = newOwner()
	if err := h.store.Heartbeat(ctx, h.node, h.now()); err != nil {
		return fmt.Errorf("host: record this node in the store: %w", err)
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.beat = cancel
	h.beatWG.Add(1)
	go func() {
		defer h.beatWG.Done()
		t := time.NewTicker(h.cfg.NodeHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-bctx.Done():
				return
			case <-t.C:
				if err := h.store.Heartbeat(bctx, h.node, h.now()); err != nil && bctx.Err() == nil {
					h.log.Warn("heartbeat not recorded", "err", err)
				}
			}
		}
	}()
	return nil
}

// stopHeartbeat stops beating and removes this node, with the nodes not
// seen for a day: the keys it still holds may be taken over at once.
func (h *Host) stopHeartbeat(ctx context.Context) {
	if h.beat == nil {
		return
	}
	h.beat()
	h.beatWG.Wait()
	if err := h.store.RemoveNode(context.WithoutCancel(ctx), h.node, h.now().Add(-24*time.Hour)); err != nil {
		h.log.Warn("remove this node from the store", "err", err)
	}
}

func (h *Host) closePlugins(ctx context.Context) error {
	var errs []error
	for _, p := range h.plugins {
		errs = append(errs, p.Close(ctx))
	}
	return errors.Join(errs...)
}

func (h *Host) notifyURL(account string) string {
	if h.cfg.PublicURL == "" {
		return ""
	}
	return h.cfg.PublicURL + "/v1/notify/" + account
}

func supports(a *account, op core.Op) bool {
	m := a.plugin.Manifest()
	return m.Supports(op)
}
