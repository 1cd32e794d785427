package host_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// splitRules route everything to Haotian and give the platform 10% of
// every payment, split by the engine after success (mode from the caller).
func splitRules(mode string) string {
	return "version: 1\ndefault_route:\n  channel: haotian/main/*\nsplit:\n  - id: platform-10pct\n    when: amount > 0\n    mode: " + mode +
		"\n    receivers:\n      - {name: platform, ratio: \"0.1\"}\n      - {name: merchant}\n"
}

// bindPlatform registers the receiver "platform" at the simulator's
// default group, in WeChat.
func bindPlatform(t *testing.T, w *world) *host.Receiver {
	t.Helper()
	r, err := w.host.CreateReceiver(context.Background(), host.CreateReceiverInput{Tenant: "acme", Name: "platform", Account: "main",
		Kind: "personal", Channel: "wxpay", AccountNo: "o8jhotwaUEffs1fyWE5O3N4HWvbk", AccountName: "张三", Relation: "PARTNER",
		GroupID: "100001", RatioPPM: 100_000})
	require.NoError(t, err)
	require.Equal(t, core.ReceiverBound, r.Status, "%+v", r.Failure)
	return r
}

func barcodePayment(t *testing.T, w *world, key string, amount int64) *host.Payment {
	t.Helper()
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: key, Amount: amount, Method: core.MethodWechatBarcode,
		Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	require.Equal(t, core.PaymentSucceeded, p.Status)
	return p
}

// awaitFee waits for the simulator's payment notification to be applied:
// Haotian reports the fee only there (and in queries), not in the answer
// to the unified order, so a ledger read right after the create may come
// before it.
func awaitFee(w *world, id string) {
	w.t.Helper()
	w.eventually(func() bool { return w.payment(id).ProviderFee != 0 }, "the provider's fee")
}

// TestAutoSplit: the rules' split (mode auto) is executed by the engine
// after the payment succeeds, with the rules' amounts, once; the receiver's
// balance grows and its cash-out pays it out; the ledger balances.
func TestAutoSplit(t *testing.T) { testAutoSplit(t, nil) }

