package host_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/haotian"
)

// returningProvider is the Haotian plugin plus split returns, for the
// engine's split-return path: Haotian's gateway has no split return (seed
// 001), and the provider whose seed has one (the international API, seed
// 004) has no plugin yet. It keeps the returns it accepted as a provider
// would and answers in the mode the test sets.
type returningProvider struct {
	*haotian.Plugin
	mu      sync.Mutex
	mode    string // "async" (processing, then succeeded when queried), "sync", "refuse", "lost" (kept, answer lost)
	returns map[string]core.SplitReturn
	calls   int
}

func newReturningProvider() *returningProvider {
	return &returningProvider{Plugin: haotian.New(), mode: "async", returns: map[string]core.SplitReturn{}}
}

func (p *returningProvider) setMode(m string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
}

// Manifest is Haotian's plus split.return and split.return.query.
func (p *returningProvider) Manifest() core.Manifest {
	m := p.Plugin.Manifest()
	m.Operations = append(append([]core.Op(nil), m.Operations...), core.OpSplitReturn, core.OpSplitReturnQuery)
	return m
}

// ReturnSplit accepts a return once per ReturnID.
func (p *returningProvider) ReturnSplit(_ context.Context, _ pdk.Host, req *core.ReturnSplitRequest) (*core.ReturnSplitResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if req.ReceiverID == "" || req.Split.ProviderID == "" || req.Amount <= 0 {
		return nil, core.Errorf(core.CodeInvalidRequest, "receiver, split batch and amount are required")
	}
	if _, dup := p.returns[req.ReturnID]; dup {
		return nil, core.Errorf(core.CodeDuplicate, "return %s exists", req.ReturnID)
	}
	r := core.SplitReturn{ID: req.ReturnID, ProviderID: fmt.Sprintf("R%03d", len(p.returns)+1), SplitID: req.Split.ID,
		ReceiverID: req.ReceiverID, Amount: req.Amount, Status: core.SplitReturnProcessing}
	switch p.mode {
	case "refuse":
		return nil, &core.Error{Code: core.CodeInsufficientFunds, Message: "receiver balance too low", ProviderCode: "RETURN_BALANCE_LOW"}
	case "sync":
		r.Status = core.SplitReturnSucceeded
	case "lost":
		p.returns[req.ReturnID] = r
		return nil, core.Errorf(core.CodeUnknownOutcome, "read: connection reset")
	}
	p.returns[req.ReturnID] = r
	return &core.ReturnSplitResponse{Return: r}, nil
}

// QuerySplitReturn finds a return by ReturnID; an accepted one has finished.
func (p *returningProvider) QuerySplitReturn(_ context.Context, _ pdk.Host, req *core.QuerySplitReturnRequest) (*core.QuerySplitReturnResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.returns[req.ReturnID]
	if !ok {
		return nil, core.Errorf(core.CodeNotFound, "no return %s", req.ReturnID)
	}
	r.Status = core.SplitReturnSucceeded
	p.returns[req.ReturnID] = r
	return &core.QuerySplitReturnResponse{Return: r}, nil
}

// TestSplitReturns: a refund beyond what is not split is refused until
// the receiver gives its part back; a return is reserved against the
// receiver's part, settles by query (also after a lost answer), and a
// refused one gives its reservation back; the ledger balances throughout.
func TestSplitReturns(t *testing.T) { testSplitReturns(t, nil) }

