//go:build wasip1

package pdk

import (
	"context"
	"encoding/json"
	"time"
	"unsafe"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk/abi"
)

var (
	served Plugin
	// inbuf receives each call's input; an instance serves one call at a
	// time, so one buffer, grown as needed, is enough.
	inbuf []byte
	// config is the account configuration sent with the running call;
	// configBuf keeps its backing array from call to call.
	config, configBuf []string
	// outbuf keeps the backing array of the encoded response (the host
	// copies it out at once).
	outbuf []byte
)

// Serve registers the plugin a WebAssembly module exports. Call it from the
// main package's init function (main itself never runs in a wasm reactor).
func Serve(p Plugin) { served = p }

//go:wasmimport payhost output
func hostOutput(ptr, n uint32)

//go:wasmimport payhost capability
func hostCapability(kind, ptr, n uint32) uint32

//go:wasmimport payhost result
func hostResult(ptr uint32)

//go:wasmimport payhost now
func hostNow() int64

// hostYield is the host's deadline check. The host calls it from the fuel
// counters it adds to every loop; importing it here makes every pdk module
// carry the import the instrumentation needs.
//
//go:wasmimport payhost yield
func hostYield() int32

func ptrOf(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

func output(b []byte) {
	hostOutput(ptrOf(b), uint32(len(b)))
}

//go:wasmexport payhost_abi_version
func exportVersion() uint32 { return abi.Version }

//go:wasmexport payhost_alloc
func exportAlloc(n uint32) uint32 {
	if n == 0 {
		n = 1
	}
	if uint32(cap(inbuf)) < n {
		inbuf = make([]byte, n)
	}
	inbuf = inbuf[:n]
	return ptrOf(inbuf)
}

//go:wasmexport payhost_describe
func exportDescribe() uint32 {
	if served == nil {
		return fail(core.Errorf(core.CodePluginFailure, "no plugin registered: call pdk.Serve from init"))
	}
	b, err := json.Marshal(Describe(served))
	if err != nil {
		return fail(err)
	}
	output(b)
	return abi.StatusOK
}

//go:wasmexport payhost_call
func exportCall(ptr, n uint32) uint32 {
	hostYield() // a call that is already past its deadline stops here
	if len(inbuf) == 0 || ptr != ptrOf(inbuf) || int(n) > len(inbuf) {
		return fail(core.Errorf(core.CodePluginFailure, "call input was not allocated by payhost_alloc"))
	}
	if served == nil {
		return fail(core.Errorf(core.CodePluginFailure, "no plugin registered: call pdk.Serve from init"))
	}
	// One copy of the input: op, configuration and request strings share it
	// (inbuf is overwritten by the next call, a string is not).
	op, cfg, body, err := abi.DecodeCallString(string(inbuf[:n]), configBuf[:0])
	if err != nil {
		return fail(core.WrapError(core.CodePluginFailure, err, "decode call"))
	}
	if len(cfg) > 0 { // else Config asks through the capability
		configBuf = cfg
		config = cfg
	}
	out, err := handleString(context.Background(), served, guestHost{}, core.Op(op), body, outbuf[:0])
	config = nil
	if err != nil {
		return fail(err)
	}
	output(out)
	if cap(out) <= 64<<10 { // keep a buffer of ordinary size, not a huge one
		outbuf = out[:0]
	}
	return abi.StatusOK
}

func fail(err error) uint32 {
	b, _ := json.Marshal(core.AsError(err))
	output(b)
	return abi.StatusError
}

// guestHost implements Host over the host imports.
type guestHost struct{}

func capability(kind uint32, req []byte) ([]byte, error) {
	n := hostCapability(kind, ptrOf(req), uint32(len(req)))
	res := make([]byte, n)
	if n > 0 {
		hostResult(ptrOf(res))
	}
	return abi.SplitResult(res)
}

func (guestHost) HTTP(_ context.Context, req *core.HTTPRequest) (*core.HTTPResponse, error) {
	b, err := capability(abi.CapHTTP, abi.EncodeHTTPRequest(req))
	if err != nil {
		return nil, err
	}
	return abi.DecodeHTTPResponse(b)
}

func (guestHost) Sign(_ context.Context, key string, alg core.SignAlg, data []byte) ([]byte, error) {
	return capability(abi.CapSign, abi.EncodeKeyRequest(&abi.KeyRequest{Key: key, Alg: string(alg), Data: data}))
}

func (guestHost) Verify(_ context.Context, key string, alg core.SignAlg, data, sig []byte) error {
	_, err := capability(abi.CapVerify, abi.EncodeKeyRequest(&abi.KeyRequest{Key: key, Alg: string(alg), Data: data, Sig: sig}))
	return err
}

func (guestHost) Digest(_ context.Context, alg core.DigestAlg, data []byte) ([]byte, error) {
	return capability(abi.CapDigest, abi.EncodeKeyRequest(&abi.KeyRequest{Alg: string(alg), Data: data}))
}

func (guestHost) Now() time.Time { return time.Unix(0, hostNow()) }

func (guestHost) Log(_ context.Context, level core.LogLevel, msg string, attrs ...string) {
	_, _ = capability(abi.CapLog, abi.EncodeLogRequest(&abi.LogRequest{Level: string(level), Msg: msg, Attrs: attrs}))
}

func (guestHost) Config(key string) (string, bool) {
	if config != nil {
		for i := 0; i+1 < len(config); i += 2 {
			if config[i] == key {
				return config[i+1], true
			}
		}
		return "", false
	}
	b, err := capability(abi.CapConfig, abi.EncodeCacheRequest(&abi.CacheRequest{Key: key}))
	if err != nil {
		return "", false
	}
	v, found, err := abi.DecodeLookup(b)
	return string(v), found && err == nil
}

func (guestHost) CacheGet(key string) ([]byte, bool) {
	b, err := capability(abi.CapCacheGet, abi.EncodeCacheRequest(&abi.CacheRequest{Key: key}))
	if err != nil {
		return nil, false
	}
	v, found, err := abi.DecodeLookup(b)
	return v, found && err == nil
}

func (guestHost) CacheSet(key string, value []byte, ttl time.Duration) {
	_, _ = capability(abi.CapCacheSet, abi.EncodeCacheRequest(&abi.CacheRequest{Key: key, Value: value, TTLMillis: ttl.Milliseconds()}))
}
