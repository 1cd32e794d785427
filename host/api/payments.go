package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
)

// CreatePaymentBody is the body of POST /v1/payments. Integer fields are
// kept raw so that 1e3, 10.5, "1000" and values beyond int64 are refused
// with the field named.
type CreatePaymentBody struct {
	Amount          json.RawMessage   `json:"amount"` // minor units, a JSON integer
	Currency        string            `json:"currency"`
	Method          string            `json:"method"`
	MerchantOrderID string            `json:"merchant_order_id"`
	Description     string            `json:"description"`
	Metadata        map[string]string `json:"metadata"`
	Payer           *core.Payer       `json:"payer"`
	ReturnURL       string            `json:"return_url"`
	ExpireSeconds   json.RawMessage   `json:"expire_seconds"`
	Country         string            `json:"country"`
	TerminalID      string            `json:"terminal_id"`
}

// CreateRefundBody is the body of POST /v1/payments/{id}/refunds.
type CreateRefundBody struct {
	Amount json.RawMessage `json:"amount"`
	Reason string          `json:"reason"`
}

// idempotencyKey reads the Idempotency-Key header every state-changing
// call needs.
func idempotencyKey(r *http.Request) (string, error) {
	vals := r.Header.Values("Idempotency-Key")
	switch {
	case len(vals) == 0 || strings.TrimSpace(vals[0]) == "":
		return "", invalid("Idempotency-Key", "an Idempotency-Key header is required for this request")
	case len(vals) > 1:
		return "", invalid("Idempotency-Key", "send one Idempotency-Key header")
	}
	key := vals[0]
	if len(key) > host.MaxIdempotencyKey {
		return "", invalid("Idempotency-Key", fmt.Sprintf("the Idempotency-Key is longer than %d characters", host.MaxIdempotencyKey))
	}
	for _, c := range []byte(key) {
		if c < 0x21 || c > 0x7e {
			return "", invalid("Idempotency-Key", "the Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return key, nil
}

// decodeCreatePayment turns a request body into the engine's input (the
// tenant fields are the caller's to set).
func decodeCreatePayment(body []byte) (host.CreatePaymentInput, error) {
	var b CreatePaymentBody
	if err := decodeStrict(body, &b); err != nil {
		return host.CreatePaymentInput{}, err
	}
	amount, err := intField("amount", b.Amount, true)
	if err != nil {
		return host.CreatePaymentInput{}, err
	}
	expire, err := intField("expire_seconds", b.ExpireSeconds, false)
	if err != nil {
		return host.CreatePaymentInput{}, err
	}
	if err := requireString("currency", b.Currency); err != nil {
		return host.CreatePaymentInput{}, err
	}
	if err := requireString("method", b.Method); err != nil {
		return host.CreatePaymentInput{}, err
	}
	in := host.CreatePaymentInput{Amount: amount, Currency: core.Currency(b.Currency), Method: core.Method(b.Method), MerchantOrderID: b.MerchantOrderID,
		Description: b.Description, Metadata: b.Metadata, ReturnURL: b.ReturnURL, ExpireSeconds: expire,
		Country: b.Country, TerminalID: b.TerminalID}
	if b.Payer != nil {
		in.Payer = *b.Payer
	}
	return in, nil
}

func (s *Server) createPayment(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	if err := checkContentType(r, "application/json"); err != nil {
		return err
	}
	body, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	in, err := decodeCreatePayment(body)
	if err != nil {
		return err
	}
	in.Tenant, in.IdempotencyKey, in.MerchantID, in.MerchantTags = t.Name, key, t.MerchantID, t.Tags
	p, err := s.engine.CreatePayment(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/payments/"+p.ID)
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) getPayment(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	refresh, err := boolQuery(r, "refresh")
	if err != nil {
		return err
	}
	p, err := s.engine.GetPayment(r.Context(), t.Name, r.PathValue("id"), refreshOption(refresh)...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// emptyBody is the body of calls that take none: nothing, or {}.
type emptyBody struct{}

// noBody accepts an empty body or an empty JSON object.
func (s *Server) noBody(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, s.maxBody)
	if err != nil || len(body) == 0 {
		return err
	}
	if err := checkContentType(r, "application/json"); err != nil {
		return err
	}
	return decodeStrict(body, &emptyBody{})
}

func (s *Server) closePayment(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	if err := s.noBody(w, r); err != nil {
		return err
	}
	p, err := s.engine.ClosePayment(r.Context(), t.Name, r.PathValue("id"), key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) createRefund(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b CreateRefundBody
	if err := decodeJSON(w, r, s.maxBody, &b); err != nil {
		return err
	}
	amount, err := intField("amount", b.Amount, true)
	if err != nil {
		return err
	}
	ref, err := s.engine.CreateRefund(r.Context(), host.CreateRefundInput{Tenant: t.Name, IdempotencyKey: key,
		PaymentID: r.PathValue("id"), Amount: amount, Reason: b.Reason})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/refunds/"+ref.ID)
	writeJSON(w, http.StatusCreated, ref)
	return nil
}

func (s *Server) getRefund(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	refresh, err := boolQuery(r, "refresh")
	if err != nil {
		return err
	}
	ref, err := s.engine.GetRefund(r.Context(), t.Name, r.PathValue("id"), refreshOption(refresh)...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ref)
	return nil
}

// notify hands a provider notification to the account's plugin as it
// arrived and answers the acknowledgement the plugin chose, byte for byte.
// A refused notification (bad signature, replay, unknown account) gets the
// error's status and changes nothing; the reason is in the request log.
func (s *Server) notify(w http.ResponseWriter, r *http.Request, _ *Tenant) error {
	body, err := readBody(w, r, host.MaxNotificationBytes)
	if err != nil {
		return err
	}
	req := &core.ParseNotificationRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body}
	ack, err := s.engine.HandleNotification(r.Context(), r.PathValue("account"), req)
	if err != nil {
		return err
	}
	status := ack.Status
	switch {
	case status == 0:
		status = http.StatusOK
	case status < 200 || status > 599:
		return &core.Error{Code: core.CodePluginFailure, Message: fmt.Sprintf("the plugin acknowledged with HTTP status %d", status)}
	}
	if ack.ContentType != "" {
		w.Header().Set("Content-Type", ack.ContentType)
	} else {
		w.Header()["Content-Type"] = nil // no type rather than a sniffed one
	}
	w.WriteHeader(status)
	w.Write([]byte(ack.Body))
	return nil
}
