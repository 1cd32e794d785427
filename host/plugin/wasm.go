package plugin

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/internal/wasmguard"
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/pdk/abi"
)

// DefaultMaxInstances is the default bound of a plugin's instance pool.
// Instances are started when calls need them (~4 ms each) and closed when
// idle, so a plugin waiting on a slow provider holds one instance per call
// in flight without the operator sizing the pool; an instance takes about
// 4 MiB at start and is recycled beyond 8 MiB of linear memory.
const DefaultMaxInstances = 64

// DefaultUnloadAfter is how long a plugin without instances keeps its
// compiled code (some 25 MB for a Go plugin): a plugin nobody calls costs
// little, and the next call loads the code again from the compilation
// cache, once.
const DefaultUnloadAfter = 5 * time.Minute

// InterruptMode selects how a call's deadline stops guest code.
type InterruptMode string

// Interrupt modes.
const (
	// InterruptFuel meters loops with a fuel counter that calls the host's
	// yield every wasmguard.Quantum iterations (default; a few per cent).
	InterruptFuel InterruptMode = "fuel"
	// InterruptClose uses wazero's WithCloseOnContextDone on the module as
	// it is, kept only to measure the difference: it bounds time but not
	// the host stack a deep recursion takes (up to 400 MB an instance), so
	// never use it for modules you do not trust.
	InterruptClose InterruptMode = "close"
)

// WasmConfig tunes the wasm transport. Zero values take the defaults.
type WasmConfig struct {
	CacheDir            string        // compilation cache directory; "" = user cache dir/payhost/wazero, "-" = none
	MaxInstances        int           // instances per plugin version (calls in parallel); default 64, started on demand
	IdleTimeout         time.Duration // close instances idle this long; default 30 s
	UnloadAfter         time.Duration // release the compiled code of a plugin without instances this long; default 5 min, negative = never (see wasmPlugin.unloadable)
	MaxCallsPerInstance int           // recycle an instance after this many calls; default 10000
	MemoryLimit         uint64        // hard memory cap per instance in bytes; default 128 MiB
	RecycleMemory       uint64        // recycle an instance whose memory grew beyond this; default 8 MiB
	CallTimeout         time.Duration // deadline of a call whose context has none; default 30 s
	LoadTimeout         time.Duration // validating, compiling and starting the module; default 2 min
	MaxModuleBytes      int           // largest module accepted; default 64 MiB
	Interrupt           InterruptMode // default InterruptFuel
	Limits              Limits        // per-call caps on output and logs
	ExpectSHA256        string        // if set, the module's SHA-256 (hex) must match
	PublicKey           ed25519.PublicKey
	Signature           []byte // ed25519 signature of the module; required when PublicKey is set
	Logger              *slog.Logger
}

