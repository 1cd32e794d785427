package abi

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	var e Encoder
	e.String("gateway")
	e.Uint(300)
	e.Int(-5)
	e.Bool(true)
	e.Bytes([]byte{0, 1, 2})
	e.Header(map[string][]string{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}})
	d := NewDecoder(e.Buf)
	assert.Equal(t, "gateway", d.String())
	assert.Equal(t, uint64(300), d.Uint())
	assert.Equal(t, int64(-5), d.Int())
	assert.True(t, d.Bool())
	assert.Equal(t, []byte{0, 1, 2}, d.Bytes())
	assert.Equal(t, map[string][]string{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}}, d.Header())
	require.NoError(t, d.Done())
}

func TestMalformed(t *testing.T) {
	tests := map[string][]byte{
		"truncated length": {0x80},
		"length past end":  {5, 'a'},
		"bad bool":         {2},
		"trailing bytes":   {1, 'a', 9},
		"huge header":      {0xff, 0xff, 0xff, 0x7f},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			d := NewDecoder(b)
			switch name {
			case "bad bool":
				d.Bool()
			case "huge header":
				d.Header()
			default:
				_ = d.String()
			}
			assert.ErrorIs(t, d.Done(), ErrMalformed)
		})
	}
	op, cfg, body, err := DecodeCall(EncodeCall("payment.create", map[string]string{"mch_no": "M1"}, []byte(`{}`)))
	require.NoError(t, err)
	assert.Equal(t, "payment.create", op)
	assert.Equal(t, []string{"mch_no", "M1"}, cfg)
	assert.Equal(t, `{}`, string(body))
	_, _, _, err = DecodeCall(nil)
	assert.ErrorIs(t, err, ErrMalformed)

	in := EncodeCall("payment.create", map[string]string{"mch_no": "M1"}, []byte(`{}`))
	reuse := make([]string, 0, 4)
	sop, scfg, sbody, err := DecodeCallString(string(in), reuse)
	require.NoError(t, err)
	assert.Equal(t, "payment.create", sop)
	assert.Equal(t, []string{"mch_no", "M1"}, scfg)
	assert.Equal(t, `{}`, sbody)
	assert.Same(t, unsafe.SliceData(reuse[:1]), unsafe.SliceData(scfg), "the configuration is appended to the buffer given")
	_, _, _, err = DecodeCallString("", nil)
	assert.ErrorIs(t, err, ErrMalformed)
}

// FuzzDecoder feeds arbitrary bytes to every reader: the host decodes guest
// buffers with it, so it must never panic or allocate without bound.
func FuzzDecoder(f *testing.F) {
	var e Encoder
	e.String("x")
	e.Header(map[string][]string{"a": {"b"}})
	f.Add(e.Buf)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(b)
		_ = d.String()
		d.Header()
		d.Bytes()
		d.Uint()
		d.Int()
		d.Bool()
		_ = d.Done()
		op, cfg, body, err := DecodeCall(b)
		sop, scfg, sbody, serr := DecodeCallString(string(b), nil)
		if (err == nil) != (serr == nil) || op != sop || string(body) != sbody || len(cfg) != len(scfg) {
			t.Fatalf("DecodeCallString(%q) = %q %q %q %v, DecodeCall %q %q %q %v", b, sop, scfg, sbody, serr, op, cfg, body, err)
		}
		sd := NewStringDecoder(string(b))
		d = NewDecoder(b)
		for d.Err() == nil && sd.Err() == nil && len(d.buf) > 0 {
			if x, y := d.String(), sd.String(); x != y {
				t.Fatalf("string mode read %q, byte mode %q", y, x)
			}
		}
		if (d.Err() == nil) != (sd.Err() == nil) {
			t.Fatalf("string mode error %v, byte mode %v", sd.Err(), d.Err())
		}
	})
}
