// Package adapay is the Payhost provider plugin for Adapay (汇付 Adapay, seed
// 003): the agent (渠道商) onboarding API — opening sub-merchants (开户进件),
// their documents and review, WeChat/Alipay registration (商户入驻),
// real-name authentication (实名认证), settlement card changes, applications —
// and the payment API (payments, closes, refunds), with the asynchronous
// notifications of both. Every request is signed SHA1withRSA by key
// reference and every answer verified with Adapay's public key. It is written
// against the pdk only, so it runs in the wasm sandbox (see ./wasm) or
// in-process; sim is a simulator of Adapay for tests and the sandbox.
package adapay

import (
	"github.com/payhost/payhost/core"
)

// Name is the plugin name.
const Name = "adapay"

// Version is the plugin version.
const Version = "0.1.0"

// Manifest names.
const (
	endpointAPI      = "api"
	keyPrivate       = "merchant_private"
	keyPublic        = "adapay_public"
	cfgAPIKey        = "api_key"
	cfgAppID         = "app_id"
	cfgBaseURL       = "base_url"
	cfgRealNamePath  = "realname_path"
	cfgNotifyMaxAge  = "notify_max_age_seconds"
	cfgFeeMember     = "fee_member"
	defaultBaseURL   = "https://api.adapay.tech"
	defaultRealName  = "/v1/merchant/realname"
	extAppCreate     = "adapay.app_create"
	extAppList       = "adapay.app_list"
	defaultNotifyAge = "86400"
)

// Plugin is the Adapay provider. It keeps no state: everything it needs
// about an object travels in ProviderData.
type Plugin struct{}

// New returns the plugin.
func New() *Plugin { return &Plugin{} }

// payChannels maps canonical methods to Adapay's pay_channel.
var payChannels = map[core.Method]string{
	core.MethodAlipayApp:   "alipay",
	core.MethodAlipayQR:    "alipay_qr",
	core.MethodAlipayWap:   "alipay_wap",
	core.MethodAlipayMini:  "alipay_lite",
	core.MethodAlipayJSAPI: "alipay_pub",
	core.MethodWechatJSAPI: "wx_pub",
	core.MethodWechatMini:  "wx_lite",
	core.MethodUnionpayQR:  "union_qr",
}

var methodsByChannel = func() map[string]core.Method {
	m := make(map[string]core.Method, len(payChannels))
	for k, v := range payChannels {
		m[v] = k
	}
	return m
}()

// PayChannel returns Adapay's pay_channel for a canonical method.
func PayChannel(m core.Method) (string, bool) {
	c, ok := payChannels[m]
	return c, ok
}

// Manifest implements pdk.Plugin.
func (*Plugin) Manifest() core.Manifest {
	return core.Manifest{
		Name:    Name,
		Version: Version,
		Description: "Adapay (seed 003): sub-merchant onboarding (entry, documents and audit, WeChat/Alipay registration, " +
			"real-name authentication, settlement card), applications, payments (delayed capture with a split), closes, refunds and their notifications",
		Methods: []core.Method{core.MethodWechatJSAPI, core.MethodWechatMini, core.MethodAlipayJSAPI, core.MethodAlipayMini,
			core.MethodAlipayApp, core.MethodAlipayWap, core.MethodAlipayQR, core.MethodUnionpayQR},
		Currencies: []core.Currency{"CNY"},
		Endpoints: []core.EndpointSpec{{
			Name:        endpointAPI,
			Description: "Adapay API; must be the same URL as config base_url (the signature covers the full URL)",
			URLs:        map[string]string{"production": defaultBaseURL},
		}},
		Keys: []core.KeySpec{
			{Name: keyPrivate, Kind: core.KeyPrivate, Algorithms: []core.SignAlg{core.SignRSASHA1},
				Description: "the merchant's (agent's) RSA private key; requests are signed SHA1withRSA"},
			{Name: keyPublic, Kind: core.KeyPublic, Algorithms: []core.SignAlg{core.SignRSASHA1},
				Description: "Adapay's RSA public key (base64 DER or PEM); answers and notifications are verified with it"},
		},
		Config: []core.ConfigSpec{
			{Name: cfgAPIKey, Required: true, Description: "the live API key (api_live_…) sent in the Authorization header; an identifier: every request is also signed with merchant_private"},
			{Name: cfgAppID, Required: true, Description: "the application id (app_…) payments are made in"},
			{Name: cfgBaseURL, Default: defaultBaseURL, Description: "the base URL the signature covers; must equal the api endpoint's URL"},
			{Name: cfgRealNamePath, Default: defaultRealName, Description: "path of 实名认证申请 (POST) and 实名认证查询 (GET), which the seed does not name"},
			{Name: cfgFeeMember, Default: merchantMember, Description: "the member (div_members member_id) that bears the fee of a split capture; 0 is the merchant"},
			{Name: cfgNotifyMaxAge, Default: defaultNotifyAge, Description: "refuse notifications whose created_time is older than this many seconds (replays); 0 disables"},
		},
		Extensions: []core.ExtensionSpec{
			{Name: extAppCreate, Mutating: true, Description: `创建应用: {"sub_api_key","app_name"} → {"app_id"}`},
			{Name: extAppList, Description: `查询应用: {"sub_api_key"} → {"application_list":[{"app_id","app_name"}]}`},
		},
		Limits: core.Limits{MinAmount: 1},
	}
}
