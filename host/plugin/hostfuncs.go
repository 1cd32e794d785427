package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/internal/wasmguard"
	"github.com/payhost/payhost/pdk/abi"
)

// trap aborts the guest: wazero turns a panic in a host function into an
// error of the call, and the instance is discarded.
type trap string

func (t trap) Error() string { return "payhost host function: " + string(t) }

// maxOutput is the most bytes the guest may hand back in this call.
func (st *callState) maxOutput() uint32 {
	if st.limits != nil {
		return uint32(st.limits.MaxOutputBytes)
	}
	return abi.MaxMessage
}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

// read copies n bytes at ptr out of guest memory, trapping on a bad pointer.
func read(mod api.Module, ptr, n uint32, what string) []byte {
	if n > abi.MaxMessage {
		panic(trap(fmt.Sprintf("%s of %d bytes exceeds %d", what, n, abi.MaxMessage)))
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		panic(trap(fmt.Sprintf("%s [%d, +%d) is outside guest memory", what, ptr, n)))
	}
	return append([]byte(nil), b...)
}

// registerHostModule registers the ABI v1 imports in rt with explicit
// signatures (no reflection).
func registerHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.HostModule)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostOutput), []api.ValueType{i32, i32}, nil).Export(abi.ImportOutput)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostCapability), []api.ValueType{i32, i32, i32}, []api.ValueType{i32}).Export(abi.ImportCapability)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostResult), []api.ValueType{i32}, nil).Export(abi.ImportResult)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostNow), nil, []api.ValueType{i64}).Export(abi.ImportNow)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(hostYield), nil, []api.ValueType{i32}).Export(abi.ImportYield)
	_, err := b.Instantiate(ctx)
	return err
}

func hostOutput(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		panic(trap("output outside a call"))
	}
	if n, limit := uint32(stack[1]), st.maxOutput(); n > limit {
		st.fault = fmt.Errorf("output of %d bytes is over the %d-byte limit", n, limit)
		panic(trap(st.fault.Error()))
	}
	st.output = read(mod, uint32(stack[0]), uint32(stack[1]), "output")
	st.hasOut = true
}

func hostCapability(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil || st.host == nil || st.host.Host == nil {
		panic(trap("capability outside a call"))
	}
	req := read(mod, uint32(stack[1]), uint32(stack[2]), "capability request")
	payload, err := dispatchCapability(st, uint32(stack[0]), req)
	st.pending = abi.Result(payload, err)
	if len(st.pending) > abi.MaxMessage {
		st.pending = abi.Result(nil, core.Errorf(core.CodeInvalidRequest, "capability result exceeds %d bytes", abi.MaxMessage))
	}
	stack[0] = uint64(len(st.pending))
}

func hostResult(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateOf(ctx)
	if st == nil {
		panic(trap("result outside a call"))
	}
	if !mod.Memory().Write(uint32(stack[0]), st.pending) {
		panic(trap(fmt.Sprintf("result [%d, +%d) is outside guest memory", uint32(stack[0]), len(st.pending))))
	}
	st.pending = nil
}

func hostNow(ctx context.Context, _ api.Module, stack []uint64) {
	now := time.Now()
	if st := stateOf(ctx); st != nil && st.host != nil && st.host.Host != nil {
		now = st.host.Now()
	}
	stack[0] = uint64(now.UnixNano())
}

// hostYield is reached whenever the guest has spent wasmguard.Quantum of
// fuel. Being Go, it is also where the garbage collector can stop the
// goroutine; it traps the guest once the context of the guest code running
// is done — a call's, or an instance's start (start section, _initialize),
// which has no call state.
func hostYield(ctx context.Context, _ api.Module, stack []uint64) {
	if ctx.Err() != nil {
		panic(trap("call deadline exceeded"))
	}
	if st := stateOf(ctx); st != nil && st.ctx.Err() != nil {
		panic(trap("call deadline exceeded"))
	}
	stack[0] = wasmguard.Quantum
}

func dispatchCapability(st *callState, kind uint32, req []byte) ([]byte, error) {
	h, ctx := st.host, st.ctx
	malformed := func(err error) ([]byte, error) {
		return nil, core.WrapError(core.CodeInvalidRequest, err, "capability %d: malformed request", kind)
	}
	switch kind {
	case abi.CapHTTP:
		r, err := abi.DecodeHTTPRequest(req)
		if err != nil {
			return malformed(err)
		}
		resp, err := h.HTTP(ctx, r)
		if err != nil {
			return nil, err
		}
		return abi.EncodeHTTPResponse(resp), nil
	case abi.CapSign, abi.CapVerify, abi.CapDigest:
		r, err := abi.DecodeKeyRequest(req)
		if err != nil {
			return malformed(err)
		}
		switch kind {
		case abi.CapSign:
			return h.Sign(ctx, r.Key, core.SignAlg(r.Alg), r.Data)
		case abi.CapVerify:
			return nil, h.Verify(ctx, r.Key, core.SignAlg(r.Alg), r.Data, r.Sig)
		default:
			return h.Digest(ctx, core.DigestAlg(r.Alg), r.Data)
		}
	case abi.CapLog:
		r, err := abi.DecodeLogRequest(req)
		if err != nil {
			return malformed(err)
		}
		h.Log(ctx, core.LogLevel(r.Level), r.Msg, r.Attrs...)
		return nil, nil
	case abi.CapConfig, abi.CapCacheGet, abi.CapCacheSet:
		r, err := abi.DecodeCacheRequest(req)
		if err != nil {
			return malformed(err)
		}
		switch kind {
		case abi.CapConfig:
			v, ok := h.Config(r.Key)
			return abi.EncodeLookup([]byte(v), ok), nil
		case abi.CapCacheGet:
			v, ok := h.CacheGet(r.Key)
			return abi.EncodeLookup(v, ok), nil
		default:
			h.CacheSet(r.Key, r.Value, time.Duration(r.TTLMillis)*time.Millisecond)
			return nil, nil
		}
	}
	return nil, core.Errorf(core.CodeInvalidRequest, "unknown capability %d", kind)
}
