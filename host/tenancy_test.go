package host_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/rules"
)

// The cross-tenant attempts of issue 10, against the engine (SQLite here,
// PostgreSQL in postgres_test.go). Three tenants share one host and one
// Haotian simulator: acme uses and pays out of account main, globex uses
// and pays out of side, initech takes payments through main but may move
// nothing out of it. Each test fails if the check it is about is removed.

// tenancyRules offers every payment to main, then side.
const tenancyRules = "version: 1\ndefault_route:\n  channels: [haotian/main/*, haotian/side/*]\n"

func tenancyTenants() []host.TenantConfig {
	return []host.TenantConfig{
		{Name: "acme", Accounts: []string{"main"}, Payouts: []string{"main"}},
		{Name: "globex", Accounts: []string{"side"}, Payouts: []string{"side"}},
		{Name: "initech", Accounts: []string{"main"}},
	}
}

// tenancyWorld is a world with accounts main and side and the three tenants.
func tenancyWorld(t *testing.T, st func(t *testing.T) store.Store, more ...func(*host.Config)) *world {
	return newWorld(t, worldOpts{rules: tenancyRules, store: openStore(t, st), extra: func(c *host.Config) {
		c.Accounts = append(c.Accounts, account("side", c.Accounts[0].Endpoints["gateway"].URL))
		c.Tenants = tenancyTenants()
		for _, f := range more {
			f(c)
		}
	}})
}

// requests counts the simulator's requests to a path.
func (w *world) requests(path string) int {
	n := 0
	for _, r := range w.sim.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// noKey asserts a refused request left no idempotency record to replay.
func noKey(t *testing.T, w *world, tenant, key string) {
	t.Helper()
	_, err := w.store.GetIdempotencyKey(context.Background(), tenant, key)
	assert.ErrorIs(t, err, store.ErrNotFound, "the refused request left an idempotency record")
}

func wantForbidden(t *testing.T, err error, param string) {
	t.Helper()
	ce := core.AsError(err)
	require.Error(t, err)
	assert.Equal(t, core.CodeForbidden, ce.Code, ce.Error())
	assert.Equal(t, param, ce.Param)
	assert.Equal(t, 403, ce.Code.HTTPStatus())
}

// TestTenantPayouts: a tenant moves money out only of the accounts it was
// granted payouts of — every kind, including cash-outs — and a refused
// payout reaches no provider and stores no payout and no key.
func TestTenantPayouts(t *testing.T) { testTenantPayouts(t, nil) }

func testTenantPayouts(t *testing.T, st func(t *testing.T) store.Store) {
	w := tenancyWorld(t, st)
	ctx := context.Background()
	dest := core.Destination{Kind: "alipay", AccountNo: "2088102175953034", AccountName: "李四"}
	bindPlatform(t, w) // acme's receiver at main

	tests := []struct {
		name, tenant, account, receiver string
		kind                            core.PayoutKind
		param                           string
	}{
		{"another tenant's account", "globex", "main", "", core.PayoutTransfer, "account"},
		{"a shared account without a payout grant: transfer", "initech", "main", "", core.PayoutTransfer, "account"},
		{"withdrawal", "initech", "main", "", core.PayoutWithdrawal, "account"},
		{"disbursement", "initech", "main", "", core.PayoutDisbursement, "account"},
		{"cash-out of another tenant's receiver", "initech", "main", "platform", core.PayoutCashout, "account"},
		{"an account that does not exist", "acme", "ghost", "", core.PayoutTransfer, "account"},
		{"a tenant the host does not know", "mallory", "main", "", core.PayoutTransfer, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "steal-" + strconv.Itoa(i)
			in := host.CreatePayoutInput{Tenant: tt.tenant, IdempotencyKey: key, Account: tt.account, Kind: tt.kind,
				Amount: 950_000, Currency: "CNY", Receiver: tt.receiver}
			if tt.receiver == "" {
				in.Destination = dest
			}
			_, err := w.host.CreatePayout(ctx, in)
			wantForbidden(t, err, tt.param)
			noKey(t, w, tt.tenant, key)
		})
	}
	assert.Zero(t, w.requests("/api/transferOrder"), "no transfer reached the provider")
	assert.Zero(t, w.requests("/api/division/receiver/channelBalanceCashout"), "no cash-out reached the provider")

	// by receiver id the account is the receiver's: still the grant decides
	rs, err := w.host.ListReceivers(ctx, "acme")
	require.NoError(t, err)
	_, err = w.host.CreatePayout(ctx, host.CreatePayoutInput{Tenant: "initech", IdempotencyKey: "steal-id", Kind: core.PayoutCashout,
		Receiver: rs[0].ID, Amount: 1, Currency: "CNY"})
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "another tenant's receiver id names no account of the caller")
	noKey(t, w, "initech", "steal-id")

	// the granted tenants pay out of their own accounts, a refused key is free again
	ok, err := w.host.CreatePayout(ctx, host.CreatePayoutInput{Tenant: "globex", IdempotencyKey: "steal-0", Account: "side",
		Kind: core.PayoutTransfer, Amount: 500, Currency: "CNY", Destination: dest})
	require.NoError(t, err)
	assert.Equal(t, "side", ok.Account)
	_, err = w.host.CreatePayout(ctx, host.CreatePayoutInput{Tenant: "acme", IdempotencyKey: "mine", Account: "main",
		Kind: core.PayoutTransfer, Amount: 500, Currency: "CNY", Destination: dest})
	require.NoError(t, err)
	assert.Equal(t, 2, w.requests("/api/transferOrder"))
}

