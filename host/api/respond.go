package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/payhost/payhost/core"
)

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error *core.Error `json:"error"`
	// Issues lists every problem of a refused rule file (POST /admin/rules).
	Issues []RuleIssue `json:"issues,omitempty"`
}

// statusError is an error answered with a status other than its code's.
type statusError struct {
	status int
	err    *core.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// withStatus makes err answer status instead of its code's status.
func withStatus(status int, err *core.Error) error { return &statusError{status: status, err: err} }

func invalid(param, msg string) *core.Error {
	return &core.Error{Code: core.CodeInvalidRequest, Param: param, Message: msg}
}

// fail writes err as the response: a *core.Error with its code's status
// (or a statusError's), rule-file issues with their list, anything else
// as an internal error whose details stay in the log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *statusError
	if errors.As(err, &se) {
		s.writeError(w, r, se.status, se.err)
		return
	}
	var refused *RulesRefused
	if errors.As(err, &refused) {
		s.writeBody(w, r, http.StatusBadRequest, refused.Error(), &ErrorBody{Error: &core.Error{Code: core.CodeInvalidRequest,
			Param: "body", Message: refused.Summary()}, Issues: refused.Issues})
		return
	}
	ce := core.AsError(err)
	status := ce.Code.HTTPStatus()
	s.writeError(w, r, status, ce)
}

// writeError writes {"error": e} with status. An internal error's message
// (which may name tables, files or addresses) is logged, not answered.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, e *core.Error) {
	logged := e.Error()
	if status == http.StatusInternalServerError && e.Code == core.CodeInternal {
		out := *e
		out.Message = "internal error; the server log has the details (request id " + w.Header().Get("X-Request-Id") + ")"
		out.Err = nil
		e = &out
	}
	s.writeBody(w, r, status, logged, &ErrorBody{Error: e})
}

func (s *Server) writeBody(w http.ResponseWriter, _ *http.Request, status int, logged string, body *ErrorBody) {
	if st, ok := w.(*reqState); ok {
		st.errCode, st.errMsg = body.Error.Code, logged
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as the JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"the response could not be encoded"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
