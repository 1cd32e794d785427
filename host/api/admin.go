package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
)

// RulesAdmin is the admin side of the routing/split/fee rules. cmd/payhost
// adapts *rules.Holder to it, so that host never imports rules.
type RulesAdmin interface {
	// Status reports the serving ruleset and the holder's counters.
	Status() RulesStatus
	// Activate validates a rule file (its tests included) and makes it
	// serve. A refused file returns *RulesRefused and changes nothing.
	Activate(source string, data []byte) (*RulesetInfo, error)
	// DryRun validates a rule file and runs its tests without activating it.
	DryRun(source string, data []byte) (*RulesetInfo, error)
	// Rollback makes the previous ruleset serve again;
	// ErrNoPreviousRuleset when none is kept.
	Rollback() (*RulesetInfo, error)
}

// ErrNoPreviousRuleset is returned by RulesAdmin.Rollback when there is
// nothing to roll back to.
var ErrNoPreviousRuleset = errors.New("no previous ruleset to roll back to")

// RulesSourceAdmin is the source name of rule files posted to the API;
// issues name it as their file.
const RulesSourceAdmin = "admin"

// RulesStatus is GET /admin/rules.
type RulesStatus struct {
	Active          *RulesetInfo `json:"active"` // null before any ruleset is active
	Successes       uint64       `json:"successes"`
	Failures        uint64       `json:"failures"`
	Rollbacks       uint64       `json:"rollbacks"`
	LastError       string       `json:"last_error,omitempty"`
	LastErrorSource string       `json:"last_error_source,omitempty"`
	LastErrorAt     *time.Time   `json:"last_error_at,omitempty"`
	History         []string     `json:"history"` // hashes kept for rollback, newest first
}

// RulesetInfo describes a ruleset.
type RulesetInfo struct {
	Hash        string      `json:"hash"`
	Source      string      `json:"source"` // file path, admin or rollback
	Description string      `json:"description,omitempty"`
	LoadedAt    *time.Time  `json:"loaded_at,omitempty"` // when it started serving
	Rules       []RuleRef   `json:"rules"`
	Tests       *RulesTests `json:"tests,omitempty"` // the file's tests, when it was just loaded
}

// RuleRef names a rule.
type RuleRef struct {
	Kind string `json:"kind"` // routing, split or fee
	ID   string `json:"id"`
}

// RulesTests is the outcome of a rule file's tests.
type RulesTests struct {
	Passed     int               `json:"passed"`
	Failed     int               `json:"failed"`
	RulesHit   int               `json:"rules_hit"`
	RulesTotal int               `json:"rules_total"`
	Missed     []RuleRef         `json:"missed,omitempty"`
	Results    []RulesTestResult `json:"results"`
}

// RulesTestResult is one test of a rule file.
type RulesTestResult struct {
	Name     string   `json:"name"`
	Line     int      `json:"line"`
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
}

// RuleIssue is one problem of a refused rule file, with its position.
type RuleIssue struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Kind    string `json:"kind,omitempty"`    // routing, default_route, split, fee, test, ...
	RuleID  string `json:"rule_id,omitempty"` // the rule, or the test's name
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Text    string `json:"text"` // file:line:col: kind rule "id": field: message
}

// RulesRefused is a refused rule file: every issue found.
type RulesRefused struct {
	Issues []RuleIssue
}

// Error lists the issues, one per line.
func (e *RulesRefused) Error() string {
	lines := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		lines[i] = is.Text
	}
	return strings.Join(lines, "\n")
}

// Summary is a one-line description for the error message.
func (e *RulesRefused) Summary() string {
	switch len(e.Issues) {
	case 0:
		return "the rule file was refused"
	case 1:
		return "the rule file was refused: " + e.Issues[0].Text
	}
	return fmt.Sprintf("the rule file was refused with %d issues; the first: %s", len(e.Issues), e.Issues[0].Text)
}

// RulesChange is the answer of POST /admin/rules and its rollback.
type RulesChange struct {
	DryRun       bool        `json:"dry_run"`
	Activated    bool        `json:"activated"` // the posted (or restored) ruleset now serves
	Changed      bool        `json:"changed"`   // it differs from the ruleset serving before
	PreviousHash string      `json:"previous_hash,omitempty"`
	Ruleset      RulesetInfo `json:"ruleset"`
	Added        []RuleRef   `json:"added"`   // rules it has that the serving ruleset has not
	Removed      []RuleRef   `json:"removed"` // rules the serving ruleset has that it has not
}

// PluginsResponse is GET /admin/plugins.
type PluginsResponse struct {
	Plugins []host.PluginInfo `json:"plugins"`
}