// TestTenantBalances: the merchant balance of an account is read only on
// its payout grant; the list without an account covers only those; a
// receiver's balance only of the tenant's own receiver.
func TestTenantBalances(t *testing.T) { testTenantBalances(t, nil) }

func testTenantBalances(t *testing.T, st func(t *testing.T) store.Store) {
	w := tenancyWorld(t, st)
	ctx := context.Background()
	bindPlatform(t, w)
	queries := func() int { return w.requests("/api/division/receiver/channelBalanceQuery") }

	_, err := w.host.GetBalances(ctx, host.BalancesInput{Tenant: "globex", Account: "main"})
	wantForbidden(t, err, "account")
	_, err = w.host.GetBalances(ctx, host.BalancesInput{Tenant: "initech", Account: "main"})
	wantForbidden(t, err, "account")
	_, err = w.host.GetBalances(ctx, host.BalancesInput{Tenant: "globex", Account: "main", Receiver: "platform"})
	wantForbidden(t, err, "account")
	_, err = w.host.GetBalances(ctx, host.BalancesInput{Tenant: "initech", Account: "main", Receiver: "platform"})
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "another tenant's receiver is not the caller's")
	assert.Zero(t, queries(), "no balance was asked for")

	// Haotian reports no merchant balance: the list shows which accounts were asked
	all, err := w.host.GetBalances(ctx, host.BalancesInput{Tenant: "globex"})
	require.NoError(t, err)
	assert.Empty(t, all.Data)
	assert.Equal(t, []string{"side"}, sortedKeys(all.Unavailable), "globex's list covers only its payout account")
	none, err := w.host.GetBalances(ctx, host.BalancesInput{Tenant: "initech"})
	require.NoError(t, err)
	assert.Empty(t, none.Data, "initech may pay out of nothing, so it sees no merchant balance")
	assert.Empty(t, none.Unavailable)
	mine, err := w.host.GetBalances(ctx, host.BalancesInput{Tenant: "acme", Account: "main", Receiver: "platform"})
	require.NoError(t, err)
	assert.Len(t, mine.Data, 1)
}

// queryingProvider is the Haotian plugin plus split.receiver.query: it
// knows the receivers it bound and the ids in known, as a provider that
// can be asked would.
type queryingProvider struct {
	*haotian.Plugin
	mu    sync.Mutex
	known map[string]bool
}

