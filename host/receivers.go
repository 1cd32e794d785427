package host

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Receiver is a split receiver as embedders and the HTTP API see it.
type Receiver struct {
	ID                 string              `json:"id"`
	Object             string              `json:"object"` // "split_receiver"
	Name               string              `json:"name"`   // the name the rules use
	Account            string              `json:"account"`
	Provider           string              `json:"provider"`
	ProviderReceiverID string              `json:"provider_receiver_id,omitempty"`
	Status             core.ReceiverStatus `json:"status"`
	Kind               string              `json:"kind,omitempty"`
	Channel            string              `json:"channel,omitempty"`
	AccountNo          string              `json:"account_no,omitempty"` // masked
	AccountName        string              `json:"account_name,omitempty"`
	Relation           string              `json:"relation,omitempty"`
	RelationName       string              `json:"relation_name,omitempty"`
	GroupID            string              `json:"group_id,omitempty"`
	RatioPPM           int64               `json:"ratio_ppm,omitempty"`
	Failure            *Failure            `json:"failure,omitempty"`
	CreatedAt          time.Time           `json:"created_at"`
	UpdatedAt          time.Time           `json:"updated_at"`
}

// CreateReceiverInput registers a split receiver: bound at the provider
// through the account's plugin, or, with ProviderReceiverID, one that
// already exists at the provider. Such a receiver is bound once the
// provider confirms it (the plugin's split.receiver.query); a provider that
// cannot be asked leaves it pending until an operator binds it
// (Host.ConfirmReceiver, POST /admin/split_receivers/{id}/bind).
type CreateReceiverInput struct {
	Tenant             string `json:"-"`
	Name               string `json:"name"`    // the name the rules use; unique per tenant and account
	Account            string `json:"account"` // the provider account the receiver is bound at
	ProviderReceiverID string `json:"provider_receiver_id,omitempty"`
	Kind               string `json:"kind,omitempty"`    // personal or business
	Channel            string `json:"channel,omitempty"` // wallet: wechat (wxpay), alipay, unionpay; "" = any
	AccountNo          string `json:"account_no,omitempty"`
	AccountName        string `json:"account_name,omitempty"`
	Relation           string `json:"relation,omitempty"`
	RelationName       string `json:"relation_name,omitempty"`
	GroupID            string `json:"group_id,omitempty"`
	RatioPPM           int64  `json:"ratio_ppm,omitempty"` // the receiver's default share at the provider
}

var receiverName = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// bindingLease is how long a receiver may stay "pending" (its binding in
// flight) before a new request for the same name may bind it again.
const bindingLease = 2 * time.Minute

