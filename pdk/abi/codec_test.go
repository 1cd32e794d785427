package abi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk/abi/internal/gen"
)

// fill sets every field of v to a random non-zero value.
func fill(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(string(rune('a'+r.IntN(26))) + "ü" + string(rune('0'+r.IntN(10))))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		x := r.Int64N(1 << 40)
		if r.IntN(2) == 0 {
			x = -x
		}
		v.SetInt(x | 1)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i), depth+1)
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(r, v.Elem(), depth+1)
	case reflect.Slice:
		n := 1 + r.IntN(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			fill(r, s.Index(i), depth+1)
		}
		if v.Type() == reflect.TypeOf(json.RawMessage(nil)) {
			s = reflect.ValueOf(json.RawMessage(`{"x":1}`))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := 0; i < 1+r.IntN(3); i++ {
			k := reflect.New(v.Type().Key()).Elem()
			fill(r, k, depth+1)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(r, e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	}
}

// TestRoundTripEveryOperation fills every request and response type with
// random values and checks the binary codec gives them back unchanged.
func TestRoundTripEveryOperation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, info := range core.Ops() {
		t.Run(string(info.Op), func(t *testing.T) {
			for i := 0; i < 20; i++ {
				for _, resp := range []bool{false, true} {
					v := info.NewReq()
					if resp {
						v = info.NewResp()
					}
					fill(r, reflect.ValueOf(v).Elem(), 0)
					b, err := encode(info.Op, v, resp)
					require.NoError(t, err)
					got, err := decode(info.Op, NewDecoder(b), resp)
					require.NoError(t, err)
					require.Equal(t, v, got)
					got, err = decode(info.Op, NewStringDecoder(string(b)), resp)
					require.NoError(t, err)
					require.Equal(t, v, got, "string mode")
				}
			}
			// zero values round-trip to zero values
			b, err := EncodeRequest(info.Op, info.NewReq())
			require.NoError(t, err)
			assert.Empty(t, b, "zero fields are left out")
			got, err := DecodeRequest(info.Op, b)
			require.NoError(t, err)
			assert.Equal(t, info.NewReq(), got)
		})
	}
}

// TestUnknownFieldsAreSkipped: a newer peer may send fields this build does
// not know; they are skipped, so fields can be added without breaking the ABI.
func TestUnknownFieldsAreSkipped(t *testing.T) {
	p := &core.QueryPaymentResponse{Payment: core.Payment{ID: "pay_1", Amount: 100, Status: core.PaymentSucceeded, ProviderData: map[string]string{"a": "b"}}}
	b, err := EncodeResponse(core.OpPaymentQuery, p)
	require.NoError(t, err)
	var e Encoder
	e.StringField(gen.Tag("a_future_field"), "hello")
	e.IntField(gen.Tag("another_one"), -7)
	m := e.Begin(gen.Tag("nested_future"))
	e.StringField(1, "x")
	e.End(m)
	withUnknown := append(e.Buf, b...)
	got, err := DecodeResponse(core.OpPaymentQuery, withUnknown)
	require.NoError(t, err)
	assert.Equal(t, p, got)
}

func TestWrongTypeAndMalformed(t *testing.T) {
	_, err := EncodeRequest(core.OpPaymentCreate, &core.CreateRefundRequest{})
	assert.Error(t, err)
	_, err = EncodeRequest("payment.teleport", nil)
	assert.Error(t, err)
	// a known tag with the wrong wire type
	var e Encoder
	e.VarintField(gen.Tag("payment_id"), 5)
	_, err = DecodeRequest(core.OpPaymentCreate, e.Buf)
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = DecodeRequest(core.OpPaymentCreate, []byte{0xff})
	assert.ErrorIs(t, err, ErrMalformed)
}

// TestGeneratedCodeIsCurrent fails when core changed and `go generate
// ./pdk/abi` was not run.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	want, err := gen.Generate()
	require.NoError(t, err)
	have, err := os.ReadFile("codec_gen.go")
	require.NoError(t, err)
	if !bytes.Equal(want, have) {
		t.Fatal("codec_gen.go is stale: run go generate ./pdk/abi")
	}
}

// FuzzDecodeOperations: the host decodes guest output with these; any bytes
// must give a value or an error, never a panic.
func FuzzDecodeOperations(f *testing.F) {
	b, _ := EncodeRequest(core.OpPaymentCreate, &core.CreatePaymentRequest{PaymentID: "p", Amount: 1, Payer: core.Payer{OpenID: "o"}, Metadata: map[string]string{"k": "v"}})
	f.Add(b)
	b, _ = EncodeResponse(core.OpNotificationParse, &core.ParseNotificationResponse{Events: []core.Event{{ID: "e", Data: map[string]string{"a": "b"}}}})
	f.Add(b)
	ops := core.Ops()
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, info := range ops {
			_, _ = DecodeResponse(info.Op, b)
			v1, err1 := DecodeRequest(info.Op, b)
			v2, err2 := DecodeRequestString(info.Op, string(b))
			if (err1 == nil) != (err2 == nil) || (err1 == nil && !reflect.DeepEqual(v1, v2)) {
				t.Fatalf("%s: string mode decodes %q differently", info.Op, b)
			}
		}
	})
}