// Manifest is Haotian's plus split.receiver.query.
func (p *queryingProvider) Manifest() core.Manifest {
	m := p.Plugin.Manifest()
	m.Operations = append(append([]core.Op(nil), m.Operations...), core.OpSplitReceiverQuery)
	return m
}

// BindReceiver binds through Haotian and remembers the id.
func (p *queryingProvider) BindReceiver(ctx context.Context, h pdk.Host, req *core.BindReceiverRequest) (*core.BindReceiverResponse, error) {
	resp, err := p.Plugin.BindReceiver(ctx, h, req)
	if err == nil {
		p.mu.Lock()
		p.known[resp.Receiver.ProviderID] = true
		p.mu.Unlock()
	}
	return resp, err
}

// QueryReceiver answers bound for a known id, not_found otherwise.
func (p *queryingProvider) QueryReceiver(_ context.Context, _ pdk.Host, req *core.QueryReceiverRequest) (*core.QueryReceiverResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.known[req.ProviderID] {
		return nil, core.Errorf(core.CodeNotFound, "no receiver %s", req.ProviderID)
	}
	return &core.QueryReceiverResponse{Receiver: core.Receiver{ID: req.ReceiverID, ProviderID: req.ProviderID, Status: core.ReceiverBound}}, nil
}

// TestTenantReceiverIDs: a provider receiver id (Haotian's are sequential)
// is never bound twice at an account: naming another tenant's is refused
// with 409 and stores nothing; an id the provider cannot confirm stays
// pending and unusable until the operator binds it; a tenant names only
// its accounts.
func TestTenantReceiverIDs(t *testing.T) { testTenantReceiverIDs(t, nil) }

func testTenantReceiverIDs(t *testing.T, st func(t *testing.T) store.Store) {
	w := tenancyWorld(t, st)
	ctx := context.Background()
	victim := bindPlatform(t, w)
	require.NotEmpty(t, victim.ProviderReceiverID)
	next, err := strconv.Atoi(victim.ProviderReceiverID)
	require.NoError(t, err)
	nextID := strconv.Itoa(next + 1) // the id Haotian gives the next binding

	claim := func(tenant, account, name, id string) (*host.Receiver, error) {
		return w.host.CreateReceiver(ctx, host.CreateReceiverInput{Tenant: tenant, Name: name, Account: account, ProviderReceiverID: id})
	}
	_, err = claim("initech", "main", "mine", victim.ProviderReceiverID)
	ce := core.AsError(err)
	assert.Equal(t, core.CodeConflict, ce.Code, ce.Error())
	assert.Equal(t, "provider_receiver_id", ce.Param)
	assert.NotContains(t, ce.Message, "acme", "another tenant is not described")
	assert.NotContains(t, ce.Message, victim.ID)
	rs, err := w.host.ListReceivers(ctx, "initech")
	require.NoError(t, err)
	assert.Empty(t, rs, "the refused claim stored nothing")

	_, err = claim("globex", "main", "mine", victim.ProviderReceiverID)
	wantForbidden(t, err, "account")

	// an id nobody registered: Haotian cannot be asked, so it waits for the operator
	squat, err := claim("initech", "main", "mine", nextID)
	require.NoError(t, err)
	assert.Equal(t, core.ReceiverPending, squat.Status)
	_, err = w.host.GetBalances(ctx, host.BalancesInput{Tenant: "initech", Account: "main", Receiver: "mine"})
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
	assert.Contains(t, err.Error(), "pending, not bound")
	_, err = claim("acme", "main", "other", nextID)
	assert.Equal(t, core.CodeConflict, core.CodeOf(err), "a pending claim holds the id against other registrations")

	// the provider gives the id to acme's next binding: acme's binding wins,
	// and the operator can no longer bind the squatter's claim
	agent, err := w.host.CreateReceiver(ctx, host.CreateReceiverInput{Tenant: "acme", Name: "agent", Account: "main",
		Kind: "personal", Channel: "wxpay", AccountNo: "o8jhotwaUEffs1fyWE5O3N4HWvbk", AccountName: "张三", Relation: "PARTNER",
		GroupID: "100001", RatioPPM: 100_000})
	require.NoError(t, err)
	require.Equal(t, core.ReceiverBound, agent.Status, "%+v", agent.Failure)
	require.Equal(t, nextID, agent.ProviderReceiverID)
	_, err = w.host.ConfirmReceiver(ctx, squat.ID)
	assert.Equal(t, core.CodeConflict, core.CodeOf(err))
	got, err := w.host.GetReceiver(ctx, "initech", squat.ID)
	require.NoError(t, err)
	assert.Equal(t, core.ReceiverPending, got.Status)

	// an id the operator checked is bound by the operator
	free, err := claim("initech", "main", "shop", "909090")
	require.NoError(t, err)
	pending, err := w.host.ReceiversByStatus(ctx, core.ReceiverPending)
	require.NoError(t, err)
	require.Len(t, pending, 2)
	assert.Equal(t, "initech", pending[1].Tenant)
	bound, err := w.host.ConfirmReceiver(ctx, free.ID)
	require.NoError(t, err)
	assert.Equal(t, core.ReceiverBound, bound.Status)
	assert.Equal(t, "initech", bound.Tenant)
	again, err := w.host.ConfirmReceiver(ctx, free.ID)
	require.NoError(t, err)
	assert.Equal(t, core.ReceiverBound, again.Status, "binding twice answers the receiver")
	_, err = w.host.ConfirmReceiver(ctx, victim.ID+"x")
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
}

