package haotian_test

import (
	"context"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/internal/testwasm"
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// httpTimer measures the time a call spends inside the HTTP capability
// (the round trip to the simulator, on the host).
type httpTimer struct {
	pdk.Host
	spent *time.Duration
}

func (t httpTimer) HTTP(ctx context.Context, r *core.HTTPRequest) (*core.HTTPResponse, error) {
	start := time.Now()
	defer func() { *t.spent += time.Since(start) }()
	return t.Host.HTTP(ctx, r)
}

// ConfigValues passes the account's configuration through, as the
// binding it wraps does.
func (t httpTimer) ConfigValues() map[string]string {
	if cv, ok := t.Host.(interface{ ConfigValues() map[string]string }); ok {
		return cv.ConfigValues()
	}
	return nil
}

func createRequest(i int) *core.CreatePaymentRequest {
	return &core.CreatePaymentRequest{PaymentID: "bench_" + strconv.Itoa(i), Amount: 1000, Currency: "CNY",
		Method: core.MethodAlipayQR, Subject: "bench", NotifyURL: "https://merchant.example.com/notify"}
}

// BenchmarkCreatePayment is one Haotian create-payment (sign, HTTP to the
// in-process simulator over loopback, verify, map) through each transport.
// "wasm" meters guest loops with fuel (the default); "wasm-close" uses
// wazero's WithCloseOnContextDone instead. http-ns/op is the part spent in
// the host's HTTP round trip.
func BenchmarkCreatePayment(b *testing.B) {
	loaders := map[string]func(testing.TB) plugin.Plugin{
		"native": transports["native"],
		"wasm":   transports["wasm"],
		"wasm-close": func(t testing.TB) plugin.Plugin {
			p, err := plugin.LoadWasmFile(context.Background(), testwasm.Build(t, "plugins/haotian/wasm"),
				plugin.WasmConfig{CacheDir: testwasm.CacheDir(), Interrupt: plugin.InterruptClose})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
	}
	for _, name := range []string{"native", "wasm", "wasm-close"} {
		b.Run(name, func(b *testing.B) {
			s := sim.New(sim.DefaultConfig())
			gw := httptest.NewServer(s)
			defer func() { gw.Close(); s.Close() }()
			p := loaders[name](b)
			defer p.Close(context.Background())
			var spent time.Duration
			h := httpTimer{Host: bindAccount(b, p.Manifest(), gw.URL, time.Now), spent: &spent}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := plugin.Call[core.CreatePaymentResponse](ctx, p, h, core.OpPaymentCreate, createRequest(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "http-ns/op")
		})
	}
}

// stubHost answers every capability at once with a canned, accepted
// gateway reply: what is left is the plugin's own work and the boundary.
type stubHost struct{ body []byte }

func (s stubHost) HTTP(context.Context, *core.HTTPRequest) (*core.HTTPResponse, error) {
	return &core.HTTPResponse{Status: 200, Body: s.body}, nil
}
func (stubHost) Sign(context.Context, string, core.SignAlg, []byte) ([]byte, error) {
	return make([]byte, 16), nil
}
func (stubHost) Verify(context.Context, string, core.SignAlg, []byte, []byte) error { return nil }
func (stubHost) Digest(context.Context, core.DigestAlg, []byte) ([]byte, error)     { return nil, nil }
func (stubHost) Now() time.Time                                                     { return time.Now() }
func (stubHost) Log(context.Context, core.LogLevel, string, ...string)              {}
func (stubHost) Config(string) (string, bool)                                       { return "M1", true }
func (stubHost) CacheGet(string) ([]byte, bool)                                     { return nil, false }
func (stubHost) CacheSet(string, []byte, time.Duration)                             {}

// BenchmarkCreatePaymentCompute is create-payment with a stub host: the
// plugin's own work (parameters, signing string, JSON, parsing, mapping)
// plus the boundary, without the network.
func BenchmarkCreatePaymentCompute(b *testing.B) {
	h := stubHost{body: []byte(`{"code":0,"data":{"mchOrderNo":"bench_1","orderState":1,"payData":"http://127.0.0.1:33471/sim/pay/P1700000000000000001","payDataType":"codeUrl","payOrderId":"P1700000000000000001"},"msg":"SUCCESS","sign":"7F50319B9C041FBCD06E47C42D661560"}`)}
	for _, name := range []string{"native", "wasm"} {
		b.Run(name, func(b *testing.B) {
			p := loadTransport(b, name)
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := plugin.Call[core.CreatePaymentResponse](ctx, p, h, core.OpPaymentCreate, createRequest(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// barrierHost is stubHost whose HTTP capability waits until release is
// closed, after telling arrived: calls in flight hold their instances.
type barrierHost struct {
	stubHost
	arrived *sync.WaitGroup
	release chan struct{}
}

func (h barrierHost) HTTP(ctx context.Context, r *core.HTTPRequest) (*core.HTTPResponse, error) {
	h.arrived.Done()
	<-h.release
	return h.stubHost.HTTP(ctx, r)
}

// settledRSS is the process's resident memory once the garbage is
// collected and returned to the system.
func settledRSS(b *testing.B) (rss, heap uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	rss = rawRSS(b)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return rss, ms.HeapInuse
}

// rawRSS is the process's resident memory as it is.
func rawRSS(b *testing.B) uint64 {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("no /proc/self/statm:", err)
	}
	fields := strings.Fields(string(statm))
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return pages * uint64(os.Getpagesize())
}

// BenchmarkInstanceMemory is what a pooled instance of the Haotian plugin
// costs the process: resident memory (and the part of it on the Go heap)
// per instance, with 8 create-payment calls in flight at once — on fresh
// instances (their first call), and on the same instances after each has
// served 50 calls; once the garbage is collected and returned to the
// system, and, for the second, also as it is (unsettled: what garbage the
// calls left adds to it until a collection). Each iteration loads the
// plugin anew; run it with -benchtime 3x.
func BenchmarkInstanceMemory(b *testing.B) {
	const n, served = 8, 50
	body := []byte(`{"code":0,"data":{"mchOrderNo":"bench_1","orderState":1,"payData":"http://127.0.0.1:33471/sim/pay/P1700000000000000001","payDataType":"codeUrl","payOrderId":"P1700000000000000001"},"msg":"SUCCESS","sign":"7F50319B9C041FBCD06E47C42D661560"}`)
	ctx := context.Background()
	path := testwasm.Build(b, "plugins/haotian/wasm")
	// n calls at once; measure runs while all are inside the HTTP capability
	inFlight := func(p plugin.Plugin, measure func()) {
		var arrived, done sync.WaitGroup
		h := barrierHost{stubHost: stubHost{body: body}, arrived: &arrived, release: make(chan struct{})}
		arrived.Add(n)
		for i := range n {
			done.Add(1)
			go func() {
				defer done.Done()
				if _, err := plugin.Call[core.CreatePaymentResponse](ctx, p, h, core.OpPaymentCreate, createRequest(i)); err != nil {
					b.Error(err)
				}
			}()
		}
		arrived.Wait()
		if measure != nil {
			measure()
		}
		close(h.release)
		done.Wait()
	}
	mib := func(v uint64) float64 { return float64(v) / n / (1 << 20) }
	var fresh, after, unsettled, freshHeap, afterHeap uint64
	for b.Loop() {
		p, err := plugin.LoadWasmFile(ctx, path, plugin.WasmConfig{CacheDir: testwasm.CacheDir(), MaxInstances: n, IdleTimeout: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		baseRSS, baseHeap := settledRSS(b)
		runtime.GC() // from here on the collector runs when the calls make it
		inFlight(p, func() {
			rss, heap := settledRSS(b)
			fresh, freshHeap = rss-baseRSS, heap-baseHeap
		})
		for range served - 2 {
			inFlight(p, nil)
		}
		inFlight(p, func() {
			unsettled = rawRSS(b) - baseRSS
			rss, heap := settledRSS(b)
			after, afterHeap = rss-baseRSS, heap-baseHeap
		})
		if st := p.Stats(); st.Instantiations > int64(n)+1 {
			b.Logf("instances were replaced: %+v", st)
		}
		_ = p.Close(ctx)
	}
	b.ReportMetric(mib(fresh), "MiB/fresh-instance")
	b.ReportMetric(mib(freshHeap), "heap-MiB/fresh-instance")
	b.ReportMetric(mib(after), "MiB/instance-after-50-calls")
	b.ReportMetric(mib(afterHeap), "heap-MiB/instance-after-50-calls")
	b.ReportMetric(mib(unsettled), "unsettled-MiB/instance-after-50-calls")
}
