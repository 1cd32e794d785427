// Package abi defines Payhost's WebAssembly plugin ABI v1: the names of the
// guest exports and host imports, the status codes, and the compact binary
// encoding of capability calls. The guest glue in pdk and the wasm transport
// in host both use it, so the two sides cannot drift apart.
//
// Guest exports (GOOS=wasip1, -buildmode=c-shared, //go:wasmexport):
//
//	_initialize                      runtime and package initialisation (WASI reactor)
//	payhost_abi_version() i32        the ABI marker; must return Version
//	payhost_alloc(size i32) i32      a buffer the host writes a call's input into
//	payhost_describe() i32           emits the manifest JSON through "output"
//	payhost_call(ptr, len i32) i32   runs one call; emits the response or the error through "output"
//
// Host imports (module "payhost"):
//
//	output(ptr, len i32)                      copies the guest's result out at once
//	capability(kind, ptr, len i32) i32        runs a capability; returns the result length
//	result(ptr i32)                           copies the pending capability result into guest memory
//	now() i64                                 host clock, Unix nanoseconds
//	yield() i32                               deadline check; returns the next fuel quantum or traps
//
// The host meters guest code with fuel: every loop header decrements a
// counter and calls yield when it runs out (see host/internal/wasmguard).
//
// A call's input is: op name (length-prefixed), the account's non-secret
// configuration (count, then key/value strings), then the request in the
// binary operation codec (codec.go; fields tagged by a hash of their JSON
// name, unknown ones skipped). The output is the response in the same codec,
// or a JSON core.Error. A capability result is one status byte (StatusOK or
// StatusError) followed by the encoded result or a JSON core.Error. The
// manifest (payhost_describe) is JSON.
package abi

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

// Version is the ABI version of this package.
const Version = 1

// Names of guest exports.
const (
	ExportInitialize = "_initialize"
	ExportVersion    = "payhost_abi_version"
	ExportAlloc      = "payhost_alloc"
	ExportDescribe   = "payhost_describe"
	ExportCall       = "payhost_call"
	ExportMemory     = "memory"
)

// HostModule is the module name of the host imports.
const HostModule = "payhost"

// Names of host imports.
const (
	ImportOutput     = "output"
	ImportCapability = "capability"
	ImportResult     = "result"
	ImportNow        = "now"
	ImportYield      = "yield"
)

// Status codes returned by payhost_call and payhost_describe and carried in
// capability results.
const (
	StatusOK    = 0 // output is the response
	StatusError = 1 // output is a JSON core.Error
)

// Capability kinds.
const (
	CapHTTP     = 1
	CapSign     = 2
	CapVerify   = 3
	CapDigest   = 4
	CapLog      = 5
	CapConfig   = 6
	CapCacheGet = 7
	CapCacheSet = 8
)

// MaxMessage bounds every buffer that crosses the boundary (16 MiB).
const MaxMessage = 16 << 20

// ErrMalformed is returned for a buffer that does not decode.
var ErrMalformed = errors.New("abi: malformed message")

// Encoder appends fields to a buffer.
type Encoder struct{ Buf []byte }

// Uint appends an unsigned varint.
func (e *Encoder) Uint(v uint64) { e.Buf = binary.AppendUvarint(e.Buf, v) }

// Int appends a signed varint.
func (e *Encoder) Int(v int64) { e.Buf = binary.AppendVarint(e.Buf, v) }

// Bool appends one byte.
func (e *Encoder) Bool(v bool) {
	if v {
		e.Buf = append(e.Buf, 1)
	} else {
		e.Buf = append(e.Buf, 0)
	}
}

// Bytes appends a length-prefixed byte string.
func (e *Encoder) Bytes(b []byte) {
	e.Uint(uint64(len(b)))
	e.Buf = append(e.Buf, b...)
}

// String appends a length-prefixed string.
func (e *Encoder) String(s string) {
	e.Uint(uint64(len(s)))
	e.Buf = append(e.Buf, s...)
}

// Header appends a header map: count, then key, value count, values.
func (e *Encoder) Header(h map[string][]string) {
	e.Uint(uint64(len(h)))
	for k, vs := range h {
		e.String(k)
		e.Uint(uint64(len(vs)))
		for _, v := range vs {
			e.String(v)
		}
	}
}

// Decoder reads fields written by Encoder. It never panics: after the first
// error every read returns a zero value and Err reports ErrMalformed.
type Decoder struct {
	buf []byte
	// str, in string mode, holds the same bytes as buf: strings are cut
	// from it instead of being copied one by one.
	str string
	err error
}

