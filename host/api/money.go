package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
)

// MoneyEngine is what the split, payout, balance and terminal routes need
// of the engine.
type MoneyEngine interface {
	CreateReceiver(ctx context.Context, in host.CreateReceiverInput) (*host.Receiver, error)
	GetReceiver(ctx context.Context, tenant, id string) (*host.Receiver, error)
	ListReceivers(ctx context.Context, tenant string) ([]host.Receiver, error)
	CreateSplit(ctx context.Context, in host.CreateSplitInput) (*host.Split, error)
	GetSplit(ctx context.Context, tenant, id string, opts ...host.GetOption) (*host.Split, error)
	CreateSplitReturn(ctx context.Context, in host.CreateSplitReturnInput) (*host.SplitReturn, error)
	GetSplitReturn(ctx context.Context, tenant, id string, opts ...host.GetOption) (*host.SplitReturn, error)
	CreatePayout(ctx context.Context, in host.CreatePayoutInput) (*host.Payout, error)
	GetPayout(ctx context.Context, tenant, id string, opts ...host.GetOption) (*host.Payout, error)
	GetBalances(ctx context.Context, in host.BalancesInput) (*host.BalancesResult, error)
	RegisterTerminal(ctx context.Context, in host.RegisterTerminalInput) (*host.Terminal, error)
	GetTerminal(ctx context.Context, tenant, id string, opts ...host.GetOption) (*host.Terminal, error)
	ListTerminals(ctx context.Context, tenant string) ([]host.Terminal, error)
	TerminalTransactions(ctx context.Context, in host.TerminalTransactionsInput) (*core.ListTransactionsResponse, error)
	TerminalSummary(ctx context.Context, tenant, id, date string) (*core.SummarizeTransactionsResponse, error)
	// The operator's side of receivers (admin token).
	ReceiversByStatus(ctx context.Context, status core.ReceiverStatus) ([]host.TenantReceiver, error)
	ConfirmReceiver(ctx context.Context, id string) (*host.TenantReceiver, error)
}

var _ MoneyEngine = (*host.Host)(nil)

// CreateReceiverBody is the body of POST /v1/split_receivers.
type CreateReceiverBody struct {
	Name               string          `json:"name"`
	Account            string          `json:"account"`
	ProviderReceiverID string          `json:"provider_receiver_id"`
	Kind               string          `json:"kind"`
	Channel            string          `json:"channel"`
	AccountNo          string          `json:"account_no"`
	AccountName        string          `json:"account_name"`
	Relation           string          `json:"relation"`
	RelationName       string          `json:"relation_name"`
	GroupID            string          `json:"group_id"`
	RatioPPM           json.RawMessage `json:"ratio_ppm"`
}

// SplitPartBody is one part of a split in a request.
type SplitPartBody struct {
	Receiver string          `json:"receiver"`
	Amount   json.RawMessage `json:"amount"`
}

// CreateSplitBody is the body of POST /v1/payments/{id}/splits; no parts
// (or no body) splits by the payment's decision.
type CreateSplitBody struct {
	Parts []SplitPartBody `json:"parts"`
}

// CreateSplitReturnBody is the body of POST /v1/splits/{id}/returns.
type CreateSplitReturnBody struct {
	Receiver string          `json:"receiver"`
	Amount   json.RawMessage `json:"amount"`
	Reason   string          `json:"reason"`
}

// CreatePayoutBody is the body of POST /v1/payouts.
type CreatePayoutBody struct {
	Account     string            `json:"account"`
	Kind        string            `json:"kind"`
	Amount      json.RawMessage   `json:"amount"`
	Currency    string            `json:"currency"`
	Destination *core.Destination `json:"destination"`
	Receiver    string            `json:"receiver"`
	Description string            `json:"description"`
}

// RegisterTerminalBody is the body of POST /v1/terminals.
type RegisterTerminalBody struct {
	Account  string            `json:"account"`
	DeviceNo string            `json:"device_no"`
	Kind     string            `json:"kind"`
	SerialNo string            `json:"serial_no"`
	Extra    map[string]string `json:"extra"`
}

// ListBody is a list answer.
type ListBody[T any] struct {
	Object string `json:"object"` // "list"
	Data   []T    `json:"data"`
}

func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	body, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	if optional && len(body) == 0 {
		return nil
	}
	if err := checkContentType(r, "application/json"); err != nil {
		return err
	}
	return decodeStrict(body, v)
}