func (c *WasmConfig) defaults() {
	if c.MaxInstances <= 0 {
		c.MaxInstances = DefaultMaxInstances
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.UnloadAfter == 0 {
		c.UnloadAfter = DefaultUnloadAfter
	}
	if c.MaxCallsPerInstance <= 0 {
		c.MaxCallsPerInstance = 10000
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = 128 << 20
	}
	if c.RecycleMemory == 0 {
		c.RecycleMemory = 8 << 20
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.LoadTimeout <= 0 {
		c.LoadTimeout = 2 * time.Minute
	}
	c.Limits.defaults()
	if c.MaxModuleBytes <= 0 {
		c.MaxModuleBytes = 64 << 20
	}
	if c.Interrupt == "" {
		c.Interrupt = InterruptFuel
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// allowedWASI is the WASI subset a Go wasip1 guest needs. Nothing here opens
// files or sockets (path_open, sock_* and the directory calls are refused):
// the module config gives no preopened directories, no environment and no
// arguments, stdin is empty and stdout/stderr are captured, so these calls
// see an empty world. fd_read and fd_seek are allowed because Go's linker
// keeps (*os.File).Read reachable in any guest that reads through an
// io.Reader; with no file open they reach only the empty stdin.
var allowedWASI = map[string]bool{
	"args_get": true, "args_sizes_get": true, "environ_get": true, "environ_sizes_get": true,
	"clock_time_get": true, "clock_res_get": true, "fd_write": true, "fd_close": true, "fd_read": true, "fd_seek": true,
	"fd_fdstat_get": true, "fd_fdstat_set_flags": true, "fd_prestat_get": true, "fd_prestat_dir_name": true,
	"poll_oneoff": true, "proc_exit": true, "random_get": true, "sched_yield": true,
}

var hostImports = map[string]bool{abi.ImportOutput: true, abi.ImportCapability: true, abi.ImportResult: true, abi.ImportNow: true, abi.ImportYield: true}

// checkImports refuses anything beyond the WASI subset and the host module.
func checkImports(imports []wasmguard.Import) error {
	var bad []string
	for _, im := range imports {
		switch {
		case im.Kind != wasmguard.KindFunc:
			bad = append(bad, fmt.Sprintf("non-function %s.%s", im.Module, im.Name))
		case im.Module == wasi_snapshot_preview1.ModuleName && !allowedWASI[im.Name]:
			bad = append(bad, "forbidden WASI function "+im.Name)
		case im.Module == abi.HostModule && !hostImports[im.Name]:
			bad = append(bad, "unknown host function "+im.Module+"."+im.Name)
		case im.Module != wasi_snapshot_preview1.ModuleName && im.Module != abi.HostModule:
			bad = append(bad, fmt.Sprintf("forbidden module %q (%s)", im.Module, im.Name))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("module imports %s", strings.Join(bad, ", "))
	}
	return nil
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

var requiredExports = map[string][2][]api.ValueType{
	abi.ExportInitialize: {nil, nil},
	abi.ExportVersion:    {nil, {i32}},
	abi.ExportAlloc:      {{i32}, {i32}},
	abi.ExportDescribe:   {nil, {i32}},
	abi.ExportCall:       {{i32, i32}, {i32}},
}

func checkExports(cm wazero.CompiledModule) error {
	fns := cm.ExportedFunctions()
	for name, sig := range requiredExports {
		def, ok := fns[name]
		if !ok {
			return fmt.Errorf("module does not export %s: not a Payhost ABI v%d plugin (build with pdk.Serve, GOOS=wasip1 -buildmode=c-shared)", name, abi.Version)
		}
		if !sameTypes(def.ParamTypes(), sig[0]) || !sameTypes(def.ResultTypes(), sig[1]) {
			return fmt.Errorf("export %s has signature %v → %v", name, def.ParamTypes(), def.ResultTypes())
		}
	}
	if _, ok := cm.ExportedMemories()[abi.ExportMemory]; !ok {
		return errors.New("module does not export its memory")
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cacheDir resolves WasmConfig.CacheDir ("" = the user cache directory,
// "-" = no cache, returned as "").
func cacheDir(dir string) string {
	switch dir {
	case "-":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		return filepath.Join(base, "payhost", "wazero")
	}
	return dir
}

// compilationCache returns a cache of compiled code in dir (nil for
// none). Each runtime gets one of its own, closed with it: wazero keeps
// compiled code in memory in an engine that a cache shares between the
// runtimes using it, and does not let go of the last module compiled there
// until another one comes (wazero 1.12), so a shared cache would keep a
// released plugin's code mapped. The files in dir are shared all the same.
func compilationCache(dir string) (wazero.CompilationCache, error) {
	if dir = cacheDir(dir); dir == "" {
		return nil, nil
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("compilation cache %s: %w", dir, err)
	}
	return c, nil
}

// VerifyModule checks a module's SHA-256 and ed25519 signature as configured.
func VerifyModule(bin []byte, cfg *WasmConfig) error {
	sum := sha256.Sum256(bin)
	if cfg.ExpectSHA256 != "" && !strings.EqualFold(cfg.ExpectSHA256, hex.EncodeToString(sum[:])) {
		return fmt.Errorf("module sha256 %x does not match the expected %s", sum, cfg.ExpectSHA256)
	}
	if cfg.PublicKey != nil {
		if len(cfg.PublicKey) != ed25519.PublicKeySize {
			return errors.New("ed25519 public key has the wrong size")
		}
		if !ed25519.Verify(cfg.PublicKey, bin, cfg.Signature) {
			return errors.New("module signature does not verify with the configured public key")
		}
	}
	return nil
}

// LoadWasmFile loads a plugin module from a file. If cfg.PublicKey is set and
// cfg.Signature is empty, the signature is read from FILE.sig (raw or base64).
func LoadWasmFile(ctx context.Context, path string, cfg WasmConfig) (Plugin, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load plugin: %w", err)
	}
	if cfg.PublicKey != nil && cfg.Signature == nil {
		sig, err := os.ReadFile(path + ".sig")
		if err != nil {
			return nil, fmt.Errorf("load plugin: signature: %w", err)
		}
		if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig))); err == nil {
			sig = dec
		}
		cfg.Signature = sig
	}
	p, err := LoadWasm(ctx, bin, cfg)
	if err != nil {
		return nil, fmt.Errorf("load plugin %s: %w", filepath.Base(path), err)
	}
	return p, nil
}

type wasmPlugin struct {
	cfg      WasmConfig
	manifest core.Manifest
	log      *slog.Logger
	// meteredPath is the metered module in the compilation cache, from
	// which its compiled code is loaded again once released, meteredSum
	// what it must hash to; "" when the code is kept (see unloadable).
	meteredPath string
	meteredSum  [sha256.Size]byte

	sem chan struct{} // one token per call in progress: at most MaxInstances

	mu         sync.Mutex
	code       *wasmCode   // nil while released: the next instance loads it again
	idle       []*instance // least recently used first
	live       int         // instances alive, idle or serving a call, or being started
	emptySince time.Time   // since when the pool has had no instance, as trimIdle saw it
	loadMu     sync.Mutex  // one load of the code at a time

	stopTrim chan struct{} // closed by Close: stops trimIdle
	trimDone chan struct{}

	calls, errors, instantiations atomic.Int64
	logDropped, refused, reloads  atomic.Int64
	discardMu                     sync.Mutex
	discards                      map[string]int64
	gate                          gate
}

// validated remembers which modules passed wazero's validation in this
// process (by SHA-256 and memory limit): a Go guest takes ~0.2 s to
// validate, and loading the same file again should not pay twice.
var validated sync.Map

// validate checks the module as it was written, before Prepare rewrites
// it, so that rewriting cannot turn an invalid module into a valid one. A
// module that passed is remembered in this process and, with a compilation
// cache, by a marker file beside the compiled code (named by the module's
// SHA-256, the memory limit and the runtime's version), so that a warm load
// pays neither the validation nor the compilation. The cache directory is
// trusted as much as the compiled code it holds.
func validate(ctx context.Context, bin []byte, limitPages uint32, dir string) error {
	key := fmt.Sprintf("%x-%d-%s", sha256.Sum256(bin), limitPages, wazeroVersion)
	if _, ok := validated.Load(key); ok {
		return nil
	}
	marker := ""
	if dir = cacheDir(dir); dir != "" {
		marker = filepath.Join(dir, "payhost-valid-"+key)
		if _, err := os.Stat(marker); err == nil {
			validated.Store(key, true)
			return nil
		}
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithMemoryLimitPages(limitPages))
	defer func() { _ = rt.Close(context.WithoutCancel(ctx)) }()
	if _, err := rt.CompileModule(ctx, bin); err != nil {
		return err
	}
	validated.Store(key, true)
	if marker != "" {
		if err := os.MkdirAll(dir, 0o700); err == nil {
			_ = os.WriteFile(marker, nil, 0o600) // a cache: failing to write it only costs the next load
		}
	}
	return nil
}

// meteredPath is where the compilation cache in dir keeps the metered
// module of bin ("" without a cache).
func meteredPath(bin []byte, dir string) string {
	if dir = cacheDir(dir); dir != "" {
		return filepath.Join(dir, fmt.Sprintf("payhost-metered-%x-%s.wasm", sha256.Sum256(bin), wasmguard.Version))
	}
	return ""
}

// prepare meters a module (wasmguard.Prepare). With a compilation cache,
// the rewritten module is kept beside the compiled code (named by the
// module's SHA-256 and the rewrite's version), so a warm load reads it
// instead of rewriting ~4 MB of code again.
func prepare(bin []byte, dir string) (code []byte, imports []wasmguard.Import, err error) {
	path := meteredPath(bin, dir)
	dir = cacheDir(dir)
	if path != "" {
		if code, err := os.ReadFile(path); err == nil {
			imports, err := wasmguard.Imports(bin)
			return code, imports, err
		}
	}
	m, err := wasmguard.Prepare(bin, wasmguard.Yield{Module: abi.HostModule, Name: abi.ImportYield})
	if err != nil {
		return nil, nil, err
	}
	if path != "" && os.MkdirAll(dir, 0o700) == nil {
		tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
		if os.WriteFile(tmp, m.Binary, 0o600) == nil {
			_ = os.Rename(tmp, path) // a cache: failing to write it only costs the next load
		}
	}
	return m.Binary, m.Imports, nil
}

// wazeroVersion names the runtime in validation markers, so that a new
// wazero validates again.
var wazeroVersion = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				return d.Version
			}
		}
	}
	return "unknown"
}()

// LoadWasm validates, instruments, compiles (through the on-disk cache),
// checks and instantiates a plugin module: ABI marker and exports, imports
// limited to the WASI subset and the host module, a valid manifest. A
// module that fails any check, or does not finish loading within
// cfg.LoadTimeout, is refused and nothing of it keeps running.
func LoadWasm(ctx context.Context, bin []byte, cfg WasmConfig) (Plugin, error) {
	cfg.defaults()
	if len(bin) > cfg.MaxModuleBytes {
		return nil, fmt.Errorf("module of %d bytes exceeds %d", len(bin), cfg.MaxModuleBytes)
	}
	if err := VerifyModule(bin, &cfg); err != nil {
		return nil, err
	}
	if len(bin) < 8 || !bytes.Equal(bin[:8], []byte{0, 'a', 's', 'm', 1, 0, 0, 0}) {
		return nil, errors.New("module refused: not a WebAssembly 1.0 binary module")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.LoadTimeout)
	defer cancel()
	// Validation and compilation run no guest code but cannot be
	// interrupted: they run aside, and a load that outlasts its deadline
	// is refused while they finish (and are released) in the background.
	type compiled struct {
		w   *wasmPlugin
		err error
	}
	done := make(chan compiled, 1)
	go func() {
		w, err := compileWasm(context.WithoutCancel(ctx), bin, cfg)
		done <- compiled{w, err}
	}()
	var w *wasmPlugin
	select {
	case c := <-done:
		if c.err != nil {
			return nil, c.err
		}
		w = c.w
	case <-ctx.Done():
		go func() {
			if c := <-done; c.w != nil {
				_ = c.w.code.close(context.Background())
			}
		}()
		return nil, fmt.Errorf("module refused: loading exceeded %s (validation and compilation)", cfg.LoadTimeout)
	}
	fail := func(err error) (Plugin, error) {
		_ = w.code.close(context.WithoutCancel(ctx))
		return nil, err
	}
	// Starting the instance and describe run guest code, metered: they end
	// by the call deadline whatever the module does.
	callCtx, cancelCall := context.WithTimeout(ctx, cfg.CallTimeout)
	defer cancelCall()
	inst, err := w.newInstance(callCtx, w.code)
	if err != nil {
		return fail(fmt.Errorf("module refused: %w", err))
	}
	m, err := w.describe(callCtx, inst)
	if err != nil {
		inst.close()
		return fail(fmt.Errorf("module refused: %w", err))
	}
	if err := m.Validate(); err != nil {
		inst.close()
		return fail(err)
	}
	w.manifest = m
	w.log = cfg.Logger.With("plugin", m.Name, "version", m.Version)
	// the pool starts empty: instances start when calls need them
	inst.close()
	w.emptySince = time.Now()
	w.stopTrim, w.trimDone = make(chan struct{}), make(chan struct{})
	go w.trimIdle()
	// what loading allocated (the module as read, compilation) is garbage
	// now: give it back to the system rather than keep it for later
	debug.FreeOSMemory()
	return w, nil
}

// trimIdle closes instances idle for longer than IdleTimeout: the pool
// grows with the calls in flight and shrinks back to none when they are
// gone. A pool empty for UnloadAfter releases the compiled code too (see
// unloadable). Whenever the pool empties, or the code goes, the memory
// left behind (garbage on the Go heap) is given back to the system.
func (w *wasmPlugin) trimIdle() {
	defer close(w.trimDone)
	period := w.cfg.IdleTimeout
	if w.unloadable() {
		period = min(period, w.cfg.UnloadAfter)
	}
	t := time.NewTicker(max(period/2, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-w.stopTrim:
			return
		case <-t.C:
		}
		now := time.Now()
		cutoff := now.Add(-w.cfg.IdleTimeout)
		var stale []*instance
		w.mu.Lock()
		keep := w.idle[:0]
		for _, inst := range w.idle {
			if inst.lastUsed.Before(cutoff) {
				stale = append(stale, inst)
				w.live--
				continue
			}
			keep = append(keep, inst)
		}
		// the slots past keep still point at the closed instances, which
		// hold their module and with it the compiled code: clear them
		clear(w.idle[len(keep):])
		w.idle = keep
		empty := w.live == 0
		var unload *wasmCode
		switch {
		case !empty:
			w.emptySince = time.Time{}
		case w.emptySince.IsZero():
			w.emptySince = now
		case w.code != nil && w.unloadable() && now.Sub(w.emptySince) >= w.cfg.UnloadAfter && w.canReload():
			// no instance, and none being started (live counts those)
			unload, w.code = w.code, nil
		}
		w.mu.Unlock()
		for _, inst := range stale {
			w.discardMu.Lock()
			w.discards["idle"]++
			w.discardMu.Unlock()
			inst.close()
		}
		if unload != nil {
			_ = unload.close(context.Background())
			w.log.Info("plugin code released: no call for a while", "unload_after", w.cfg.UnloadAfter.String())
		}
		if empty && (len(stale) > 0 || unload != nil) {
			debug.FreeOSMemory()
		}
	}
}

// unloadable reports whether the compiled code may be released while the
// pool is empty: UnloadAfter is set, and a compilation cache makes loading
// it again quick.
func (w *wasmPlugin) unloadable() bool { return w.meteredPath != "" && w.cfg.UnloadAfter > 0 }

// canReload reports whether the metered module is still in the
// compilation cache to load the code again from.
func (w *wasmPlugin) canReload() bool {
	_, err := os.Stat(w.meteredPath)
	return err == nil
}

// loadedCode returns the compiled code, loading it again when it was
// released: from the compilation cache, as a warm start would (tens of
// milliseconds rather than seconds). The caller counts in w.live, so the
// code cannot be released meanwhile.
func (w *wasmPlugin) loadedCode(ctx context.Context) (*wasmCode, error) {
	w.mu.Lock()
	c := w.code
	w.mu.Unlock()
	if c != nil {
		return c, nil
	}
	w.loadMu.Lock()
	defer w.loadMu.Unlock()
	w.mu.Lock()
	c = w.code
	w.mu.Unlock()
	if c != nil {
		return c, nil // loaded by another call meanwhile
	}
	start := time.Now()
	code, err := os.ReadFile(w.meteredPath)
	if err == nil && sha256.Sum256(code) != w.meteredSum {
		err = errors.New("the metered module in the compilation cache changed")
	}
	if err != nil {
		return nil, fmt.Errorf("load the compiled code again: %w", err)
	}
	c, err = compileCode(context.WithoutCancel(ctx), code, w.cfg)
	if err != nil {
		return nil, fmt.Errorf("load the compiled code again: %w", err)
	}
	w.reloads.Add(1)
	w.log.Info("plugin code loaded again", "duration_ms", time.Since(start).Milliseconds())
	w.mu.Lock()
	w.code = c
	w.mu.Unlock()
	return c, nil
}

// compileWasm validates, meters and compiles a module and registers the
// host modules; no guest code runs.
func compileWasm(ctx context.Context, bin []byte, cfg WasmConfig) (*wasmPlugin, error) {
	limitPages := uint32(cfg.MemoryLimit / 65536)
	if err := validate(ctx, bin, limitPages, cfg.CacheDir); err != nil {
		return nil, fmt.Errorf("module refused: invalid module: %w", err)
	}
	code, imports, err := prepare(bin, cfg.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("module refused: %w", err)
	}
	if err := checkImports(imports); err != nil {
		return nil, fmt.Errorf("module refused: %w", err)
	}
	if cfg.Interrupt == InterruptClose {
		code = bin
	}
	c, err := compileCode(ctx, code, cfg)
	if err != nil {
		return nil, err
	}
	w := &wasmPlugin{cfg: cfg, code: c, log: cfg.Logger, sem: make(chan struct{}, cfg.MaxInstances), discards: map[string]int64{}}
	if path := meteredPath(bin, cfg.CacheDir); path != "" && cfg.UnloadAfter > 0 && cfg.Interrupt != InterruptClose {
		w.meteredPath, w.meteredSum = path, sha256.Sum256(code)
	}
	return w, nil
}

// wasmCode is a plugin's compiled module in a runtime of its own, with the
// host modules it imports.
type wasmCode struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	cache    wazero.CompilationCache // nil without one
}

