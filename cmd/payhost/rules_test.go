package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	exampleRules     = "../../examples/rules.yaml"
	exampleCatalogue = "../../examples/catalogue.yaml"
)

// tempRules writes a rule file (and optionally a catalogue beside it).
func tempRules(t *testing.T, rules string, withCatalogue bool) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(rules), 0o644))
	if withCatalogue {
		data, err := os.ReadFile(exampleCatalogue)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "catalogue.yaml"), data, 0o644))
	}
	return path
}

func TestRulesCheck(t *testing.T) {
	code, out, errOut := runCmd(t, "rules", "check", exampleRules)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, regexp.MustCompile(`^ok ../../examples/rules.yaml: hash [0-9a-f]{12}, 8 routing rules \(default included\), 3 split, 8 fee, 22 tests passed, coverage 19/19 rules\n$`), out)
	assert.Empty(t, errOut, "the catalogue beside the file is used")

	t.Run("broken file names file, line and rule", func(t *testing.T) {
		path := tempRules(t, "version: 1\nrouting:\n  - id: big\n    when: amount > 10.5\n    channel: haotian/main/cashier\ndefault_route: {channel: haotian/main/*}\n", true)
		code, out, errOut := runCmd(t, "rules", "check", path)
		assert.Equal(t, 1, code)
		assert.Empty(t, out)
		assert.Equal(t, path+`:4:11: routing rule "big": when (expression column 10): float literal 10.5: money is computed in Go, write integers (minor units, ppm)`+"\n", errOut)
	})
	t.Run("unknown channel with the catalogue beside the file", func(t *testing.T) {
		path := tempRules(t, "version: 1\ndefault_route: {channel: haotian/main/dcep.qr}\n", true)
		code, _, errOut := runCmd(t, "rules", "check", path)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, path+":2:26: default_route: channel: channel haotian/main/dcep.qr is not in the catalogue")
	})
	t.Run("no catalogue: syntax only, with a warning", func(t *testing.T) {
		path := tempRules(t, "version: 1\ndefault_route: {channel: ghost/main/dcep.qr}\n", false)
		code, out, errOut := runCmd(t, "rules", "check", path)
		assert.Equal(t, 0, code)
		assert.Contains(t, out, "ok "+path)
		assert.Contains(t, errOut, "warning: channels not checked against a catalogue")
	})
	t.Run("explicit catalogue", func(t *testing.T) {
		path := tempRules(t, "version: 1\ndefault_route: {channel: ghost/main/dcep.qr}\n", false)
		code, _, errOut := runCmd(t, "rules", "check", "--catalogue", exampleCatalogue, path)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "channel ghost/main/dcep.qr is not in the catalogue")
		assert.NotContains(t, errOut, "warning")
	})
	t.Run("usage", func(t *testing.T) {
		code, _, errOut := runCmd(t, "rules", "check")
		assert.Equal(t, 2, code)
		assert.Contains(t, errOut, "want one rule FILE")
		code, _, _ = runCmd(t, "rules", "check", "--nope", exampleRules)
		assert.Equal(t, 2, code)
		code, _, errOut = runCmd(t, "rules", "check", "/nonexistent/rules.yaml")
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "no such file")
	})
}

func TestRulesTest(t *testing.T) {
	code, out, errOut := runCmd(t, "rules", "test", exampleRules)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "PASS  wechat jsapi to huifu with haotian fallback\n")
	assert.Equal(t, 22, strings.Count(out, "PASS  "))
	assert.Contains(t, out, "22 passed, 0 failed\n")
	assert.Contains(t, out, "coverage: 19/19 rules hit (routing 8/8, split 3/3, fee 8/8)\n")

	path := tempRules(t, `version: 1
routing:
  - id: never-hit
    when: amount > 100000000
    channel: haotian/main/cashier
default_route: {channel: haotian/main/*}
fee:
  - id: f
    rate: "0.006"
tests:
  - name: good
    tx: {amount: 1000, currency: CNY, method: alipay.qr}
    expect: {fee: 6}
  - name: bad
    tx: {amount: 1000, currency: CNY, method: alipay.qr}
    expect: {fee: 7, channel: haotian/main/alipay.wap}
`, true)
	code, out, _ = runCmd(t, "rules", "test", path)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "PASS  good\n")
	assert.Contains(t, out, "FAIL  bad ("+path+":14)\n      channel: want haotian/main/alipay.wap, got haotian/main/alipay.qr\n      fee: want 7, got 6\n")
	assert.Contains(t, out, "1 passed, 1 failed\n")
	assert.Contains(t, out, "coverage: 2/3 rules hit (routing 1/2, split 0/0, fee 1/1)\n")
	assert.Contains(t, out, "not hit: routing rule \"never-hit\"\n")
}