// NewDecoder reads b. Strings are copies; Bytes alias b.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// NewStringDecoder reads s. The strings it returns share s's memory (one
// copy of a message instead of one per field); the slices Bytes returns
// alias s and must not be written to (BytesField copies).
func NewStringDecoder(s string) *Decoder {
	return &Decoder{buf: unsafe.Slice(unsafe.StringData(s), len(s)), str: s}
}

// advance consumes n bytes.
func (d *Decoder) advance(n int) {
	d.buf = d.buf[n:]
	if d.str != "" {
		d.str = d.str[n:]
	}
}

// Err is the first decoding error.
func (d *Decoder) Err() error { return d.err }

// Done reports an error if bytes remain or a read failed.
func (d *Decoder) Done() error {
	if d.err == nil && len(d.buf) != 0 {
		d.err = ErrMalformed
	}
	return d.err
}

// Uint reads an unsigned varint.
func (d *Decoder) Uint() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.buf) > 0 && d.buf[0] < 0x80 { // one byte: lengths, small counts
		v := uint64(d.buf[0])
		d.advance(1)
		return v
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = ErrMalformed
		return 0
	}
	d.advance(n)
	return v
}

// Int reads a signed varint.
func (d *Decoder) Int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = ErrMalformed
		return 0
	}
	d.advance(n)
	return v
}

// Bool reads one byte that must be 0 or 1.
func (d *Decoder) Bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.buf) == 0 || d.buf[0] > 1 {
		d.err = ErrMalformed
		return false
	}
	v := d.buf[0] == 1
	d.advance(1)
	return v
}

// Bytes reads a length-prefixed byte string; the result aliases the buffer.
func (d *Decoder) Bytes() []byte {
	n := d.Uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) || n > MaxMessage {
		d.err = ErrMalformed
		return nil
	}
	b := d.buf[:n:n]
	d.advance(int(n))
	return b
}

// String reads a length-prefixed string.
func (d *Decoder) String() string {
	if d.str == "" {
		return string(d.Bytes())
	}
	s := d.str
	b := d.Bytes()
	if d.err != nil {
		return ""
	}
	return s[len(s)-len(b)-len(d.buf) : len(s)-len(d.buf)]
}

// Header reads a header map written by Encoder.Header.
func (d *Decoder) Header() map[string][]string {
	n := d.Uint()
	if d.err != nil || n == 0 {
		return nil
	}
	if n > uint64(len(d.buf)) { // every entry takes at least one byte
		d.err = ErrMalformed
		return nil
	}
	h := make(map[string][]string, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.String()
		m := d.Uint()
		if m > uint64(len(d.buf)) {
			d.err = ErrMalformed
			return nil
		}
		vs := make([]string, 0, m)
		for j := uint64(0); j < m && d.err == nil; j++ {
			vs = append(vs, d.String())
		}
		h[k] = vs
	}
	if d.err != nil {
		return nil
	}
	return h
}

// EncodeCall builds a payhost_call input.
func EncodeCall(op string, config map[string]string, body []byte) []byte {
	e := Encoder{Buf: make([]byte, 0, len(op)+len(body)+64)}
	e.String(op)
	e.Uint(uint64(len(config)))
	for k, v := range config {
		e.String(k)
		e.String(v)
	}
	e.Buf = append(e.Buf, body...)
	return e.Buf
}

// DecodeCallString is DecodeCall over a string, without copies: op, the
// configuration (appended to config, which the caller may reuse) and the
// body share in's memory.
func DecodeCallString(in string, config []string) (op string, cfg []string, body string, err error) {
	d := NewStringDecoder(in)
	op = d.String()
	n := d.Uint()
	if d.err != nil || op == "" || n > uint64(len(d.buf)) {
		return "", nil, "", ErrMalformed
	}
	for i := uint64(0); i < n; i++ {
		config = append(config, d.String(), d.String())
	}
	if d.err != nil {
		return "", nil, "", ErrMalformed
	}
	return op, config, d.str, nil
}

// DecodeCall splits a payhost_call input into op, configuration (alternating
// keys and values) and body.
func DecodeCall(in []byte) (op string, config []string, body []byte, err error) {
	d := NewDecoder(in)
	op = d.String()
	n := d.Uint()
	if d.err != nil || op == "" || n > uint64(len(d.buf)) {
		return "", nil, nil, ErrMalformed
	}
	config = make([]string, 0, 2*n)
	for i := uint64(0); i < n; i++ {
		config = append(config, d.String(), d.String())
	}
	if d.err != nil {
		return "", nil, nil, ErrMalformed
	}
	return op, config, d.buf, nil
}
