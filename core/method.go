package core

import (
	"fmt"
	"regexp"
)

// Method is a canonical payment method. Each plugin maps the methods it
// supports to its own codes and lists them in its manifest.
type Method string

// Canonical methods.
const (
	MethodWechatJSAPI   Method = "wechat.jsapi"   // WeChat official-account (in-app browser) payment
	MethodWechatMini    Method = "wechat.mini"    // WeChat mini-program payment
	MethodWechatApp     Method = "wechat.app"     // WeChat in native app
	MethodWechatNative  Method = "wechat.native"  // WeChat QR code shown to the payer
	MethodWechatH5      Method = "wechat.h5"      // WeChat from a mobile browser
	MethodWechatBarcode Method = "wechat.barcode" // merchant scans the payer's WeChat code
	MethodAlipayJSAPI   Method = "alipay.jsapi"   // Alipay in-app (life account) payment
	MethodAlipayQR      Method = "alipay.qr"      // Alipay QR code shown to the payer
	MethodAlipayWap     Method = "alipay.wap"     // Alipay from a mobile browser
	MethodAlipayPC      Method = "alipay.pc"      // Alipay desktop web checkout
	MethodAlipayApp     Method = "alipay.app"     // Alipay in native app
	MethodAlipayMini    Method = "alipay.mini"    // Alipay mini-program
	MethodAlipayBarcode Method = "alipay.barcode" // merchant scans the payer's Alipay code
	MethodUnionpayQR    Method = "unionpay.qr"    // UnionPay QR shown to the payer
	MethodUnionpayJSAPI Method = "unionpay.jsapi" // UnionPay (YunShanFu) in-app
	MethodUnionpayBar   Method = "unionpay.barcode"
	MethodDCEPQR        Method = "dcep.qr"      // digital RMB QR
	MethodDCEPBarcode   Method = "dcep.barcode" // digital RMB payer code
	MethodBarcode       Method = "barcode"      // any wallet's payer code, provider detects the wallet
	MethodQuick         Method = "quick"        // bank card + SMS code
	MethodBalance       Method = "balance"      // provider wallet balance
	MethodOnlineBanking Method = "online_banking"
	MethodCashier       Method = "cashier"   // provider-hosted checkout page
	MethodToken         Method = "token"     // debit with an authorised token
	MethodPaypalPC      Method = "paypal.pc" // PayPal web checkout
)

var knownMethods = map[Method]string{
	MethodWechatJSAPI: "WeChat official account / in-app browser", MethodWechatMini: "WeChat mini-program",
	MethodWechatApp: "WeChat in a native app", MethodWechatNative: "WeChat QR code", MethodWechatH5: "WeChat from a mobile browser",
	MethodWechatBarcode: "WeChat payer code", MethodAlipayJSAPI: "Alipay in-app", MethodAlipayQR: "Alipay QR code",
	MethodAlipayWap: "Alipay mobile web", MethodAlipayPC: "Alipay desktop web", MethodAlipayApp: "Alipay in a native app",
	MethodAlipayMini: "Alipay mini-program", MethodAlipayBarcode: "Alipay payer code", MethodUnionpayQR: "UnionPay QR code",
	MethodUnionpayJSAPI: "UnionPay in-app", MethodUnionpayBar: "UnionPay payer code", MethodDCEPQR: "digital RMB QR code",
	MethodDCEPBarcode: "digital RMB payer code", MethodBarcode: "any wallet's payer code", MethodQuick: "bank card with SMS code",
	MethodBalance: "wallet balance", MethodOnlineBanking: "online banking", MethodCashier: "hosted checkout",
	MethodToken: "authorised debit with a token", MethodPaypalPC: "PayPal web checkout",
}

// intlMethod matches international channel codes, e.g. "intl.gcash",
// "intl.qris", "intl.bank_transfer".
var intlMethod = regexp.MustCompile(`^intl\.[a-z0-9][a-z0-9_]{0,47}$`)

// Valid reports whether m is a canonical method or an international channel
// code of the form "intl.<code>".
func (m Method) Valid() bool {
	if _, ok := knownMethods[m]; ok {
		return true
	}
	return intlMethod.MatchString(string(m))
}

// Barcode reports whether the payer presents a code that the merchant scans.
func (m Method) Barcode() bool {
	switch m {
	case MethodWechatBarcode, MethodAlipayBarcode, MethodUnionpayBar, MethodDCEPBarcode, MethodBarcode:
		return true
	}
	return false
}

// ParseMethod validates s as a Method.
func ParseMethod(s string) (Method, error) {
	m := Method(s)
	if !m.Valid() {
		return "", &Error{Code: CodeInvalidRequest, Param: "method", Message: fmt.Sprintf("unknown payment method %q", s)}
	}
	return m, nil
}

// Methods returns the canonical methods (without intl channel codes) with a
// one-line description each.
func Methods() map[Method]string {
	out := make(map[Method]string, len(knownMethods))
	for k, v := range knownMethods {
		out[k] = v
	}
	return out
}