// close closes the runtime, the compiled module and the runtime's cache
// (see compilationCache): the executable memory is unmapped once the
// collector finds it unused.
func (c *wasmCode) close(ctx context.Context) error {
	err := c.rt.Close(ctx)
	if c.compiled != nil {
		err = errors.Join(err, c.compiled.Close(ctx))
	}
	if c.cache != nil {
		err = errors.Join(err, c.cache.Close(ctx))
	}
	return err
}

// compileCode compiles a metered module (through the compilation cache),
// checks its exports and registers the host modules; no guest code runs.
func compileCode(ctx context.Context, code []byte, cfg WasmConfig) (*wasmCode, error) {
	cache, err := compilationCache(cfg.CacheDir)
	if err != nil {
		return nil, err
	}
	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(uint32(cfg.MemoryLimit / 65536)).
		WithCloseOnContextDone(cfg.Interrupt == InterruptClose)
	if cache != nil {
		rc = rc.WithCompilationCache(cache)
	}
	c := &wasmCode{rt: wazero.NewRuntimeWithConfig(ctx, rc), cache: cache}
	fail := func(err error) (*wasmCode, error) {
		_ = c.close(ctx)
		return nil, err
	}
	if c.compiled, err = c.rt.CompileModule(ctx, code); err != nil {
		return fail(fmt.Errorf("compile: %w", err))
	}
	if err := checkExports(c.compiled); err != nil {
		return fail(fmt.Errorf("module refused: %w", err))
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, c.rt); err != nil {
		return fail(fmt.Errorf("wasi: %w", err))
	}
	if err := registerHostModule(ctx, c.rt); err != nil {
		return fail(fmt.Errorf("host module: %w", err))
	}
	return c, nil
}

