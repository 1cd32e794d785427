package haotian_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/plugin"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

func call[Resp any](e *env, op core.Op, req any) (*Resp, error) {
	return plugin.Call[Resp](context.Background(), e.p, e.h, op, req)
}

// bind binds a receiver in the auto group 100001 (or group) and returns its id.
func (e *env) bind(t *testing.T, alias, channel, group string, ratio int64) string {
	t.Helper()
	resp, err := call[core.BindReceiverResponse](e, core.OpSplitReceiverBind, &core.BindReceiverRequest{Receiver: core.Receiver{
		ID: alias, Name: alias, Kind: "personal", Channel: channel, AccountNo: "acc-" + alias, AccountName: "张三",
		Relation: "PARTNER", GroupID: group, RatioPPM: ratio}})
	require.NoError(t, err)
	require.Equal(t, core.ReceiverBound, resp.Receiver.Status)
	require.NotEmpty(t, resp.Receiver.ProviderID)
	return resp.Receiver.ProviderID
}

func (e *env) balance(t *testing.T, receiver string) int64 {
	t.Helper()
	resp, err := call[core.QueryBalanceResponse](e, core.OpBalanceQuery, &core.QueryBalanceRequest{Owner: core.BalanceReceiver, OwnerID: receiver})
	require.NoError(t, err)
	require.Len(t, resp.Balances, 1)
	return resp.Balances[0].Available
}

func (e *env) barcodePay(t *testing.T, id string, amount int64, split core.SplitMode) core.Payment {
	t.Helper()
	resp, err := e.create(core.CreatePaymentRequest{PaymentID: id, Amount: amount, Method: core.MethodWechatBarcode,
		Payer: core.Payer{AuthCode: "134567890123456789"}, Split: &core.SplitInstruction{Mode: split}})
	require.NoError(t, err)
	require.Equal(t, core.PaymentSucceeded, resp.Payment.Status)
	return resp.Payment
}