// CreateReceiver registers a split receiver for the tenant at one of its
// accounts. A name already bound is a conflict; a failed binding (or one
// left pending by a crash) is tried again. A provider receiver id that
// another receiver of the account holds (bound, or pending its
// confirmation) is a conflict, refused before anything is stored.
func (h *Host) CreateReceiver(ctx context.Context, in CreateReceiverInput) (*Receiver, error) {
	if !receiverName.MatchString(in.Name) || in.Name == core.MerchantReceiver {
		return nil, bad("name", "name must be 1-64 lower-case letters, digits, '_', '.' or '-', starting with a letter, and not %q", core.MerchantReceiver)
	}
	if err := checkTexts(map[string]string{"provider_receiver_id": in.ProviderReceiverID, "kind": in.Kind, "channel": in.Channel,
		"account_no": in.AccountNo, "account_name": in.AccountName, "relation": in.Relation, "relation_name": in.RelationName,
		"group_id": in.GroupID}); err != nil {
		return nil, err
	}
	if in.RatioPPM < 0 || in.RatioPPM > core.PPM {
		return nil, bad("ratio_ppm", "ratio_ppm must be between 0 and %d", core.PPM)
	}
	if err := h.useAccount(in.Tenant, in.Account, "account"); err != nil {
		return nil, err
	}
	a, ok := h.accounts[in.Account]
	if !ok {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "account", Message: "account " + in.Account + " is not served by a plugin here"}
	}
	if in.ProviderReceiverID == "" && !supports(a, core.OpSplitReceiverBind) {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "provider_receiver_id",
			Message: fmt.Sprintf("plugin %s cannot bind receivers: register an existing one with provider_receiver_id", a.plugin.Manifest().Name)}
	}
	now := h.now()
	in.Channel = walletOf(in.Channel)
	if in.ProviderReceiverID != "" {
		if err := h.receiverIDFree(ctx, in); err != nil {
			return nil, err
		}
	}
	r := &store.Receiver{ID: newID("rcv_", now), Tenant: in.Tenant, Account: in.Account, Name: in.Name, Plugin: a.plugin.Manifest().Name,
		Status: string(core.ReceiverPending), Kind: in.Kind, Channel: in.Channel, AccountNo: in.AccountNo, AccountName: in.AccountName,
		Relation: in.Relation, RelationName: in.RelationName, GroupID: in.GroupID, RatioPPM: in.RatioPPM, CreatedAt: now, UpdatedAt: now}
	err := h.store.InsertReceiver(ctx, r)
	if errors.Is(err, store.ErrDuplicate) {
		cur, ferr := h.store.FindReceiver(ctx, in.Tenant, in.Account, in.Name, in.Channel)
		if ferr != nil {
			return nil, core.WrapError(core.CodeInternal, ferr, "load receiver")
		}
		retry := cur.Status == string(core.ReceiverFailed) ||
			(cur.Status == string(core.ReceiverPending) && now.Sub(cur.UpdatedAt) > bindingLease)
		if !retry {
			return nil, &core.Error{Code: core.CodeConflict, Param: "name",
				Message: fmt.Sprintf("receiver %q is already registered at %s for %s (%s, %s)", in.Name, in.Account, firstNonEmpty(in.Channel, "every wallet"), cur.ID, cur.Status)}
		}
		r.ID, r.CreatedAt = cur.ID, cur.CreatedAt
		if err := h.store.ReplaceReceiver(ctx, r, cur.Status); err != nil {
			return nil, core.WrapError(core.CodeConflict, err, "receiver changed meanwhile")
		}
	} else if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "store receiver")
	}
	if in.ProviderReceiverID != "" {
		r.ProviderID = in.ProviderReceiverID
		h.confirmReceiver(ctx, a, r)
	} else {
		h.bindReceiver(ctx, a, r)
	}
	r.UpdatedAt = h.now()
	err = h.store.ReplaceReceiver(context.WithoutCancel(ctx), r, string(core.ReceiverPending))
	if errors.Is(err, store.ErrDuplicate) {
		// another receiver of the account was bound to this id meanwhile
		msg := fmt.Sprintf("provider receiver %s is bound to another receiver at account %s", r.ProviderID, r.Account)
		r.Status, r.FailureCode, r.FailureMessage = string(core.ReceiverFailed), string(core.CodeConflict), msg
		if err := h.store.ReplaceReceiver(context.WithoutCancel(ctx), r, string(core.ReceiverPending)); err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "store receiver")
		}
		return nil, &core.Error{Code: core.CodeConflict, Param: "provider_receiver_id", Message: msg}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "store receiver")
	}
	return receiverToAPI(r), nil
}

