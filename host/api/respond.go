package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/store"
)

// Retry-After advice, in seconds.
const (
	// storeRetryAfter is the advice of an answer that the store is
	// unavailable: long enough not to hammer a database coming back, short
	// enough that a brief outage costs a client little.
	storeRetryAfter = 2
	// defaultRetryAfter is the advice of a circuit_open without its own.
	defaultRetryAfter = 1
	// maxRetryAfter caps any advice (a plugin's rate_limited may carry one).
	maxRetryAfter = 3600
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
	ce := publicError(err)
	status := ce.Code.HTTPStatus()
	s.writeError(w, r, status, ce)
}

// publicError is the *core.Error answered for err: err's own, except that
// an error of a store that cannot serve (store.ErrUnavailable), whatever
// the engine wrapped it in, is unavailable (503, retryable, Retry-After)
// with a message naming the cause and no host, file or query. Every route
// answers through it, so none can turn an outage into a 500.
func publicError(err error) *core.Error {
	if cause, ok := store.UnavailableCause(err); ok {
		return &core.Error{Code: core.CodeUnavailable, Retryable: true, RetryAfter: storeRetryAfter,
			Message: "the payment store is unavailable (" + cause + "); retry the same request, with the same Idempotency-Key, after Retry-After",
			Err:     err}
	}
	return core.AsError(err)
}

// retryAfter is the Retry-After (seconds) to send with e; 0 = none.
func retryAfter(e *core.Error) int {
	n := e.RetryAfter
	if n <= 0 {
		switch e.Code {
		case core.CodeUnavailable:
			n = storeRetryAfter
		case core.CodeCircuitOpen:
			n = defaultRetryAfter
		default:
			return 0
		}
	}
	return min(n, maxRetryAfter)
}

// writeError writes {"error": e} with status, and a Retry-After header when
// e advises one (always for unavailable and circuit_open). An internal
// error's message (which may name tables, files or addresses) is logged,
// not answered.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, e *core.Error) {
	logged := e.Error()
	if n := retryAfter(e); n > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(n))
		if e.RetryAfter != n {
			out := *e
			out.RetryAfter = n
			e = &out
		}
	}
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
