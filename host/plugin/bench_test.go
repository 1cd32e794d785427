package plugin

import (
	"context"
	"testing"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/internal/testwasm"
	"github.com/payhost/payhost/pdk"
)

// emptyPlugin answers payment.query without doing anything, natively.
type emptyPlugin struct{}

func (emptyPlugin) Manifest() core.Manifest { return core.Manifest{Name: "hostile", Version: "0.0.1"} }

func (emptyPlugin) QueryPayment(_ context.Context, _ pdk.Host, req *core.QueryPaymentRequest) (*core.QueryPaymentResponse, error) {
	return &core.QueryPaymentResponse{Payment: core.Payment{ID: req.Payment.ID, Status: core.PaymentProcessing}}, nil
}

// BenchmarkEmptyCall is the cost of the boundary alone: a call that does
// nothing, with the same request and response, native and wasm.
func BenchmarkEmptyCall(b *testing.B) {
	native, err := NewNative(emptyPlugin{})
	if err != nil {
		b.Fatal(err)
	}
	wasm, err := LoadWasmFile(context.Background(), testwasm.Build(b, "host/plugin/testdata/hostile"), WasmConfig{CacheDir: testwasm.CacheDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer wasm.Close(context.Background())
	for _, tc := range []struct {
		name string
		p    Plugin
	}{{"native", native}, {"wasm", wasm}} {
		b.Run(tc.name, func(b *testing.B) {
			req := &core.QueryPaymentRequest{Payment: core.PaymentRef{ID: "pay_1"}}
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := tc.p.Invoke(ctx, nil, core.OpPaymentQuery, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCapabilityCall is one capability round trip from a wasm guest
// (a cache lookup), measured over 1000 calls inside one plugin call.
func BenchmarkCapabilityCall(b *testing.B) {
	p, err := LoadWasmFile(context.Background(), testwasm.Build(b, "host/plugin/testdata/hostile"), WasmConfig{CacheDir: testwasm.CacheDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	h := bindHostile(b, p.Manifest(), "http://127.0.0.1:1")
	req := &core.CreatePaymentRequest{PaymentID: "p", Amount: 1, Currency: "CNY", Method: core.MethodAlipayQR, Subject: "capability:1000"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Invoke(context.Background(), h, core.OpPaymentCreate, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/capability")
}

// BenchmarkLoadWasm is loading the Haotian plugin: cold (an empty
// compilation cache: validate, instrument, compile), warm (a restart: the
// cache holds the compiled code and the validation marker; the in-process
// memory of validations is cleared each time, as in a new process), and
// reload (the compiled code, released after UnloadAfter, loaded again by
// the next call).
func BenchmarkLoadWasm(b *testing.B) {
	path := testwasm.Build(b, "plugins/haotian/wasm")
	load := func(b *testing.B, dir string) {
		p, err := LoadWasmFile(context.Background(), path, WasmConfig{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		_ = p.Close(context.Background())
	}
	b.Run("cold", func(b *testing.B) {
		for range b.N {
			validated.Clear()
			load(b, b.TempDir())
		}
	})
	b.Run("reload", func(b *testing.B) {
		// the code released after UnloadAfter, loaded again by a call
		p, err := LoadWasmFile(context.Background(), path, WasmConfig{CacheDir: b.TempDir(), UnloadAfter: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(context.Background())
		w := p.(*wasmPlugin)
		for b.Loop() {
			b.StopTimer()
			w.mu.Lock()
			c := w.code
			w.code = nil
			w.mu.Unlock()
			_ = c.close(context.Background())
			b.StartTimer()
			if _, err := w.loadedCode(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		dir := b.TempDir()
		load(b, dir)
		b.ResetTimer()
		for range b.N {
			validated.Clear()
			load(b, dir)
		}
	})
}
