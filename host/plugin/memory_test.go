package plugin

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/internal/testwasm"
)

const wasmPage = 64 << 10

// TestLinearMemory: the memory grows in place with zeroed pages up to its
// maximum and no further; freed while guest code runs, it stays usable
// until the code leaves.
func TestLinearMemory(t *testing.T) {
	alloc := memoryAllocator(func(*linearMemory) {})
	before := liveMemories.Load()
	m := alloc.Allocate(wasmPage, 4*wasmPage).(*linearMemory)
	b := m.Reallocate(wasmPage)
	require.Len(t, b, wasmPage)
	b[0], b[wasmPage-1] = 1, 2
	grown := m.Reallocate(3 * wasmPage)
	require.Len(t, grown, 3*wasmPage)
	assert.Equal(t, []byte{1, 2}, []byte{grown[0], grown[wasmPage-1]}, "what was written survives a grow")
	for i, v := range grown[wasmPage:] {
		if v != 0 {
			t.Fatalf("byte %d of a new page is %d, want 0", wasmPage+i, v)
		}
	}
	if m.unmap != nil {
		assert.Equal(t, unsafe.SliceData(b), unsafe.SliceData(grown), "a mapped memory grows in place")
		assert.Equal(t, 3*wasmPage, cap(grown), "nothing past the size is reachable through the slice")
	}
	assert.Nil(t, m.Reallocate(5*wasmPage), "past the maximum")
	assert.Len(t, m.Reallocate(4*wasmPage), 4*wasmPage, "up to the maximum")

	m.enter()
	m.Free()
	grown[1] = 3 // still mapped: guest code is running
	assert.Equal(t, before+1, liveMemories.Load())
	m.leave()
	assert.Equal(t, before, liveMemories.Load(), "released when the code left")
	assert.Nil(t, m.Reallocate(wasmPage), "a freed memory does not grow")
	m.Free() // twice is harmless
	assert.Equal(t, before, liveMemories.Load())
}

// TestMemoryReleased: every instance's memory is released — instances
// closed after a call, discarded after a trap, an exit or a timeout,
// instantiations that fail (a start section that never ends) and a pool
// closed while a call is still running in the guest (released when the
// call ends).
func TestMemoryReleased(t *testing.T) {
	before := liveMemories.Load()
	p := loadHostile(t, WasmConfig{MaxInstances: 2})
	h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
	for _, subject := range []string{"ok", "panic", "crash", "exit", "alloc", "loop"} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, _ = create(ctx, p, h, subject)
		cancel()
	}
	_, err := loadWat(t, "start_loop", WasmConfig{CallTimeout: 100 * time.Millisecond})
	require.Error(t, err)

	// a call looping in the guest while the pool is closed without waiting
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		close(started)
		_, err := create(ctx, p, h, "loop")
		done <- err
	}()
	<-started
	for p.Stats().InUse == 0 {
		time.Sleep(time.Millisecond)
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	assert.ErrorIs(t, p.Close(closeCtx), context.DeadlineExceeded, "the close did not wait for the call")
	cancel()
	err = <-done
	require.Error(t, err)
	assert.Equal(t, core.CodePluginFailure, core.CodeOf(err))
	// the runtime is closed once the last call returned
	deadline := time.Now().Add(10 * time.Second)
	for liveMemories.Load() != before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.Equal(t, before, liveMemories.Load(), "linear memories left")
}

// released reports whether p's compiled code is released.
func released(p Plugin) bool {
	w := p.(*wasmPlugin)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.code == nil
}

// TestCodeReleasedAndLoadedAgain: a plugin without instances for
// UnloadAfter releases its compiled code; the next calls (several at once)
// load it again, once, and are served; without a compilation cache the
// code is kept.
func TestCodeReleasedAndLoadedAgain(t *testing.T) {
	// a cache of its own: the test changes what it holds
	p, err := LoadWasmFile(context.Background(), testwasm.Build(t, "host/plugin/testdata/hostile"),
		WasmConfig{CacheDir: t.TempDir(), IdleTimeout: 20 * time.Millisecond, UnloadAfter: 500 * time.Millisecond}) // long enough that the four calls below (slow under -race) share one reload
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
	_, err = create(context.Background(), p, h, "ok")
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for !released(p) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.True(t, released(p), "the code was not released")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := create(context.Background(), p, h, "ok")
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(1), p.Stats().Reloads, "loaded again once for the calls")
	assert.False(t, released(p))

	// the metered module is read back from the cache and must be the same
	deadline = time.Now().Add(10 * time.Second)
	for !released(p) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.True(t, released(p), "the code was not released again")
	w := p.(*wasmPlugin)
	good, err := os.ReadFile(w.meteredPath)
	require.NoError(t, err)
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1
	require.NoError(t, os.WriteFile(w.meteredPath, bad, 0o600))
	_, err = create(context.Background(), p, h, "ok")
	assert.ErrorContains(t, err, "changed")

	kept, err := loadWat(t, "ok", WasmConfig{IdleTimeout: 20 * time.Millisecond, UnloadAfter: time.Millisecond}) // no cache
	require.NoError(t, err)
	t.Cleanup(func() { _ = kept.Close(context.Background()) })
	assert.False(t, kept.(*wasmPlugin).unloadable(), "without a compilation cache the code is kept")
}

// executableMappings lists the process's anonymous executable mappings
// (compiled wasm) with their sizes, from /proc/self/maps.
func executableMappings(t *testing.T) map[string]int64 {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps:", err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 || !strings.HasPrefix(f[1], "r-x") {
			continue // not anonymous, or not executable
		}
		var lo, hi int64
		if _, err := fmt.Sscanf(f[0], "%x-%x", &lo, &hi); err == nil {
			out[f[0]] = hi - lo
		}
	}
	return out
}

// TestReleasedCodeIsUnmapped: the compiled code a plugin releases leaves
// the process, also after calls (see compilationCache; the pool keeps no
// reference to a closed instance).
func TestReleasedCodeIsUnmapped(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/maps")
	}
	before := executableMappings(t)
	p, err := LoadWasmFile(context.Background(), testwasm.Build(t, "host/plugin/testdata/hostile"),
		WasmConfig{CacheDir: testwasm.CacheDir(), IdleTimeout: 20 * time.Millisecond, UnloadAfter: 20 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	var code int64
	mine := map[string]bool{} // the mappings the load added: the plugin's code
	for r, size := range executableMappings(t) {
		if _, ok := before[r]; !ok {
			mine[r] = true
			code += size
		}
	}
	require.Greater(t, code, int64(1<<20), "the plugin's compiled code")
	// calls leave instances, closed when idle: nothing of them may keep the code
	h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
	for range 3 {
		_, err := create(context.Background(), p, h, "ok")
		require.NoError(t, err)
	}
	left := func() (n int) {
		for r := range executableMappings(t) {
			if mine[r] {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for left() > 0 && time.Now().Before(deadline) {
		runtime.GC() // the executable memory goes with the compiled module, once collected
		time.Sleep(10 * time.Millisecond)
	}
	assert.True(t, released(p), "the code was not released")
	assert.Zero(t, left(), "the released code is still mapped")
}