func testAutoSplit(t *testing.T, st func(t *testing.T) store.Store) {
	w := newWorld(t, worldOpts{rules: splitRules("auto"), store: openStore(t, st)})
	r := bindPlatform(t, w)
	assert.Equal(t, "o8j*********************4HWvbk"[:3], r.AccountNo[:3], "the account number is masked")
	assert.NotContains(t, r.AccountNo, "otwaUEffs")

	p := barcodePayment(t, w, "as", 10000)
	assert.Equal(t, []core.Share{{Receiver: "platform", Amount: 1000}, {Receiver: "merchant", Amount: 9000}}, p.Decision.Splits)
	_, err := w.host.CreateSplit(context.Background(), host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "as-early", PaymentID: p.ID})
	assert.Equal(t, core.CodeConflict, core.CodeOf(err), "the engine makes the rules' split")
	w.eventually(func() bool {
		w.host.Poll(context.Background())
		got := w.payment(p.ID)
		// the provider's fee (60) comes with the notification that follows
		// the payment, maybe after the split: the ledger needs both
		return len(got.Splits) == 1 && got.Splits[0].Status == core.SplitSucceeded && got.ProviderFee == 60
	}, "the rules' split to be executed and settle, and the provider's fee")
	got := w.payment(p.ID)
	sp := got.Splits[0]
	assert.Equal(t, "rules", sp.Source)
	assert.Equal(t, int64(1000), sp.Amount)
	require.Len(t, sp.Records, 1)
	assert.Equal(t, host.SplitRecord{Receiver: "platform", ReceiverID: r.ID, Amount: 1000, Status: core.SplitSucceeded}, sp.Records[0])
	require.NotNil(t, got.Ledger)
	assert.Equal(t, host.Ledger{Amount: 10000, Fee: 60, Split: 1000, Remainder: 8940, Balanced: true}, *got.Ledger)

	// more rounds never split again, nor does the API by the decision's shares
	w.host.Poll(context.Background())
	assert.Len(t, w.payment(p.ID).Splits, 1)
	_, err = w.host.CreateSplit(context.Background(), host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "as-again", PaymentID: p.ID})
	assert.Equal(t, core.CodeConflict, core.CodeOf(err))

	bal, err := w.host.GetBalances(context.Background(), host.BalancesInput{Tenant: "acme", Account: "main", Receiver: "platform"})
	require.NoError(t, err)
	require.Len(t, bal.Data, 1)
	assert.Equal(t, host.Balance{Object: "balance", Account: "main", Owner: core.BalanceReceiver, Receiver: "platform", Currency: "CNY", Available: 1000}, bal.Data[0])

	// a refund may take what is not split, no more
	_, err = w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "r-over", PaymentID: p.ID, Amount: 9001})
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
	assert.Contains(t, err.Error(), "9000 left")
	rf, err := w.host.CreateRefund(context.Background(), host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "r-ok", PaymentID: p.ID, Amount: 2000})
	require.NoError(t, err)
	assert.Equal(t, core.RefundSucceeded, rf.Status)
	got = w.payment(p.ID)
	assert.Equal(t, host.Ledger{Amount: 10000, Fee: 60, Refunded: 2000, Split: 1000, Remainder: 6940, Balanced: true}, *got.Ledger)

	// the receiver's cash-out: above the balance refused, then all of it
	over, err := w.host.CreatePayout(context.Background(), host.CreatePayoutInput{Tenant: "acme", IdempotencyKey: "co-over",
		Kind: core.PayoutCashout, Receiver: "platform", Account: "main", Amount: 1001, Currency: "CNY"})
	require.NoError(t, err)
	assert.Equal(t, core.PayoutFailed, over.Status, "the provider refuses a cash-out above the balance")
	co, err := w.host.CreatePayout(context.Background(), host.CreatePayoutInput{Tenant: "acme", IdempotencyKey: "co",
		Kind: core.PayoutCashout, Receiver: r.ID, Amount: 1000, Currency: "CNY"})
	require.NoError(t, err)
	assert.Equal(t, core.PayoutSucceeded, co.Status)
	assert.Equal(t, "main", co.Account)
	assert.Equal(t, "platform", co.Receiver)
	bal, err = w.host.GetBalances(context.Background(), host.BalancesInput{Tenant: "acme", Account: "main", Receiver: "platform"})
	require.NoError(t, err)
	assert.Zero(t, bal.Data[0].Available)
}

// TestManualSplit: with split mode manual the payment waits; the API
// splits it by the decision's shares or by explicit parts, never beyond
// what is left, and only to registered receivers.
func TestManualSplit(t *testing.T) { testManualSplit(t, nil) }

