package crashtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	adapaysim "github.com/payhost/payhost/plugins/adapay/sim"
	haotiansim "github.com/payhost/payhost/plugins/haotian/sim"
)

// serveState serves v as a simulator's GET /sim/state.
func serveState(t *testing.T, v any) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sim/state" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestReadProviders(t *testing.T) {
	haotian := serveState(t, haotiansim.State{
		Orders: []haotiansim.PayOrder{
			{PayOrderID: "P1", MchOrderNo: "pay_1", Amount: 1000, State: haotiansim.PayStateSuccess},
			{PayOrderID: "P2", MchOrderNo: "pay_2", Amount: 66602, State: haotiansim.PayStatePaying},
			{PayOrderID: "P3", MchOrderNo: "pay_3", Amount: 66601, State: haotiansim.PayStateFailed},
			{PayOrderID: "P4", MchOrderNo: "pay_4", Amount: 500, State: haotiansim.PayStateRefunded},
			{PayOrderID: "P5", MchOrderNo: "pay_5", Amount: 500, State: haotiansim.PayStateClosed},
		},
		Refunds: []haotiansim.RefundOrder{
			{RefundOrderID: "R1", PayOrderID: "P1", MchRefundNo: "re_1", RefundAmount: 300, State: haotiansim.OrderStateSuccess},
			{RefundOrderID: "R2", PayOrderID: "P1", MchRefundNo: "re_2", RefundAmount: 100, State: haotiansim.OrderStateProcessing},
			{RefundOrderID: "R3", PayOrderID: "P4", MchRefundNo: "re_3", RefundAmount: 500, State: haotiansim.OrderStateClosed},
		},
	})
	adapay := serveState(t, adapaysim.State{
		Payments: []adapaysim.Payment{{ID: "A1", OrderNo: "pay_6", Amount: 800, Status: adapaysim.StatusPending},
			{ID: "A2", OrderNo: "pay_7", Amount: 800, Status: adapaysim.StatusSucceeded}},
		Refunds: []adapaysim.Refund{{ID: "AR1", PaymentID: "A2", RefundOrderNo: "re_4", Amount: 800, Status: adapaysim.StatusFailed}},
	})
	p, err := ReadProviders(context.Background(), http.DefaultClient, haotian, adapay)
	require.NoError(t, err)
	states := map[string]string{}
	for id, ps := range p.Payments {
		require.Len(t, ps, 1)
		states[id] = ps[0].State
	}
	assert.Equal(t, map[string]string{"pay_1": StateSucceeded, "pay_2": StateProcessing, "pay_3": StateFailed, "pay_4": StateSucceeded,
		"pay_5": StateClosed, "pay_6": StateProcessing, "pay_7": StateSucceeded}, states)
	assert.Equal(t, ProviderRefund{Provider: "haotian", RefundID: "re_2", PaymentID: "pay_1", ID: "R2", Amount: 100, State: StateProcessing},
		p.Refunds["re_2"][0])
	assert.Equal(t, StateFailed, p.Refunds["re_3"][0].State)
	assert.Len(t, p.ByPayment["pay_1"], 2)
	assert.Equal(t, ProviderRefund{Provider: "adapay", RefundID: "re_4", PaymentID: "pay_7", ID: "AR1", Amount: 800, State: StateFailed},
		p.Refunds["re_4"][0])

	_, err = ReadProviders(context.Background(), http.DefaultClient, haotian+"/nowhere", "")
	assert.ErrorContains(t, err, "haotian simulator")
}