// TestTenantReceiverQuery: with a plugin that can be asked, a receiver
// registered by its id is bound once the provider confirms it, failed when
// the provider does not know it; another tenant's bound id is refused
// before the provider is asked.
func TestTenantReceiverQuery(t *testing.T) { testTenantReceiverQuery(t, nil) }

func testTenantReceiverQuery(t *testing.T, st func(t *testing.T) store.Store) {
	prov := &queryingProvider{Plugin: haotian.New(), known: map[string]bool{"700001": true}}
	w := tenancyWorld(t, st, withPlugin(prov))
	ctx := context.Background()
	victim := bindPlatform(t, w)

	_, err := w.host.CreateReceiver(ctx, host.CreateReceiverInput{Tenant: "initech", Name: "mine", Account: "main",
		ProviderReceiverID: victim.ProviderReceiverID})
	assert.Equal(t, core.CodeConflict, core.CodeOf(err), "the provider knows it, but it is acme's")
	ok, err := w.host.CreateReceiver(ctx, host.CreateReceiverInput{Tenant: "initech", Name: "shop", Account: "main", ProviderReceiverID: "700001"})
	require.NoError(t, err)
	assert.Equal(t, core.ReceiverBound, ok.Status, "confirmed by the provider")
	unknown, err := w.host.CreateReceiver(ctx, host.CreateReceiverInput{Tenant: "initech", Name: "ghost", Account: "main", ProviderReceiverID: "700002"})
	require.NoError(t, err)
	assert.Equal(t, core.ReceiverFailed, unknown.Status)
	require.NotNil(t, unknown.Failure)
	assert.Equal(t, core.CodeNotFound, unknown.Failure.Code)
}

// TestTenantTerminals: a payment names only the caller's own device; a
// device number registered by another tenant (at the same or another
// account) never carries the payment.
func TestTenantTerminals(t *testing.T) { testTenantTerminals(t, nil) }

