package api

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Metric names.
const (
	MetricHTTPRequests         = "payhost_http_requests_total"
	MetricHTTPDuration         = "payhost_http_request_duration_seconds"
	MetricProviderCalls        = "payhost_provider_calls_total"
	MetricProviderDuration     = "payhost_provider_call_duration_seconds"
	MetricPluginInstances      = "payhost_plugin_instances"
	MetricPluginMaxInstances   = "payhost_plugin_max_instances"
	MetricPluginInstantiations = "payhost_plugin_instantiations_total"
	MetricPluginDiscards       = "payhost_plugin_discards_total"
	MetricPluginCalls          = "payhost_plugin_calls_total"
	MetricPluginErrors         = "payhost_plugin_errors_total"
	MetricPluginLogDropped     = "payhost_plugin_log_dropped_total"
	MetricPluginRefused        = "payhost_plugin_refused_total"
	MetricRuleReloads          = "payhost_rule_reloads_total"
	MetricRulesActive          = "payhost_rules_active_info"
	MetricRulesActivatedAt     = "payhost_rules_activated_timestamp_seconds"
	MetricStoreCommits         = "payhost_store_commits_total"
	MetricStoreTransactions    = "payhost_store_transactions_total"
	MetricStoreRollbacks       = "payhost_store_rollbacks_total"
	MetricStoreStatements      = "payhost_store_statements_total"
)

// discardReasons are the plugin pool's discard reasons, always exported
// (at 0 until they happen) so rates work from the start.
var discardReasons = []string{"trap", "timeout", "stack", "limit", "account", "calls", "memory"}

// Metrics are the server's Prometheus metrics. It is the engine's
// Observer (host.Config.Observer) for provider calls.
type Metrics struct {
	reg              *prometheus.Registry
	requests         *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	providerCalls    *prometheus.CounterVec
	providerDuration *prometheus.HistogramVec

	mu      sync.Mutex
	watched bool
}

// NewMetrics registers the metrics with reg; nil makes a registry with the
// Go runtime and process collectors.
func NewMetrics(reg *prometheus.Registry) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
		if err := errors.Join(reg.Register(collectors.NewGoCollector()),
			reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))); err != nil {
			return nil, err
		}
	}
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricHTTPRequests,
			Help: "HTTP requests by method, route and status."}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricHTTPDuration,
			Help: "HTTP request latency by method, route and status.", Buckets: prometheus.DefBuckets},
			[]string{"method", "route", "status"}),
		providerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricProviderCalls,
			Help: "Provider calls by plugin, account, operation and outcome (ok or the error code)."},
			[]string{"plugin", "account", "op", "outcome"}),
		providerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricProviderDuration,
			Help:    "Provider call latency by plugin, account, operation and outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"plugin", "account", "op", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.providerCalls, m.providerDuration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Registry is where the metrics are registered.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ProviderCall implements host.Observer.
func (m *Metrics) ProviderCall(c core.Channel, op core.Op, code core.Code, d time.Duration) {
	outcome := "ok"
	if code != "" {
		outcome = string(code)
	}
	m.providerCalls.WithLabelValues(c.Plugin, c.Account, string(op), outcome).Inc()
	m.providerDuration.WithLabelValues(c.Plugin, c.Account, string(op), outcome).Observe(d.Seconds())
}

func (m *Metrics) request(method, route string, status int, d time.Duration) {
	if !knownMethod(method) {
		method = "other" // bounded label values whatever clients send
	}
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(method, route, code).Inc()
	m.duration.WithLabelValues(method, route, code).Observe(d.Seconds())
}

func knownMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// watch registers the scrape-time collector of plugin pools and rules.
func (m *Metrics) watch(e Engine, r RulesAdmin) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watched {
		return errors.New("api: these metrics already serve another server")
	}
	if err := m.reg.Register(&stateCollector{engine: e, rules: r}); err != nil {
		return err
	}
	m.watched = true
	return nil
}

// WatchStore exports the counters of st, read at every scrape, as
// payhost_store_commits_total (durable commits), _transactions_total,
// _rollbacks_total and _statements_total.
func (m *Metrics) WatchStore(st store.StatsReporter) error {
	return m.reg.Register(storeCollector{st})
}

// storeCollector reads a store's counters at scrape time.
type storeCollector struct{ st store.StatsReporter }

