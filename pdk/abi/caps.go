package abi

import (
	"encoding/json"

	"github.com/payhost/payhost/core"
)

// EncodeHTTPRequest encodes the CapHTTP request.
func EncodeHTTPRequest(r *core.HTTPRequest) []byte {
	e := Encoder{Buf: make([]byte, 0, len(r.Endpoint)+len(r.Method)+len(r.Path)+len(r.Body)+64*len(r.Header)+16)}
	e.String(r.Endpoint)
	e.String(r.Method)
	e.String(r.Path)
	e.Header(r.Header)
	e.Bytes(r.Body)
	return e.Buf
}

// DecodeHTTPRequest decodes the CapHTTP request.
func DecodeHTTPRequest(b []byte) (*core.HTTPRequest, error) {
	d := NewDecoder(b)
	r := &core.HTTPRequest{Endpoint: d.String(), Method: d.String(), Path: d.String(), Header: d.Header(), Body: d.Bytes()}
	return r, d.Done()
}

// EncodeHTTPResponse encodes the CapHTTP result.
func EncodeHTTPResponse(r *core.HTTPResponse) []byte {
	e := Encoder{Buf: make([]byte, 0, len(r.Body)+64*len(r.Header)+16)}
	e.Uint(uint64(r.Status))
	e.Header(r.Header)
	e.Bytes(r.Body)
	return e.Buf
}

// DecodeHTTPResponse decodes the CapHTTP result.
func DecodeHTTPResponse(b []byte) (*core.HTTPResponse, error) {
	d := NewDecoder(b)
	r := &core.HTTPResponse{Status: int(d.Uint() & 0xffff), Header: d.Header(), Body: d.Bytes()}
	return r, d.Done()
}

// KeyRequest is the request of CapSign, CapVerify and CapDigest (Key is empty
// for a digest, Sig only for verify).
type KeyRequest struct {
	Key  string
	Alg  string
	Data []byte
	Sig  []byte
}

// EncodeKeyRequest encodes a KeyRequest.
func EncodeKeyRequest(r *KeyRequest) []byte {
	e := Encoder{Buf: make([]byte, 0, len(r.Key)+len(r.Alg)+len(r.Data)+len(r.Sig)+20)}
	e.String(r.Key)
	e.String(r.Alg)
	e.Bytes(r.Data)
	e.Bytes(r.Sig)
	return e.Buf
}

// DecodeKeyRequest decodes a KeyRequest.
func DecodeKeyRequest(b []byte) (*KeyRequest, error) {
	d := NewDecoder(b)
	r := &KeyRequest{Key: d.String(), Alg: d.String(), Data: d.Bytes(), Sig: d.Bytes()}
	return r, d.Done()
}

// LogRequest is the CapLog request.
type LogRequest struct {
	Level string
	Msg   string
	Attrs []string
}

// EncodeLogRequest encodes a LogRequest.
func EncodeLogRequest(r *LogRequest) []byte {
	var e Encoder
	e.String(r.Level)
	e.String(r.Msg)
	e.Uint(uint64(len(r.Attrs)))
	for _, a := range r.Attrs {
		e.String(a)
	}
	return e.Buf
}

// DecodeLogRequest decodes a LogRequest.
func DecodeLogRequest(b []byte) (*LogRequest, error) {
	d := NewDecoder(b)
	r := &LogRequest{Level: d.String(), Msg: d.String()}
	n := d.Uint()
	if n > uint64(len(d.buf)) {
		return nil, ErrMalformed
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		r.Attrs = append(r.Attrs, d.String())
	}
	return r, d.Done()
}

// CacheRequest is the request of CapConfig, CapCacheGet (Key) and
// CapCacheSet (Key, Value, TTLMillis).
type CacheRequest struct {
	Key       string
	Value     []byte
	TTLMillis int64
}

// EncodeCacheRequest encodes a CacheRequest.
func EncodeCacheRequest(r *CacheRequest) []byte {
	e := Encoder{Buf: make([]byte, 0, len(r.Key)+len(r.Value)+20)}
	e.String(r.Key)
	e.Bytes(r.Value)
	e.Int(r.TTLMillis)
	return e.Buf
}

// DecodeCacheRequest decodes a CacheRequest.
func DecodeCacheRequest(b []byte) (*CacheRequest, error) {
	d := NewDecoder(b)
	r := &CacheRequest{Key: d.String(), Value: d.Bytes(), TTLMillis: d.Int()}
	return r, d.Done()
}

// EncodeLookup encodes the result of CapConfig and CapCacheGet.
func EncodeLookup(value []byte, found bool) []byte {
	var e Encoder
	e.Bool(found)
	e.Bytes(value)
	return e.Buf
}

// DecodeLookup decodes the result of CapConfig and CapCacheGet.
func DecodeLookup(b []byte) ([]byte, bool, error) {
	d := NewDecoder(b)
	found := d.Bool()
	v := d.Bytes()
	return v, found, d.Done()
}

// Result frames a capability result: StatusOK + payload, or StatusError +
// JSON of the error as a *core.Error.
func Result(payload []byte, err error) []byte {
	if err != nil {
		b, _ := json.Marshal(core.AsError(err))
		return append([]byte{StatusError}, b...)
	}
	return append([]byte{StatusOK}, payload...)
}

// SplitResult undoes Result.
func SplitResult(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, &core.Error{Code: core.CodePluginFailure, Message: "empty capability result"}
	}
	if b[0] == StatusOK {
		return b[1:], nil
	}
	return nil, DecodeError(b[1:])
}

// DecodeError decodes a JSON *core.Error; undecodable bytes become a
// plugin_failure carrying a prefix of the text.
func DecodeError(b []byte) *core.Error {
	var e core.Error
	if err := json.Unmarshal(b, &e); err != nil || !e.Code.Valid() {
		msg := string(b)
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return &core.Error{Code: core.CodePluginFailure, Message: "undecodable error from plugin: " + msg}
	}
	return &e
}
