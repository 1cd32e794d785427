package caps

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
)

// smallRSAKeyPEM builds a 512-bit RSA key by hand (crypto/rsa no longer
// generates keys that small): it parses, but crypto/rsa would refuse to
// sign with it.
func smallRSAKeyPEM(t *testing.T) string {
	t.Helper()
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for {
		p, err := rand.Prime(rand.Reader, 256)
		require.NoError(t, err)
		q, err := rand.Prime(rand.Reader, 256)
		require.NoError(t, err)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if p.Cmp(q) == 0 || d == nil {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	}
}

// TestKeyStoreResolve: Resolve loads and keeps a key, or says why it
// cannot be used, naming the reference and never the material.
func TestKeyStoreResolve(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "secret.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(jeepaySecret+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blank.key"), []byte("  \n"), 0o600))
	e := map[string]string{"SECRET": jeepaySecret, "SMALL": smallRSAKeyPEM(t), "JUNK": "not a key"}
	ks := NewKeyStore(nil).WithEnv(env(e))
	tests := []struct {
		ref  string
		kind core.KeyKind
		want string // "" = resolves
	}{
		{"env:SECRET", core.KeySecret, ""},
		{"file:" + keyFile, core.KeySecret, ""},
		{"env:NOPE", core.KeySecret, "env:NOPE: the environment variable is empty or unset"},
		{"file:" + filepath.Join(dir, "missing.key"), core.KeySecret, "file:" + filepath.Join(dir, "missing.key") + ": open "},
		{"file:" + filepath.Join(dir, "blank.key"), core.KeySecret, ": empty"},
		{"env:JUNK", core.KeyPrivate, "env:JUNK: neither PEM nor base64 DER"},
		{"env:SMALL", core.KeyPrivate, "env:SMALL: an RSA key of 512 bits; at least 1024 are needed"},
		{"hunter2", core.KeySecret, "want env:NAME or file:PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			err := ks.Resolve(tt.ref, tt.kind)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), jeepaySecret)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}

	// a resolved key is kept: its file may go away
	require.NoError(t, os.Remove(keyFile))
	_, err := ks.Sign("file:"+keyFile, core.KeySecret, core.SignMD5Key, []byte("x"))
	require.NoError(t, err)
}

// brokenKeys is a key store that resolves everything and signs nothing.
type brokenKeys struct{ Keys }

func (brokenKeys) Resolve(string, core.KeyKind) error { return nil }
func (brokenKeys) Sign(string, core.KeyKind, core.SignAlg, []byte) ([]byte, error) {
	return nil, os.ErrPermission
}

// TestSignFailure: a key that cannot sign when a plugin asks is
// provider_unavailable — nothing was sent — naming the account and key.
func TestSignFailure(t *testing.T) {
	b, err := Bind(testManifest("https://pay.example.com"), AccountConfig{Name: "main", Keys: map[string]string{"app_secret": "env:SECRET"},
		Config: map[string]string{"mch_no": "M1"}}, Deps{Keys: brokenKeys{}})
	require.NoError(t, err)
	require.NoError(t, b.ResolveKeys())
	_, err = b.Sign(context.Background(), "app_secret", core.SignMD5Key, []byte("x"))
	ce := core.AsError(err)
	assert.Equal(t, core.CodeProviderUnavailable, ce.Code)
	assert.True(t, ce.Code.FailoverSafe())
	assert.Equal(t, "account main cannot sign with key app_secret (permission denied); no request was sent", ce.Message)

	// resolving names the account and every key that fails
	b, err = Bind(testManifest("https://pay.example.com"), AccountConfig{Name: "main",
		Keys:   map[string]string{"app_secret": "env:A", "merchant_private": "env:B", "provider_public": "env:C"},
		Config: map[string]string{"mch_no": "M1"}}, Deps{Keys: NewKeyStore(nil).WithEnv(env(map[string]string{"A": "s"}))})
	require.NoError(t, err)
	err = b.ResolveKeys()
	require.Error(t, err)
	assert.Equal(t, "account main: key merchant_private: env:B: the environment variable is empty or unset\n"+
		"account main: key provider_public: env:C: the environment variable is empty or unset", err.Error())
}