func (s *Server) createReceiver(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	var b CreateReceiverBody
	if err := s.readJSON(w, r, &b, false); err != nil {
		return err
	}
	for name, v := range map[string]string{"name": b.Name, "account": b.Account} {
		if err := requireString(name, v); err != nil {
			return err
		}
	}
	ratio, err := intField("ratio_ppm", b.RatioPPM, false)
	if err != nil {
		return err
	}
	rc, err := s.money.CreateReceiver(r.Context(), host.CreateReceiverInput{Tenant: t.Name, Name: b.Name, Account: b.Account,
		ProviderReceiverID: b.ProviderReceiverID, Kind: b.Kind, Channel: b.Channel, AccountNo: b.AccountNo, AccountName: b.AccountName,
		Relation: b.Relation, RelationName: b.RelationName, GroupID: b.GroupID, RatioPPM: ratio})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/split_receivers/"+rc.ID)
	writeJSON(w, http.StatusCreated, rc)
	return nil
}

func (s *Server) listReceivers(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	rs, err := s.money.ListReceivers(r.Context(), t.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ListBody[host.Receiver]{Object: "list", Data: rs})
	return nil
}

func (s *Server) getReceiver(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	rc, err := s.money.GetReceiver(r.Context(), t.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rc)
	return nil
}

// adminReceivers lists every tenant's receivers in a status (default
// pending: those waiting for an operator to bind them).
func (s *Server) adminReceivers(w http.ResponseWriter, r *http.Request, _ *Tenant) error {
	status, err := oneQuery(r, "status")
	if err != nil {
		return err
	}
	rs, err := s.money.ReceiversByStatus(r.Context(), core.ReceiverStatus(cmp.Or(status, string(core.ReceiverPending))))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ListBody[host.TenantReceiver]{Object: "list", Data: rs})
	return nil
}

// bindReceiver binds a pending receiver registered by its provider id,
// on the operator's word.
func (s *Server) bindReceiver(w http.ResponseWriter, r *http.Request, _ *Tenant) error {
	if err := s.noBody(w, r); err != nil {
		return err
	}
	rc, err := s.money.ConfirmReceiver(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rc)
	return nil
}

