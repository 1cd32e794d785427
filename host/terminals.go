package host

import (
	"context"
	"errors"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Balance is money held at a provider, as the API shows it.
type Balance struct {
	Object    string            `json:"object"` // "balance"
	Account   string            `json:"account"`
	Owner     core.BalanceOwner `json:"owner"`              // merchant or receiver
	Receiver  string            `json:"receiver,omitempty"` // the receiver's name (owner receiver)
	Currency  core.Currency     `json:"currency"`
	Available int64             `json:"available"`
	Pending   int64             `json:"pending,omitempty"`
	Frozen    int64             `json:"frozen,omitempty"`
}

// BalancesInput asks for balances: of one account, or of every account
// whose plugin reports balances; of the merchant, or of a split receiver.
// A merchant balance (the account's own money) is given only of accounts
// the tenant may pay out of; a receiver's balance of its accounts.
type BalancesInput struct {
	Tenant   string
	Account  string // "" = every account the tenant may pay out of that reports balances
	Receiver string // a receiver's name or rcv_ id; "" = the merchant's balance
	Currency core.Currency
}

// BalancesResult lists balances, and the accounts that could not answer.
type BalancesResult struct {
	Object      string            `json:"object"` // "list"
	Data        []Balance         `json:"data"`
	Unavailable map[string]string `json:"unavailable,omitempty"` // account → why it gave no balance
}

// GetBalances asks the providers for balances, live (they are not stored).
func (h *Host) GetBalances(ctx context.Context, in BalancesInput) (*BalancesResult, error) {
	if err := checkTexts(map[string]string{"account": in.Account, "receiver": in.Receiver}); err != nil {
		return nil, err
	}
	var cur core.Currency
	if in.Currency != "" {
		c, err := core.ParseCurrency(string(in.Currency))
		if err != nil {
			return nil, err
		}
		cur = c
	}
	g, err := h.grantOf(in.Tenant)
	if err != nil {
		return nil, err
	}
	var accounts []*account
	switch {
	case in.Account != "":
		check := h.payOutOf // the merchant's balance is the payout grant's
		if in.Receiver != "" {
			check = h.useAccount // the tenant's receiver at its account
		}
		if err := check(in.Tenant, in.Account, "account"); err != nil {
			return nil, err
		}
		a, ok := h.accounts[in.Account]
		if !ok {
			return nil, &core.Error{Code: core.CodeUnsupported, Param: "account", Message: "account " + in.Account + " is not served by a plugin here"}
		}
		if !supports(a, core.OpBalanceQuery) {
			return nil, &core.Error{Code: core.CodeUnsupported, Param: "account", Message: "plugin " + a.plugin.Manifest().Name + " reports no balances"}
		}
		accounts = append(accounts, a)
	case in.Receiver != "":
		return nil, bad("account", "name the account of receiver %q", in.Receiver)
	default:
		for _, name := range g.payable {
			if a := h.accounts[name]; a != nil && supports(a, core.OpBalanceQuery) {
				accounts = append(accounts, a)
			}
		}
	}
	out := &BalancesResult{Object: "list", Data: []Balance{}}
	for _, a := range accounts {
		req := &core.QueryBalanceRequest{Owner: core.BalanceMerchant, Currency: cur}
		name := ""
		if in.Receiver != "" {
			r, err := h.resolveReceiver(ctx, in.Tenant, a.name, in.Receiver, "")
			if err != nil {
				ce := *core.AsError(err)
				ce.Param = "receiver"
				return nil, &ce
			}
			req.Owner, req.OwnerID, name = core.BalanceReceiver, r.ProviderID, r.Name
		}
		c := core.Channel{Plugin: a.plugin.Manifest().Name, Account: a.name}
		resp, err := callPlugin[core.QueryBalanceResponse](ctx, h, a, c, core.OpBalanceQuery, "balance:"+a.name, req)
		if err != nil {
			if in.Account != "" {
				return nil, err
			}
			if out.Unavailable == nil {
				out.Unavailable = map[string]string{}
			}
			out.Unavailable[a.name] = core.AsError(err).Message
			continue
		}
		for _, b := range resp.Balances {
			out.Data = append(out.Data, Balance{Object: "balance", Account: a.name, Owner: req.Owner, Receiver: name, Currency: b.Currency,
				Available: b.Available, Pending: b.Pending, Frozen: b.Frozen})
		}
	}
	return out, nil
}

// Terminal is a registered payment device as the API shows it.
type Terminal struct {
	ID        string            `json:"id"`
	Object    string            `json:"object"` // "terminal"
	Account   string            `json:"account"`
	DeviceNo  string            `json:"device_no"`
	Kind      string            `json:"kind,omitempty"`
	SerialNo  string            `json:"serial_no,omitempty"`
	Status    string            `json:"status"`
	StoreName string            `json:"store_name,omitempty"`
	Methods   []core.Method     `json:"methods,omitempty"` // with refresh: what the device may take
	Params    map[string]string `json:"params,omitempty"`  // with refresh: its payment parameters
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// RegisterTerminalInput registers (initialises) a device at an account.
type RegisterTerminalInput struct {
	Tenant   string            `json:"-"`
	Account  string            `json:"account"`
	DeviceNo string            `json:"device_no"`
	Kind     string            `json:"kind,omitempty"` // pos, smart_pos, qr_stand
	SerialNo string            `json:"serial_no,omitempty"`
	Extra    map[string]string `json:"extra,omitempty"` // provider fields, e.g. deviceName, storeId for Haotian
}

// RegisterTerminal initialises a device at the provider and records it for
// the tenant; registering it again refreshes it.
func (h *Host) RegisterTerminal(ctx context.Context, in RegisterTerminalInput) (*Terminal, error) {
	if in.DeviceNo == "" || len(in.DeviceNo) > 64 {
		return nil, bad("device_no", "device_no is required (at most 64 characters)")
	}
	fields := map[string]string{"account": in.Account, "device_no": in.DeviceNo, "kind": in.Kind, "serial_no": in.SerialNo}
	for k, v := range in.Extra {
		fields["extra"] = k
		fields["extra."+k] = v
	}
	if err := checkTexts(fields); err != nil {
		return nil, err
	}
	if len(in.Extra) > maxMetadataKeys {
		return nil, bad("extra", "extra has more than %d keys", maxMetadataKeys)
	}
	if err := h.useAccount(in.Tenant, in.Account, "account"); err != nil {
		return nil, err
	}
	a, ok := h.accounts[in.Account]
	if !ok {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "account", Message: "account " + in.Account + " is not served by a plugin here"}
	}
	if !supports(a, core.OpTerminalRegister) {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "account", Message: "plugin " + a.plugin.Manifest().Name + " registers no devices"}
	}
	if t, err := h.store.FindTerminal(ctx, a.name, in.DeviceNo); err == nil && t.Tenant != in.Tenant {
		return nil, &core.Error{Code: core.CodeConflict, Param: "device_no", Message: "device " + in.DeviceNo + " belongs to another tenant"}
	}
	now := h.now()
	c := core.Channel{Plugin: a.plugin.Manifest().Name, Account: a.name}
	resp, err := callPlugin[core.RegisterTerminalResponse](ctx, h, a, c, core.OpTerminalRegister, "terminal:"+in.DeviceNo,
		&core.RegisterTerminalRequest{Terminal: core.TerminalInfo{ID: in.DeviceNo, Kind: in.Kind, SerialNo: in.SerialNo}, Extra: in.Extra, CreatedAt: now})
	if err != nil {
		return nil, err
	}
	got := resp.Terminal
	t := &store.Terminal{ID: newID("tml_", now), Tenant: in.Tenant, Account: a.name, DeviceNo: in.DeviceNo,
		Kind: firstNonEmpty(got.Kind, in.Kind), SerialNo: in.SerialNo, Status: firstNonEmpty(got.Status, "active"), StoreName: got.StoreName,
		ProviderID: got.ProviderID, ProviderData: got.ProviderData, CreatedAt: now, UpdatedAt: now}
	if err := h.store.UpsertTerminal(context.WithoutCancel(ctx), t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, &core.Error{Code: core.CodeConflict, Param: "device_no", Message: "device " + in.DeviceNo + " belongs to another tenant"}
		}
		return nil, core.WrapError(core.CodeInternal, err, "store terminal")
	}
	return terminalToAPI(t, nil), nil
}

