package rules

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// versionFile is a valid rule file whose route and fee both encode n: the
// default route uses account "v<n>" and the fee is n. Its test comes first
// and its fee last, so that every strict prefix of the file is refused:
// a decision that mixes two versions is detectable, and a half-written
// file can never be activated (except without its final newline, which is
// the same rules).
func versionFile(n int) string {
	return fmt.Sprintf(`tests:
  - name: version %[1]d
    tx: {payment_id: p, amount: 100000, currency: CNY, method: alipay.qr}
    expect: {channel: haotian/v%[1]d/alipay.qr, fee: %[1]d}
version: 1
default_route:
  channel: haotian/v%[1]d/alipay.qr
fee:
  - id: fixed-fee
    fixed: %[1]d
`, n)
}

// checkVersion verifies that route and fee come from the same version.
func checkVersion(d core.Decision) (int, error) {
	if len(d.Channels) == 0 {
		return 0, errors.New("no channel")
	}
	var n int
	if _, err := fmt.Sscanf(d.Channels[0].Account, "v%d", &n); err != nil {
		return 0, fmt.Errorf("account %q: %w", d.Channels[0].Account, err)
	}
	if int64(n) != d.Fee {
		return 0, fmt.Errorf("mixed decision: route from v%d, fee %d", n, d.Fee)
	}
	return n, nil
}

func TestVersionFilePrefixesAreRefused(t *testing.T) {
	src := versionFile(12)
	mustLoad(t, src, Options{})
	// Every prefix but the one missing only the final newline.
	for i := range len(src) - 1 {
		if _, err := Load("p.yaml", []byte(src[:i]), Options{}); err == nil {
			t.Fatalf("prefix of %d bytes loads:\n%s", i, src[:i])
		}
	}
}

type memAudit struct{ entries []AuditEntry }

func (m *memAudit) Record(e AuditEntry) error { m.entries = append(m.entries, e); return nil }

func TestHolderActivateRollbackStatus(t *testing.T) {
	audit := &memAudit{}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	h := NewHolder(HolderOptions{Audit: audit, Keep: 2, Now: func() time.Time { return now }})
	_, err := h.Decide(t.Context(), tx("p", 1, "CNY", "alipay.qr"))
	assert.ErrorIs(t, err, ErrNoRuleset)
	assert.Nil(t, h.Current())

	var hashes []string
	for n := 1; n <= 4; n++ {
		rs, err := h.Activate(SourceAdmin, []byte(versionFile(n)))
		require.NoError(t, err)
		hashes = append(hashes, rs.Hash())
		d, err := h.Decide(t.Context(), tx("p", 100, "CNY", "alipay.qr"))
		require.NoError(t, err)
		v, err := checkVersion(d)
		require.NoError(t, err)
		assert.Equal(t, n, v)
	}
	// Activating the serving content again changes nothing.
	rs, err := h.Activate(SourceAdmin, []byte(versionFile(4)))
	require.NoError(t, err)
	assert.Equal(t, hashes[3], rs.Hash())

	// A broken candidate is refused and v4 keeps serving.
	_, err = h.Activate(SourceAdmin, []byte("version: 1\nrouting: nope\n"))
	require.Error(t, err)
	assert.Equal(t, hashes[3], h.Current().Hash())
	st := h.Status()
	assert.Equal(t, uint64(4), st.Successes)
	assert.Equal(t, uint64(1), st.Failures)
	assert.Contains(t, st.LastError, "admin:2:10: routing: want a list")
	assert.Equal(t, SourceAdmin, st.LastErrorSource)
	assert.Equal(t, []string{hashes[2], hashes[1]}, st.History, "Keep: 2")

	// Rollback walks back through the kept rulesets, then stops.
	rs, err = h.Rollback()
	require.NoError(t, err)
	assert.Equal(t, hashes[2], rs.Hash())
	rs, err = h.Rollback()
	require.NoError(t, err)
	assert.Equal(t, hashes[1], rs.Hash())
	_, err = h.Rollback()
	assert.ErrorIs(t, err, ErrNoRollback)
	assert.Equal(t, hashes[1], h.Current().Hash())
	assert.Equal(t, uint64(2), h.Status().Rollbacks)

	var got []string
	for _, e := range audit.entries {
		got = append(got, fmt.Sprintf("%s %s %s->%s", e.Outcome, e.Source, short(e.PreviousHash), short(e.Hash)))
		assert.Equal(t, now, e.Time)
	}
	s := short
	assert.Equal(t, []string{
		"activated admin ->" + s(hashes[0]),
		"activated admin " + s(hashes[0]) + "->" + s(hashes[1]),
		"activated admin " + s(hashes[1]) + "->" + s(hashes[2]),
		"activated admin " + s(hashes[2]) + "->" + s(hashes[3]),
		"refused admin " + s(hashes[3]) + "->" + s(hashOf([]byte("version: 1\nrouting: nope\n"))),
		"rolled_back rollback " + s(hashes[3]) + "->" + s(hashes[2]),
		"rolled_back rollback " + s(hashes[2]) + "->" + s(hashes[1]),
	}, got)
	assert.NotEmpty(t, audit.entries[4].Error)
}

func TestHolderDryRun(t *testing.T) {
	h := NewHolder(HolderOptions{})
	rs, err := h.DryRun("candidate", []byte(versionFile(7)))
	require.NoError(t, err)
	assert.Nil(t, h.Current(), "a dry run does not activate")
	assert.Equal(t, 1, rs.TestReport().Passed)
	_, err = h.DryRun("candidate", []byte(strings.Replace(versionFile(7), "fee: 7}", "fee: 8}", 1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `test "version 7": fee: want 8, got 7`)
	assert.Equal(t, uint64(0), h.Status().Failures, "a dry run is not a refused activation")
}

type failingAudit struct{}

func (failingAudit) Record(AuditEntry) error { return errors.New("disk full") }

func TestHolderRefusesUnauditedChange(t *testing.T) {
	h := NewHolder(HolderOptions{Audit: failingAudit{}})
	_, err := h.Activate(SourceAdmin, []byte(versionFile(1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
	assert.Nil(t, h.Current())
}

func TestJSONLinesAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	a, err := OpenJSONLinesAudit(path)
	require.NoError(t, err)
	h := NewHolder(HolderOptions{Audit: a})
	_, err = h.Activate("rules.yaml", []byte(versionFile(1)))
	require.NoError(t, err)
	_, err = h.Activate("rules.yaml", []byte("version: 3\n"))
	require.Error(t, err)
	require.NoError(t, a.Close())

	// Reopening appends.
	a, err = OpenJSONLinesAudit(path)
	require.NoError(t, err)
	require.NoError(t, a.Record(AuditEntry{Source: SourceRollback, Outcome: OutcomeRolledBack}))
	require.NoError(t, a.Close())
	assert.Error(t, a.Record(AuditEntry{}), "closed")

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var outcomes []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e AuditEntry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		outcomes = append(outcomes, e.Outcome+" "+e.Source)
		if e.Outcome == OutcomeRefused {
			assert.Contains(t, e.Error, "want version: 1, got 3")
			assert.Equal(t, h.Current().Hash(), e.PreviousHash)
		}
	}
	assert.Equal(t, []string{"activated rules.yaml", "refused rules.yaml", "rolled_back rollback"}, outcomes)
}