func testManualSplit(t *testing.T, st func(t *testing.T) store.Store) {
	w := newWorld(t, worldOpts{rules: splitRules("manual"), store: openStore(t, st)})
	ctx := context.Background()
	p := barcodePayment(t, w, "ms", 10000)
	// The provider reports its fee (60) in the notification that follows
	// the payment; what is left to split is known once it has arrived.
	w.eventually(func() bool { return w.payment(p.ID).ProviderFee == 60 }, "the provider's fee")
	w.host.Poll(ctx)
	assert.Empty(t, w.payment(p.ID).Splits, "manual: nothing happens by itself")

	_, err := w.host.CreateSplit(ctx, host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "s0", PaymentID: p.ID})
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "the receiver is not registered yet")
	assert.Contains(t, err.Error(), "not registered")
	bindPlatform(t, w)

	tests := []struct {
		name  string
		in    host.CreateSplitInput
		code  core.Code
		param string
	}{
		{"merchant is not a receiver", host.CreateSplitInput{Parts: []host.SplitPartInput{{Receiver: "merchant", Amount: 1}}}, core.CodeInvalidRequest, "parts[0].receiver"},
		{"zero amount", host.CreateSplitInput{Parts: []host.SplitPartInput{{Receiver: "platform"}}}, core.CodeInvalidRequest, "parts[0].amount"},
		{"beyond the base", host.CreateSplitInput{Parts: []host.SplitPartInput{{Receiver: "platform", Amount: 9941}}}, core.CodeInvalidRequest, "parts"},
		{"unknown receiver", host.CreateSplitInput{Parts: []host.SplitPartInput{{Receiver: "agent", Amount: 10}}}, core.CodeInvalidRequest, "parts.receiver"},
		{"another tenant's payment", host.CreateSplitInput{Tenant: "globex"}, core.CodeNotFound, "id"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Tenant, in.PaymentID, in.IdempotencyKey = firstNonEmpty(in.Tenant, "acme"), p.ID, "bad-"+string(rune('a'+i))
			_, err := w.host.CreateSplit(ctx, in)
			ce := core.AsError(err)
			assert.Equal(t, tt.code, ce.Code, ce.Error())
			assert.Equal(t, tt.param, ce.Param)
		})
	}

	// the receiver is bound in WeChat: an Alipay payment cannot reach it
	ali, err := w.create(host.CreatePaymentInput{IdempotencyKey: "ms-ali", Amount: 10000, Method: core.MethodAlipayBarcode,
		Payer: core.Payer{AuthCode: "284567890123456789"}})
	require.NoError(t, err)
	_, err = w.host.CreateSplit(ctx, host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "s-ali", PaymentID: ali.ID})
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
	assert.Contains(t, err.Error(), "no binding for alipay payments")

	sp, err := w.host.CreateSplit(ctx, host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "s1", PaymentID: p.ID})
	require.NoError(t, err)
	assert.Equal(t, int64(1000), sp.Amount, "the decision's shares")
	assert.Equal(t, "api", sp.Source)
	again, err := w.host.CreateSplit(ctx, host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "s1", PaymentID: p.ID})
	require.NoError(t, err)
	assert.Equal(t, sp.ID, again.ID, "idempotent")
	_, err = w.host.CreateSplit(ctx, host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "s1-twice", PaymentID: p.ID})
	assert.Equal(t, core.CodeConflict, core.CodeOf(err), "the decision's shares are not paid twice")
	assert.Contains(t, err.Error(), "is split already")
	more, err := w.host.CreateSplit(ctx, host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "s2", PaymentID: p.ID,
		Parts: []host.SplitPartInput{{Receiver: "platform", Amount: 500}}})
	require.NoError(t, err)
	assert.Equal(t, int64(500), more.Amount)
	w.eventually(func() bool {
		w.host.Poll(ctx)
		s1, err1 := w.host.GetSplit(ctx, "acme", sp.ID)
		s2, err2 := w.host.GetSplit(ctx, "acme", more.ID)
		return err1 == nil && err2 == nil && s1.Status == core.SplitSucceeded && s2.Status == core.SplitSucceeded
	}, "both splits to settle")
	got := w.payment(p.ID)
	assert.Equal(t, int64(1500), got.Ledger.Split)
	assert.True(t, got.Ledger.Balanced, "%v", got.Ledger.Problems)
	_, err = w.host.GetSplit(ctx, "globex", sp.ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
}

// TestRulesSplitWithoutReceiver: the rules' split names a receiver nobody
// registered; the split is stored failed (nothing reserved) and reported
// as an incident, the payment is untouched.
func TestRulesSplitWithoutReceiver(t *testing.T) {
	obs := &incidents{}
	w := newWorld(t, worldOpts{rules: splitRules("auto"), extra: func(c *host.Config) { c.Observer = obs }})
	p := barcodePayment(t, w, "nr", 10000)
	awaitFee(w, p.ID)
	w.host.Poll(context.Background())
	got := w.payment(p.ID)
	require.Len(t, got.Splits, 1)
	assert.Equal(t, core.SplitFailed, got.Splits[0].Status)
	assert.Equal(t, core.CodeInvalidRequest, got.Splits[0].Failure.Code)
	assert.Equal(t, []string{got.Splits[0].ID}, obs.of(host.IncidentSplitRefused))
	assert.Equal(t, host.Ledger{Amount: 10000, Fee: 60, Remainder: 9940, Balanced: true}, *got.Ledger)
	w.host.Poll(context.Background())
	assert.Len(t, w.payment(p.ID).Splits, 1, "not tried again")

	// a person registers the receiver and splits by the decision's shares
	bindPlatform(t, w)
	sp, err := w.host.CreateSplit(context.Background(), host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "after", PaymentID: p.ID})
	require.NoError(t, err)
	assert.Equal(t, int64(1000), sp.Amount)
	w.eventually(func() bool {
		w.host.Poll(context.Background())
		s, err := w.host.GetSplit(context.Background(), "acme", sp.ID)
		return err == nil && s.Status == core.SplitSucceeded
	}, "the split made by hand")
}