func (h *Host) tenantTerminal(ctx context.Context, tenant, id string) (*store.Terminal, *account, error) {
	t, err := h.store.GetTerminal(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Tenant != tenant) {
		return nil, nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no terminal " + id}
	}
	if err != nil {
		return nil, nil, core.WrapError(core.CodeInternal, err, "load terminal")
	}
	if err := h.useAccount(tenant, t.Account, "id"); err != nil {
		return nil, nil, err
	}
	a, ok := h.accounts[t.Account]
	if !ok {
		return nil, nil, &core.Error{Code: core.CodeProviderUnavailable, Message: "account " + t.Account + " is not configured on this host"}
	}
	return t, a, nil
}

// GetTerminal returns a tenant's device; Refresh() reads its payment
// parameters from the provider.
func (h *Host) GetTerminal(ctx context.Context, tenant, id string, opts ...GetOption) (*Terminal, error) {
	o := getOptionsOf(opts)
	t, a, err := h.tenantTerminal(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if !o.refresh {
		return terminalToAPI(t, nil), nil
	}
	if !supports(a, core.OpTerminalQuery) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + a.plugin.Manifest().Name + " cannot query devices"}
	}
	c := core.Channel{Plugin: a.plugin.Manifest().Name, Account: a.name}
	resp, err := callPlugin[core.QueryTerminalResponse](ctx, h, a, c, core.OpTerminalQuery, t.ID,
		&core.QueryTerminalRequest{TerminalID: t.DeviceNo, ProviderID: t.ProviderID, ProviderData: t.ProviderData})
	if err != nil {
		return nil, err
	}
	return terminalToAPI(t, &resp.Terminal), nil
}