func (w *wasmPlugin) Manifest() core.Manifest { return w.manifest }
func (w *wasmPlugin) Transport() Transport    { return TransportWasm }

// instance is one module instance; it serves one call at a time, and only
// calls of the account it first served.
type instance struct {
	mod      api.Module
	mem      api.Memory
	alloc    api.Function
	call     api.Function
	describe api.Function
	stack    api.Global // the stack budget (nil without the meter)
	calls    int
	lastUsed time.Time    // when it went back to the pool
	used     bool         // it has served a call of account
	account  string       // the account whose data its memory may hold
	deadline atomic.Int64 // Unix nanoseconds of the running call's deadline; 0 = none
	stderr   *tailBuffer
	lm       *linearMemory // its linear memory (see memory.go)
}

func (i *instance) close() {
	if i != nil && i.mod != nil {
		_ = i.mod.Close(context.Background())
	}
	if i != nil && i.lm != nil {
		// wazero frees it on the first close only, and not at all when
		// WithCloseOnContextDone closed the module first: free it here too
		// (twice is harmless)
		i.lm.Free()
	}
}

// usable reports whether the instance's memory is still there: a module
// closed from outside (by its runtime, or by wazero itself) must never run
// again.
func (i *instance) usable() bool { return i.lm == nil || !i.lm.isFreed() }

