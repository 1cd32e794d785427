package rules

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payhost/payhost/core"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// exampleRuleset loads examples/rules.yaml with examples/catalogue.yaml, as
// `payhost rules simulate examples/rules.yaml` does.
func exampleRuleset(t testing.TB) *Ruleset {
	t.Helper()
	cat, err := LoadCatalogueFile("../examples/catalogue.yaml")
	require.NoError(t, err)
	rs, err := LoadFile("../examples/rules.yaml", Options{Catalogue: cat})
	require.NoError(t, err)
	return rs
}

func TestExampleRulesPass(t *testing.T) {
	rs := exampleRuleset(t)
	rep := rs.TestReport()
	require.Zero(t, rep.Failed)
	require.Equal(t, rep.Total, rep.Hit, "the example's tests cover every rule; missed %v", rep.Missed)

	// Only Haotian runs in the sandbox: every CNY decision of the example
	// transactions must be able to fall back to a haotian/main channel.
	data, err := os.ReadFile("../examples/txs.ndjson")
	require.NoError(t, err)
	n := 0
	for line := range strings.Lines(string(data)) {
		var x core.Transaction
		require.NoError(t, json.Unmarshal([]byte(line), &x))
		d, err := rs.Decide(t.Context(), x)
		require.NoError(t, err, line)
		if x.Currency != "CNY" {
			continue
		}
		n++
		has := false
		for _, c := range d.Channels {
			has = has || (c.Plugin == "haotian" && c.Account == "main")
		}
		require.True(t, has, "no haotian/main fallback for %s: %v", line, d.Channels)
	}
	require.Greater(t, n, 20)
}

// TestExplainGolden compares the explanation JSON of `payhost rules
// simulate --tx` for example transactions with testdata/golden. Run with
// -update to rewrite them after an intended change.
func TestExplainGolden(t *testing.T) {
	rs := exampleRuleset(t)
	inputs, err := filepath.Glob("testdata/golden/*.tx.json")
	require.NoError(t, err)
	inputs = append(inputs, "../examples/tx.json")
	require.Greater(t, len(inputs), 3)
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".tx.json")
		if in == "../examples/tx.json" {
			name = "examples-tx"
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			require.NoError(t, err)
			var x core.Transaction
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&x))
			d, err := rs.Decide(t.Context(), x)
			require.NoError(t, err)
			got, err := Explain(x, d).JSON()
			require.NoError(t, err)
			golden := filepath.Join("testdata", "golden", name+".explain.json")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./rules/ -run TestExplainGolden -update")
			require.Equal(t, string(want), string(got))
		})
	}
}