// ListTerminals returns a tenant's devices.
func (h *Host) ListTerminals(ctx context.Context, tenant string) ([]Terminal, error) {
	ts, err := h.store.ListTerminals(ctx, tenant)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list terminals")
	}
	out := make([]Terminal, 0, len(ts))
	for _, t := range ts {
		out = append(out, *terminalToAPI(t, nil))
	}
	return out, nil
}

// TerminalTransactionsInput lists a device's transactions at the provider.
type TerminalTransactionsInput struct {
	Tenant     string
	TerminalID string
	From, To   time.Time
	Kind       core.TransactionKind // "" = payments and refunds
	Page       int
	PageSize   int
}

// TerminalTransactions lists a device's transactions as the provider
// records them (live; useful to reconcile a device's day).
func (h *Host) TerminalTransactions(ctx context.Context, in TerminalTransactionsInput) (*core.ListTransactionsResponse, error) {
	switch {
	case in.From.IsZero() || in.To.IsZero() || !in.To.After(in.From):
		return nil, bad("to", "give from and to (RFC 3339), to after from")
	case in.Kind != "" && in.Kind != core.TransactionPayment && in.Kind != core.TransactionRefund:
		return nil, bad("kind", "kind is payment or refund")
	case in.Page < 0 || in.PageSize < 0 || in.PageSize > 100:
		return nil, bad("page_size", "page_size is at most 100")
	}
	t, a, err := h.tenantTerminal(ctx, in.Tenant, in.TerminalID)
	if err != nil {
		return nil, err
	}
	if !supports(a, core.OpTransactionList) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + a.plugin.Manifest().Name + " lists no transactions"}
	}
	c := core.Channel{Plugin: a.plugin.Manifest().Name, Account: a.name}
	return callPlugin[core.ListTransactionsResponse](ctx, h, a, c, core.OpTransactionList, t.ID, &core.ListTransactionsRequest{
		From: in.From, To: in.To, TerminalID: t.DeviceNo, Kind: in.Kind, Page: in.Page, PageSize: in.PageSize})
}

// TerminalSummary returns a device's totals for a day (YYYY-MM-DD) from
// the provider.
func (h *Host) TerminalSummary(ctx context.Context, tenant, id, date string) (*core.SummarizeTransactionsResponse, error) {
	if _, err := time.Parse("2006-01-02", date); err != nil {
		return nil, bad("date", "date must be YYYY-MM-DD")
	}
	t, a, err := h.tenantTerminal(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if !supports(a, core.OpTransactionSummary) {
		return nil, &core.Error{Code: core.CodeUnsupported, Message: "plugin " + a.plugin.Manifest().Name + " gives no daily summary"}
	}
	c := core.Channel{Plugin: a.plugin.Manifest().Name, Account: a.name}
	return callPlugin[core.SummarizeTransactionsResponse](ctx, h, a, c, core.OpTransactionSummary, t.ID,
		&core.SummarizeTransactionsRequest{Date: date, TerminalID: t.DeviceNo})
}

// terminalChannels keeps the channels whose account has the tenant's
// terminal deviceNo: a device payment goes through its own device, never
// through another tenant's device of the same number.
func (h *Host) terminalChannels(ctx context.Context, tenant, deviceNo string, channels []core.Channel) ([]core.Channel, error) {
	var out []core.Channel
	mine := map[string]bool{}
	for _, c := range channels {
		own, seen := mine[c.Account]
		if !seen {
			t, err := h.store.FindTerminal(ctx, c.Account, deviceNo)
			switch {
			case err == nil:
				own = t.Tenant == tenant
			case !errors.Is(err, store.ErrNotFound):
				return nil, core.WrapError(core.CodeInternal, err, "load terminal")
			}
			mine[c.Account] = own
		}
		if own {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, forbidden("terminal_id", "terminal_id %q is not one of your terminals at an account that takes this payment (POST /v1/terminals registers one)", deviceNo)
	}
	return out, nil
}

func terminalToAPI(t *store.Terminal, live *core.Terminal) *Terminal {
	out := &Terminal{ID: t.ID, Object: "terminal", Account: t.Account, DeviceNo: t.DeviceNo, Kind: t.Kind, SerialNo: t.SerialNo,
		Status: t.Status, StoreName: t.StoreName, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if live != nil {
		out.Methods, out.Params = live.Methods, live.Params
		if live.StoreName != "" {
			out.StoreName = live.StoreName
		}
	}
	return out
}