// TestScenarios is issue 5's table, run through the native and the wasm
// transport against the simulator.
func TestScenarios(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"pay, automatic split, balances, cash-out", func(t *testing.T, e *env) {
			r1 := e.bind(t, "store", "wxpay", "100001", 100_000) // 10%
			r2 := e.bind(t, "partner", "wxpay", "100001", 200_000)
			e.barcodePay(t, "pay_auto", 10000, core.SplitAuto)
			// base = 10000 - fee 60 = 9940; floor(9940 × ratio)
			assert.Equal(t, int64(994), e.balance(t, r1))
			assert.Equal(t, int64(1988), e.balance(t, r2))

			out, err := call[core.CreatePayoutResponse](e, core.OpPayoutCreate, &core.CreatePayoutRequest{PayoutID: "co_1",
				Kind: core.PayoutCashout, Amount: 500, Currency: "CNY", Destination: core.Destination{ReceiverID: r1}})
			require.NoError(t, err)
			assert.Equal(t, core.PayoutSucceeded, out.Payout.Status)
			assert.Equal(t, int64(494), e.balance(t, r1))
			over, err := call[core.CreatePayoutResponse](e, core.OpPayoutCreate, &core.CreatePayoutRequest{PayoutID: "co_2",
				Kind: core.PayoutCashout, Amount: 495, Currency: "CNY", Destination: core.Destination{ReceiverID: r1}})
			require.NoError(t, err)
			assert.Equal(t, core.PayoutFailed, over.Payout.Status, "cash-out beyond the balance")
			assert.Equal(t, "NOTENOUGH", over.Payout.FailureCode)
			assert.Equal(t, int64(494), e.balance(t, r1), "nothing withdrawn")
		}},
		{"manual split by ratio then by amount; records sum", func(t *testing.T, e *env) {
			r1 := e.bind(t, "a", "wxpay", "100002", 100_000)
			r2 := e.bind(t, "b", "wxpay", "100002", 100_000)
			p := e.barcodePay(t, "pay_manual", 20000, core.SplitManual)
			ref := core.PaymentRef{ID: p.ID, ProviderID: p.ProviderID}
			ex, err := call[core.ExecuteSplitResponse](e, core.OpSplitExecute, &core.ExecuteSplitRequest{SplitID: "sp_1", Payment: ref,
				Parts: []core.SplitPart{{ReceiverID: r1, RatioPPM: 200_000}, {ReceiverID: r2, RatioPPM: 100_000}}})
			require.NoError(t, err)
			assert.Equal(t, core.SplitSucceeded, ex.Split.Status)
			q, err := call[core.QuerySplitResponse](e, core.OpSplitQuery, &core.QuerySplitRequest{Split: core.SplitRef{ID: "sp_1", ProviderID: ex.Split.ProviderID}, Payment: ref})
			require.NoError(t, err)
			require.Len(t, q.Split.Records, 2)
			base := int64(20000 - 120) // fee 0.6%
			assert.Equal(t, base*2/10, q.Split.Records[0].Amount)
			assert.Equal(t, base/10, q.Split.Records[1].Amount)
			assert.Equal(t, q.Split.Records[0].Amount+q.Split.Records[1].Amount, q.Split.Amount)
			assert.Equal(t, int64(200_000), q.Split.Records[0].RatioPPM)

			ex2, err := call[core.ExecuteSplitResponse](e, core.OpSplitExecute, &core.ExecuteSplitRequest{SplitID: "sp_2", Payment: ref,
				Parts: []core.SplitPart{{ReceiverID: r1, Amount: 1000}}})
			require.NoError(t, err)
			q2, err := call[core.QuerySplitResponse](e, core.OpSplitQuery, &core.QuerySplitRequest{Split: core.SplitRef{ProviderID: ex2.Split.ProviderID}, Payment: ref})
			require.NoError(t, err)
			assert.Equal(t, int64(1000), q2.Split.Amount)

			_, err = call[core.ExecuteSplitResponse](e, core.OpSplitExecute, &core.ExecuteSplitRequest{SplitID: "sp_3", Payment: ref,
				Parts: []core.SplitPart{{ReceiverID: r1, Amount: 100, RatioPPM: 1}}})
			assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "ratio and amount together are refused before sending")
			_, err = call[core.ExecuteSplitResponse](e, core.OpSplitExecute, &core.ExecuteSplitRequest{SplitID: "sp_4", Payment: ref,
				Parts: []core.SplitPart{{ReceiverID: r1, Amount: 1_000_000}}})
			assert.Equal(t, core.CodeInsufficientFunds, core.CodeOf(err), "more than the splittable base")
			_, err = call[core.ExecuteSplitResponse](e, core.OpSplitExecute, &core.ExecuteSplitRequest{SplitID: "sp_5", Payment: ref,
				Parts: []core.SplitPart{{ReceiverID: "999999", RatioPPM: 1000}}})
			assert.Error(t, err, "a receiver the gateway does not know")
		}},
		{"refund after a split is limited to what is left", func(t *testing.T, e *env) {
			r1 := e.bind(t, "c", "wxpay", "100002", 500_000)
			p := e.barcodePay(t, "pay_rs", 10000, core.SplitManual)
			ref := core.PaymentRef{ID: p.ID, ProviderID: p.ProviderID, Amount: 10000}
			_, err := call[core.ExecuteSplitResponse](e, core.OpSplitExecute, &core.ExecuteSplitRequest{SplitID: "sp", Payment: ref,
				Parts: []core.SplitPart{{ReceiverID: r1, Amount: 4000}}})
			require.NoError(t, err)
			_, err = e.refund(core.CreateRefundRequest{RefundID: "rf_over", Payment: ref, Amount: 6001})
			assert.Equal(t, core.CodeInsufficientFunds, core.CodeOf(err))
			ok, err := e.refund(core.CreateRefundRequest{RefundID: "rf_ok", Payment: ref, Amount: 6000})
			require.NoError(t, err)
			assert.Equal(t, core.RefundSucceeded, ok.Refund.Status)
		}},
		{"transfer success, failure and above balance", func(t *testing.T, e *env) {
			dest := core.Destination{Kind: "alipay", AccountNo: "2088102175953034", AccountName: "李四"}
			ok, err := call[core.CreatePayoutResponse](e, core.OpPayoutCreate, &core.CreatePayoutRequest{PayoutID: "tr_ok", Kind: core.PayoutTransfer,
				Amount: 1000, Currency: "CNY", Destination: dest, Description: "奖励", NotifyURL: e.notify.srv.URL + "/notify"})
			require.NoError(t, err)
			assert.Equal(t, core.PayoutSucceeded, ok.Payout.Status)
			n, err := e.parse(e.notify.wait(t, 0))
			require.NoError(t, err)
			assert.Equal(t, core.EventPayout, n.Events[0].Kind)
			assert.Equal(t, "tr_ok", n.Events[0].ObjectID)
			assert.Equal(t, string(core.PayoutSucceeded), n.Events[0].Status)
			q, err := call[core.QueryPayoutResponse](e, core.OpPayoutQuery, &core.QueryPayoutRequest{Payout: core.PayoutRef{ID: "tr_ok"}})
			require.NoError(t, err)
			assert.Equal(t, ok.Payout.ProviderID, q.Payout.ProviderID)
			assert.Equal(t, core.PayoutSucceeded, q.Payout.Status)

			bad, err := call[core.CreatePayoutResponse](e, core.OpPayoutCreate, &core.CreatePayoutRequest{PayoutID: "tr_bad", Kind: core.PayoutTransfer,
				Amount: sim.MagicDeclined, Currency: "CNY", Destination: dest})
			require.NoError(t, err)
			assert.Equal(t, core.PayoutFailed, bad.Payout.Status)
			assert.NotEmpty(t, bad.Payout.FailureCode)

			big, err := call[core.CreatePayoutResponse](e, core.OpPayoutCreate, &core.CreatePayoutRequest{PayoutID: "tr_big", Kind: core.PayoutTransfer,
				Amount: 100_000_000, Currency: "CNY", Destination: dest})
			require.NoError(t, err)
			assert.Equal(t, core.PayoutFailed, big.Payout.Status)
			assert.Equal(t, "NOTENOUGH", big.Payout.FailureCode)

			_, err = call[core.CreatePayoutResponse](e, core.OpPayoutCreate, &core.CreatePayoutRequest{PayoutID: "tr_x", Kind: core.PayoutTransfer,
				Amount: 1, Currency: "CNY", Destination: core.Destination{Kind: "paypal", AccountNo: "x"}})
			assert.Equal(t, core.CodeUnsupported, core.CodeOf(err))
		}},
		{"POS device: initialise, pay, refund, list, summary", func(t *testing.T, e *env) {
			device := core.TerminalInfo{ID: "POS001", SerialNo: "SN1"}
			_, err := e.create(core.CreatePaymentRequest{PaymentID: "pos_early", Amount: 100, Method: core.MethodWechatBarcode,
				Payer: core.Payer{AuthCode: "134567890123456789"}, Terminal: &device})
			assert.Equal(t, core.CodeConflict, core.CodeOf(err), "a device pays only once initialised")

			reg, err := call[core.RegisterTerminalResponse](e, core.OpTerminalRegister, &core.RegisterTerminalRequest{Terminal: device})
			require.NoError(t, err)
			assert.Equal(t, "active", reg.Terminal.Status)
			params, err := call[core.QueryTerminalResponse](e, core.OpTerminalQuery, &core.QueryTerminalRequest{TerminalID: "POS001"})
			require.NoError(t, err)
			assert.Contains(t, params.Terminal.Methods, core.MethodWechatBarcode)

			pay, err := e.create(core.CreatePaymentRequest{PaymentID: "pos_1", Amount: 1000, Method: core.MethodWechatBarcode,
				Payer: core.Payer{AuthCode: "134567890123456789"}, Terminal: &device})
			require.NoError(t, err)
			assert.Equal(t, core.PaymentSucceeded, pay.Payment.Status)
			assert.Equal(t, "POS001", pay.Payment.ProviderData["deviceNo"])
			rf, err := e.refund(core.CreateRefundRequest{RefundID: "pos_r1", Payment: core.PaymentRef{ID: "pos_1", ProviderID: pay.Payment.ProviderID, Amount: 1000},
				Amount: 400, Terminal: &device})
			require.NoError(t, err)
			assert.Equal(t, core.RefundSucceeded, rf.Refund.Status)

			now := time.Now()
			list, err := call[core.ListTransactionsResponse](e, core.OpTransactionList, &core.ListTransactionsRequest{
				From: now.Add(-time.Hour), To: now.Add(time.Hour), TerminalID: "POS001"})
			require.NoError(t, err)
			assert.Equal(t, 2, list.Total)
			kinds := map[core.TransactionKind]string{}
			for _, tr := range list.Transactions {
				kinds[tr.Kind] = tr.ID
			}
			assert.Equal(t, map[core.TransactionKind]string{core.TransactionPayment: "pos_1", core.TransactionRefund: "pos_r1"}, kinds)
			day := now.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
			sum, err := call[core.SummarizeTransactionsResponse](e, core.OpTransactionSummary, &core.SummarizeTransactionsRequest{Date: day, TerminalID: "POS001"})
			require.NoError(t, err)
			assert.Equal(t, int64(1), sum.PaymentCount)
			assert.Equal(t, int64(1000), sum.PaymentAmount)
			assert.Equal(t, int64(400), sum.RefundAmount)
		}},
	}
	forEachTransport(t, func(t *testing.T, transport string) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				sc.run(t, newEnv(t, transport, nil))
			})
		}
	})
}

