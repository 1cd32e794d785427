package rules

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Audit outcomes.
const (
	OutcomeActivated  = "activated"   // a new ruleset now serves
	OutcomeRefused    = "refused"     // a candidate failed validation; the old ruleset keeps serving
	OutcomeRolledBack = "rolled_back" // a previous ruleset serves again
)

// Audit sources other than a file path.
const (
	SourceAdmin    = "admin"    // the admin API
	SourceRollback = "rollback" // Holder.Rollback
)

// AuditEntry is one change (or refused change) of the serving ruleset.
type AuditEntry struct {
	Time         time.Time `json:"time"`
	Hash         string    `json:"hash,omitempty"`          // the candidate or restored ruleset
	PreviousHash string    `json:"previous_hash,omitempty"` // what served before
	Source       string    `json:"source"`                  // file path, "admin" or "rollback"
	Outcome      string    `json:"outcome"`                 // activated, refused or rolled_back
	Error        string    `json:"error,omitempty"`
}

// AuditSink records audit entries, in order, append-only.
type AuditSink interface {
	Record(AuditEntry) error
}

// JSONLinesAudit is an [AuditSink] appending one JSON object per line to
// a file, synced to disk after each entry. It is safe for concurrent use.
type JSONLinesAudit struct {
	mu sync.Mutex
	f  *os.File
}

// OpenJSONLinesAudit opens (creating if needed) an audit file for appending.
func OpenJSONLinesAudit(path string) (*JSONLinesAudit, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("rules: open audit log: %w", err)
	}
	return &JSONLinesAudit{f: f}, nil
}

// Record appends e as one line.
func (a *JSONLinesAudit) Record(e AuditEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("rules: audit entry: %w", err)
	}
	line = append(line, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return fmt.Errorf("rules: audit log is closed")
	}
	if _, err := a.f.Write(line); err != nil {
		return fmt.Errorf("rules: write audit log: %w", err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("rules: sync audit log: %w", err)
	}
	return nil
}

// Close closes the file.
func (a *JSONLinesAudit) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	return err
}
