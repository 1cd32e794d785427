package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitFor polls cond until it holds, failing the test after a generous
// deadline. It never asserts how long anything took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// writeRenameReplace saves like many editors: a new file renamed over the old.
func writeRenameReplace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp~"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

// writeHalfThenRest truncates the file, writes half, pauses, then the rest:
// the watcher may see the half-written file and must refuse it.
func writeHalfThenRest(t *testing.T, path, content string, pause time.Duration) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o644)
	require.NoError(t, err)
	half := len(content) / 2
	_, err = f.WriteString(content[:half])
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	time.Sleep(pause)
	_, err = f.WriteString(content[half:])
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// TestWatchRace decides continuously from several goroutines while the
// watched file is rewritten many times (in place, by rename, and in two
// halves), and checks that no decision fails or mixes two versions.
func TestWatchRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(versionFile(1)), 0o644))
	h := NewHolder(HolderOptions{Debounce: 10 * time.Millisecond})
	w, err := h.WatchFile(t.Context(), path)
	require.NoError(t, err)
	defer w.Close()
	require.Equal(t, hashOf([]byte(versionFile(1))), h.Current().Hash())

	var (
		stop      atomic.Bool
		decisions atomic.Int64
		failures  atomic.Int64
		firstErr  atomic.Value
		maxSeen   atomic.Int64
		wg        sync.WaitGroup
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				d, err := h.Decide(context.Background(), tx(fmt.Sprintf("g%d-%d", g, i), 100_000, "CNY", "alipay.qr"))
				if err == nil {
					var v int
					if v, err = checkVersion(d); err == nil {
						for cur := maxSeen.Load(); int64(v) > cur && !maxSeen.CompareAndSwap(cur, int64(v)); cur = maxSeen.Load() {
						}
					}
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				decisions.Add(1)
			}
		}()
	}

	const versions = 40
	for n := 2; n <= versions; n++ {
		content := versionFile(n)
		switch n % 3 {
		case 0:
			require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		case 1:
			writeRenameReplace(t, path, content)
		case 2:
			writeHalfThenRest(t, path, content, 25*time.Millisecond)
		}
		want := hashOf([]byte(content))
		waitFor(t, fmt.Sprintf("version %d", n), func() bool { return h.Current().Hash() == want })
	}
	// The deciders may not have run since the last swap on a busy machine:
	// wait for one of them to decide with the last version.
	waitFor(t, "a decision with the last version", func() bool { return maxSeen.Load() == versions })
	stop.Store(true)
	wg.Wait()

	assert.Zero(t, failures.Load(), "failed or mixed decisions; first: %v", firstErr.Load())
	assert.Positive(t, decisions.Load())
	assert.Equal(t, int64(versions), maxSeen.Load())
	st := h.Status()
	assert.GreaterOrEqual(t, st.Successes, uint64(versions), "every version was activated")
	t.Logf("%d decisions; %d activations, %d refused (half-written) candidates", decisions.Load(), st.Successes, st.Failures)
}

// TestWatchRefusesBrokenEdit: a broken edit is refused while the old rules
// keep serving; the failure is visible; a fixed edit is then activated.
func TestWatchRefusesBrokenEdit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(versionFile(1)), 0o644))
	auditPath := filepath.Join(dir, "audit.jsonl")
	audit, err := OpenJSONLinesAudit(auditPath)
	require.NoError(t, err)
	defer audit.Close()
	h := NewHolder(HolderOptions{Debounce: 10 * time.Millisecond, Audit: audit})
	ctx, cancel := context.WithCancel(t.Context())
	w, err := h.WatchFile(ctx, path)
	require.NoError(t, err)
	v1 := h.Current().Hash()

	broken := versionFile(2) + "  - id: oops\n    when: amount / 2 > 1\n    fixed: 1\n"
	writeRenameReplace(t, path, broken)
	waitFor(t, "the broken edit to be refused", func() bool { return h.Status().Failures >= 1 })
	st := h.Status()
	assert.Equal(t, v1, st.Hash, "the old rules keep serving")
	assert.Contains(t, st.LastError, "rules.yaml:12:11: fee rule \"oops\": when (expression column 8): division is not allowed")
	d, err := h.Decide(t.Context(), tx("p", 100, "CNY", "alipay.qr"))
	require.NoError(t, err)
	v, err := checkVersion(d)
	require.NoError(t, err)
	assert.Equal(t, 1, v)

	// A failing test refuses the file too.
	writeRenameReplace(t, path, versionFile(3)+"    min: 100\n")
	waitFor(t, "the failing edit to be refused", func() bool { return h.Status().Failures >= 2 })
	assert.Contains(t, h.Status().LastError, `test "version 3": fee: want 3, got 100`)
	assert.Equal(t, v1, h.Current().Hash())

	// A deleted file keeps the rules serving.
	require.NoError(t, os.Remove(path))
	waitFor(t, "the missing file to be reported", func() bool { return h.Status().Failures >= 3 })
	assert.Equal(t, v1, h.Current().Hash())

	// The fix is picked up.
	writeRenameReplace(t, path, versionFile(4))
	waitFor(t, "the fixed edit", func() bool { return h.Current().Hash() == hashOf([]byte(versionFile(4))) })

	// After a rollback the watcher does not re-activate the unchanged file.
	_, err = h.Rollback()
	require.NoError(t, err)
	require.NoError(t, w.reloadForTest())
	assert.Equal(t, v1, h.Current().Hash())

	cancel()
	<-w.Done()
	require.NoError(t, w.Close())
	data, err := os.ReadFile(auditPath)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"outcome":"refused"`)
	assert.Contains(t, string(data), `"outcome":"rolled_back"`)
}

func TestWatchFileInitialFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte("version: 1\n"), 0o644))
	h := NewHolder(HolderOptions{})
	_, err := h.WatchFile(t.Context(), path)
	require.Error(t, err, "nothing would serve")
	assert.Contains(t, err.Error(), "default_route is required")

	// With a ruleset already serving, watching a broken file keeps it.
	_, err = h.Activate(SourceAdmin, []byte(versionFile(1)))
	require.NoError(t, err)
	w, err := h.WatchFile(t.Context(), path)
	require.NoError(t, err)
	defer w.Close()
	assert.Equal(t, hashOf([]byte(versionFile(1))), h.Current().Hash())
	assert.Equal(t, uint64(2), h.Status().Failures)
}