// overdrawn reports whether the guest ran out of stack budget.
func (i *instance) overdrawn() bool {
	return i != nil && i.stack != nil && int32(uint32(i.stack.Get())) < 0
}

// sleep is the instance's nanosleep: it never sleeps past the call deadline,
// so a sleeping guest wakes up, runs into a fuel check and traps.
func (i *instance) sleep(ns int64) {
	d := time.Duration(ns)
	if dl := i.deadline.Load(); dl != 0 {
		d = min(d, time.Until(time.Unix(0, dl)))
	}
	if d > 0 {
		time.Sleep(d)
	}
}

// randReader is the guest's random source: it ends at the call deadline,
// so a guest asking for gigabytes of randomness is stopped in time.
type randReader struct{ inst *instance }

func (r randReader) Read(p []byte) (int, error) {
	if dl := r.inst.deadline.Load(); dl != 0 && time.Now().UnixNano() > dl {
		return 0, errors.New("call deadline exceeded")
	}
	return rand.Read(p[:min(len(p), 64<<10)])
}

// newInstance starts an instance under ctx's deadline: the start section,
// _initialize (the Go runtime and package init) and the ABI marker are
// guest code, metered like any call.
func (w *wasmPlugin) newInstance(ctx context.Context, c *wasmCode) (*instance, error) {
	inst := &instance{stderr: &tailBuffer{max: 4096}}
	if dl, ok := ctx.Deadline(); ok {
		inst.deadline.Store(dl.UnixNano())
		defer inst.deadline.Store(0)
	}
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithSysWalltime().WithSysNanotime().WithNanosleep(inst.sleep).WithRandSource(randReader{inst}).
		WithStdout(io.Discard).WithStderr(inst.stderr)
	// The memory counts as in use from its allocation to the end of the
	// instantiation (data segments, a start section); wazero does not free
	// the memory of an instantiation that fails, so that is done here.
	alloc := memoryAllocator(func(m *linearMemory) {
		m.enter()
		inst.lm = m
	})
	mod, err := c.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, alloc), c.compiled, mc)
	if inst.lm != nil {
		if err != nil {
			inst.lm.Free()
		}
		inst.lm.leave()
	}
	if err != nil {
		return nil, fmt.Errorf("instantiate (start section): %w", w.explain(ctx, inst, nil, err))
	}
	w.instantiations.Add(1)
	inst.mod = mod
	inst.mem = mod.Memory()
	inst.alloc = mod.ExportedFunction(abi.ExportAlloc)
	inst.call = mod.ExportedFunction(abi.ExportCall)
	inst.describe = mod.ExportedFunction(abi.ExportDescribe)
	inst.stack = mod.ExportedGlobal(wasmguard.ExportStack)
	st := &callState{ctx: ctx}
	if _, err := w.guarded(ctx, inst, st, func(ctx context.Context) (uint32, error) {
		_, err := mod.ExportedFunction(abi.ExportInitialize).Call(ctx)
		return 0, err
	}); err != nil {
		err = w.explain(ctx, inst, st, err)
		inst.close()
		return nil, fmt.Errorf("_initialize: %w", err)
	}
	version, err := w.guarded(ctx, inst, st, func(ctx context.Context) (uint32, error) {
		res, err := mod.ExportedFunction(abi.ExportVersion).Call(ctx)
		if err != nil {
			return 0, err
		}
		return uint32(res[0]), nil
	})
	if err == nil && version != abi.Version {
		err = fmt.Errorf("plugin speaks ABI v%d, this host v%d", version, abi.Version)
	} else if err != nil {
		err = fmt.Errorf("%s: %w", abi.ExportVersion, w.explain(ctx, inst, st, err))
	}
	if err != nil {
		inst.close()
		return nil, err
	}
	return inst, nil
}

