package sim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSandboxConfig(t *testing.T) {
	s := New(SandboxConfig())
	defer s.Close()
	for _, id := range []int64{800001, 800002} {
		r, ok := s.Receiver(id)
		require.True(t, ok, "receiver %d pre-bound", id)
		assert.Equal(t, int64(100001), r.GroupID)
		assert.Equal(t, "0.1", r.DivisionProfit)
	}
	bal, ok := s.MerchantBalance(DefaultMerchant.MchNo)
	assert.True(t, ok)
	assert.Equal(t, DefaultMerchant.OpeningBalance, bal)
	_, ok = s.Order("P404")
	assert.False(t, ok)
	_, ok = s.Refund("R404")
	assert.False(t, ok)
	_, ok = s.Transfer("T404")
	assert.False(t, ok)
	_, ok = s.Batch("D404")
	assert.False(t, ok)
	_, ok = s.Balance(1)
	assert.False(t, ok)
	_, ok = s.MerchantBalance("M404")
	assert.False(t, ok)
	assert.Empty(t, s.Batches("P404"))
	assert.Equal(t, "timeout_after_processing", FaultTimeoutAfterProcessing.String())
	assert.Equal(t, "unknown", FaultKind(0).String())
}

func TestStateRoute(t *testing.T) {
	e := newEnv(t, nil)
	empty := e.state()
	assert.Empty(t, empty.Orders)
	assert.Empty(t, empty.Refunds)
	assert.Empty(t, empty.Transfers)

	paid := e.paid(1000, 0)
	e.ok(e.refund(paid, 300, nil))
	e.clock.Add(time.Millisecond)
	pending := e.order("WX_NATIVE", MagicNeverPay, nil)["payOrderId"]

	st := e.state()
	require.Len(t, st.Orders, 2)
	assert.Equal(t, paid, st.Orders[0].PayOrderID, "oldest first")
	assert.Equal(t, PayStateSuccess, st.Orders[0].State)
	assert.Equal(t, int64(300), st.Orders[0].RefundedAmount)
	assert.Equal(t, pending, st.Orders[1].PayOrderID)
	assert.Equal(t, PayStatePaying, st.Orders[1].State)
	require.Len(t, st.Refunds, 1)
	assert.Equal(t, paid, st.Refunds[0].PayOrderID)
	assert.Equal(t, int64(300), st.Refunds[0].RefundAmount)
	assert.Equal(t, OrderStateSuccess, st.Refunds[0].State)
	want, err := json.Marshal(e.s.State())
	require.NoError(t, err)
	got, err := json.Marshal(st)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got), "the route serves State")
	assert.Len(t, e.s.Requests(), 3, "reading the state is not in the request log")

	res, err := http.Post(e.hs.URL+"/sim/state", "application/json", nil)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, "read-only")
}

// state reads GET /sim/state.
func (e *env) state() State {
	e.t.Helper()
	res, err := http.Get(e.hs.URL + "/sim/state")
	require.NoError(e.t, err)
	defer res.Body.Close()
	require.Equal(e.t, http.StatusOK, res.StatusCode)
	assert.Equal(e.t, "application/json", res.Header.Get("Content-Type"))
	var st State
	require.NoError(e.t, json.NewDecoder(res.Body).Decode(&st))
	return st
}
