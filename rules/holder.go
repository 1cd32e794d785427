package rules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payhost/payhost/core"
)

// HolderOptions configure a [Holder].
type HolderOptions struct {
	// Options apply to every ruleset the holder loads (SkipTests is
	// ignored: a ruleset serves only if its tests pass).
	Options
	// Logger receives activations, refusals and watch errors. Nil discards.
	Logger *slog.Logger
	// Audit records every activation, refusal and rollback. Nil records
	// nothing.
	Audit AuditSink
	// Keep is how many previous rulesets are kept for Rollback (default 5).
	Keep int
	// Debounce is how long a watched file must stay quiet before it is
	// reloaded (default 200ms), so half-written saves are not read.
	Debounce time.Duration
	// Now is the clock for audit entries and status (default time.Now).
	Now func() time.Time
}

// Holder serves the current ruleset and replaces it safely: a candidate is
// loaded into a fresh ruleset, validated (its tests included), and only
// then swapped in with an atomic pointer; a refused candidate leaves the
// current ruleset serving. It keeps the previous rulesets for rollback and
// audits every change. It is safe for concurrent use.
type Holder struct {
	opts HolderOptions
	log  *slog.Logger
	cur  atomic.Pointer[Ruleset]

	mu        sync.Mutex // serialises changes; guards the fields below
	history   []*Ruleset // previous rulesets, oldest first
	status    Status
	activated time.Time
}

// Status is what a holder reports about its rulesets.
type Status struct {
	Hash            string    `json:"hash,omitempty"`   // serving ruleset, empty if none
	Source          string    `json:"source,omitempty"` // where it came from
	ActivatedAt     time.Time `json:"activated_at,omitzero"`
	Successes       uint64    `json:"successes"` // activations (file reloads and admin)
	Failures        uint64    `json:"failures"`  // refused candidates
	Rollbacks       uint64    `json:"rollbacks"`
	LastError       string    `json:"last_error,omitempty"`
	LastErrorSource string    `json:"last_error_source,omitempty"`
	LastErrorAt     time.Time `json:"last_error_at,omitzero"`
	// History lists the hashes kept for rollback, newest first.
	History []string `json:"history,omitempty"`
}

// ErrNoRuleset is returned by Holder.Decide before any ruleset is active.
var ErrNoRuleset = &core.Error{Code: core.CodeInternal, Message: "rules: no ruleset is active"}

// ErrNoRollback is returned by Holder.Rollback when no previous ruleset is kept.
var ErrNoRollback = errors.New("rules: no previous ruleset to roll back to")