// callState is what the host functions of one call see.
type callState struct {
	ctx     context.Context
	host    *callHost
	output  []byte
	hasOut  bool
	pending []byte
	fault   error   // why a host function stopped the guest, when it did
	limits  *Limits // nil outside calls (start, describe)
}

type stateKey struct{}

// guarded runs guest code under the call's deadline: the yield host
// function sees st and traps the guest once ctx is done, and the guest's
// sleeps end at the deadline. The instance's memory stays mapped while it
// runs, even if the instance is closed meanwhile.
func (w *wasmPlugin) guarded(ctx context.Context, inst *instance, st *callState, fn func(context.Context) (uint32, error)) (uint32, error) {
	if inst.lm != nil {
		inst.lm.enter()
		defer inst.lm.leave()
	}
	if dl, ok := ctx.Deadline(); ok {
		inst.deadline.Store(dl.UnixNano())
		defer inst.deadline.Store(0)
	}
	return fn(context.WithValue(ctx, stateKey{}, st))
}

// explain turns a failure of guest code into its reason: the deadline, the
// stack budget, a limit a host function enforced, or the trap itself.
func (w *wasmPlugin) explain(ctx context.Context, inst *instance, st *callState, err error) error {
	switch {
	case st != nil && st.fault != nil:
		return st.fault
	case inst.overdrawn():
		return &guestError{"the call stack went over its budget (deep recursion)", err}
	case ctx.Err() != nil:
		return &guestError{"deadline exceeded: the guest was stopped", err}
	}
	return err
}

// guestError is why guest code was stopped, said in one line; the
// runtime's error (with its wasm stack trace) stays reachable by errors.As.
type guestError struct {
	msg string
	err error
}

func (e *guestError) Error() string { return e.msg }
func (e *guestError) Unwrap() error { return e.err }

