package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/payhost/payhost/host"
)

// ReconcileBody is the body of POST /admin/reconciliations.
type ReconcileBody struct {
	Account string `json:"account"`
	Date    string `json:"date"` // YYYY-MM-DD in the account's time zone
}

// ReconciliationsResponse is GET /admin/reconciliations.
type ReconciliationsResponse struct {
	Reconciliations []*host.ReconcileReport `json:"reconciliations"`
}

// postReconciliation downloads the account's statement of the day,
// compares it with Payhost's records and answers the stored report (201,
// whether or not something differs: the report's status says). It changes
// no payment or refund, so it takes no idempotency key: running it again
// makes another report.
func (s *Server) postReconciliation(w http.ResponseWriter, r *http.Request, _ *Tenant) error {
	var b ReconcileBody
	if err := decodeJSON(w, r, s.maxBody, &b); err != nil {
		return err
	}
	if err := requireString("account", b.Account); err != nil {
		return err
	}
	if err := requireString("date", b.Date); err != nil {
		return err
	}
	rep, err := s.engine.Reconcile(r.Context(), host.ReconcileInput{Account: b.Account, Date: b.Date})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/admin/reconciliations/"+rep.ID)
	writeJSON(w, http.StatusCreated, rep)
	return nil
}

func (s *Server) getReconciliation(w http.ResponseWriter, r *http.Request, _ *Tenant) error {
	rep, err := s.engine.GetReconciliation(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// listReconciliations answers the stored reports of ?account= (and
// &date=), newest first, at most &limit= (default 20, at most 100).
func (s *Server) listReconciliations(w http.ResponseWriter, r *http.Request, _ *Tenant) error {
	q := r.URL.Query()
	for name := range q {
		if name != "account" && name != "date" && name != "limit" {
			return invalid(name, fmt.Sprintf("unknown query parameter %q: use account, date and limit", name))
		}
	}
	single := func(name string) (string, error) {
		if v := q[name]; len(v) > 1 {
			return "", invalid(name, name+" is given more than once")
		} else if len(v) == 1 {
			return v[0], nil
		}
		return "", nil
	}
	account, err := single("account")
	if err != nil {
		return err
	}
	if err := requireString("account", account); err != nil {
		return err
	}
	date, err := single("date")
	if err != nil {
		return err
	}
	limitText, err := single("limit")
	if err != nil {
		return err
	}
	limit := 0
	if limitText != "" {
		if limit, err = strconv.Atoi(limitText); err != nil || limit < 1 {
			return invalid("limit", "limit must be a whole number from 1 to 100")
		}
	}
	reps, err := s.engine.ListReconciliations(r.Context(), account, date, limit)
	if err != nil {
		return err
	}
	if reps == nil {
		reps = []*host.ReconcileReport{}
	}
	writeJSON(w, http.StatusOK, ReconciliationsResponse{Reconciliations: reps})
	return nil
}
