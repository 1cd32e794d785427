package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/payhost/payhost/host"
)

// CreateWebhookEndpointBody is the body of POST /v1/webhook_endpoints.
type CreateWebhookEndpointBody struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

func (s *Server) createWebhookEndpoint(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var b CreateWebhookEndpointBody
	if err := decodeJSON(w, r, s.maxBody, &b); err != nil {
		return err
	}
	if err := requireString("url", b.URL); err != nil {
		return err
	}
	if b.Events == nil {
		return invalid("events", `events is required: a list of event types, "<object>.*" or "*"`)
	}
	ep, err := s.engine.CreateWebhookEndpoint(r.Context(), host.CreateWebhookEndpointInput{Tenant: t.Name, IdempotencyKey: key,
		URL: b.URL, Events: b.Events, Description: b.Description})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/webhook_endpoints/"+ep.ID)
	writeJSON(w, http.StatusCreated, ep)
	return nil
}

func (s *Server) listWebhookEndpoints(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	list, err := s.engine.ListWebhookEndpoints(r.Context(), t.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) getWebhookEndpoint(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	ep, err := s.engine.GetWebhookEndpoint(r.Context(), t.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ep)
	return nil
}

func (s *Server) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	if err := s.noBody(w, r); err != nil {
		return err
	}
	ep, err := s.engine.DeleteWebhookEndpoint(r.Context(), t.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ep)
	return nil
}

// stringQuery reads a query parameter given at most once.
func stringQuery(r *http.Request, name string) (string, error) {
	v := r.URL.Query()[name]
	if len(v) > 1 {
		return "", invalid(name, name+" is given more than once")
	}
	if len(v) == 0 {
		return "", nil
	}
	return v[0], nil
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	in := host.ListEventsInput{Tenant: t.Name}
	var err error
	if in.Type, err = stringQuery(r, "type"); err != nil {
		return err
	}
	if in.StartingAfter, err = stringQuery(r, "starting_after"); err != nil {
		return err
	}
	limit, err := stringQuery(r, "limit")
	if err != nil {
		return err
	}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 {
			return invalid("limit", fmt.Sprintf("limit must be an integer from 1, got %q", limit))
		}
		in.Limit = n
	}
	list, err := s.engine.ListEvents(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	ev, err := s.engine.GetEvent(r.Context(), t.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ev)
	return nil
}

func (s *Server) listEventDeliveries(w http.ResponseWriter, r *http.Request, t *Tenant) error {
	list, err := s.engine.ListEventDeliveries(r.Context(), t.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}
