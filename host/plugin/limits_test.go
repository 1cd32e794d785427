package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/pdk"
)

const hostileSecret = "EWEFD123RGSRETYDFNGFGFGSHDFGH"

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// accounts binds several accounts of the hostile plugin that share one
// cache and one JSON log with a redactor, as host.New binds them.
type accounts struct {
	log   *lockedBuffer
	deps  caps.Deps
	byKey map[string]*caps.Binding
}

func newAccounts(t *testing.T, m core.Manifest, names ...string) *accounts {
	t.Helper()
	red := caps.NewRedactor()
	a := &accounts{log: &lockedBuffer{}, byKey: map[string]*caps.Binding{}}
	a.deps = caps.Deps{
		Keys:   caps.NewKeyStore(red).WithEnv(func(string) string { return hostileSecret }),
		Cache:  caps.NewCache(time.Now),
		Logger: slog.New(red.Handler(slog.NewJSONHandler(a.log, nil))),
	}
	for _, n := range names {
		b, err := caps.Bind(m, caps.AccountConfig{Name: n, Keys: map[string]string{"secret": "env:SECRET"},
			Endpoints: map[string]caps.EndpointConfig{"api": {URL: "http://127.0.0.1:1", AllowPrivate: true}}}, a.deps)
		require.NoError(t, err)
		// Load the key once, as a first signature does: the redactor learns it.
		_, err = b.Sign(context.Background(), "secret", core.SignMD5Key, []byte("x"))
		require.NoError(t, err)
		a.byKey[n] = b
	}
	return a
}

func createWith(t *testing.T, p Plugin, h *caps.Binding, subject, description string) (*core.CreatePaymentResponse, error) {
	t.Helper()
	return Call[core.CreatePaymentResponse](context.Background(), p, h, core.OpPaymentCreate, &core.CreatePaymentRequest{
		PaymentID: "pay_1", Amount: 100, Currency: "CNY", Method: core.MethodAlipayQR, Subject: subject, Description: description})
}

// TestAccountsDoNotShareInstances: what one account's call leaves in guest
// memory is never there for another account's call, even with one
// instance for all; the same account keeps its warm instance.
func TestAccountsDoNotShareInstances(t *testing.T) {
	for _, max := range []int{1, 2} {
		t.Run("max_instances="+string(rune('0'+max)), func(t *testing.T) {
			p := loadHostile(t, WasmConfig{MaxInstances: max})
			a := newAccounts(t, p.Manifest(), "alice", "bob")
			_, err := createWith(t, p, a.byKey["alice"], "remember", "alice's card 6222020000000000")
			require.NoError(t, err)
			resp, err := createWith(t, p, a.byKey["bob"], "remember", "bob's")
			require.NoError(t, err)
			assert.Empty(t, resp.Payment.ProviderData["previous"], "bob's call saw alice's data")
			resp, err = createWith(t, p, a.byKey["alice"], "remember", "again")
			require.NoError(t, err)
			if max == 2 {
				assert.Equal(t, "alice's card 6222020000000000", resp.Payment.ProviderData["previous"], "alice keeps her warm instance")
			} else {
				assert.Empty(t, resp.Payment.ProviderData["previous"], "with one instance, alice's was closed for bob")
				assert.Positive(t, p.Stats().Discards["account"])
			}
		})
	}
}

// TestLogBudget: a call that logs 170 MB gets what fits in the budget
// through and the rest dropped and counted; the log stays small.
func TestLogBudget(t *testing.T) {
	warnings := &lockedBuffer{}
	p := loadHostile(t, WasmConfig{Logger: slog.New(slog.NewJSONHandler(warnings, nil))})
	a := newAccounts(t, p.Manifest(), "test")
	_, err := createWith(t, p, a.byKey["test"], "logspam", "")
	require.NoError(t, err)
	out := a.log.String()
	logged := int64(strings.Count(out, `"source":"plugin"`))
	assert.Positive(t, logged)
	assert.LessOrEqual(t, logged, int64(DefaultMaxLogLines))
	assert.Less(t, len(out), 2*DefaultMaxLogBytes, "bytes over the budget reached the log")
	assert.Equal(t, int64(5000), logged+p.Stats().LogDropped, "every line is either logged or counted as dropped")
	assert.Contains(t, warnings.String(), `"dropped_lines":`)
}

// TestLogRedactsBeforeClipping: a secret cut by the message cap leaves no
// prefix behind.
func TestLogRedactsBeforeClipping(t *testing.T) {
	p := loadHostile(t, WasmConfig{})
	a := newAccounts(t, p.Manifest(), "test")
	_, err := createWith(t, p, a.byKey["test"], "logsecret:"+hostileSecret, "")
	require.NoError(t, err)
	out := a.log.String()
	require.Contains(t, out, "aaaa")
	assert.NotContains(t, out, hostileSecret[:6], "a prefix of the secret reached the log")
}