// TestTransfers: a transfer succeeds, one the provider declines fails, one
// whose answer is lost is settled by the poller.
func TestTransfers(t *testing.T) { testTransfers(t, nil) }

func testTransfers(t *testing.T, st func(t *testing.T) store.Store) {
	// no notifications: only queries settle, so the lost answer stays lost until the poller asks
	w := newWorld(t, worldOpts{extra: func(c *host.Config) { c.PublicURL = "" }, store: openStore(t, st)})
	ctx := context.Background()
	dest := core.Destination{Kind: "alipay", AccountNo: "2088102175953034", AccountName: "李四"}
	ok, err := w.host.CreatePayout(ctx, host.CreatePayoutInput{Tenant: "acme", IdempotencyKey: "t1", Account: "main",
		Kind: core.PayoutTransfer, Amount: 500, Currency: "CNY", Destination: dest, Description: "奖金"})
	require.NoError(t, err)
	w.eventually(func() bool {
		p, err := w.host.GetPayout(ctx, "acme", ok.ID, host.Refresh())
		return err == nil && p.Status == core.PayoutSucceeded
	}, "the transfer to succeed")
	got, err := w.host.GetPayout(ctx, "acme", ok.ID)
	require.NoError(t, err)
	assert.Equal(t, "2088********3034", got.Destination.AccountNo, "masked")
	assert.NotNil(t, got.CompletedAt)
	again, err := w.host.CreatePayout(ctx, host.CreatePayoutInput{Tenant: "acme", IdempotencyKey: "t1", Account: "main",
		Kind: core.PayoutTransfer, Amount: 500, Currency: "CNY", Destination: dest, Description: "奖金"})
	require.NoError(t, err)
	assert.Equal(t, ok.ID, again.ID, "idempotent")

	declined, err := w.host.CreatePayout(ctx, host.CreatePayoutInput{Tenant: "acme", IdempotencyKey: "t2", Account: "main",
		Kind: core.PayoutTransfer, Amount: sim.MagicDeclined, Currency: "CNY", Destination: dest})
	require.NoError(t, err)
	w.eventually(func() bool {
		w.host.Poll(ctx)
		p, err := w.host.GetPayout(ctx, "acme", declined.ID)
		return err == nil && p.Status == core.PayoutFailed
	}, "the declined transfer to fail")

	lost, err := w.host.CreatePayout(ctx, host.CreatePayoutInput{Tenant: "acme", IdempotencyKey: "t3", Account: "main",
		Kind: core.PayoutTransfer, Amount: sim.MagicTimeout, Currency: "CNY", Destination: dest})
	require.NoError(t, err)
	assert.Equal(t, host.PendingUnknownOutcome, lost.PendingReason)
	w.eventually(func() bool {
		w.host.Poll(ctx)
		p, err := w.host.GetPayout(ctx, "acme", lost.ID)
		return err == nil && p.PendingReason != host.PendingUnknownOutcome
	}, "the poller to learn the lost transfer")

	bad := []struct {
		name  string
		in    host.CreatePayoutInput
		code  core.Code
		param string
	}{
		{"no kind", host.CreatePayoutInput{Amount: 1, Currency: "CNY", Account: "main"}, core.CodeInvalidRequest, "kind"},
		{"negative", host.CreatePayoutInput{Kind: core.PayoutTransfer, Amount: -1, Currency: "CNY", Account: "main"}, core.CodeInvalidRequest, "amount"},
		{"currency", host.CreatePayoutInput{Kind: core.PayoutTransfer, Amount: 1, Currency: "XXX", Account: "main"}, core.CodeInvalidRequest, "currency"},
		{"no account", host.CreatePayoutInput{Kind: core.PayoutTransfer, Amount: 1, Currency: "CNY"}, core.CodeInvalidRequest, "account"},
		{"unknown account", host.CreatePayoutInput{Kind: core.PayoutTransfer, Amount: 1, Currency: "CNY", Account: "nope"}, core.CodeForbidden, "account"},
		{"cashout without receiver", host.CreatePayoutInput{Kind: core.PayoutCashout, Amount: 1, Currency: "CNY", Account: "main"}, core.CodeInvalidRequest, "receiver"},
		{"unknown receiver", host.CreatePayoutInput{Kind: core.PayoutCashout, Receiver: "ghost", Amount: 1, Currency: "CNY", Account: "main"}, core.CodeInvalidRequest, "receiver"},
	}
	for i, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Tenant, in.IdempotencyKey = "acme", "bad-"+string(rune('a'+i))
			_, err := w.host.CreatePayout(ctx, in)
			ce := core.AsError(err)
			assert.Equal(t, tt.code, ce.Code, ce.Error())
			assert.Equal(t, tt.param, ce.Param)
		})
	}
	_, err = w.host.GetPayout(ctx, "globex", ok.ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
}

