package host

import (
	"fmt"
	"slices"
	"sort"

	"github.com/payhost/payhost/core"
)

// TenantConfig is what one tenant may use on the host. The engine checks
// every call made for a tenant against it, so an embedder gets the same
// protection as the HTTP API: a tenant's payments go only to channels of
// its Accounts; its receivers, terminals, splits, balances and merchant
// applications name only its Accounts; and money leaves an account at its
// request (a payout of any kind: transfer, withdrawal, disbursement,
// cash-out) only from its Payouts, which is also what lets it read the
// account's own (merchant) balance. A refused call is a core.CodeForbidden
// error (HTTP 403) naming the field and stores nothing.
type TenantConfig struct {
	Name string `json:"name"`
	// Accounts are the accounts whose channels take the tenant's payments
	// (the rules' decision is filtered to them) and which its calls may
	// name: configured accounts, or accounts of UnavailableChannels.
	Accounts []string `json:"accounts"`
	// Payouts are the accounts the tenant may move money out of; each must
	// be one of Accounts and a configured account. Empty: none.
	Payouts []string `json:"payouts,omitempty"`
}

// grant is a tenant's accounts, as the engine checks them.
type grant struct {
	accounts map[string]bool
	payouts  map[string]bool
	payable  []string // the payout accounts, sorted
}

// loadTenants checks Config.Tenants against the accounts the host knows.
// Errors name the entry as the configuration file does (tenants[i].accounts[j]).
func (h *Host) loadTenants() error {
	h.tenants = map[string]*grant{}
	known := map[string]bool{}
	for name := range h.accounts {
		known[name] = true
	}
	for c := range h.offline {
		known[c.Account] = true
	}
	for i, tc := range h.cfg.Tenants {
		key := fmt.Sprintf("host: tenants[%d]", i)
		if tc.Name == "" {
			return fmt.Errorf("%s: a tenant has no name", key)
		}
		if _, dup := h.tenants[tc.Name]; dup {
			return fmt.Errorf("%s: tenant %s is configured twice", key, tc.Name)
		}
		g := &grant{accounts: map[string]bool{}, payouts: map[string]bool{}}
		for j, a := range tc.Accounts {
			if !known[a] {
				return fmt.Errorf("%s.accounts[%d]: tenant %s: no account %q is configured (known: %s)", key, j, tc.Name, a, knownList(known))
			}
			g.accounts[a] = true
		}
		for j, a := range tc.Payouts {
			switch {
			case !g.accounts[a]:
				return fmt.Errorf("%s.payouts[%d]: tenant %s: account %q is not one of its accounts", key, j, tc.Name, a)
			case h.accounts[a] == nil:
				return fmt.Errorf("%s.payouts[%d]: tenant %s: account %q is not served by a plugin here: nothing can be paid out of it", key, j, tc.Name, a)
			}
			g.payouts[a] = true
		}
		for a := range g.payouts {
			g.payable = append(g.payable, a)
		}
		sort.Strings(g.payable)
		h.tenants[tc.Name] = g
	}
	return nil
}

func knownList(known map[string]bool) string {
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return fmt.Sprint(names)
}

// forbidden is the error of every refused tenant check.
func forbidden(param, format string, args ...any) error {
	return &core.Error{Code: core.CodeForbidden, Param: param, Message: fmt.Sprintf(format, args...)}
}

// grantOf is a tenant's grant; a tenant the host was not given has none.
func (h *Host) grantOf(tenant string) (*grant, error) {
	g := h.tenants[tenant]
	if g == nil {
		return nil, forbidden("", "tenant %q is not configured on this host (host.Config.Tenants)", tenant)
	}
	return g, nil
}

// useAccount checks that the tenant may name account (param is the field
// that names it). The answer is the same whether or not the account
// exists, so a tenant learns nothing about others' accounts.
func (h *Host) useAccount(tenant, account, param string) error {
	g, err := h.grantOf(tenant)
	if err != nil {
		return err
	}
	if !g.accounts[account] {
		return forbidden(param, "account %q is not one of your accounts", account)
	}
	return nil
}

// payOutOf checks that the tenant may move money out of account.
func (h *Host) payOutOf(tenant, account, param string) error {
	if err := h.useAccount(tenant, account, param); err != nil {
		return err
	}
	if !h.tenants[tenant].payouts[account] {
		return forbidden(param, "you may not move money out of account %q (no payout grant)", account)
	}
	return nil
}

// tenantChannels keeps the channels of the tenant's accounts, in order.
func (h *Host) tenantChannels(tenant string, cs []core.Channel) []core.Channel {
	g := h.tenants[tenant]
	if g == nil {
		return nil
	}
	return slices.DeleteFunc(slices.Clone(cs), func(c core.Channel) bool { return !g.accounts[c.Account] })
}
