package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/internal/testwasm"
)

func TestPluginInspect(t *testing.T) {
	code, out, errOut := runCmdEnv(t, map[string]string{"PAYHOST_WASM_CACHE": testwasm.CacheDir()}, "plugin", "inspect", testwasm.Build(t, "plugins/haotian/wasm"))
	require.Equal(t, 0, code, errOut)
	var m core.Manifest
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	assert.Equal(t, "haotian", m.Name)
	assert.Equal(t, core.ABIVersion, m.ABIVersion)
	assert.Contains(t, m.Operations, core.OpPaymentCreate)
	assert.Contains(t, m.Methods, core.MethodAlipayQR)
	assert.Equal(t, []core.Currency{"CNY"}, m.Currencies)
	assert.Equal(t, "gateway", m.Endpoints[0].Name)
	assert.Equal(t, "app_secret", m.Keys[0].Name)

	code, _, errOut = runCmd(t, "plugin", "inspect", "/nonexistent.wasm")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no such file")
	code, _, _ = runCmd(t, "plugin", "inspect")
	assert.Equal(t, 2, code)
}
