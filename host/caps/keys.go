package caps

import (
	"crypto"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/payhost/payhost/core"
)

// Keys signs and verifies with keys named by reference, so that plugins
// never see key material. *KeyStore is the built-in implementation; an
// embedder may give the host another one (an HSM, a KMS).
type Keys interface {
	// Resolve loads the key at ref as kind, or says why it cannot be used.
	// The host resolves every key of every account when it starts and
	// refuses to start when one fails.
	Resolve(ref string, kind core.KeyKind) error
	// Sign signs data with the key at ref.
	Sign(ref string, kind core.KeyKind, alg core.SignAlg, data []byte) ([]byte, error)
	// Verify checks sig over data with the key at ref; a mismatch is a
	// signature_invalid *core.Error.
	Verify(ref string, kind core.KeyKind, alg core.SignAlg, data, sig []byte) error
}

var _ Keys = (*KeyStore)(nil)

// MinRSABits is the smallest RSA key the key store takes (crypto/rsa
// refuses to sign or verify with smaller ones).
const MinRSABits = 1024

// KeyStore resolves key references ("env:NAME" or "file:PATH") and signs
// with the keys. Key material is loaded when first resolved (the host
// resolves every account's keys at start), kept in memory — a key file
// removed or changed later does not matter until the next start — and
// registered with the Redactor so it never reaches a log line.
type KeyStore struct {
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	redactor *Redactor

	mu     sync.Mutex
	loaded map[string]*key
}

type key struct {
	secret []byte
	priv   *rsa.PrivateKey
	pub    *rsa.PublicKey
}

// NewKeyStore returns a key store reading the process environment and files.
// A nil redactor disables registration of secrets.
func NewKeyStore(r *Redactor) *KeyStore {
	return &KeyStore{getenv: os.Getenv, readFile: os.ReadFile, redactor: r, loaded: map[string]*key{}}
}

// WithEnv replaces the environment lookup (tests, sandbox).
func (ks *KeyStore) WithEnv(getenv func(string) string) *KeyStore {
	ks.getenv = getenv
	return ks
}

// CheckRef validates the syntax of a key reference without loading it.
func CheckRef(ref string) error {
	kind, name, ok := strings.Cut(ref, ":")
	if !ok || name == "" || (kind != "env" && kind != "file") {
		return fmt.Errorf("key reference %q: want env:NAME or file:PATH", redactRef(ref))
	}
	return nil
}

// redactRef shows only the scheme of something that might be an inline secret.
func redactRef(ref string) string {
	if strings.HasPrefix(ref, "env:") || strings.HasPrefix(ref, "file:") {
		return ref
	}
	return "[inline value hidden]"
}

func (ks *KeyStore) material(ref string) ([]byte, error) {
	return ReadRef(ref, ks.getenv, ks.readFile)
}

// ReadRef reads a secret reference, the one way the project does: env:NAME
// from getenv, file:PATH through readFile, trimmed of surrounding space and
// refused when empty. Errors name the reference, never the value.
func ReadRef(ref string, getenv func(string) string, readFile func(string) ([]byte, error)) ([]byte, error) {
	if err := CheckRef(ref); err != nil {
		return nil, err
	}
	kind, name, _ := strings.Cut(ref, ":")
	var raw []byte
	switch kind {
	case "env":
		v := getenv(name)
		if v == "" {
			return nil, fmt.Errorf("%s: the environment variable is empty or unset", ref)
		}
		raw = []byte(v)
	case "file":
		b, err := readFile(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		raw = b
	}
	raw = []byte(strings.TrimSpace(string(raw)))
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: empty", ref)
	}
	return raw, nil
}

func (ks *KeyStore) load(ref string, kind core.KeyKind) (*key, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	cacheKey := string(kind) + "|" + ref
	if k, ok := ks.loaded[cacheKey]; ok {
		return k, nil
	}
	raw, err := ks.material(ref)
	if err != nil {
		return nil, err
	}
	if ks.redactor != nil {
		ks.redactor.AddSecret(string(raw))
	}
	k := &key{}
	switch kind {
	case core.KeySecret:
		k.secret = raw
	case core.KeyPrivate:
		if k.priv, err = parsePrivateKey(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		k.pub = &k.priv.PublicKey
	case core.KeyPublic:
		if k.pub, err = parsePublicKey(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
	default:
		return nil, fmt.Errorf("%s: unknown key kind %q", ref, kind)
	}
	if k.pub != nil && k.pub.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("%s: an RSA key of %d bits; at least %d are needed", ref, k.pub.N.BitLen(), MinRSABits)
	}
	ks.loaded[cacheKey] = k
	return k, nil
}

// der returns DER bytes from PEM or bare base64 (the form Huifu and Adapay hand out).
func der(raw []byte) ([]byte, error) {
	if block, _ := pem.Decode(raw); block != nil {
		return block.Bytes, nil
	}
	clean := strings.Join(strings.Fields(string(raw)), "")
	b, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, errors.New("neither PEM nor base64 DER")
	}
	return b, nil
}

