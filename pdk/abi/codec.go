package abi

import (
	"fmt"
	"time"

	"github.com/payhost/payhost/core"
)

//go:generate go run ./internal/gen/cmd codec_gen.go

// Wire types of the operation codec (see internal/gen for the format).
const (
	wireVarint = 0
	wireBytes  = 1
)

type opCodec struct {
	encReq, encResp func(*Encoder, any)
	decReq, decResp func(*Decoder) any
}

func (e *Encoder) key(tag uint64, wire uint64) { e.Uint(tag<<1 | wire) }

// VarintField writes an unsigned varint field.
func (e *Encoder) VarintField(tag, v uint64) {
	e.key(tag, wireVarint)
	e.Uint(v)
}

// IntField writes a zig-zag signed varint field.
func (e *Encoder) IntField(tag uint64, v int64) {
	e.key(tag, wireVarint)
	e.Int(v)
}

// StringField writes a length-delimited string field.
func (e *Encoder) StringField(tag uint64, s string) {
	e.key(tag, wireBytes)
	e.String(s)
}

// BytesField writes a length-delimited bytes field.
func (e *Encoder) BytesField(tag uint64, b []byte) {
	e.key(tag, wireBytes)
	e.Bytes(b)
}

// Time writes a time as Unix nanoseconds.
func (e *Encoder) Time(tag uint64, t time.Time) { e.IntField(tag, t.UnixNano()) }

// Mark is where a nested message begins.
type Mark struct{ key, body int }

// Begin opens a nested message; End closes it. The length is written into
// a fixed four-byte varint slot, so nothing moves (messages stay below
// MaxMessage < 2^28).
func (e *Encoder) Begin(tag uint64) Mark {
	m := Mark{key: len(e.Buf)}
	e.key(tag, wireBytes)
	e.Buf = append(e.Buf, 0x80, 0x80, 0x80, 0x00)
	m.body = len(e.Buf)
	return m
}

// EndOmitEmpty closes a message, dropping it entirely when it is empty
// (a value struct with only zero fields).
func (e *Encoder) EndOmitEmpty(m Mark) {
	if len(e.Buf) == m.body {
		e.Buf = e.Buf[:m.key]
		return
	}
	e.End(m)
}

// End closes the message Begin opened.
func (e *Encoder) End(m Mark) {
	start := m.body
	n := uint32(len(e.Buf) - start)
	slot := e.Buf[start-4 : start]
	slot[0] = byte(n) | 0x80
	slot[1] = byte(n>>7) | 0x80
	slot[2] = byte(n>>14) | 0x80
	slot[3] = byte(n>>21) & 0x7f
}

// Pair writes one entry of a map[string]string.
func (e *Encoder) Pair(tag uint64, k, v string) {
	m := e.Begin(tag)
	e.String(k)
	e.String(v)
	e.End(m)
}

// Multi writes one entry of a map[string][]string.
func (e *Encoder) Multi(tag uint64, k string, vs []string) {
	m := e.Begin(tag)
	e.String(k)
	e.Uint(uint64(len(vs)))
	for _, v := range vs {
		e.String(v)
	}
	e.End(m)
}

// More reports whether fields remain and no error occurred.
func (d *Decoder) More() bool { return d.err == nil && len(d.buf) > 0 }

// Key reads a field key.
func (d *Decoder) Key() (tag, wire uint64) {
	k := d.Uint()
	return k >> 1, k & 1
}

func (d *Decoder) want(wire, want uint64) bool {
	if d.err == nil && wire != want {
		d.err = ErrMalformed
	}
	return d.err == nil
}

// Skip skips a field of an unknown tag.
func (d *Decoder) Skip(wire uint64) {
	if wire == wireVarint {
		d.Uint()
		return
	}
	d.Bytes()
}

// VarintField reads an unsigned varint field.
func (d *Decoder) VarintField(wire uint64) uint64 {
	if !d.want(wire, wireVarint) {
		return 0
	}
	return d.Uint()
}

// IntField reads a signed varint field.
func (d *Decoder) IntField(wire uint64) int64 {
	if !d.want(wire, wireVarint) {
		return 0
	}
	return d.Int()
}

// StringField reads a string field.
func (d *Decoder) StringField(wire uint64) string {
	s, _ := d.StringOK(wire)
	return s
}

// StringOK reads a string field and reports success.
func (d *Decoder) StringOK(wire uint64) (string, bool) {
	if !d.want(wire, wireBytes) {
		return "", false
	}
	s := d.String()
	return s, d.err == nil
}

