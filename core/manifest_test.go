package core

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func validManifest() Manifest {
	return Manifest{
		Name: "demo", Version: "1.0.0", ABIVersion: ABIVersion,
		Operations: []Op{OpPaymentQuery, OpPaymentCreate},
		Methods:    []Method{MethodAlipayQR, "intl.gcash"},
		Currencies: []Currency{"CNY"},
		Endpoints:  []EndpointSpec{{Name: "gateway", URLs: map[string]string{"production": "https://pay.example.com"}}},
		Keys:       []KeySpec{{Name: "app_secret", Kind: KeySecret, Algorithms: []SignAlg{SignMD5Key}}},
		Config:     []ConfigSpec{{Name: "mch_no", Required: true}},
	}
}

func TestManifestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Manifest)
		want   string
	}{
		{"valid", func(*Manifest) {}, ""},
		{"bad name", func(m *Manifest) { m.Name = "Bad Name" }, "name"},
		{"abi", func(m *Manifest) { m.ABIVersion = 2 }, "abi_version"},
		{"no ops", func(m *Manifest) { m.Operations = nil }, "no operations"},
		{"unknown op", func(m *Manifest) { m.Operations = append(m.Operations, "payment.teleport") }, "unknown operation"},
		{"dup op", func(m *Manifest) { m.Operations = append(m.Operations, OpPaymentCreate) }, "twice"},
		{"method", func(m *Manifest) { m.Methods = []Method{"wechat.telepathy"} }, "unknown method"},
		{"currency", func(m *Manifest) { m.Currencies = []Currency{"XYZ"} }, "unknown currency"},
		{"endpoint url", func(m *Manifest) { m.Endpoints[0].URLs["test"] = "ftp://x" }, "absolute http"},
		{"dup key", func(m *Manifest) { m.Keys = append(m.Keys, m.Keys[0]) }, "key name"},
		{"key kind", func(m *Manifest) { m.Keys[0].Kind = "magic" }, "unknown kind"},
		{"key alg", func(m *Manifest) { m.Keys[0].Algorithms = []SignAlg{"ROT13"} }, "unknown algorithm"},
		{"ext without op", func(m *Manifest) { m.Extensions = []ExtensionSpec{{Name: "demo.y"}} }, "extensions listed"},
		{"ext of another plugin", func(m *Manifest) {
			m.Operations = append(m.Operations, OpExtension)
			m.Extensions = []ExtensionSpec{{Name: "other.y"}}
		}, `must start with "demo."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validManifest()
			m.Endpoints[0].URLs = map[string]string{"production": "https://pay.example.com"}
			tt.mutate(&m)
			err := m.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	m := validManifest()
	m.SortOperations()
	assert.Equal(t, []Op{OpPaymentCreate, OpPaymentQuery}, m.Operations)
	assert.True(t, m.Supports(OpPaymentCreate))
	assert.False(t, m.Supports(OpRefundCreate))
}

// TestOpTable checks every operation has distinct request and response types
// that survive a JSON round trip.
func TestOpTable(t *testing.T) {
	seen := map[reflect.Type]Op{}
	for _, o := range Ops() {
		require.True(t, o.Op.Valid())
		for _, v := range []any{o.NewReq(), o.NewResp()} {
			typ := reflect.TypeOf(v)
			prev, dup := seen[typ]
			require.False(t, dup, "%s reuses %v of %s", o.Op, typ, prev)
			seen[typ] = o.Op
			b, err := json.Marshal(v)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, v))
		}
	}
	_, ok := LookupOp("nope")
	assert.False(t, ok)
}

func TestValidateRequests(t *testing.T) {
	p := CreatePaymentRequest{PaymentID: "p1", Amount: 100, Currency: "CNY", Method: MethodAlipayQR}
	require.NoError(t, p.Validate())
	bad := p
	bad.Amount = -1
	assert.Equal(t, "amount", AsError(bad.Validate()).Param)
	bad = p
	bad.Method = MethodWechatBarcode
	assert.Equal(t, "payer.auth_code", AsError(bad.Validate()).Param)
	s := ExecuteSplitRequest{SplitID: "s1", Parts: []SplitPart{{ReceiverID: "r", Amount: 1, RatioPPM: 1}}}
	assert.Contains(t, s.Validate().Error(), "never both")
	s = ExecuteSplitRequest{SplitID: "s1", UseAutoReceivers: true, Parts: []SplitPart{{ReceiverID: "r", Amount: 1}}}
	assert.Error(t, s.Validate())
	r := CreateRefundRequest{RefundID: "r", Payment: PaymentRef{ID: "p", Amount: 100}, Amount: 101}
	assert.Error(t, r.Validate())
	po := CreatePayoutRequest{PayoutID: "x", Kind: "teleport", Amount: 1, Currency: "CNY"}
	assert.Equal(t, "kind", AsError(po.Validate()).Param)
}
