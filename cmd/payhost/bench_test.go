package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/internal/pgtest"
	"github.com/payhost/payhost/internal/testwasm"
)

// TestMain lets the test binary stand in for payhost when a command
// re-executes itself (payhost bench starts `payhost simulators` and
// `payhost serve` from os.Executable()).
func TestMain(m *testing.M) {
	if os.Getenv("GO_WANT_PAYHOST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// TestBench runs `payhost bench` end to end with tiny steps, on SQLite and
// (with PAYHOST_TEST_POSTGRES) on PostgreSQL: the simulators and the server
// in their own processes, every row measured. No figure is checked but
// that each step made payments.
func TestBench(t *testing.T) {
	wasm, err := testwasm.BuildPackage("plugins/haotian/wasm")
	if err != nil {
		t.Skipf("the Haotian plugin cannot be built: %v", err)
	}
	t.Setenv("GO_WANT_PAYHOST_MAIN", "1")
	stores := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite", func(*testing.T) []string { return nil }},
		{"postgres", func(t *testing.T) []string { return []string{"--postgres", pgtest.DSN(t)} }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			args := append([]string{"bench", "--plugin", wasm, "--wasm-cache", testwasm.CacheDir(), "--concurrency", "1,3",
				"--duration", "200ms", "--warmup", "100ms", "--latency", "1ms", "--json"}, st.args(t)...)
			code, out, stderr := runCmd(t, args...)
			require.Equal(t, 0, code, "stderr:\n%s", stderr)
			var rep benchReport
			require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
			assert.Equal(t, st.name, rep.Store)
			assert.Equal(t, "1ms", rep.Latency)
			var got []string
			for _, r := range rep.Rows {
				got = append(got, fmt.Sprintf("%s/%d", r.Variant, r.Concurrency))
				assert.Positive(t, r.Requests, "%+v", r)
				assert.Positive(t, r.PerSecond, "%+v", r)
				if r.Variant == "payhost" {
					require.NotNil(t, r.Ratio, "%+v", r)
					require.NotNil(t, r.Commits, "%+v", r)
					assert.Positive(t, *r.Commits, "a payment is committed")
					require.NotNil(t, r.Statements, "%+v", r)
				}
			}
			assert.Equal(t, []string{"payhost/1", "direct/1", "payhost/3", "direct/3"}, got)
			assert.Contains(t, stderr, "payhost bench: direct  c=3")
		})
	}
}

func TestBenchBadFlags(t *testing.T) {
	plugin := filepath.Join(t.TempDir(), "haotian.wasm")
	require.NoError(t, os.WriteFile(plugin, []byte("\x00asm"), 0o600))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"concurrency zero", []string{"--concurrency", "0,8"}, "--concurrency"},
		{"concurrency not a list", []string{"--concurrency", "1;8"}, "--concurrency"},
		{"duration", []string{"--duration", "0s"}, "--duration must be positive"},
		{"requests", []string{"--requests", "-1"}, "--requests must not be negative"},
		{"latency", []string{"--latency", "-5ms"}, "--latency must not be negative"},
		{"warmup", []string{"--warmup", "-1s"}, "--warmup must not be negative"},
		{"no plugin", []string{"--plugin", filepath.Join(t.TempDir(), "none.wasm")}, "make build"},
		{"remote postgres", []string{"--postgres", "postgres://u@db.example.com:5432/x"}, "not on this machine"},
		{"not a dsn", []string{"--postgres", "postgres://[::1"}, "not a PostgreSQL DSN"},
		{"arguments", []string{"extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, append([]string{"bench", "--plugin", plugin}, tt.args...)...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tt.want)
			assert.Contains(t, stderr, "usage: payhost bench")
		})
	}
}

func TestLoopbackDSN(t *testing.T) {
	for _, dsn := range []string{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://u@localhost/db",
		"postgres://u@[::1]:5432/db", "host=/var/run/postgresql dbname=test"} {
		assert.NoError(t, loopbackDSN(dsn), dsn)
	}
	assert.Error(t, loopbackDSN("postgres://u@10.0.0.1/db"))
	assert.Error(t, loopbackDSN("postgres://u@127.0.0.1,db.example.com/db"))
}

func TestParseCounters(t *testing.T) {
	text := `# HELP payhost_store_commits_total Durable commits.
# TYPE payhost_store_commits_total counter
payhost_store_commits_total 1234
payhost_store_statements_total 5.5e+03
payhost_http_requests_total{method="POST",route="/v1/payments",status="201"} 9
`
	got := parseCounters(text, metricCommits, metricStatements, "payhost_http_requests_total")
	assert.Equal(t, map[string]float64{metricCommits: 1234, metricStatements: 5500}, got)
}

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, v := range n {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      int
		want   float64
	}{
		{"none", nil, 50, 0},
		{"one", ms(7), 99, 7},
		{"median of four", ms(1, 2, 3, 4), 50, 2},
		{"p99 of a hundred", ms(func() []int {
			v := make([]int, 100)
			for i := range v {
				v[i] = i + 1
			}
			return v
		}()...), 99, 99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, percentile(tt.sorted, tt.p))
		})
	}
}

func TestBenchReportPrint(t *testing.T) {
	rep := &benchReport{Version: "v1.2.3", Store: "postgres", Latency: "50ms", Duration: "5s", CPUs: 2, Rows: []benchRow{
		{Variant: "payhost", Concurrency: 8, PerSecond: 76.4, P50ms: 101.5, P99ms: 180, Ratio: ptr(0.49), CPUms: ptr(2.1), Commits: ptr(2), Statements: ptr(9)},
		{Variant: "direct", Concurrency: 8, PerSecond: 155.9, P50ms: 51.2, P99ms: 55},
	}, FirstErrors: []string{"payhost: POST /v1/payments: 503"}}
	var b bytes.Buffer
	rep.print(&b)
	out := b.String()
	assert.Contains(t, out, "payhost bench v1.2.3: PostgreSQL, provider latency 50ms, 5s per step, 2 CPUs")
	lines := strings.Split(out, "\n")
	require.GreaterOrEqual(t, len(lines), 6, out)
	assert.Equal(t, []string{"payhost", "8", "76", "101.50", "180.00", "0.49", "2.10", "2.00", "9.0", "0"}, strings.Fields(lines[3]))
	assert.Equal(t, []string{"direct", "8", "156", "51.20", "55.00", "-", "-", "-", "-", "0"}, strings.Fields(lines[4]))
	assert.Contains(t, out, "first error of payhost: POST /v1/payments: 503")
}