// BytesField reads a bytes field (a copy).
func (d *Decoder) BytesField(wire uint64) []byte {
	if !d.want(wire, wireBytes) {
		return nil
	}
	b := d.Bytes()
	if d.err != nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// Time reads a time written by Encoder.Time, in UTC.
func (d *Decoder) Time(wire uint64) time.Time {
	n := d.IntField(wire)
	if d.err != nil {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Message returns a decoder over a nested message (a value, so that
// decoding a nested message allocates nothing).
func (d *Decoder) Message(wire uint64) (Decoder, bool) {
	if !d.want(wire, wireBytes) {
		return Decoder{}, false
	}
	s := d.str
	b := d.Bytes()
	if d.err != nil {
		return Decoder{}, false
	}
	sub := Decoder{buf: b}
	if s != "" {
		sub.str = s[len(s)-len(b)-len(d.buf) : len(s)-len(d.buf)]
	}
	return sub, true
}

// Absorb takes over a nested decoder's error.
func (d *Decoder) Absorb(sub *Decoder) {
	if d.err == nil && sub.err != nil {
		d.err = sub.err
	}
}

// Pair reads a map[string]string entry.
func (d *Decoder) Pair(wire uint64) (string, string, bool) {
	sub, ok := d.Message(wire)
	if !ok {
		return "", "", false
	}
	k, v := sub.String(), sub.String()
	d.Absorb(&sub)
	return k, v, sub.Done() == nil
}

// Multi reads a map[string][]string entry.
func (d *Decoder) Multi(wire uint64) (string, []string, bool) {
	sub, ok := d.Message(wire)
	if !ok {
		return "", nil, false
	}
	k := sub.String()
	n := sub.Uint()
	if n > uint64(len(sub.buf)) {
		d.err = ErrMalformed
		return "", nil, false
	}
	vs := make([]string, 0, n)
	for i := uint64(0); i < n && sub.err == nil; i++ {
		vs = append(vs, sub.String())
	}
	d.Absorb(&sub)
	return k, vs, sub.Done() == nil
}

func encode(op core.Op, v any, resp bool) (out []byte, err error) {
	return appendEncoded(make([]byte, 0, 256), op, v, resp)
}

func appendEncoded(dst []byte, op core.Op, v any, resp bool) (out []byte, err error) {
	c, ok := codecs[op]
	if !ok {
		return nil, fmt.Errorf("abi: no codec for operation %q", op)
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("abi: encode %s: %v", op, r)
		}
	}()
	e := &Encoder{Buf: dst}
	if resp {
		c.encResp(e, v)
	} else {
		c.encReq(e, v)
	}
	if len(e.Buf) > MaxMessage {
		return nil, fmt.Errorf("abi: %s message of %d bytes exceeds %d", op, len(e.Buf), MaxMessage)
	}
	return e.Buf, nil
}

func decode(op core.Op, d *Decoder, resp bool) (any, error) {
	c, ok := codecs[op]
	if !ok {
		return nil, fmt.Errorf("abi: no codec for operation %q", op)
	}
	var v any
	if resp {
		v = c.decResp(d)
	} else {
		v = c.decReq(d)
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("abi: decode %s: %w", op, err)
	}
	return v, nil
}

// EncodeRequest encodes op's request (a pointer to its core request type).
func EncodeRequest(op core.Op, v any) ([]byte, error) { return encode(op, v, false) }

// DecodeRequest decodes op's request into a new value of its type.
func DecodeRequest(op core.Op, b []byte) (any, error) { return decode(op, NewDecoder(b), false) }

// DecodeRequestString is DecodeRequest over a string: the request's
// strings share s's memory instead of being copied field by field.
func DecodeRequestString(op core.Op, s string) (any, error) {
	return decode(op, NewStringDecoder(s), false)
}

// EncodeResponse encodes op's response (a pointer to its core response type).
func EncodeResponse(op core.Op, v any) ([]byte, error) { return encode(op, v, true) }

// AppendResponse is EncodeResponse appending to dst (a buffer to reuse).
func AppendResponse(dst []byte, op core.Op, v any) ([]byte, error) {
	return appendEncoded(dst, op, v, true)
}

// DecodeResponse decodes op's response into a new value of its type.
func DecodeResponse(op core.Op, b []byte) (any, error) { return decode(op, NewDecoder(b), true) }
