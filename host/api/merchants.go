package api

import (
	"encoding/base64"
	"net/http"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
)

// Merchant onboarding routes: /v1/merchants and its sub-resources. Every
// answer is the merchant (host.Merchant) with personal data masked.

// CreateMerchantBody is the body of POST /v1/merchants.
type CreateMerchantBody struct {
	Account     string                    `json:"account"` // the provider account that onboards the merchant
	Application *core.MerchantApplication `json:"application"`
	Draft       bool                      `json:"draft"` // keep it unsent: upload documents first, then submit
}

// UploadDocumentBody is the body of POST /v1/merchants/{id}/documents:
// the document's content in base64 (RFC 4648 standard alphabet, padded),
// at most host.MaxDocumentBytes once decoded.
type UploadDocumentBody struct {
	Type        string `json:"type"`
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	Content     string `json:"content"`
	Description string `json:"description"`
}

// SubmitMerchantBody is the optional body of POST /v1/merchants/{id}/submit.
type SubmitMerchantBody struct {
	Documents []string          `json:"documents"` // document ids; none = the latest of each type
	Extra     map[string]string `json:"extra"`
}

// ActivateChannelsBody is the body of POST /v1/merchants/{id}/channels.
type ActivateChannelsBody struct {
	Channels []core.ChannelActivation `json:"channels"`
	Category string                   `json:"category"`
	Modify   bool                     `json:"modify"`
	Extra    map[string]string        `json:"extra"`
}

// RealNameBody is the body of POST /v1/merchants/{id}/realname.
type RealNameBody struct {
	Wallet      string            `json:"wallet"`
	ContactType string            `json:"contact_type"`
	Contact     *core.Person      `json:"contact"`
	Documents   []string          `json:"documents"`
	Extra       map[string]string `json:"extra"`
}

// SettlementAccountBody is the body of POST /v1/merchants/{id}/settlement_account.
type SettlementAccountBody struct {
	Account *core.BankAccount `json:"account"`
	Extra   map[string]string `json:"extra"`
}

// maxDocumentBody bounds the body of a document upload: the base64 of the
// largest document plus room for the other fields.
var maxDocumentBody = int64(base64.StdEncoding.EncodedLen(host.MaxDocumentBytes)) + DefaultMaxBodyBytes

func (s *Server) createMerchant(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b CreateMerchantBody
	if err := decodeJSON(w, r, s.maxBody, &b); err != nil {
		return err
	}
	if err := requireString("account", b.Account); err != nil {
		return err
	}
	if b.Application == nil {
		return invalid("application", "application is required")
	}
	m, err := s.engine.CreateMerchant(r.Context(), host.CreateMerchantInput{Tenant: t.Name, IdempotencyKey: key,
		Account: b.Account, Application: *b.Application, Draft: b.Draft})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/merchants/"+m.ID)
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (s *Server) getMerchant(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	refresh, err := boolQuery(r, "refresh")
	if err != nil {
		return err
	}
	m, err := s.engine.GetMerchant(r.Context(), t.Name, r.PathValue("id"), refreshOption(refresh)...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) uploadMerchantDocument(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b UploadDocumentBody
	if err := decodeJSON(w, r, maxDocumentBody, &b); err != nil {
		return err
	}
	if err := requireString("content", b.Content); err != nil {
		return err
	}
	content, err := base64.StdEncoding.DecodeString(b.Content)
	if err != nil {
		return invalid("content", "content must be base64 (RFC 4648 standard alphabet, padded)")
	}
	m, err := s.engine.UploadMerchantDocument(r.Context(), host.UploadMerchantDocumentInput{Tenant: t.Name, IdempotencyKey: key,
		MerchantID: r.PathValue("id"), Type: b.Type, FileName: b.FileName, ContentType: b.ContentType, Content: content,
		Description: b.Description})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) submitMerchant(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b SubmitMerchantBody
	body, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	if len(body) > 0 {
		if err := checkContentType(r, "application/json"); err != nil {
			return err
		}
		if err := decodeStrict(body, &b); err != nil {
			return err
		}
	}
	m, err := s.engine.SubmitMerchant(r.Context(), host.SubmitMerchantInput{Tenant: t.Name, IdempotencyKey: key,
		MerchantID: r.PathValue("id"), Documents: b.Documents, Extra: b.Extra})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) activateMerchantChannels(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b ActivateChannelsBody
	if err := decodeJSON(w, r, s.maxBody, &b); err != nil {
		return err
	}
	m, err := s.engine.ActivateMerchantChannels(r.Context(), host.ActivateMerchantChannelsInput{Tenant: t.Name, IdempotencyKey: key,
		MerchantID: r.PathValue("id"), Channels: b.Channels, Category: b.Category, Modify: b.Modify, Extra: b.Extra})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) requestRealName(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b RealNameBody
	if err := decodeJSON(w, r, s.maxBody, &b); err != nil {
		return err
	}
	in := host.RealNameInput{Tenant: t.Name, IdempotencyKey: key, MerchantID: r.PathValue("id"), Wallet: b.Wallet,
		ContactType: b.ContactType, Documents: b.Documents, Extra: b.Extra}
	if b.Contact != nil {
		in.Contact = *b.Contact
	}
	m, err := s.engine.RequestRealName(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) changeSettlementAccount(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b SettlementAccountBody
	if err := decodeJSON(w, r, s.maxBody, &b); err != nil {
		return err
	}
	if b.Account == nil {
		return invalid("account", "account is required")
	}
	m, err := s.engine.ChangeSettlementAccount(r.Context(), host.SettlementAccountInput{Tenant: t.Name, IdempotencyKey: key,
		MerchantID: r.PathValue("id"), Account: *b.Account, Extra: b.Extra})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}