func testTenantTerminals(t *testing.T, st func(t *testing.T) store.Store) {
	w := tenancyWorld(t, st)
	ctx := context.Background()
	tm, err := w.host.RegisterTerminal(ctx, host.RegisterTerminalInput{Tenant: "acme", Account: "main", DeviceNo: "POS001", Kind: "pos"})
	require.NoError(t, err)
	_, err = w.host.RegisterTerminal(ctx, host.RegisterTerminalInput{Tenant: "globex", Account: "main", DeviceNo: "POS002"})
	wantForbidden(t, err, "account")

	pos := func(tenant, key, device string) (*host.Payment, error) {
		return w.create(host.CreatePaymentInput{Tenant: tenant, IdempotencyKey: key, Amount: 1500, Method: core.MethodWechatBarcode,
			TerminalID: device, Payer: core.Payer{AuthCode: "134567890123456789"}})
	}
	for _, tt := range []struct{ name, tenant, device string }{
		{"another tenant's device at a shared account", "initech", "POS001"},
		{"another tenant's device at another account", "globex", "POS001"},
		{"a device nobody registered", "acme", "POS404"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pos(tt.tenant, "pos-"+tt.name, tt.device)
			wantForbidden(t, err, "terminal_id")
			noKey(t, w, tt.tenant, "pos-"+tt.name)
		})
	}
	assert.Zero(t, w.requests("/api/pos/pay"), "no device payment reached the provider")

	// globex's own POS001 at side: its payment goes to side only
	_, err = w.host.RegisterTerminal(ctx, host.RegisterTerminalInput{Tenant: "globex", Account: "side", DeviceNo: "POS001"})
	require.NoError(t, err)
	p, err := pos("globex", "pos-globex", "POS001")
	require.NoError(t, err)
	assert.Equal(t, "haotian/side/wechat.barcode", p.Channel)
	mine, err := pos("acme", "pos-acme", "POS001")
	require.NoError(t, err)
	assert.Equal(t, "haotian/main/wechat.barcode", mine.Channel)

	_, err = w.host.GetTerminal(ctx, "initech", tm.ID)
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.TerminalSummary(ctx, "globex", tm.ID, "2026-01-01")
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
}

// TestTenantRouting: the rules' channels are filtered to the tenant's
// accounts; the decision it sees names no other account; when nothing is
// left the payment is refused (422) without naming what was filtered, and
// nothing is stored.
func TestTenantRouting(t *testing.T) { testTenantRouting(t, nil) }

func testTenantRouting(t *testing.T, st func(t *testing.T) store.Store) {
	w := tenancyWorld(t, st)
	rs := "version: 1\nrouting:\n  - id: qr-main\n    when: method == \"alipay.qr\"\n    channel: haotian/main/alipay.qr\n" +
		"default_route:\n  channels: [haotian/main/*, haotian/side/*]\n"
	setRules(t, w, rs)

	p, err := w.create(host.CreatePaymentInput{Tenant: "globex", IdempotencyKey: "g1", Method: core.MethodWechatNative})
	require.NoError(t, err)
	assert.Equal(t, "haotian/side/wechat.native", p.Channel)
	assert.Equal(t, []string{"haotian/side/wechat.native"}, p.Decision.Channels, "the decision names only the tenant's channels")
	a, err := w.create(host.CreatePaymentInput{Tenant: "acme", IdempotencyKey: "a1", Method: core.MethodWechatNative})
	require.NoError(t, err)
	assert.Equal(t, "haotian/main/wechat.native", a.Channel)

	before := w.unifiedOrders()
	_, err = w.create(host.CreatePaymentInput{Tenant: "globex", IdempotencyKey: "g2", Method: core.MethodAlipayQR})
	ce := core.AsError(err)
	assert.Equal(t, core.CodeUnsupported, ce.Code, ce.Error())
	assert.Equal(t, 422, ce.Code.HTTPStatus())
	assert.NotContains(t, ce.Message, "main")
	assert.NotContains(t, ce.Message, "haotian")
	noKey(t, w, "globex", "g2")
	assert.Equal(t, before, w.unifiedOrders())

	_, err = w.create(host.CreatePaymentInput{Tenant: "mallory", IdempotencyKey: "m1"})
	wantForbidden(t, err, "")
	noKey(t, w, "mallory", "m1")
}