// TestLogAttributesCannotSpoofTheHost: a plugin naming its attributes
// plugin, account or source does not change the host's.
func TestLogAttributesCannotSpoofTheHost(t *testing.T) {
	p := loadHostile(t, WasmConfig{})
	a := newAccounts(t, p.Manifest(), "test")
	_, err := createWith(t, p, a.byKey["test"], "logspoof", "")
	require.NoError(t, err)
	line := a.log.String()
	for _, key := range []string{`"plugin":`, `"account":`, `"source":`} {
		assert.Equal(t, 2, strings.Count(line, key), "%s: once from the host, once inside attrs: %s", key, line)
	}
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &rec))
	assert.Equal(t, "hostile", rec["plugin"])
	assert.Equal(t, "test", rec["account"])
	assert.Equal(t, "plugin", rec["source"])
	assert.Equal(t, map[string]any{"plugin": "haotian", "account": "victim", "source": "host"}, rec["attrs"])
}

// TestOutputLimits: a response over a limit is refused with an error that
// says which and by how much; nothing of it is handed on.
func TestOutputLimits(t *testing.T) {
	tests := []struct {
		subject string
		msg     string
	}{
		{"bigdata", "payment.provider_data.blob is 15728640 bytes, over the 65536-byte limit"},
		{"manydata", "payment.provider_data is 16274 bytes, over the 8192-byte limit"},
		{"badutf8", "payment.provider_data.name is not valid UTF-8"},
	}
	for _, transport := range []string{"wasm", "native"} {
		for _, tt := range tests {
			t.Run(transport+"/"+tt.subject, func(t *testing.T) {
				var p Plugin
				if transport == "wasm" {
					p = loadHostile(t, WasmConfig{})
				} else {
					var err error
					p, err = NewNative(outputPlugin{})
					require.NoError(t, err)
				}
				h := bindHostile(t, p.Manifest(), "http://127.0.0.1:1")
				resp, err := create(context.Background(), p, h, tt.subject)
				require.Error(t, err)
				assert.Nil(t, resp)
				assert.Equal(t, core.CodePluginFailure, core.CodeOf(err), err.Error())
				msg := tt.msg
				if transport == "wasm" && tt.subject == "bigdata" {
					msg = "plugin stopped in payment.create: output of 157287" // the encoded response, refused before it is read
				}
				assert.Contains(t, err.Error(), msg)
				assert.Equal(t, int64(1), p.Stats().Refused+p.Stats().Discards["limit"])
			})
		}
	}
}

// outputPlugin is a native plugin answering with the same oversized or
// malformed provider data as the hostile module.
type outputPlugin struct{}

func (outputPlugin) Manifest() core.Manifest {
	return core.Manifest{Name: "hostile", Version: "0.0.1", Methods: []core.Method{core.MethodAlipayQR}, Currencies: []core.Currency{"CNY"},
		Endpoints: []core.EndpointSpec{{Name: "api", URLs: map[string]string{"production": "https://api.invalid"}}},
		Keys:      []core.KeySpec{{Name: "secret", Kind: core.KeySecret, Algorithms: []core.SignAlg{core.SignMD5Key}}}}
}

func (outputPlugin) CreatePayment(_ context.Context, _ pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
	d := map[string]string{}
	switch req.Subject {
	case "bigdata":
		d["blob"] = strings.Repeat("z", 15<<20)
	case "manydata":
		for i := 0; i < 512; i++ {
			d["k"+strconv.Itoa(i)] = strings.Repeat("v", 28)
		}
	case "badutf8":
		d["name"] = "caf\xe9"
	}
	return &core.CreatePaymentResponse{Payment: core.Payment{ID: req.PaymentID, Status: core.PaymentCreated, ProviderData: d}}, nil
}

// TestCacheIsPerAccount: one account filling the cache evicts only its
// own entries.
func TestCacheIsPerAccount(t *testing.T) {
	p := loadHostile(t, WasmConfig{})
	a := newAccounts(t, p.Manifest(), "alice", "mallory")
	_, err := createWith(t, p, a.byKey["alice"], "cacheset:token", "alice-oauth-token")
	require.NoError(t, err)
	_, err = createWith(t, p, a.byKey["mallory"], "cachefill", "")
	require.NoError(t, err)
	resp, err := createWith(t, p, a.byKey["alice"], "cacheget:token", "")
	require.NoError(t, err)
	assert.Equal(t, "true:alice-oauth-token", resp.Payment.ProviderData["cached"])
	resp, err = createWith(t, p, a.byKey["mallory"], "cacheget:token", "")
	require.NoError(t, err)
	assert.Equal(t, "false:", resp.Payment.ProviderData["cached"], "one account reads another's entry")
}