func testSplitReturns(t *testing.T, st func(t *testing.T) store.Store) {
	prov := newReturningProvider()
	w := newWorld(t, worldOpts{rules: splitRules("auto"), extra: withPlugin(prov), store: openStore(t, st)})
	ctx := context.Background()
	bindPlatform(t, w)
	p := barcodePayment(t, w, "sr", 10000)
	awaitFee(w, p.ID)
	var sp host.Split
	w.eventually(func() bool {
		w.host.Poll(ctx)
		got := w.payment(p.ID)
		if len(got.Splits) == 1 {
			sp = got.Splits[0]
		}
		return sp.Status == core.SplitSucceeded
	}, "the rules' split")

	ret := func(key, receiver string, amount int64) (*host.SplitReturn, error) {
		return w.host.CreateSplitReturn(ctx, host.CreateSplitReturnInput{Tenant: "acme", IdempotencyKey: key, SplitID: sp.ID,
			Receiver: receiver, Amount: amount, Reason: "customer refund"})
	}
	refund := func(key string, amount int64) (*host.Refund, error) {
		return w.host.CreateRefund(ctx, host.CreateRefundInput{Tenant: "acme", IdempotencyKey: key, PaymentID: p.ID, Amount: amount})
	}

	_, err := refund("r-all", 10000)
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
	assert.Contains(t, err.Error(), "1000 is split to receivers: take it back first with a split return")

	// bad input: above the part, a receiver without a part, another tenant, no amount
	_, err = ret("k-over", "platform", 1001)
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
	assert.Contains(t, err.Error(), "1000 left to return")
	_, err = ret("k-agent", "agent", 10)
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
	assert.Equal(t, "receiver", core.AsError(err).Param)
	_, err = w.host.CreateSplitReturn(ctx, host.CreateSplitReturnInput{Tenant: "globex", IdempotencyKey: "k", SplitID: sp.ID, Receiver: "platform", Amount: 1})
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = ret("k-zero", "platform", 0)
	assert.Equal(t, "amount", core.AsError(err).Param)
	assert.Zero(t, prov.calls, "nothing reached the provider")

	// a return the provider takes asynchronously: reserved, not yet the merchant's
	r1, err := ret("k1", "platform", 600)
	require.NoError(t, err)
	assert.Equal(t, core.SplitReturnProcessing, r1.Status)
	assert.Equal(t, host.PendingProvider, r1.PendingReason)
	assert.Equal(t, "platform", r1.Receiver)
	again, err := ret("k1", "platform", 600)
	require.NoError(t, err)
	assert.Equal(t, r1.ID, again.ID, "same key, same return")
	_, err = ret("k-more", "platform", 401)
	assert.Contains(t, err.Error(), "400 left to return", "the pending return is reserved")
	_, err = refund("r-early", 9001)
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "a pending return frees nothing yet")

	w.poll()
	got, err := w.host.GetSplitReturn(ctx, "acme", r1.ID)
	require.NoError(t, err)
	assert.Equal(t, core.SplitReturnSucceeded, got.Status)
	assert.Equal(t, "R001", got.ProviderReturnID)
	pay := w.payment(p.ID)
	require.Len(t, pay.SplitReturns, 1)
	assert.Equal(t, host.Ledger{Amount: 10000, Fee: 60, Split: 400, SplitReturned: 600, Remainder: 9540, Balanced: true}, *pay.Ledger)

	// the provider refuses: failed, the reservation is given back
	prov.setMode("refuse")
	bad, err := ret("k2", "platform", 400)
	require.NoError(t, err)
	assert.Equal(t, core.SplitReturnFailed, bad.Status)
	require.NotNil(t, bad.Failure)
	assert.Equal(t, core.CodeInsufficientFunds, bad.Failure.Code)
	assert.Equal(t, "RETURN_BALANCE_LOW", bad.Failure.ProviderCode)

	// a lost answer: processing with unknown_outcome until the query finds it
	prov.setMode("lost")
	lost, err := ret("k3", "platform", 400)
	require.NoError(t, err)
	assert.Equal(t, core.SplitReturnProcessing, lost.Status)
	assert.Equal(t, host.PendingUnknownOutcome, lost.PendingReason)
	got, err = w.host.GetSplitReturn(ctx, "acme", lost.ID, host.Refresh())
	require.NoError(t, err)
	assert.Equal(t, core.SplitReturnSucceeded, got.Status)

	// everything is back: the engine lets a refund of the whole payment
	// through to the provider. (Haotian's simulator, which knows nothing of
	// this test's returns, still holds the split and refuses above 9000.)
	pay = w.payment(p.ID)
	assert.Equal(t, host.Ledger{Amount: 10000, Fee: 60, SplitReturned: 1000, Remainder: 9940, Balanced: true}, *pay.Ledger)
	rf, err := refund("r-all-2", 10000)
	require.NoError(t, err, "not refused by the engine")
	assert.Equal(t, core.RefundFailed, rf.Status, "refused by the provider")
	rf, err = refund("r-most", 9000)
	require.NoError(t, err)
	assert.Equal(t, core.RefundSucceeded, rf.Status)
	pay = w.payment(p.ID)
	assert.Equal(t, host.Ledger{Amount: 10000, Fee: 60, Refunded: 9000, SplitReturned: 1000, Remainder: 940, Balanced: true}, *pay.Ledger)
	// every settled return is an event with the return as its data
	ok := events(t, w.host, "split_return.succeeded")
	require.Len(t, ok, 2)
	assert.Contains(t, string(ok[0].Data), `"object":"split_return"`)
	assert.Len(t, events(t, w.host, "split_return.failed"), 1)

	_, err = w.host.GetSplitReturn(ctx, "globex", lost.ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
}

// TestSplitReturnUnsupported: Haotian has no split return; the API says
// so, and a refund beyond what is not split says why it is refused.
func TestSplitReturnUnsupported(t *testing.T) {
	w := newWorld(t, worldOpts{rules: splitRules("auto")})
	ctx := context.Background()
	bindPlatform(t, w)
	p := barcodePayment(t, w, "su", 10000)
	var splitID string
	w.eventually(func() bool {
		w.host.Poll(ctx)
		got := w.payment(p.ID)
		if len(got.Splits) == 1 && got.Splits[0].Status == core.SplitSucceeded {
			splitID = got.Splits[0].ID
		}
		return splitID != ""
	}, "the rules' split")
	_, err := w.host.CreateSplitReturn(ctx, host.CreateSplitReturnInput{Tenant: "acme", IdempotencyKey: "k", SplitID: splitID,
		Receiver: "platform", Amount: 100})
	assert.Equal(t, core.CodeUnsupported, core.CodeOf(err))
	_, err = w.host.CreateRefund(ctx, host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "r", PaymentID: p.ID, Amount: 9500})
	assert.Contains(t, err.Error(), "plugin haotian cannot take split money back")
	assert.Empty(t, w.payment(p.ID).SplitReturns)
}