// setRules replaces the world's rules.
func setRules(t *testing.T, w *world, src string) {
	t.Helper()
	rs, err := rules.Load("rules.yaml", []byte(src), rules.Options{Catalogue: w.host, Health: w.host})
	require.NoError(t, err)
	w.host.SetDecider(rs)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestTenantRevokedAccount: an account taken from a tenant is closed to it
// at once, also for its own payments' splits; receivers, terminals and
// merchant applications name only its accounts.
func TestTenantRevokedAccount(t *testing.T) { testTenantRevokedAccount(t, nil) }

func testTenantRevokedAccount(t *testing.T, st func(t *testing.T) store.Store) {
	w := tenancyWorld(t, st)
	ctx := context.Background()
	w.opts.rules = splitRules("manual")
	setRules(t, w, w.opts.rules)
	bindPlatform(t, w)
	p := barcodePayment(t, w, "rv", 10000)
	tm, err := w.host.RegisterTerminal(ctx, host.RegisterTerminalInput{Tenant: "acme", Account: "main", DeviceNo: "POS009"})
	require.NoError(t, err)

	// the same database, a host where acme lost main
	later := w.newEngineWith(w.store, func(c *host.Config) {
		c.Accounts = append(c.Accounts, account("side", c.Accounts[0].Endpoints["gateway"].URL))
		c.Tenants = []host.TenantConfig{{Name: "acme", Accounts: []string{"side"}}}
	})
	_, err = later.CreateSplit(ctx, host.CreateSplitInput{Tenant: "acme", IdempotencyKey: "rv-s", PaymentID: p.ID})
	wantForbidden(t, err, "id")
	noKey(t, w, "acme", "rv-s")
	_, err = later.GetTerminal(ctx, "acme", tm.ID)
	wantForbidden(t, err, "id")
	_, err = later.CreateReceiver(ctx, host.CreateReceiverInput{Tenant: "acme", Name: "x", Account: "main", ProviderReceiverID: "1"})
	wantForbidden(t, err, "account")
	_, err = later.CreateMerchant(ctx, host.CreateMerchantInput{Tenant: "acme", IdempotencyKey: "rv-m", Account: "main"})
	wantForbidden(t, err, "account")
	noKey(t, w, "acme", "rv-m")
	splits := 0
	for _, r := range w.sim.Requests() {
		if strings.HasPrefix(r.Path, "/api/division/exec") {
			splits++
		}
	}
	assert.Zero(t, splits)
}

// TestTenantConfigErrors: host.New refuses tenants naming accounts it does
// not know, payouts outside the tenant's accounts, and duplicates.
func TestTenantConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		tenants []host.TenantConfig
		want    string
	}{
		{"unknown account", []host.TenantConfig{{Name: "acme", Accounts: []string{"main", "ops"}}}, `tenants[0].accounts[1]: tenant acme: no account "ops"`},
		{"payouts beyond accounts", []host.TenantConfig{{Name: "acme", Accounts: []string{"main"}, Payouts: []string{"side"}}},
			`tenants[0].payouts[0]: tenant acme: account "side" is not one of its accounts`},
		{"twice", []host.TenantConfig{{Name: "acme"}, {Name: "acme"}}, "tenants[1]: tenant acme is configured twice"},
		{"no name", []host.TenantConfig{{Accounts: []string{"main"}}}, "tenants[0]: a tenant has no name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := sqlstore.OpenSQLite(context.Background(), ":memory:")
			require.NoError(t, err)
			defer st.Close()
			_, err = host.New(context.Background(), host.Config{Store: st, Plugins: []host.PluginConfig{{Native: haotian.New()}},
				Accounts: []host.AccountConfig{account("main", "http://127.0.0.1:1")}, Tenants: tt.tenants,
				Keys: caps.NewKeyStore(nil).WithEnv(func(string) string { return "a-secret-of-the-test" }),
				Poll: host.PollConfig{Disabled: true}, Webhooks: host.WebhookConfig{Disabled: true}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