// receiverIDFree refuses a provider receiver id that another receiver of
// the account holds: bound, or pending its confirmation. The tenant's own
// registration of the same name and wallet (a retry) does not count.
// Another tenant's receiver is not described.
func (h *Host) receiverIDFree(ctx context.Context, in CreateReceiverInput) error {
	held, err := h.store.FindReceiversByProvider(ctx, in.Account, in.ProviderReceiverID)
	if err != nil {
		return core.WrapError(core.CodeInternal, err, "load receivers")
	}
	for _, r := range held {
		switch {
		case r.Tenant == in.Tenant && r.Name == in.Name && r.Channel == in.Channel:
		case r.Status != string(core.ReceiverBound) && r.Status != string(core.ReceiverPending):
		case r.Tenant == in.Tenant:
			return &core.Error{Code: core.CodeConflict, Param: "provider_receiver_id", Message: fmt.Sprintf(
				"provider receiver %s is registered at account %s already, as %s (%s, %s)", in.ProviderReceiverID, in.Account, r.Name, r.ID, r.Status)}
		default:
			return &core.Error{Code: core.CodeConflict, Param: "provider_receiver_id", Message: fmt.Sprintf(
				"provider receiver %s is registered at account %s already", in.ProviderReceiverID, in.Account)}
		}
	}
	return nil
}

// confirmReceiver asks the provider about a receiver registered by its
// provider id (r.ProviderID) and records the answer in r: bound when the
// provider knows it, failed when it does not. A plugin without
// split.receiver.query leaves it pending, for an operator to bind.
func (h *Host) confirmReceiver(ctx context.Context, a *account, r *store.Receiver) {
	if !supports(a, core.OpSplitReceiverQuery) {
		return
	}
	c := core.Channel{Plugin: r.Plugin, Account: r.Account}
	resp, err := callPlugin[core.QueryReceiverResponse](ctx, h, a, c, core.OpSplitReceiverQuery, r.ID,
		&core.QueryReceiverRequest{ReceiverID: r.ID, ProviderID: r.ProviderID})
	if err != nil {
		ce := core.AsError(err)
		r.Status, r.FailureCode, r.FailureMessage = string(core.ReceiverFailed), string(ce.Code), failureText(ce)
		if ce.Code == core.CodeNotFound {
			r.FailureMessage = fmt.Sprintf("the provider has no receiver %s at account %s", r.ProviderID, r.Account)
		}
		return
	}
	got := resp.Receiver
	switch {
	case got.ProviderID != "" && got.ProviderID != r.ProviderID:
		r.Status, r.FailureCode = string(core.ReceiverFailed), string(core.CodePluginFailure)
		r.FailureMessage = fmt.Sprintf("asked about receiver %s, the plugin answered about %s", r.ProviderID, got.ProviderID)
	case got.Status == core.ReceiverBound || got.Status == "":
		r.Status, r.ProviderData = string(core.ReceiverBound), got.ProviderData
	case got.Status == core.ReceiverPending:
		r.ProviderData = got.ProviderData // the provider is still binding it
	default:
		code, provider := canonicalFailure(got.FailureCode)
		r.Status, r.FailureCode = string(core.ReceiverFailed), string(code)
		r.FailureMessage = firstNonEmpty(got.FailureMessage, provider, fmt.Sprintf("the provider reports receiver %s as %s", r.ProviderID, got.Status))
	}
}