// TestTerminals: a device is registered, takes a barcode payment, lists its
// day and refunds on the device.
func TestTerminals(t *testing.T) { testTerminals(t, nil) }

func testTerminals(t *testing.T, st func(t *testing.T) store.Store) {
	w := newWorld(t, worldOpts{store: openStore(t, st)})
	ctx := context.Background()
	tm, err := w.host.RegisterTerminal(ctx, host.RegisterTerminalInput{Tenant: "acme", Account: "main", DeviceNo: "POS001", Kind: "pos"})
	require.NoError(t, err)
	assert.Equal(t, "active", tm.Status)
	again, err := w.host.RegisterTerminal(ctx, host.RegisterTerminalInput{Tenant: "acme", Account: "main", DeviceNo: "POS001", Kind: "pos"})
	require.NoError(t, err)
	assert.Equal(t, tm.ID, again.ID, "registering again refreshes the same device")
	_, err = w.host.RegisterTerminal(ctx, host.RegisterTerminalInput{Tenant: "globex", Account: "main", DeviceNo: "POS001"})
	assert.Equal(t, core.CodeConflict, core.CodeOf(err), "another tenant's device")

	live, err := w.host.GetTerminal(ctx, "acme", tm.ID, host.Refresh())
	require.NoError(t, err)
	assert.Contains(t, live.Methods, core.MethodWechatBarcode)

	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "pos-1", Amount: 1500, Method: core.MethodWechatBarcode,
		TerminalID: "POS001", Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	assert.Equal(t, core.PaymentSucceeded, p.Status)
	assert.Equal(t, "POS001", p.TerminalID)
	var posPays int
	for _, r := range w.sim.Requests() {
		if r.Path == "/api/pos/pay" {
			posPays++
		}
	}
	assert.Equal(t, 1, posPays, "paid through the device interface")

	rf, err := w.host.CreateRefund(ctx, host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "pos-r", PaymentID: p.ID, Amount: 500})
	require.NoError(t, err)
	assert.NotEqual(t, core.RefundFailed, rf.Status)
	var posRefunds int
	for _, r := range w.sim.Requests() {
		if r.Path == "/api/pos/refund" {
			posRefunds++
		}
	}
	assert.Equal(t, 1, posRefunds, "refunded on the device")

	now := time.Now()
	list, err := w.host.TerminalTransactions(ctx, host.TerminalTransactionsInput{Tenant: "acme", TerminalID: tm.ID,
		From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, list.Total, 1)
	sum, err := w.host.TerminalSummary(ctx, "acme", tm.ID, now.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02"))
	require.NoError(t, err)
	assert.Equal(t, int64(1500), sum.PaymentAmount)

	_, err = w.host.TerminalSummary(ctx, "acme", tm.ID, "yesterday")
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
	_, err = w.host.GetTerminal(ctx, "globex", tm.ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	ts, err := w.host.ListTerminals(ctx, "acme")
	require.NoError(t, err)
	assert.Len(t, ts, 1)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// TestSplitAndPayoutEvents: splits and payouts emit webhook events with
// their API representation, like payments and refunds.
func TestSplitAndPayoutEvents(t *testing.T) { testSplitAndPayoutEvents(t, nil) }

func testSplitAndPayoutEvents(t *testing.T, st func(t *testing.T) store.Store) {
	w := newWorld(t, worldOpts{rules: splitRules("auto"), extra: hookConfig, store: openStore(t, st)})
	ctx := context.Background()
	rc := newReceiver(t, nil)
	addEndpoint(t, w.host, rc.srv.URL, "split.*", "payout.*")
	bindPlatform(t, w)
	p := barcodePayment(t, w, "ev", 10000)
	w.eventually(func() bool {
		w.host.Poll(ctx)
		got := w.payment(p.ID)
		return len(got.Splits) == 1 && got.Splits[0].Status == core.SplitSucceeded
	}, "the split")
	po, err := w.host.CreatePayout(ctx, host.CreatePayoutInput{Tenant: "acme", IdempotencyKey: "ev-co", Kind: core.PayoutCashout,
		Receiver: "platform", Account: "main", Amount: 1000, Currency: "CNY"})
	require.NoError(t, err)
	require.Equal(t, core.PayoutSucceeded, po.Status)

	var types []string
	for _, e := range events(t, w.host, "") {
		if strings.HasPrefix(e.Type, "split.") || strings.HasPrefix(e.Type, "payout.") {
			types = append([]string{e.Type}, types...)
		}
	}
	assert.Contains(t, types, "split.succeeded")
	assert.Contains(t, types, "payout.succeeded")
	for _, e := range events(t, w.host, "split.succeeded") {
		var sp host.Split
		require.NoError(t, json.Unmarshal(e.Data, &sp))
		assert.Equal(t, p.ID, sp.PaymentID)
		assert.Equal(t, core.SplitSucceeded, sp.Status)
	}
	deliverUntil(t, w.host, "the deliveries", func() bool { return len(rc.requests()) == len(types) })
}

// TestTerminalPaymentIsSplit: a device payment holds its funds for the
// rules' split like any other payment, and the split is made.
func TestTerminalPaymentIsSplit(t *testing.T) {
	w := newWorld(t, worldOpts{rules: splitRules("auto")})
	ctx := context.Background()
	bindPlatform(t, w)
	_, err := w.host.RegisterTerminal(ctx, host.RegisterTerminalInput{Tenant: "acme", Account: "main", DeviceNo: "POS001", Kind: "pos"})
	require.NoError(t, err)
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "pos-split", Amount: 10000, Method: core.MethodWechatBarcode,
		TerminalID: "POS001", Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	require.Equal(t, core.PaymentSucceeded, p.Status)
	w.eventually(func() bool {
		w.host.Poll(ctx)
		got := w.payment(p.ID)
		return len(got.Splits) == 1 && got.Splits[0].Status == core.SplitSucceeded
	}, "the device payment's split")
	assert.Equal(t, int64(1000), w.payment(p.ID).Ledger.Split)
}

// TestSplitRefusedByProvider: a payment made without holding its funds
// cannot be split at Haotian; the provider's refusal fails the split and
// gives its reservation back (it is not an uncertain outcome to poll).
func TestSplitRefusedByProvider(t *testing.T) {
	w := newWorld(t, worldOpts{})
	ctx := context.Background()
	bindPlatform(t, w)
	p := barcodePayment(t, w, "no-hold", 10000)
	awaitFee(w, p.ID)
	sp, err := w.host.CreateSplit(ctx, host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "s", PaymentID: p.ID,
		Parts: []host.SplitPartInput{{Receiver: "platform", Amount: 100}}})
	require.NoError(t, err)
	assert.Equal(t, core.SplitFailed, sp.Status)
	require.NotNil(t, sp.Failure)
	assert.Equal(t, core.CodeConflict, sp.Failure.Code)
	assert.Empty(t, sp.PendingReason)
	assert.Equal(t, host.Ledger{Amount: 10000, Fee: 60, Remainder: 9940, Balanced: true}, *w.payment(p.ID).Ledger)
}
