package core

// ABIVersion is the plugin ABI version this build of Payhost speaks.
const ABIVersion = 1

// HTTPRequest is what a plugin asks the host to send. The host joins the
// base URL of the named manifest endpoint (as configured by the operator)
// with Path, enforces the allow-list and caps, and honours the call deadline.
type HTTPRequest struct {
	Endpoint string              `json:"endpoint"`         // a manifest endpoint name, e.g. "gateway"
	Method   string              `json:"method"`           // GET, POST, ...
	Path     string              `json:"path"`             // path and optional query, e.g. "/api/pay/query"
	Header   map[string][]string `json:"header,omitempty"` // request headers
	Body     []byte              `json:"body,omitempty"`
	// ResponseHeaders names the response headers the plugin wants back;
	// others are dropped (most protocols sign the body, and every header
	// crossing into a wasm guest costs time).
	ResponseHeaders []string `json:"response_headers,omitempty"`
}

// HTTPResponse is the provider's answer as the host received it.
type HTTPResponse struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body,omitempty"`
}

// SignAlg names a signing algorithm of the key capability.
type SignAlg string

// Signing algorithms. Keys never leave the host: plugins name a key
// reference of their manifest and get the signature back.
const (
	SignRSASHA256  SignAlg = "RSA-SHA256"  // RSASSA-PKCS1-v1_5 with SHA-256 (Huifu dougong, intl)
	SignRSASHA1    SignAlg = "RSA-SHA1"    // RSASSA-PKCS1-v1_5 with SHA-1 (Adapay)
	SignMD5Key     SignAlg = "MD5-KEY"     // MD5(data + "&key=" + secret), MD5("key=" + secret) for empty data (Jeepay); raw 16-byte digest
	SignHMACSHA256 SignAlg = "HMAC-SHA256" // HMAC-SHA256(secret, data)
)

// Valid reports whether a is a known signing algorithm.
func (a SignAlg) Valid() bool {
	switch a {
	case SignRSASHA256, SignRSASHA1, SignMD5Key, SignHMACSHA256:
		return true
	}
	return false
}

// DigestAlg names an unkeyed hash of the digest capability.
type DigestAlg string

// Digest algorithms.
const (
	DigestSHA256 DigestAlg = "SHA256"
	DigestSHA1   DigestAlg = "SHA1"
	DigestMD5    DigestAlg = "MD5"
)

// Valid reports whether a is a known digest algorithm.
func (a DigestAlg) Valid() bool {
	switch a {
	case DigestSHA256, DigestSHA1, DigestMD5:
		return true
	}
	return false
}

// LogLevel is the level of a plugin log line.
type LogLevel string

// Log levels.
const (
	LogDebug LogLevel = "debug"
	LogInfo  LogLevel = "info"
	LogWarn  LogLevel = "warn"
	LogError LogLevel = "error"
)