func parsePrivateKey(raw []byte) (*rsa.PrivateKey, error) {
	b, err := der(raw)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, errors.New("not an RSA private key (PKCS#1 or PKCS#8)")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("private key is not RSA")
	}
	return rk, nil
}

func parsePublicKey(raw []byte) (*rsa.PublicKey, error) {
	b, err := der(raw)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKIXPublicKey(b); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("public key is not RSA")
		}
		return rk, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(b); err == nil {
		return k, nil
	}
	if c, err := x509.ParseCertificate(b); err == nil {
		if rk, ok := c.PublicKey.(*rsa.PublicKey); ok {
			return rk, nil
		}
	}
	return nil, errors.New("not an RSA public key (PKIX, PKCS#1 or certificate)")
}

// Resolve implements Keys: it loads the key at ref as kind (and keeps it).
func (ks *KeyStore) Resolve(ref string, kind core.KeyKind) error {
	_, err := ks.load(ref, kind)
	return err
}

// Sign signs data with the key at ref.
func (ks *KeyStore) Sign(ref string, kind core.KeyKind, alg core.SignAlg, data []byte) ([]byte, error) {
	k, err := ks.load(ref, kind)
	if err != nil {
		return nil, err
	}
	switch alg {
	case core.SignRSASHA256, core.SignRSASHA1:
		if k.priv == nil {
			return nil, fmt.Errorf("%s needs a private key", alg)
		}
		h, digest := rsaDigest(alg, data)
		return rsa.SignPKCS1v15(nil, k.priv, h, digest)
	case core.SignMD5Key:
		if k.secret == nil {
			return nil, fmt.Errorf("%s needs a secret", alg)
		}
		return md5Key(data, k.secret), nil
	case core.SignHMACSHA256:
		if k.secret == nil {
			return nil, fmt.Errorf("%s needs a secret", alg)
		}
		m := hmac.New(sha256.New, k.secret)
		m.Write(data)
		return m.Sum(nil), nil
	}
	return nil, fmt.Errorf("unknown signing algorithm %q", alg)
}

// Verify checks sig over data with the key at ref; a mismatch is a
// signature_invalid *core.Error.
func (ks *KeyStore) Verify(ref string, kind core.KeyKind, alg core.SignAlg, data, sig []byte) error {
	k, err := ks.load(ref, kind)
	if err != nil {
		return err
	}
	bad := &core.Error{Code: core.CodeSignatureInvalid, Message: "signature does not verify"}
	switch alg {
	case core.SignRSASHA256, core.SignRSASHA1:
		if k.pub == nil {
			return fmt.Errorf("%s needs a public key", alg)
		}
		h, digest := rsaDigest(alg, data)
		if rsa.VerifyPKCS1v15(k.pub, h, digest, sig) != nil {
			return bad
		}
		return nil
	case core.SignMD5Key, core.SignHMACSHA256:
		want, err := ks.Sign(ref, kind, alg, data)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(want, sig) != 1 {
			return bad
		}
		return nil
	}
	return fmt.Errorf("unknown signing algorithm %q", alg)
}

func rsaDigest(alg core.SignAlg, data []byte) (crypto.Hash, []byte) {
	if alg == core.SignRSASHA1 {
		d := sha1.Sum(data)
		return crypto.SHA1, d[:]
	}
	d := sha256.Sum256(data)
	return crypto.SHA256, d[:]
}

// md5Key is Jeepay's signature: the pairs "k=v&..." followed by
// "key=<secret>", i.e. MD5(data + "&key=" + secret), or MD5("key=" + secret)
// when there are no pairs at all (an empty data object).
func md5Key(data, secret []byte) []byte {
	h := md5.New()
	if len(data) > 0 {
		h.Write(data)
		h.Write([]byte("&"))
	}
	h.Write([]byte("key="))
	h.Write(secret)
	return h.Sum(nil)
}

// Digest hashes data without a key.
func Digest(alg core.DigestAlg, data []byte) ([]byte, error) {
	switch alg {
	case core.DigestSHA256:
		d := sha256.Sum256(data)
		return d[:], nil
	case core.DigestSHA1:
		d := sha1.Sum(data)
		return d[:], nil
	case core.DigestMD5:
		d := md5.Sum(data)
		return d[:], nil
	}
	return nil, fmt.Errorf("unknown digest algorithm %q", alg)
}

// Redact replaces in s every secret the store has loaded (s unchanged
// without a redactor).
func (ks *KeyStore) Redact(s string) string {
	if ks == nil || ks.redactor == nil {
		return s
	}
	return ks.redactor.String(s)
}
