package plugin

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/payhost/payhost/host/caps"
)

// loadWatBench loads a module of testdata/wat for a benchmark.
func loadWatBench(b *testing.B, name string) (Plugin, *caps.Binding) {
	b.Helper()
	bin, err := os.ReadFile(filepath.Join("testdata", "wat", name+".wasm"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := LoadWasm(context.Background(), bin, WasmConfig{CacheDir: "-", MaxInstances: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	h, err := caps.Bind(p.Manifest(), caps.AccountConfig{Name: "wat"}, caps.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	return p, h
}

// BenchmarkDeadlineOvershoot: how long after its deadline (100 ms) a
// runaway call returns: an endless loop, a recursion without loops, and a
// memory bomb (memory grown to the limit, then filled again and again).
// overshoot-ms/op is the mean delay past the deadline.
func BenchmarkDeadlineOvershoot(b *testing.B) {
	for _, name := range []string{"call_loop", "call_recurse", "call_memfill"} {
		b.Run(name, func(b *testing.B) {
			p, h := loadWatBench(b, name)
			var over time.Duration
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				dl, _ := ctx.Deadline()
				if _, err := create(ctx, p, h, "x"); err == nil {
					b.Fatal("a runaway call succeeded")
				}
				over += time.Since(dl)
				cancel()
			}
			b.ReportMetric(float64(over.Microseconds())/1000/float64(b.N), "overshoot-ms/op")
		})
	}
}

// BenchmarkDeepRecursion: the host memory an endless recursion takes
// before it is stopped (B/op: wazero grows the guest's call stack on the
// host's heap, outside the instance's memory limit).
func BenchmarkDeepRecursion(b *testing.B) {
	p, h := loadWatBench(b, "call_deep")
	b.ReportAllocs()
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := create(ctx, p, h, "x"); err == nil {
			b.Fatal("an endless recursion succeeded")
		}
		cancel()
	}
}