// NewHolder returns a holder with no ruleset; activate one with Activate
// or WatchFile.
func NewHolder(opts HolderOptions) *Holder {
	if opts.Keep <= 0 {
		opts.Keep = 5
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 200 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts.SkipTests = false
	return &Holder{opts: opts, log: log}
}

// Current returns the serving ruleset, or nil if none is active. A caller
// deciding a transaction takes Current once and uses that ruleset from
// start to end.
func (h *Holder) Current() *Ruleset { return h.cur.Load() }

// Decide decides tx with the current ruleset (taken once).
func (h *Holder) Decide(ctx context.Context, tx core.Transaction) (core.Decision, error) {
	rs := h.cur.Load()
	if rs == nil {
		return core.Decision{}, ErrNoRuleset
	}
	return rs.Decide(ctx, tx)
}

// DryRun loads and validates data, running its tests, without swapping it
// in. The returned ruleset carries its TestReport.
func (h *Holder) DryRun(source string, data []byte) (*Ruleset, error) {
	return Load(source, data, h.opts.Options)
}

// Activate validates data and, if it passes, makes it the serving ruleset.
// source names where it came from (a file path or "admin"). If data is the
// ruleset already serving, nothing changes. A refused candidate is counted,
// logged and audited, and the current ruleset keeps serving.
func (h *Holder) Activate(source string, data []byte) (*Ruleset, error) {
	rs, err := Load(source, data, h.opts.Options)
	h.mu.Lock()
	defer h.mu.Unlock()
	prev := h.cur.Load()
	if err != nil {
		h.refuseLocked(source, hashOf(data), prev, err)
		return nil, err
	}
	if prev != nil && prev.hash == rs.hash {
		return prev, nil
	}
	if aerr := h.auditLocked(AuditEntry{Hash: rs.hash, PreviousHash: hashOrEmpty(prev), Source: source, Outcome: OutcomeActivated}); aerr != nil {
		err := fmt.Errorf("rules: not activated, audit failed: %w", aerr)
		h.refuseLocked(source, rs.hash, prev, err)
		return nil, err
	}
	if prev != nil {
		h.history = append(h.history, prev)
		if len(h.history) > h.opts.Keep {
			h.history = h.history[len(h.history)-h.opts.Keep:]
		}
	}
	h.cur.Store(rs)
	h.status.Successes++
	h.activated = h.opts.Now()
	h.log.Info("rules activated", "hash", rs.ShortHash(), "previous", shortOrEmpty(prev), "source", source)
	return rs, nil
}

// Rollback makes the most recent previous ruleset serve again. Calling it
// again goes one further back.
func (h *Holder) Rollback() (*Ruleset, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.history) == 0 {
		return nil, ErrNoRollback
	}
	prev := h.history[len(h.history)-1]
	cur := h.cur.Load()
	if err := h.auditLocked(AuditEntry{Hash: prev.hash, PreviousHash: hashOrEmpty(cur), Source: SourceRollback, Outcome: OutcomeRolledBack}); err != nil {
		return nil, fmt.Errorf("rules: not rolled back, audit failed: %w", err)
	}
	h.history = h.history[:len(h.history)-1]
	h.cur.Store(prev)
	h.status.Rollbacks++
	h.activated = h.opts.Now()
	h.log.Warn("rules rolled back", "hash", prev.ShortHash(), "from", shortOrEmpty(cur))
	return prev, nil
}

// Status reports the serving ruleset, counters and the last error.
func (h *Holder) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.status
	if rs := h.cur.Load(); rs != nil {
		st.Hash, st.Source, st.ActivatedAt = rs.hash, rs.source, h.activated
	}
	st.History = make([]string, 0, len(h.history))
	for i := len(h.history) - 1; i >= 0; i-- {
		st.History = append(st.History, h.history[i].hash)
	}
	return st
}

// recordFailure counts and reports a failure that produced no candidate
// (e.g. an unreadable watched file).
func (h *Holder) recordFailure(source string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refuseLocked(source, "", h.cur.Load(), err)
}

func (h *Holder) refuseLocked(source, hash string, prev *Ruleset, err error) {
	h.status.Failures++
	h.status.LastError = err.Error()
	h.status.LastErrorSource = source
	h.status.LastErrorAt = h.opts.Now()
	h.log.Error("rules refused; previous ruleset keeps serving", "source", source, "hash", short(hash), "serving", shortOrEmpty(prev), "error", err)
	if aerr := h.auditLocked(AuditEntry{Hash: hash, PreviousHash: hashOrEmpty(prev), Source: source, Outcome: OutcomeRefused, Error: err.Error()}); aerr != nil {
		h.log.Error("rules audit failed", "error", aerr)
	}
}

func (h *Holder) auditLocked(e AuditEntry) error {
	if h.opts.Audit == nil {
		return nil
	}
	e.Time = h.opts.Now().UTC()
	return h.opts.Audit.Record(e)
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(Canonical(data))
	return hex.EncodeToString(sum[:])
}

func hashOrEmpty(rs *Ruleset) string {
	if rs == nil {
		return ""
	}
	return rs.hash
}

func shortOrEmpty(rs *Ruleset) string {
	if rs == nil {
		return ""
	}
	return rs.ShortHash()
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