func TestRulesSimulateTx(t *testing.T) {
	code, out, errOut := runCmd(t, "rules", "simulate", exampleRules, "--tx", "../../examples/tx.json")
	require.Equal(t, 0, code, errOut)
	// The same bytes as the explanation golden file of the rules package.
	want, err := os.ReadFile("../../rules/testdata/golden/examples-tx.explain.json")
	require.NoError(t, err)
	assert.Equal(t, string(want), out)
	var v struct {
		Route    []string `json:"route"`
		Decision struct {
			Fee     int64 `json:"fee"`
			Matched []struct {
				RuleID string            `json:"rule_id"`
				Inputs map[string]string `json:"inputs"`
			} `json:"matched"`
		} `json:"decision"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	assert.Equal(t, []string{"hfpay/dougong/wechat.jsapi", "haotian/main/wechat.jsapi"}, v.Route)
	assert.Equal(t, "wechat-jsapi-huifu", v.Decision.Matched[0].RuleID)
	assert.Equal(t, "true", v.Decision.Matched[0].Inputs[`healthy("hfpay/dougong/wechat.jsapi")`])

	t.Run("bad transaction", func(t *testing.T) {
		dir := t.TempDir()
		txPath := filepath.Join(dir, "tx.json")
		require.NoError(t, os.WriteFile(txPath, []byte(`{"payment_id":"p","amount":5,"currency":"CNY","method":"alipay.qr","colour":"red"}`), 0o644))
		code, _, errOut := runCmd(t, "rules", "simulate", exampleRules, "--tx", txPath)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, `unknown field "colour"`)
		require.NoError(t, os.WriteFile(txPath, []byte(`{"payment_id":"p","amount":0,"currency":"CNY","method":"alipay.qr"}`), 0o644))
		code, _, errOut = runCmd(t, "rules", "simulate", exampleRules, "--tx", txPath)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "amount 0 must be positive")
	})
	t.Run("usage", func(t *testing.T) {
		code, _, _ := runCmd(t, "rules", "simulate", exampleRules)
		assert.Equal(t, 2, code)
		code, _, _ = runCmd(t, "rules", "simulate", exampleRules, "--tx", "a", "--replay", "b")
		assert.Equal(t, 2, code)
		code, _, _ = runCmd(t, "rules", "simulate", exampleRules, "--tx", "a", "--against", "b")
		assert.Equal(t, 2, code)
	})
}

func TestRulesSimulateReplay(t *testing.T) {
	code, out, errOut := runCmd(t, "rules", "simulate", exampleRules, "--replay", "../../examples/txs.ndjson")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Regexp(t, `^replayed 40 transactions with ../../examples/rules.yaml \([0-9a-f]{12}\)$`, lines[0])
	assert.Regexp(t, `^route +count +share$`, lines[1])
	assert.Regexp(t, `^adapay/app/alipay.qr +9 +22.5%$`, lines[2])
	total := 0
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		n := 0
		for _, c := range f[len(f)-2] {
			n = n*10 + int(c-'0')
		}
		total += n
	}
	assert.Equal(t, 40, total)

	// Against an older version that sent Alipay QR to Huifu first and
	// charged the offline Alipay rate everywhere: the 10 Alipay QR payments
	// change fee (and so splits); 9 change route, the one above 50,000
	// yuan went to Huifu under both.
	data, err := os.ReadFile(exampleRules)
	require.NoError(t, err)
	old := strings.Replace(string(data), "channels: [adapay/app/alipay.qr, hfpay/dougong/alipay.qr, haotian/main/alipay.qr]",
		"channels: [hfpay/dougong/alipay.qr, adapay/app/alipay.qr, haotian/main/alipay.qr]", 1)
	old = strings.Replace(old, `    when: method == "alipay.qr" && terminal != ""`, `    when: method == "alipay.qr"`, 1)
	require.NotEqual(t, string(data), old)
	oldPath := tempRules(t, old, true)
	code, out, errOut = runCmd(t, "rules", "simulate", exampleRules, "--replay", "../../examples/txs.ndjson", "--against", oldPath)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "tests fail", "the old file's own tests no longer match it")
	assert.Regexp(t, `changed against .*rules.yaml \([0-9a-f]{12}\): 10 of 40 decisions \(route 9, fee 10, splits 10\)`, out)
}
