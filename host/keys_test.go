package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// TestNewResolvesEveryKey: host.New resolves every key of every account
// and refuses to start when one cannot be used, naming each account and
// key (so `payhost serve` and `payhost sandbox` stop before their ready
// line).
func TestNewResolvesEveryKey(t *testing.T) {
	st, err := sqlstore.OpenSQLite(context.Background(), ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	backup := account("backup", "https://gateway.example.com")
	backup.Keys = map[string]string{"app_secret": "file:" + filepath.Join(t.TempDir(), "missing.key")}
	for _, tt := range []struct {
		name     string
		env      map[string]string
		accounts []host.AccountConfig
		want     []string
	}{
		{"unset secret", nil, []host.AccountConfig{account("main", "https://gateway.example.com")},
			[]string{"account main: key app_secret: env:HAOTIAN_SECRET: the environment variable is empty or unset"}},
		{"every account named", nil, []host.AccountConfig{account("main", "https://gateway.example.com"), backup},
			[]string{"account main: key app_secret: env:HAOTIAN_SECRET", "account backup: key app_secret: file:", "missing.key: open "}},
		{"all resolve", map[string]string{"HAOTIAN_SECRET": sim.DefaultMerchant.Secret}, []host.AccountConfig{account("main", "https://gateway.example.com")}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := host.New(context.Background(), host.Config{Store: st, Plugins: []host.PluginConfig{{Native: haotian.New()}},
				Accounts: tt.accounts, Keys: caps.NewKeyStore(nil).WithEnv(func(k string) string { return tt.env[k] }),
				Poll: host.PollConfig{Disabled: true}, Webhooks: host.WebhookConfig{Disabled: true}})
			if tt.want == nil {
				require.NoError(t, err)
				require.NoError(t, h.Close(context.Background()))
				return
			}
			require.Error(t, err)
			assert.Nil(t, h)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), sim.DefaultMerchant.Secret)
		})
	}
}

// faultyKeys is a key store (an HSM, say) whose signing can break after
// the start, per reference.
type faultyKeys struct {
	caps.Keys
	broken sync.Map // ref → true
}

func (k *faultyKeys) Sign(ref string, kind core.KeyKind, alg core.SignAlg, data []byte) ([]byte, error) {
	if _, ok := k.broken.Load(ref); ok {
		return nil, errors.New("hsm: device not ready")
	}
	return k.Keys.Sign(ref, kind, alg, data)
}

// TestSigningFailureIsNotAnUnknownOutcome: a key that cannot sign when a
// payment is made means no request left the host: the payment moves to
// the next channel, or fails with provider_unavailable naming the account
// and key — never processing with an unknown outcome. A refund fails the
// same way.
func TestSigningFailureIsNotAnUnknownOutcome(t *testing.T) {
	for _, wasm := range []bool{false, true} {
		t.Run(map[bool]string{false: "native", true: "wasm"}[wasm], func(t *testing.T) { testSigningFailure(t, wasm) })
	}
}

func testSigningFailure(t *testing.T, wasm bool) {
	keys := &faultyKeys{Keys: caps.NewKeyStore(nil).WithEnv(func(k string) string {
		if strings.HasPrefix(k, "HAOTIAN_SECRET") {
			return sim.DefaultMerchant.Secret
		}
		return ""
	})}
	w := newWorld(t, worldOpts{
		wasm:  wasm,
		rules: "version: 1\ndefault_route:\n  channels: [haotian/main/*, haotian/backup/*]\n",
		extra: func(c *host.Config) {
			c.Keys = keys
			backup := account("backup", w0(c))
			backup.Keys = map[string]string{"app_secret": "env:HAOTIAN_SECRET_BACKUP"}
			c.Accounts = append(c.Accounts, backup)
		},
	})
	ctx := context.Background()

	keys.broken.Store("env:HAOTIAN_SECRET", true)
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "sf-1"})
	require.NoError(t, err)
	assert.Equal(t, core.PaymentProcessing, p.Status)
	assert.NotEqual(t, host.PendingUnknownOutcome, p.PendingReason)
	assert.Equal(t, 1, w.unifiedOrders(), "only the backup account's request left")
	attempts, err := w.store.ListAttempts(ctx, p.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	assert.Equal(t, string(core.CodeProviderUnavailable), attempts[0].Outcome)
	assert.Equal(t, "account main cannot sign with key app_secret (hsm: device not ready); no request was sent", attempts[0].Error)
	assert.Equal(t, "ok", attempts[1].Outcome)

	keys.broken.Store("env:HAOTIAN_SECRET_BACKUP", true)
	failed, err := w.create(host.CreatePaymentInput{IdempotencyKey: "sf-2"})
	require.NoError(t, err)
	assert.Equal(t, core.PaymentFailed, failed.Status)
	require.NotNil(t, failed.Failure)
	assert.Equal(t, core.CodeProviderUnavailable, failed.Failure.Code)
	assert.Equal(t, "account backup cannot sign with key app_secret (hsm: device not ready); no request was sent", failed.Failure.Message)
	assert.Equal(t, 1, w.unifiedOrders())

	// a refund of a paid payment whose account can no longer sign
	keys.broken.Delete("env:HAOTIAN_SECRET_BACKUP")
	paid, err := w.create(host.CreatePaymentInput{IdempotencyKey: "sf-3", Method: core.MethodWechatBarcode, Payer: core.Payer{AuthCode: "134567890123456789"}})
	require.NoError(t, err)
	require.Equal(t, core.PaymentSucceeded, paid.Status)
	keys.broken.Store("env:HAOTIAN_SECRET_BACKUP", true)
	r, err := w.host.CreateRefund(ctx, host.CreateRefundInput{Tenant: "acme", IdempotencyKey: "sf-r", PaymentID: paid.ID, Amount: 100})
	require.NoError(t, err)
	assert.Equal(t, core.RefundFailed, r.Status)
	require.NotNil(t, r.Failure)
	assert.Equal(t, core.CodeProviderUnavailable, r.Failure.Code)
	assert.Contains(t, r.Failure.Message, "cannot sign with key app_secret")
}

// TestKeyFileRemovedAfterStart: keys are loaded when the host starts, so
// a key file removed (or a secret unset) afterwards does not stop payments.
func TestKeyFileRemovedAfterStart(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "haotian.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(sim.DefaultMerchant.Secret), 0o600))
	w := newWorld(t, worldOpts{extra: func(c *host.Config) {
		c.Keys = caps.NewKeyStore(nil)
		c.Accounts[0].Keys = map[string]string{"app_secret": "file:" + keyFile}
	}})
	require.NoError(t, os.Remove(keyFile))
	p, err := w.create(host.CreatePaymentInput{IdempotencyKey: "kf"})
	require.NoError(t, err)
	assert.Equal(t, core.PaymentProcessing, p.Status)
	assert.Equal(t, 1, w.unifiedOrders())
}
