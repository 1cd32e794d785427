package sim

import (
	"crypto/rsa"
	"net/http"
	"time"
)

// Merchant is an account the simulator accepts requests from: an agent
// (渠道商) or an ordinary merchant, known by its API key, with the
// application its payments use and the RSA public key its requests are
// signed with. Sub-merchants opened through 开户进件 are added at run time
// with their own API keys; they sign with the key given in the entry's
// rsa_public_key, or else with their agent's key.
type Merchant struct {
	// APIKey is the live API key (Authorization header), e.g.
	// api_live_9c14f264-e390-41df-984d-df15a6952031.
	APIKey string
	// AppID is the merchant's application (app_id of payments).
	AppID string
	// PublicKey is the merchant's RSA public key, PEM or base64 of PKIX DER.
	PublicKey string
	// Name is the merchant's name.
	Name string
}

// Delays are how long each asynchronous onboarding step takes. A zero delay
// completes the step right after the response that started it (still
// asynchronously: the response says pending). With Config.Manual the delays
// are ignored and every step waits for Server.Advance.
type Delays struct {
	// Entry is 开户进件 → queryEntryUser.succeeded or userEntry.failed.
	Entry time.Duration
	// Audit is 提交商户证照 (audit_status I) → P, W or R.
	Audit time.Duration
	// Resident is 商户入驻 (every channel I) → S or F per channel and
	// resident.succeeded / resident.failed.
	Resident time.Duration
	// ResidentModify is 商户入驻修改 → resident.modify.succeeded / failed.
	ResidentModify time.Duration
	// RealName is each of the two steps of 实名认证: 审核中 → waiting for the
	// contact's (or legal person's) confirmation with a QR code, then the
	// confirmation itself (as if the QR code were scanned) → 审核通过/已授权
	// or 审核失败, with the asynchronous result.
	RealName time.Duration
	// Settle is 修改结算账户信息 → merchant.modify.succeeded / failed.
	Settle time.Duration
}

// Config configures a Server. Zero values are what tests want: steps
// complete at once, payers never pay by themselves, notifications are
// retried on Adapay's schedule.
type Config struct {
	// Merchants are the accounts accepted at start.
	Merchants []Merchant
	// Key is the simulator's own RSA key (Adapay's private key): responses
	// and notifications are signed with it. nil uses a key generated once
	// per process; Server.PublicKeyBase64 publishes it.
	Key *rsa.PrivateKey
	// Manual holds every onboarding step until Server.Advance.
	Manual bool
	// Delays of the onboarding steps when not Manual.
	Delays Delays
	// AutoPayDelay, when positive, makes a simulated payer pay every pending
	// payment that long after its creation. 0 leaves payments pending until
	// Server.Pay or Server.Fail.
	AutoPayDelay time.Duration
	// RefundDelay is how long a refund stays pending before it succeeds or
	// fails; 0 settles it right after the response (which says pending).
	RefundDelay time.Duration
	// NotifySchedule is the wait before each notification attempt; nil means
	// Adapay's: a first attempt and 3 retries (0, 15 s, 60 s, 300 s). A
	// notification is acknowledged by HTTP 200, whatever the body.
	NotifySchedule []time.Duration
	// NotifyTimeout bounds one notification attempt; 0 means 10 s.
	NotifyTimeout time.Duration
	// HTTPClient sends notifications; nil means a plain http.Client.
	HTTPClient *http.Client
	// Now is the clock of every timestamp; nil means time.Now.
	Now func() time.Time
	// IDFunc makes ids from a prefix and a per-prefix sequence starting at 1
	// (payments 002112…, refunds 002112…R, closes …C, pictures, API keys).
	// nil means Adapay-looking ids.
	IDFunc func(prefix string, seq int64) string
	// RequestLogSize is how many requests Server.Requests keeps; 0 means 256.
	RequestLogSize int
	// PublicURL is the base URL clients use to reach the simulator: the
	// signed text of a request starts with it, and QR codes and pay links
	// point at it. "" uses the scheme and Host of each request.
	PublicURL string
	// MaxUpload bounds an uploaded picture; 0 means Adapay's 2 MiB.
	MaxUpload int64
}

// DefaultMerchantAPIKey and DefaultMerchantAppID identify DefaultMerchant.
const (
	DefaultMerchantAPIKey = "api_live_9c14f264-e390-41df-984d-df15a6952031"
	DefaultMerchantAppID  = "app_7d87c043-aae3-4357-9b2c-269349a980d6"
)

// DefaultMerchantKey returns the default merchant's key pair, generated once
// per process: configure the plugin's merchant_private with
// PrivateKeyPEM().
func DefaultMerchantKey() KeyPair {
	keys, err := sharedKeyPairs()
	if err != nil {
		panic("sim: " + err.Error())
	}
	return keys[1]
}

// SimulatorKey returns the key pair the simulator signs with when
// Config.Key is nil: configure the plugin's adapay_public with
// PublicKeyBase64().
func SimulatorKey() KeyPair {
	keys, err := sharedKeyPairs()
	if err != nil {
		panic("sim: " + err.Error())
	}
	return keys[0]
}

// DefaultMerchant is the agent of DefaultConfig, signing with
// DefaultMerchantKey.
func DefaultMerchant() Merchant {
	return Merchant{APIKey: DefaultMerchantAPIKey, AppID: DefaultMerchantAppID,
		PublicKey: DefaultMerchantKey().PublicKeyBase64(), Name: "汇付测试渠道商"}
}

// DefaultConfig returns a configuration with DefaultMerchant, immediate
// steps, and Adapay's notification schedule.
func DefaultConfig() Config {
	return Config{Merchants: []Merchant{DefaultMerchant()}}
}

// SandboxConfig returns DefaultConfig at Adapay's pace, for `payhost
// sandbox`: an entry takes 5 s, a document audit 10 s, a channel
// registration 8 s (and a change 5 s), each real-name step 5 s, a card
// change 3 s; payers pay after 5 s; refunds take 2 s.
func SandboxConfig() Config {
	c := DefaultConfig()
	c.Delays = Delays{Entry: 5 * time.Second, Audit: 10 * time.Second, Resident: 8 * time.Second,
		ResidentModify: 5 * time.Second, RealName: 5 * time.Second, Settle: 3 * time.Second}
	c.AutoPayDelay = 5 * time.Second
	c.RefundDelay = 2 * time.Second
	return c
}

// DefaultNotifySchedule is the wait before each notification attempt: the
// first at once, then 3 retries.
var DefaultNotifySchedule = []time.Duration{0, 15 * time.Second, 60 * time.Second, 300 * time.Second}

const (
	defaultNotifyTimeout = 10 * time.Second
	defaultRequestLog    = 256
	defaultMaxUpload     = 2 << 20
)
