// Package haotian is the Payhost provider plugin for Haotian 数据 V4, a
// payment gateway speaking the Jeepay protocol (seed 001): MD5-signed JSON
// requests for pay orders, refunds, transfers, split (分账), the scan-code
// POS interface and their notifications. It is written
// against the pdk only, so it runs in the wasm sandbox (see ./wasm) or
// in-process; sim is a simulator of the gateway for tests and the sandbox.
package haotian

import (
	"github.com/payhost/payhost/core"
)

// Name is the plugin name.
const Name = "haotian"

// Version is the plugin version.
const Version = "0.1.0"

// Manifest names.
const (
	endpointGateway = "gateway"
	keySecret       = "app_secret"
	cfgMchNo        = "mch_no"
	cfgAppID        = "app_id"
	cfgNotifyMaxAge = "notify_max_age_seconds"
	cfgTimeZone     = "time_zone"
)

// Plugin is the Haotian provider.
type Plugin struct{}

// New returns the plugin.
func New() *Plugin { return &Plugin{} }

// wayCodes maps canonical methods to the gateway's wayCode.
var wayCodes = map[core.Method]string{
	core.MethodCashier:       "QR_CASHIER",
	core.MethodBarcode:       "AUTO_BAR",
	core.MethodAlipayBarcode: "ALI_BAR",
	core.MethodAlipayJSAPI:   "ALI_JSAPI",
	core.MethodAlipayMini:    "ALI_LITE",
	core.MethodAlipayApp:     "ALI_APP",
	core.MethodAlipayPC:      "ALI_PC",
	core.MethodAlipayWap:     "ALI_WAP",
	core.MethodAlipayQR:      "ALI_QR",
	core.MethodWechatJSAPI:   "WX_JSAPI",
	core.MethodWechatMini:    "WX_LITE",
	core.MethodWechatBarcode: "WX_BAR",
	core.MethodWechatH5:      "WX_H5",
	core.MethodWechatNative:  "WX_NATIVE",
	core.MethodUnionpayBar:   "YSF_BAR",
	core.MethodUnionpayJSAPI: "YSF_JSAPI",
	core.MethodPaypalPC:      "PP_PC",
}

var methodsByWayCode = func() map[string]core.Method {
	m := make(map[string]core.Method, len(wayCodes))
	for k, v := range wayCodes {
		m[v] = k
	}
	return m
}()

// WayCode returns the gateway's wayCode for a canonical method.
func WayCode(m core.Method) (string, bool) {
	w, ok := wayCodes[m]
	return w, ok
}

// Manifest implements pdk.Plugin.
func (*Plugin) Manifest() core.Manifest {
	return core.Manifest{
		Name:        Name,
		Version:     Version,
		Description: "Haotian 数据 V4 gateway (Jeepay protocol): pay orders for every wayCode, refunds, transfers, split (分账), scan-code POS, notifications",
		Methods:     sortedMethods(),
		Currencies:  []core.Currency{"CNY"},
		Endpoints: []core.EndpointSpec{{
			Name:        endpointGateway,
			Description: "payment gateway",
			URLs:        map[string]string{"production": "https://pay.haotiandate.com"},
		}},
		Keys: []core.KeySpec{{
			Name: keySecret, Kind: core.KeySecret, Algorithms: []core.SignAlg{core.SignMD5Key},
			Description: "the application's MD5 secret (appSecret)",
		}},
		Config: []core.ConfigSpec{
			{Name: cfgMchNo, Required: true, Description: "merchant number (商户号), e.g. M1621873433953"},
			{Name: cfgAppID, Required: true, Description: "application id (应用ID)"},
			{Name: cfgNotifyMaxAge, Default: "3600", Description: "refuse notifications whose reqTime is older than this many seconds (replays)"},
			{Name: cfgTimeZone, Default: defaultTimeZone, Description: "UTC offset of the gateway's statement days and bill times (China time); reconciliation reads it too"},
		},
	}
}

// sortedMethods lists the supported methods in a stable order.
func sortedMethods() []core.Method {
	return []core.Method{
		core.MethodWechatJSAPI, core.MethodWechatMini, core.MethodWechatNative, core.MethodWechatH5, core.MethodWechatBarcode,
		core.MethodAlipayJSAPI, core.MethodAlipayMini, core.MethodAlipayApp, core.MethodAlipayPC, core.MethodAlipayWap,
		core.MethodAlipayQR, core.MethodAlipayBarcode, core.MethodUnionpayJSAPI, core.MethodUnionpayBar,
		core.MethodBarcode, core.MethodCashier, core.MethodPaypalPC,
	}
}