// TestFaults: every fault switch of the simulator yields the canonical
// error; a mutating call is never reported failed when it may have gone
// through (unknown_outcome instead).
func TestFaults(t *testing.T) {
	tests := []struct {
		fault       sim.Fault
		createCode  core.Code // "" = succeeds
		queryCode   core.Code
		orderStored bool // did the simulator keep the order?
	}{
		{sim.Fault{Kind: sim.FaultLatency, Latency: 50 * time.Millisecond}, "", "", true},
		{sim.Fault{Kind: sim.FaultTimeoutAfterProcessing}, core.CodeUnknownOutcome, core.CodeProviderUnavailable, true},
		{sim.Fault{Kind: sim.FaultHTTP5xxBefore}, core.CodeUnknownOutcome, core.CodeProviderUnavailable, false},
		{sim.Fault{Kind: sim.FaultHTTP5xxAfter}, core.CodeUnknownOutcome, core.CodeProviderUnavailable, true},
		{sim.Fault{Kind: sim.FaultBadSign}, core.CodeUnknownOutcome, core.CodeSignatureInvalid, true},
		{sim.Fault{Kind: sim.FaultMalformed}, core.CodeUnknownOutcome, core.CodeProviderUnavailable, true},
	}
	forEachTransport(t, func(t *testing.T, transport string) {
		for _, tt := range tests {
			t.Run(tt.fault.Kind.String(), func(t *testing.T) {
				e := newEnv(t, transport, nil)
				id := "pay_" + strconv.Itoa(int(tt.fault.Kind))
				e.sim.SetFaults(tt.fault)
				_, err := e.create(core.CreatePaymentRequest{PaymentID: id, Amount: 100, Method: core.MethodAlipayQR})
				assert.Equal(t, tt.createCode, core.CodeOf(err), "create: %v", err)
				_, stored := e.sim.OrderByMchOrderNo(sim.DefaultMerchant.MchNo, id)
				assert.Equal(t, tt.orderStored, stored)
				if tt.orderStored {
					_, err = e.query(core.PaymentRef{ID: id})
					assert.Equal(t, tt.queryCode, core.CodeOf(err), "query: %v", err)
				}
				e.sim.SetFaults()
				if tt.orderStored {
					q, err := e.query(core.PaymentRef{ID: id})
					require.NoError(t, err, "with the fault cleared the order is found")
					assert.Equal(t, core.PaymentProcessing, q.Payment.Status)
				}
			})
		}
	})
}

// TestDuplicateAndOutOfOrderNotifications: a duplicate carries the same event
// id (the host drops it); a stale "paying" after success parses as
// processing, which the host's state machine refuses to apply.
func TestDuplicateAndOutOfOrderNotifications(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		e.sim.SetFaults(sim.Fault{Kind: sim.FaultDuplicateNotify}, sim.Fault{Kind: sim.FaultOutOfOrderNotify})
		created, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_dup", Amount: 300, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		require.NoError(t, e.sim.Pay(created.Payment.ProviderID))
		var statuses []string
		ids := map[string]int{}
		for i := 0; i < 3; i++ {
			n, err := e.parse(e.notify.wait(t, i))
			require.NoError(t, err)
			statuses = append(statuses, n.Events[0].Status)
			ids[n.Events[0].ID]++
		}
		assert.Contains(t, statuses, string(core.PaymentSucceeded))
		assert.Contains(t, statuses, string(core.PaymentProcessing), "the stale notification")
		assert.Contains(t, ids, "payment:"+created.Payment.ProviderID+":2")
		assert.Equal(t, 2, ids["payment:"+created.Payment.ProviderID+":2"], "the duplicate has the same event id")
	})
}