// Status is GET /healthz and /readyz when all is well.
type Status struct {
	Status string `json:"status"`
}

func (s *Server) rulesAdmin() (RulesAdmin, error) {
	if s.rules == nil {
		return nil, withStatus(http.StatusServiceUnavailable, &core.Error{Code: core.CodeUnsupported,
			Message: "this server has no rules administration"})
	}
	return s.rules, nil
}

func (s *Server) getRules(w http.ResponseWriter, _ *http.Request, _ *Tenant) error {
	ra, err := s.rulesAdmin()
	if err != nil {
		return err
	}
	st := ra.Status()
	if st.History == nil {
		st.History = []string{}
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// ruleFileTypes are the media types a posted rule file may have.
var ruleFileTypes = []string{"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain", "application/json"}

func (s *Server) postRules(w http.ResponseWriter, r *http.Request, _ *Tenant) error {
	ra, err := s.rulesAdmin()
	if err != nil {
		return err
	}
	dry, err := boolQuery(r, "dry_run")
	if err != nil {
		return err
	}
	if err := checkContentType(r, ruleFileTypes...); err != nil {
		return err
	}
	data, err := readBody(w, r, MaxRuleFileBytes)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return invalid("body", "the request body is empty: send a rule file")
	}
	prev := ra.Status().Active
	var info *RulesetInfo
	if dry {
		info, err = ra.DryRun(RulesSourceAdmin, data)
	} else {
		info, err = ra.Activate(RulesSourceAdmin, data)
	}
	if err != nil {
		return rulesError(err)
	}
	writeJSON(w, http.StatusOK, change(prev, info, dry, !dry))
	return nil
}

func (s *Server) rollbackRules(w http.ResponseWriter, r *http.Request, _ *Tenant) error {
	ra, err := s.rulesAdmin()
	if err != nil {
		return err
	}
	if err := s.noBody(w, r); err != nil {
		return err
	}
	prev := ra.Status().Active
	info, err := ra.Rollback()
	if err != nil {
		return rulesError(err)
	}
	writeJSON(w, http.StatusOK, change(prev, info, false, true))
	return nil
}

// rulesError maps the rules administration's errors to API errors.
func rulesError(err error) error {
	var refused *RulesRefused
	switch {
	case errors.As(err, &refused):
		return err
	case errors.Is(err, ErrNoPreviousRuleset):
		return &core.Error{Code: core.CodeConflict, Message: err.Error()}
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	// e.g. the audit log could not be written: nothing changed
	return &core.Error{Code: core.CodeInternal, Message: err.Error(), Err: err}
}

// change describes moving from prev (nil: no ruleset) to next.
func change(prev, next *RulesetInfo, dry, activated bool) *RulesChange {
	c := &RulesChange{DryRun: dry, Activated: activated, Ruleset: *next, Added: []RuleRef{}, Removed: []RuleRef{}}
	if c.Ruleset.Rules == nil {
		c.Ruleset.Rules = []RuleRef{}
	}
	had := map[RuleRef]bool{}
	if prev != nil {
		c.PreviousHash = prev.Hash
		for _, r := range prev.Rules {
			had[r] = true
		}
	}
	c.Changed = prev == nil || prev.Hash != next.Hash
	has := map[RuleRef]bool{}
	for _, r := range next.Rules {
		has[r] = true
		if !had[r] {
			c.Added = append(c.Added, r)
		}
	}
	if prev != nil {
		for _, r := range prev.Rules {
			if !has[r] {
				c.Removed = append(c.Removed, r)
			}
		}
	}
	return c
}

func (s *Server) getPlugins(w http.ResponseWriter, _ *http.Request, _ *Tenant) error {
	ps := s.engine.Plugins()
	if ps == nil {
		ps = []host.PluginInfo{}
	}
	writeJSON(w, http.StatusOK, PluginsResponse{Plugins: ps})
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *Tenant) error {
	writeJSON(w, http.StatusOK, Status{Status: "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *Tenant) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.engine.Ready(ctx); err != nil {
		msg := "not ready: " + err.Error()
		if cause, ok := store.UnavailableCause(err); ok {
			msg = "not ready: the payment store is unavailable (" + cause + ")"
		}
		return withStatus(http.StatusServiceUnavailable, &core.Error{Code: core.CodeUnavailable, Message: msg, Err: err})
	}
	writeJSON(w, http.StatusOK, Status{Status: "ready"})
	return nil
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ *Tenant) error {
	if len(s.openapi) == 0 {
		return &core.Error{Code: core.CodeNotFound, Message: "no OpenAPI document is configured"}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(s.openapi)
	return nil
}