func (w *wasmPlugin) describe(ctx context.Context, inst *instance) (core.Manifest, error) {
	st := &callState{ctx: ctx}
	status, err := w.guarded(ctx, inst, st, func(ctx context.Context) (uint32, error) {
		res, err := inst.describe.Call(ctx)
		if err != nil {
			return 0, err
		}
		return uint32(res[0]), nil
	})
	if err != nil {
		return core.Manifest{}, fmt.Errorf("describe: %w", w.explain(ctx, inst, st, err))
	}
	if status != abi.StatusOK {
		return core.Manifest{}, fmt.Errorf("describe: %w", abi.DecodeError(st.output))
	}
	var m core.Manifest
	if err := json.Unmarshal(st.output, &m); err != nil {
		return core.Manifest{}, fmt.Errorf("describe: manifest is not JSON: %w", err)
	}
	return m, nil
}

// acquire returns an instance for a call of account: an idle one that
// served the same account, or a fresh one. When the pool is full, the
// least recently used idle instance of another account is closed to make
// room: guest memory never carries one account's data into another's call.
func (w *wasmPlugin) acquire(ctx context.Context, account string) (*instance, error) {
	w.mu.Lock()
	for i := len(w.idle) - 1; i >= 0; i-- {
		if inst := w.idle[i]; (!inst.used || inst.account == account) && inst.usable() {
			w.idle = slices.Delete(w.idle, i, i+1) // clears the slot it frees
			w.mu.Unlock()
			inst.used, inst.account = true, account
			return inst, nil
		}
	}
	var evict *instance
	if w.live >= w.cfg.MaxInstances && len(w.idle) > 0 {
		evict = w.idle[0]
		w.idle = slices.Delete(w.idle, 0, 1)
		w.live--
	}
	w.live++
	w.mu.Unlock()
	if evict != nil {
		w.discard(evict, "account", nil)
	}
	c, err := w.loadedCode(ctx)
	var inst *instance
	if err == nil {
		inst, err = w.newInstance(ctx, c)
	}
	if err != nil {
		w.mu.Lock()
		w.live--
		w.mu.Unlock()
		return nil, err
	}
	inst.used, inst.account = true, account
	return inst, nil
}

func (w *wasmPlugin) release(inst *instance) {
	inst.lastUsed = time.Now()
	w.mu.Lock()
	w.idle = append(w.idle, inst)
	w.mu.Unlock()
}

func (w *wasmPlugin) Invoke(ctx context.Context, h pdk.Host, op core.Op, req any) (any, error) {
	if !w.gate.enter() {
		return nil, core.Errorf(core.CodeProviderUnavailable, "plugin %s is closed", w.manifest.Name)
	}
	defer w.gate.leave()
	info, err := checkCall(&w.manifest, op, req)
	if err != nil {
		return nil, err
	}
	body, err := abi.EncodeRequest(op, req)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "%s: encode request", op)
	}
	var config map[string]string
	if cv, ok := h.(interface{ ConfigValues() map[string]string }); ok {
		config = cv.ConfigValues()
	}
	in := abi.EncodeCall(string(op), config, body)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.cfg.CallTimeout)
		defer cancel()
	}
	w.calls.Add(1)
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		w.errors.Add(1)
		return nil, &core.Error{Code: core.CodeProviderUnavailable, Provider: w.manifest.Name, Retryable: true,
			Message: fmt.Sprintf("plugin %s busy: no instance free before the deadline", w.manifest.Name)}
	}
	defer func() { <-w.sem }()

	inst, err := w.acquire(ctx, accountOf(h))
	if err != nil {
		w.errors.Add(1)
		return nil, &core.Error{Code: core.CodePluginFailure, Provider: w.manifest.Name, Message: "instantiate plugin: " + firstLine(err.Error()), Err: err}
	}
	st := &callState{ctx: ctx, limits: &w.cfg.Limits}
	if h != nil {
		st.host = newCallHost(h, &w.cfg.Limits)
	}
	status, callErr := w.guarded(ctx, inst, st, func(ctx context.Context) (uint32, error) {
		res, err := inst.alloc.Call(ctx, uint64(len(in)))
		if err != nil {
			return 0, err
		}
		ptr := uint32(res[0])
		if !inst.mem.Write(ptr, in) {
			return 0, fmt.Errorf("payhost_alloc returned out-of-bounds pointer %d", ptr)
		}
		res, err = inst.call.Call(ctx, uint64(ptr), uint64(len(in)))
		if err != nil {
			return 0, err
		}
		return uint32(res[0]), nil
	})
	inst.calls++
	switch {
	case callErr != nil && st.fault != nil:
		w.discard(inst, "limit", callErr)
	case callErr != nil && inst.overdrawn():
		w.discard(inst, "stack", callErr)
	case callErr != nil && ctx.Err() != nil:
		w.discard(inst, "timeout", callErr)
	case callErr != nil:
		w.discard(inst, "trap", callErr)
	case inst.calls >= w.cfg.MaxCallsPerInstance:
		w.discard(inst, "calls", nil)
	case uint64(inst.mem.Size()) > w.cfg.RecycleMemory:
		w.discard(inst, "memory", nil)
	default:
		w.release(inst)
	}
	sent := false
	if st.host != nil {
		sent = st.host.sent.Load()
		if lines, n := st.host.logDropped(); lines > 0 {
			w.logDropped.Add(int64(lines))
			w.log.Warn("plugin log over the call's budget: lines dropped", "op", string(op), "account", accountOf(h),
				"dropped_lines", lines, "dropped_bytes", n, "max_lines", w.cfg.Limits.MaxLogLines, "max_bytes", w.cfg.Limits.MaxLogBytes)
		}
	}
	if callErr != nil {
		w.errors.Add(1)
		return nil, w.failure(ctx, info, inst, st, sent, callErr)
	}
	if !st.hasOut {
		w.errors.Add(1)
		return nil, afterSend(w.manifest.Name, info, sent, &core.Error{Code: core.CodePluginFailure, Provider: w.manifest.Name, Message: fmt.Sprintf("%s returned without output", op)})
	}
	if status != abi.StatusOK {
		w.errors.Add(1)
		return nil, afterSend(w.manifest.Name, info, sent, pluginError(w.manifest.Name, abi.DecodeError(st.output)))
	}
	resp, err := abi.DecodeResponse(op, st.output)
	if err != nil {
		w.errors.Add(1)
		return nil, afterSend(w.manifest.Name, info, sent, &core.Error{Code: core.CodePluginFailure, Provider: w.manifest.Name, Message: fmt.Sprintf("%s: undecodable response", op), Err: err})
	}
	if err := w.cfg.Limits.checkResponse(resp); err != nil {
		w.errors.Add(1)
		w.refused.Add(1)
		return nil, afterSend(w.manifest.Name, info, sent, refusedOutput(w.manifest.Name, op, err))
	}
	return resp, nil
}

