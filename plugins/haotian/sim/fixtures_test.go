package sim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadFixture reads a seed example, keeping its value types.
func loadFixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

// fixtureBody moves a fixture to merchant m and, when resign, signs it with
// m's secret; every other field is kept as it is.
func fixtureBody(t *testing.T, fx map[string]any, m Merchant, resign bool) []byte {
	t.Helper()
	fx["mchNo"] = m.MchNo
	fx["appId"] = m.AppID
	if resign {
		delete(fx, "sign")
		b, err := json.Marshal(fx)
		require.NoError(t, err)
		flat := map[string]string{}
		require.NoError(t, parseJSONParams(b, flat))
		fx["sign"] = Sign(flat, m.Secret)
	}
	b, err := json.Marshal(fx)
	require.NoError(t, err)
	return b
}

// TestSeedExamples runs each request example of seed 001 against one
// simulator whose clock is the examples' reqTime and whose ids are the
// examples' ids.
func TestSeedExamples(t *testing.T) {
	reqTime := time.UnixMilli(1622016572190)
	ids := map[string]string{"P": "P202108271011463510002", "D": "D99832829483234"}
	e := newEnv(t, func(c *Config) {
		c.IDFunc = func(prefix string, seq int64) string {
			if id, ok := ids[prefix]; ok && seq == 1 {
				return id
			}
			return prefix + strconv.FormatInt(seq, 10)
		}
	})
	e.clock.Add(reqTime.Sub(e.clock.Now()))
	for _, id := range []int64{800028, 800029} {
		_, err := e.s.AddReceiver(Receiver{ID: id, MchNo: e.m.MchNo, GroupID: 100001, AccNo: "acc" + strconv.FormatInt(id, 10), DivisionProfit: "0.3"})
		require.NoError(t, err)
	}
	_, err := e.s.AddReceiver(Receiver{ID: 800021, MchNo: e.m.MchNo, GroupID: 100002, AccNo: "acc800021", Balance: 100})
	require.NoError(t, err)
	require.Equal(t, "P202108271011463510002", e.paid(1_000_000, 2))

	examples := []struct {
		file, path string
		check      func(t *testing.T, data map[string]string)
	}{
		{"division_receiver_bind.json", "/api/division/receiver/bind", func(t *testing.T, d map[string]string) {
			assert.Equal(t, "1", d["bindState"])
			assert.Equal(t, "800030", d["receiverId"])
			assert.Equal(t, "我的员工", d["relationTypeName"])
			assert.Equal(t, "0.3", d["divisionProfit"])
		}},
		{"division_exec.json", "/api/division/exec", func(t *testing.T, d map[string]string) {
			assert.Equal(t, "D99832829483234", d["batchOrderId"])
			assert.Equal(t, "1", d["state"])
			b, _ := e.s.Batch("D99832829483234")
			assert.Equal(t, []int64{99, 198}, amountsOf(b), "floor(994000 × 0.0001), floor(994000 × 0.0002)")
		}},
		{"division_query.json", "/api/division/query", func(t *testing.T, d map[string]string) {
			assert.Equal(t, "D99832829483234", d["batchOrderId"])
			assert.Contains(t, d["records"], `"receiverId":800029`)
			assert.Contains(t, d["records"], `"divisionProfit":0.000100`)
		}},
		{"division_channel_balance_query.json", "/api/division/receiver/channelBalanceQuery", func(t *testing.T, d map[string]string) {
			assert.Equal(t, "800021", d["receiverId"])
			assert.Equal(t, "100", d["balanceAmount"])
		}},
		{"division_channel_balance_cashout.json", "/api/division/receiver/channelBalanceCashout", func(t *testing.T, d map[string]string) {
			assert.Equal(t, "1", d["state"])
			bal, _ := e.s.Balance(800021)
			assert.Equal(t, int64(90), bal)
		}},
	}
	for _, ex := range examples {
		t.Run(ex.file, func(t *testing.T) {
			r := e.post(ex.path, "application/json", fixtureBody(t, loadFixture(t, ex.file), e.m, false), e.m)
			e.fails(r, 9999, "验签失败")
			r = e.post(ex.path, "application/json", fixtureBody(t, loadFixture(t, ex.file), e.m, true), e.m)
			e.ok(r)
			ex.check(t, r.Data)
		})
	}
}
