package haotian_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// seedGateway answers each path with one of the seed's example data
// objects, signed with the test merchant's secret.
func seedGateway(t *testing.T, files map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		data, err := os.ReadFile(filepath.Join("testdata", "seed-responses", file))
		require.NoError(t, err)
		fields, err := pdk.ParseFields(data)
		require.NoError(t, err)
		sig := sim.Sign(fields.Map(), sim.DefaultMerchant.Secret)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"code":0,"msg":"SUCCESS","data":` + string(data) + `,"sign":"` + sig + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSeedResponsesParse: every example response of seed 001's split
// section is understood by the plugin.
func TestSeedResponsesParse(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		gw := seedGateway(t, map[string]string{
			"/api/division/receiver/bind":                  "division_receiver_bind.json",
			"/api/division/exec":                           "division_exec.json",
			"/api/division/query":                          "division_query.json",
			"/api/division/receiver/channelBalanceQuery":   "division_channel_balance_query.json",
			"/api/division/receiver/channelBalanceCashout": "division_channel_balance_cashout.json",
		})
		e := &env{t: t, p: loadTransport(t, transport)}
		e.h = bindAccount(t, e.p.Manifest(), gw.URL, time.Now)

		bind, err := call[core.BindReceiverResponse](e, core.OpSplitReceiverBind, &core.BindReceiverRequest{Receiver: core.Receiver{
			ID: "r1", Name: "我的第一个账号", Channel: "wxpay", AccountNo: "sfsfsd@qq.com", AccountName: "张三",
			Relation: "OTHERS", RelationName: "我的员工", GroupID: "100001", RatioPPM: 300_000}})
		require.NoError(t, err)
		assert.Equal(t, core.ReceiverFailed, bind.Receiver.Status, "bindState 0")
		assert.Equal(t, "NOAUTH", bind.Receiver.FailureCode)
		assert.Equal(t, "无分账权限", bind.Receiver.FailureMessage)

		ref := core.PaymentRef{ID: "o1", ProviderID: "P202108271011463510002"}
		exec, err := call[core.ExecuteSplitResponse](e, core.OpSplitExecute, &core.ExecuteSplitRequest{SplitID: "s1", Payment: ref,
			Parts: []core.SplitPart{{ReceiverID: "800029", RatioPPM: 100}, {ReceiverID: "800028", RatioPPM: 200}}})
		require.NoError(t, err)
		assert.Equal(t, core.SplitFailed, exec.Split.Status)
		assert.Equal(t, "unknown-sub-code", exec.Split.FailureCode)
		assert.Contains(t, exec.Split.FailureMessage, "ACQ.ROYALTY_ACCOUNT_NOT_EXIST")

		q, err := call[core.QuerySplitResponse](e, core.OpSplitQuery, &core.QuerySplitRequest{Split: core.SplitRef{ProviderID: "D1792435159956271105"}, Payment: ref})
		require.NoError(t, err)
		assert.Equal(t, core.SplitSucceeded, q.Split.Status)
		assert.Equal(t, int64(1980+990), q.Split.Amount)
		require.Len(t, q.Split.Records, 2)
		assert.Equal(t, core.SplitRecord{ReceiverID: "800001", ProviderRecordID: "1007", GroupID: "100001", AccountNo: "A",
			Amount: 1980, RatioPPM: 200_000, Status: core.SplitSucceeded}, q.Split.Records[0])

		bal, err := call[core.QueryBalanceResponse](e, core.OpBalanceQuery, &core.QueryBalanceRequest{Owner: core.BalanceReceiver, OwnerID: "800021"})
		require.NoError(t, err)
		assert.Equal(t, []core.Balance{{Currency: "CNY", Available: 0, AccountID: "800021"}}, bal.Balances)

		co, err := call[core.CreatePayoutResponse](e, core.OpPayoutCreate, &core.CreatePayoutRequest{PayoutID: "c1", Kind: core.PayoutCashout,
			Amount: 10, Currency: "CNY", Destination: core.Destination{ReceiverID: "801"}})
		require.NoError(t, err)
		assert.Equal(t, core.PayoutSucceeded, co.Payout.Status)
	})
}
