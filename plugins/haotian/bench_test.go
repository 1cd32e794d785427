package haotian_test

import (
	"context"
	"net/http/httptest"
	"strconv"
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