func (s *Server) createSplit(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b CreateSplitBody
	if err := s.readJSON(w, r, &b, true); err != nil {
		return err
	}
	in := host.CreateSplitInput{Tenant: t.Name, IdempotencyKey: key, PaymentID: r.PathValue("id")}
	for i, p := range b.Parts {
		amount, err := intField(fmt.Sprintf("parts[%d].amount", i), p.Amount, true)
		if err != nil {
			return err
		}
		in.Parts = append(in.Parts, host.SplitPartInput{Receiver: p.Receiver, Amount: amount})
	}
	sp, err := s.money.CreateSplit(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/splits/"+sp.ID)
	writeJSON(w, http.StatusCreated, sp)
	return nil
}

func (s *Server) getSplit(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	refresh, err := boolQuery(r, "refresh")
	if err != nil {
		return err
	}
	sp, err := s.money.GetSplit(r.Context(), t.Name, r.PathValue("id"), refreshOption(refresh)...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sp)
	return nil
}

func (s *Server) createSplitReturn(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b CreateSplitReturnBody
	if err := s.readJSON(w, r, &b, false); err != nil {
		return err
	}
	if err := requireString("receiver", b.Receiver); err != nil {
		return err
	}
	amount, err := intField("amount", b.Amount, true)
	if err != nil {
		return err
	}
	sr, err := s.money.CreateSplitReturn(r.Context(), host.CreateSplitReturnInput{Tenant: t.Name, IdempotencyKey: key,
		SplitID: r.PathValue("id"), Receiver: b.Receiver, Amount: amount, Reason: b.Reason})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/split_returns/"+sr.ID)
	writeJSON(w, http.StatusCreated, sr)
	return nil
}

func (s *Server) getSplitReturn(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	refresh, err := boolQuery(r, "refresh")
	if err != nil {
		return err
	}
	sr, err := s.money.GetSplitReturn(r.Context(), t.Name, r.PathValue("id"), refreshOption(refresh)...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sr)
	return nil
}

func (s *Server) createPayout(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b CreatePayoutBody
	if err := s.readJSON(w, r, &b, false); err != nil {
		return err
	}
	amount, err := intField("amount", b.Amount, true)
	if err != nil {
		return err
	}
	for name, v := range map[string]string{"kind": b.Kind, "currency": b.Currency} {
		if err := requireString(name, v); err != nil {
			return err
		}
	}
	in := host.CreatePayoutInput{Tenant: t.Name, IdempotencyKey: key, Account: b.Account, Kind: core.PayoutKind(b.Kind),
		Amount: amount, Currency: core.Currency(b.Currency), Receiver: b.Receiver, Description: b.Description}
	if b.Destination != nil {
		in.Destination = *b.Destination
	}
	p, err := s.money.CreatePayout(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/payouts/"+p.ID)
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) getPayout(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	refresh, err := boolQuery(r, "refresh")
	if err != nil {
		return err
	}
	p, err := s.money.GetPayout(r.Context(), t.Name, r.PathValue("id"), refreshOption(refresh)...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// oneQuery reads an optional query parameter given at most once.
func oneQuery(r *http.Request, name string) (string, error) {
	v := r.URL.Query()[name]
	switch len(v) {
	case 0:
		return "", nil
	case 1:
		return v[0], nil
	}
	return "", invalid(name, name+" is given more than once")
}

func (s *Server) getBalances(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	in := host.BalancesInput{Tenant: t.Name}
	var currency string
	for name, dst := range map[string]*string{"account": &in.Account, "receiver": &in.Receiver, "currency": &currency} {
		v, err := oneQuery(r, name)
		if err != nil {
			return err
		}
		*dst = v
	}
	in.Currency = core.Currency(currency)
	b, err := s.money.GetBalances(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) registerTerminal(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	var b RegisterTerminalBody
	if err := s.readJSON(w, r, &b, false); err != nil {
		return err
	}
	for name, v := range map[string]string{"account": b.Account, "device_no": b.DeviceNo} {
		if err := requireString(name, v); err != nil {
			return err
		}
	}
	tm, err := s.money.RegisterTerminal(r.Context(), host.RegisterTerminalInput{Tenant: t.Name, Account: b.Account,
		DeviceNo: b.DeviceNo, Kind: b.Kind, SerialNo: b.SerialNo, Extra: b.Extra})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/terminals/"+tm.ID)
	writeJSON(w, http.StatusCreated, tm)
	return nil
}

func (s *Server) listTerminals(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	ts, err := s.money.ListTerminals(r.Context(), t.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ListBody[host.Terminal]{Object: "list", Data: ts})
	return nil
}

func (s *Server) getTerminal(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	refresh, err := boolQuery(r, "refresh")
	if err != nil {
		return err
	}
	tm, err := s.money.GetTerminal(r.Context(), t.Name, r.PathValue("id"), refreshOption(refresh)...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tm)
	return nil
}

func timeQuery(r *http.Request, name string) (time.Time, error) {
	v, err := oneQuery(r, name)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid(name, name+" must be an RFC 3339 time, e.g. 2026-11-22T00:00:00+08:00")
	}
	return at, nil
}

func intQuery(r *http.Request, name string) (int, error) {
	v, err := oneQuery(r, name)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, invalid(name, name+" must be a non-negative integer")
	}
	return n, nil
}

func (s *Server) terminalTransactions(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	in := host.TerminalTransactionsInput{Tenant: t.Name, TerminalID: r.PathValue("id")}
	var err error
	if in.From, err = timeQuery(r, "from"); err != nil {
		return err
	}
	if in.To, err = timeQuery(r, "to"); err != nil {
		return err
	}
	kind, err := oneQuery(r, "kind")
	if err != nil {
		return err
	}
	in.Kind = core.TransactionKind(kind)
	if in.Page, err = intQuery(r, "page"); err != nil {
		return err
	}
	if in.PageSize, err = intQuery(r, "page_size"); err != nil {
		return err
	}
	list, err := s.money.TerminalTransactions(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) terminalSummary(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	date, err := oneQuery(r, "date")
	if err != nil {
		return err
	}
	if err := requireString("date", date); err != nil {
		return err
	}
	sum, err := s.money.TerminalSummary(r.Context(), t.Name, r.PathValue("id"), date)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

// refreshOption is the engine's Refresh option when ?refresh=true asked
// for it.
func refreshOption(refresh bool) []host.GetOption {
	if refresh {
		return []host.GetOption{host.Refresh()}
	}
	return nil
}
