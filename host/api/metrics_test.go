package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/host/store"
)

type fakeStats struct{ st *store.Stats }

func (f fakeStats) Stats() store.Stats { return *f.st }

// TestWatchStore: the store's counters are read at every scrape.
func TestWatchStore(t *testing.T) {
	m, err := NewMetrics(nil)
	require.NoError(t, err)
	st := &store.Stats{Commits: 3, Transactions: 4, Rollbacks: 1, Statements: 12}
	require.NoError(t, m.WatchStore(fakeStats{st}))
	scrape := func() string {
		w := httptest.NewRecorder()
		promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return w.Body.String()
	}
	out := scrape()
	for _, want := range []string{"payhost_store_commits_total 3\n", "payhost_store_transactions_total 4\n",
		"payhost_store_rollbacks_total 1\n", "payhost_store_statements_total 12\n"} {
		assert.Contains(t, out, want)
	}
	st.Commits = 5
	assert.Contains(t, scrape(), "payhost_store_commits_total 5\n")
}