// ConfirmReceiver binds a receiver that was registered by its provider
// id and waits, pending, because its provider could not confirm it. It is
// the operator's word (POST /admin/split_receivers/{id}/bind), never a
// tenant's: check the receiver with the provider first. Binding a bound
// receiver again answers it unchanged; a provider receiver id bound to
// another receiver of the account is a conflict.
func (h *Host) ConfirmReceiver(ctx context.Context, id string) (*TenantReceiver, error) {
	r, err := h.store.GetReceiver(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no split receiver " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load receiver")
	}
	switch {
	case r.Status == string(core.ReceiverBound):
		return &TenantReceiver{Tenant: r.Tenant, Receiver: *receiverToAPI(r)}, nil
	case r.Status != string(core.ReceiverPending) || r.ProviderID == "":
		return nil, &core.Error{Code: core.CodeConflict, Param: "id", Message: fmt.Sprintf(
			"receiver %s is %s: only a pending receiver registered by its provider id is bound by hand", id, r.Status)}
	}
	r.Status, r.FailureCode, r.FailureMessage, r.UpdatedAt = string(core.ReceiverBound), "", "", h.now()
	switch err := h.store.ReplaceReceiver(ctx, r, string(core.ReceiverPending)); {
	case errors.Is(err, store.ErrDuplicate):
		holder := ""
		if held, ferr := h.store.FindReceiversByProvider(ctx, r.Account, r.ProviderID); ferr == nil {
			for _, o := range held {
				if o.Status == string(core.ReceiverBound) {
					holder = fmt.Sprintf(" (%s of tenant %s)", o.ID, o.Tenant)
				}
			}
		}
		return nil, &core.Error{Code: core.CodeConflict, Param: "id", Message: fmt.Sprintf(
			"provider receiver %s is bound to another receiver at account %s%s", r.ProviderID, r.Account, holder)}
	case errors.Is(err, store.ErrConflict):
		return nil, &core.Error{Code: core.CodeConflict, Param: "id", Message: "receiver " + id + " changed meanwhile; read it again"}
	case err != nil:
		return nil, core.WrapError(core.CodeInternal, err, "store receiver")
	}
	h.log.Info("split receiver bound by the operator", "receiver", r.ID, "tenant", r.Tenant, "account", r.Account)
	return &TenantReceiver{Tenant: r.Tenant, Receiver: *receiverToAPI(r)}, nil
}

// TenantReceiver is a receiver with its tenant: the operator's view.
type TenantReceiver struct {
	Tenant string `json:"tenant"`
	Receiver
}

// MaxReceiverList bounds ReceiversByStatus.
const MaxReceiverList = 500

// ReceiversByStatus lists every tenant's receivers in a status (pending:
// those waiting for an operator), oldest first: an operator's view.
func (h *Host) ReceiversByStatus(ctx context.Context, status core.ReceiverStatus) ([]TenantReceiver, error) {
	switch status {
	case core.ReceiverPending, core.ReceiverBound, core.ReceiverFailed, core.ReceiverDeleted:
	default:
		return nil, bad("status", "status is pending, bound, failed or deleted")
	}
	rs, err := h.store.ListReceiversByStatus(ctx, string(status), MaxReceiverList)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list receivers")
	}
	out := make([]TenantReceiver, 0, len(rs))
	for _, r := range rs {
		out = append(out, TenantReceiver{Tenant: r.Tenant, Receiver: *receiverToAPI(r)})
	}
	return out, nil
}

// bindReceiver binds r at the provider and records the outcome in r.
func (h *Host) bindReceiver(ctx context.Context, a *account, r *store.Receiver) {
	c := core.Channel{Plugin: r.Plugin, Account: r.Account}
	req := &core.BindReceiverRequest{Receiver: core.Receiver{ID: r.ID, Name: r.Name, Kind: r.Kind, Channel: r.Channel,
		AccountNo: r.AccountNo, AccountName: r.AccountName, Relation: r.Relation, RelationName: r.RelationName,
		GroupID: r.GroupID, RatioPPM: r.RatioPPM}, CreatedAt: r.CreatedAt}
	resp, err := callPlugin[core.BindReceiverResponse](ctx, h, a, c, core.OpSplitReceiverBind, r.ID, req)
	if err != nil {
		ce := core.AsError(err)
		r.Status, r.FailureCode, r.FailureMessage = string(core.ReceiverFailed), string(ce.Code), failureText(ce)
		return
	}
	got := resp.Receiver
	r.ProviderID, r.Status, r.ProviderData = got.ProviderID, string(got.Status), got.ProviderData
	if got.Channel != "" && walletOf(got.Channel) != r.Channel {
		r.ProviderData = mergeData(r.ProviderData, map[string]string{"payhost.channel": got.Channel})
	}
	if r.Status == "" {
		r.Status = string(core.ReceiverBound)
	}
	if r.Status == string(core.ReceiverFailed) {
		code, provider := canonicalFailure(got.FailureCode)
		r.FailureCode, r.FailureMessage = string(code), firstNonEmpty(got.FailureMessage, provider)
	}
}

