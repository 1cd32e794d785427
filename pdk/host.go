package pdk

import (
	"context"
	"time"

	"github.com/payhost/payhost/core"
)

// Host is the set of capabilities a plugin may use: the only way out of the
// sandbox. The host binds it to the account a call is made for, so key and
// endpoint names are the manifest's names and the account's secrets never
// enter the plugin.
type Host interface {
	// HTTP sends a request to a named endpoint of the manifest. Errors are
	// *core.Error: provider_unavailable when nothing was sent, unknown_outcome
	// when the request may have reached the provider.
	HTTP(ctx context.Context, req *core.HTTPRequest) (*core.HTTPResponse, error)
	// Sign signs data with the key reference; the result is raw bytes (an
	// RSA signature, a 16-byte MD5 digest, an HMAC).
	Sign(ctx context.Context, key string, alg core.SignAlg, data []byte) ([]byte, error)
	// Verify checks sig over data with the key reference; a mismatch is a
	// signature_invalid *core.Error.
	Verify(ctx context.Context, key string, alg core.SignAlg, data, sig []byte) error
	// Digest hashes data without a key.
	Digest(ctx context.Context, alg core.DigestAlg, data []byte) ([]byte, error)
	// Now is the host clock (a fake clock in tests).
	Now() time.Time
	// Log writes a structured line; attrs are key, value pairs. The host
	// caps the size and redacts secrets.
	Log(ctx context.Context, level core.LogLevel, msg string, attrs ...string)
	// Config returns a non-secret configuration value of the account.
	Config(key string) (string, bool)
	// CacheGet returns a cached value of this plugin and account.
	CacheGet(key string) ([]byte, bool)
	// CacheSet stores a small value for ttl.
	CacheSet(key string, value []byte, ttl time.Duration)
}
