package sim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // Adapay signs with SHA1withRSA; the simulator must too.
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// KeyBits is the size of the RSA keys the simulator generates: Adapay's own
// public key (PROVIDERS.md) is a 1024-bit key.
const KeyBits = 1024

// KeyPair is an RSA key pair with its published forms.
type KeyPair struct {
	Private *rsa.PrivateKey
}

// NewKeyPair generates a fresh RSA key pair of KeyBits.
func NewKeyPair() (KeyPair, error) {
	k, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate rsa key: %w", err)
	}
	return KeyPair{Private: k}, nil
}

var (
	sharedOnce sync.Once
	sharedKeys [2]KeyPair
	sharedErr  error
)

// sharedKeyPairs returns two key pairs generated once per process: the
// simulator's own (index 0) and the default merchant's (index 1). Tests and
// the sandbox start many simulators; generating keys once keeps them fast.
func sharedKeyPairs() ([2]KeyPair, error) {
	sharedOnce.Do(func() {
		for i := range sharedKeys {
			if sharedKeys[i], sharedErr = NewKeyPair(); sharedErr != nil {
				return
			}
		}
	})
	return sharedKeys, sharedErr
}

// PublicKeyBase64 returns the public key as base64 of its PKIX DER encoding,
// the form Adapay publishes its key in (and the form the merchant uploads).
func (k KeyPair) PublicKeyBase64() string {
	der, err := x509.MarshalPKIXPublicKey(&k.Private.PublicKey)
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(der)
}

// PublicKeyPEM returns the public key as a PEM "PUBLIC KEY" block.
func (k KeyPair) PublicKeyPEM() string {
	der, err := x509.MarshalPKIXPublicKey(&k.Private.PublicKey)
	if err != nil {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// PrivateKeyPEM returns the private key as a PEM "PRIVATE KEY" (PKCS#8) block.
func (k KeyPair) PrivateKeyPEM() string {
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// ParsePublicKey reads an RSA public key given as PEM or as bare base64 of
// PKIX (or PKCS#1) DER.
func ParsePublicKey(s string) (*rsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, errors.New("public key is neither PEM nor base64 DER")
		}
		der = b
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, errors.New("public key is not RSA")
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return k, nil
}

// Sign returns base64(RSASSA-PKCS1-v1_5(SHA1(data))) with key: the
// signature of Adapay requests, responses and notifications.
func Sign(key *rsa.PrivateKey, data string) string {
	sum := sha1.Sum([]byte(data)) //nolint:gosec // protocol algorithm
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, sum[:])
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// Verify reports whether sig (base64) is the SHA1withRSA signature of data
// by key.
func Verify(key *rsa.PublicKey, data, sig string) bool {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || key == nil {
		return false
	}
	sum := sha1.Sum([]byte(data)) //nolint:gosec // protocol algorithm
	return rsa.VerifyPKCS1v15(key, crypto.SHA1, sum[:], raw) == nil
}

// PlainText returns the string a GET request (its query) or a multipart
// request (its non-file fields) contributes to the signed text: the
// non-empty parameters sorted by key, "k=v" joined with "&", values as they
// are (not URL-encoded).
func PlainText(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}