// GetReceiver returns a tenant's receiver.
func (h *Host) GetReceiver(ctx context.Context, tenant, id string) (*Receiver, error) {
	r, err := h.store.GetReceiver(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.Tenant != tenant) {
		return nil, &core.Error{Code: core.CodeNotFound, Param: "id", Message: "no split receiver " + id}
	}
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "load receiver")
	}
	return receiverToAPI(r), nil
}

// ListReceivers returns a tenant's receivers, oldest first.
func (h *Host) ListReceivers(ctx context.Context, tenant string) ([]Receiver, error) {
	rs, err := h.store.ListReceivers(ctx, tenant)
	if err != nil {
		return nil, core.WrapError(core.CodeInternal, err, "list receivers")
	}
	out := make([]Receiver, 0, len(rs))
	for _, r := range rs {
		out = append(out, *receiverToAPI(r))
	}
	return out, nil
}

// resolveReceiver finds the bound receiver a split part names — a rcv_ id
// or a name — at an account, for a payment in wallet ("" = any): the
// name's binding in that wallet, or one bound for every wallet.
func (h *Host) resolveReceiver(ctx context.Context, tenant, account, ref, wallet string) (*store.Receiver, error) {
	var candidates []*store.Receiver
	if strings.HasPrefix(ref, "rcv_") {
		r, err := h.store.GetReceiver(ctx, ref)
		switch {
		case err == nil && r.Tenant == tenant && r.Account == account:
			candidates = append(candidates, r)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, core.WrapError(core.CodeInternal, err, "load receiver")
		}
	} else {
		rs, err := h.store.FindReceivers(ctx, tenant, account, ref)
		if err != nil {
			return nil, core.WrapError(core.CodeInternal, err, "load receiver")
		}
		candidates = rs
	}
	if len(candidates) == 0 {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "parts.receiver",
			Message: fmt.Sprintf("receiver %q is not registered at account %s (POST /v1/split_receivers)", ref, account)}
	}
	var pick *store.Receiver
	for _, r := range candidates {
		if wallet == "" || r.Channel == wallet || (r.Channel == "" && pick == nil) {
			if pick == nil || pick.Channel == "" {
				pick = r
			}
		}
	}
	if pick == nil {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "parts.receiver",
			Message: fmt.Sprintf("receiver %q has no binding for %s payments at account %s", ref, wallet, account)}
	}
	if pick.Status != string(core.ReceiverBound) || pick.ProviderID == "" {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "parts.receiver",
			Message: fmt.Sprintf("receiver %q at account %s is %s, not bound", ref, account, pick.Status)}
	}
	return pick, nil
}

// walletOf names the wallet of a receiver's channel or of a payment
// method, so a receiver bound in "wxpay" serves "wechat.*" payments.
func walletOf(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i] // a method: wechat.jsapi → wechat
	}
	switch s {
	case "wxpay", "wx", "weixin", "wechat":
		return "wechat"
	case "alipay", "ali":
		return "alipay"
	case "unionpay", "ysf", "ysfpay", "union", "upacp":
		return "unionpay"
	}
	return s
}

func receiverToAPI(r *store.Receiver) *Receiver {
	out := &Receiver{ID: r.ID, Object: "split_receiver", Name: r.Name, Account: r.Account, Provider: r.Plugin,
		ProviderReceiverID: r.ProviderID, Status: core.ReceiverStatus(r.Status), Kind: r.Kind, Channel: r.Channel,
		AccountNo: mask(r.AccountNo), AccountName: r.AccountName, Relation: r.Relation, RelationName: r.RelationName,
		GroupID: r.GroupID, RatioPPM: r.RatioPPM, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.FailureCode != "" {
		out.Failure = &Failure{Code: core.Code(r.FailureCode), Message: r.FailureMessage}
	}
	return out
}