// refusedOutput is the error for a response over the output limits.
func refusedOutput(name string, op core.Op, err error) error {
	return &core.Error{Code: core.CodePluginFailure, Provider: name, Err: err,
		Message: fmt.Sprintf("%s: plugin output refused: %s", op, err)}
}

// failure turns a trap or timeout into the canonical error. Once a mutating
// call may have sent a request, the outcome is unknown: never a false failure.
func (w *wasmPlugin) failure(ctx context.Context, info core.OpInfo, inst *instance, st *callState, sent bool, err error) error {
	what := "plugin trapped"
	switch {
	case st.fault != nil:
		what = "plugin stopped"
		err = st.fault
	case inst.overdrawn():
		what = "plugin trapped: call stack over its budget (deep recursion)"
	case ctx.Err() != nil:
		what = "plugin call exceeded its deadline"
	}
	if info.Mutating && sent {
		return &core.Error{Code: core.CodeUnknownOutcome, Provider: w.manifest.Name, Err: err,
			Message: fmt.Sprintf("%s after sending a request in %s; query the provider for the outcome", what, info.Op)}
	}
	return &core.Error{Code: core.CodePluginFailure, Provider: w.manifest.Name, Err: err,
		Message: fmt.Sprintf("%s in %s: %s", what, info.Op, firstLine(err.Error()))}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// discard closes an instance for good; reason is counted in Stats.
func (w *wasmPlugin) discard(inst *instance, reason string, err error) {
	w.discardMu.Lock()
	w.discards[reason]++
	w.discardMu.Unlock()
	if reason != "account" {
		w.mu.Lock()
		w.live--
		w.mu.Unlock()
	}
	if err != nil {
		w.log.Warn("plugin instance discarded", "reason", reason, "err", firstLine(err.Error()), "stderr", inst.stderr.String())
	}
	inst.close()
}

func (w *wasmPlugin) Stats() Stats {
	w.discardMu.Lock()
	d := make(map[string]int64, len(w.discards))
	for k, v := range w.discards {
		d[k] = v
	}
	w.discardMu.Unlock()
	w.mu.Lock()
	idle := len(w.idle)
	w.mu.Unlock()
	return Stats{Calls: w.calls.Load(), Errors: w.errors.Load(), InUse: len(w.sem), Idle: idle,
		MaxInstances: w.cfg.MaxInstances, Instantiations: w.instantiations.Load(), Discards: d,
		LogDropped: w.logDropped.Load(), Refused: w.refused.Load(), Reloads: w.reloads.Load()}
}

func (w *wasmPlugin) Close(ctx context.Context) error {
	if !w.gate.close() {
		return nil
	}
	if w.stopTrim != nil {
		close(w.stopTrim)
		<-w.trimDone
	}
	closeIdle := func() {
		w.mu.Lock()
		idle := w.idle
		w.idle = nil
		w.mu.Unlock()
		for _, inst := range idle {
			inst.close()
		}
	}
	closeCode := func() error {
		w.mu.Lock()
		c := w.code
		w.code = nil
		w.mu.Unlock()
		if c == nil {
			return nil
		}
		return c.close(context.WithoutCancel(ctx))
	}
	if err := w.gate.wait(ctx); err != nil {
		// Calls still running end by their own deadlines: the runtime is
		// closed once they have (closing it under running guest code would
		// pull their modules away from them).
		closeIdle()
		go func() {
			_ = w.gate.wait(context.Background())
			_ = closeCode()
		}()
		return err
	}
	closeIdle()
	return closeCode()
}

// tailBuffer keeps the last max bytes written (a guest's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p) >= t.max { // only the tail of a large write is kept, never all of it
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return len(p), nil
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = bytes.Clone(t.buf[len(t.buf)-t.max:])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