var (
	descStoreCommits = prometheus.NewDesc(MetricStoreCommits,
		"Durable commits of the store: transactions that changed a row, and statements outside a transaction that changed one.", nil, nil)
	descStoreTransactions = prometheus.NewDesc(MetricStoreTransactions, "Store transactions begun.", nil, nil)
	descStoreRollbacks    = prometheus.NewDesc(MetricStoreRollbacks, "Store transactions rolled back.", nil, nil)
	descStoreStatements   = prometheus.NewDesc(MetricStoreStatements, "SQL statements the store executed.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descStoreCommits
	ch <- descStoreTransactions
	ch <- descStoreRollbacks
	ch <- descStoreStatements
}

// Collect implements prometheus.Collector.
func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.st.Stats()
	ch <- prometheus.MustNewConstMetric(descStoreCommits, prometheus.CounterValue, float64(st.Commits))
	ch <- prometheus.MustNewConstMetric(descStoreTransactions, prometheus.CounterValue, float64(st.Transactions))
	ch <- prometheus.MustNewConstMetric(descStoreRollbacks, prometheus.CounterValue, float64(st.Rollbacks))
	ch <- prometheus.MustNewConstMetric(descStoreStatements, prometheus.CounterValue, float64(st.Statements))
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *Tenant) error {
	s.metricsHandler.ServeHTTP(w, r)
	return nil
}

// stateCollector reads the plugin pools and the rules holder at scrape time.
type stateCollector struct {
	engine Engine
	rules  RulesAdmin
}

var (
	descInstances = prometheus.NewDesc(MetricPluginInstances, "Plugin instances by state (in_use, idle).",
		[]string{"plugin", "state"}, nil)
	descMaxInstances   = prometheus.NewDesc(MetricPluginMaxInstances, "Most instances a plugin's pool holds.", []string{"plugin"}, nil)
	descLogDropped     = prometheus.NewDesc(MetricPluginLogDropped, "Plugin log lines dropped over a call's log budget.", []string{"plugin"}, nil)
	descRefused        = prometheus.NewDesc(MetricPluginRefused, "Plugin responses refused by the output limits.", []string{"plugin"}, nil)
	descInstantiations = prometheus.NewDesc(MetricPluginInstantiations, "Plugin instances created.", []string{"plugin"}, nil)
	descDiscards       = prometheus.NewDesc(MetricPluginDiscards, "Plugin instances discarded, by reason (trap, timeout, calls, memory).",
		[]string{"plugin", "reason"}, nil)
	descPluginCalls  = prometheus.NewDesc(MetricPluginCalls, "Calls into a plugin.", []string{"plugin"}, nil)
	descPluginErrors = prometheus.NewDesc(MetricPluginErrors, "Calls into a plugin that returned an error.", []string{"plugin"}, nil)
	descReloads      = prometheus.NewDesc(MetricRuleReloads, "Ruleset changes by outcome (activated, refused, rolled_back).",
		[]string{"outcome"}, nil)
	descRulesActive = prometheus.NewDesc(MetricRulesActive, "The serving ruleset (value 1), by hash.", []string{"hash"}, nil)
	descRulesAt     = prometheus.NewDesc(MetricRulesActivatedAt, "When the serving ruleset started serving (Unix seconds).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInstances, descMaxInstances, descInstantiations, descDiscards, descPluginCalls,
		descPluginErrors, descLogDropped, descRefused, descReloads, descRulesActive, descRulesAt} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	stats := c.engine.PluginStats()
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		st := stats[name]
		ch <- prometheus.MustNewConstMetric(descInstances, prometheus.GaugeValue, float64(st.InUse), name, "in_use")
		ch <- prometheus.MustNewConstMetric(descInstances, prometheus.GaugeValue, float64(st.Idle), name, "idle")
		ch <- prometheus.MustNewConstMetric(descMaxInstances, prometheus.GaugeValue, float64(st.MaxInstances), name)
		ch <- prometheus.MustNewConstMetric(descInstantiations, prometheus.CounterValue, float64(st.Instantiations), name)
		ch <- prometheus.MustNewConstMetric(descPluginCalls, prometheus.CounterValue, float64(st.Calls), name)
		ch <- prometheus.MustNewConstMetric(descPluginErrors, prometheus.CounterValue, float64(st.Errors), name)
		ch <- prometheus.MustNewConstMetric(descLogDropped, prometheus.CounterValue, float64(st.LogDropped), name)
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(st.Refused), name)
		reasons := append([]string(nil), discardReasons...)
		for reason := range st.Discards {
			if !contains(reasons, reason) {
				reasons = append(reasons, reason)
			}
		}
		for _, reason := range reasons {
			ch <- prometheus.MustNewConstMetric(descDiscards, prometheus.CounterValue, float64(st.Discards[reason]), name, reason)
		}
	}
	if c.rules == nil {
		return
	}
	st := c.rules.Status()
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(st.Successes), "activated")
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(st.Failures), "refused")
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(st.Rollbacks), "rolled_back")
	if st.Active != nil {
		ch <- prometheus.MustNewConstMetric(descRulesActive, prometheus.GaugeValue, 1, st.Active.Hash)
		if st.Active.LoadedAt != nil {
			ch <- prometheus.MustNewConstMetric(descRulesAt, prometheus.GaugeValue, float64(st.Active.LoadedAt.Unix()))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
