package haotian

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// Envelope codes of the gateway.
const (
	codeOK       = 0
	codeSystem   = 10
	codeParam    = 11
	codeDatabase = 12
	codeBusiness = 9999
)

// sign adds the common parameters and the MD5 signature.
func sign(ctx context.Context, h pdk.Host, p *pdk.Fields) error {
	mchNo, _ := h.Config(cfgMchNo)
	appID, _ := h.Config(cfgAppID)
	p.Set("mchNo", mchNo)
	p.Set("appId", appID)
	p.Set("reqTime", strconv.FormatInt(h.Now().UnixMilli(), 10))
	p.Set("version", "1.0")
	p.Set("signType", "MD5")
	p.Delete("sign")
	sig, err := h.Sign(ctx, keySecret, core.SignMD5Key, p.AppendSigningString(nil))
	if err != nil {
		return err
	}
	p.Set("sign", upperHex(sig))
	return nil
}

// upperHex is strings.ToUpper(hex.EncodeToString(b)) in one step.
func upperHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&0xf]
	}
	return string(out)
}

// verify checks the MD5 signature of fields (everything but "sign").
func verify(ctx context.Context, h pdk.Host, fields pdk.Fields, sig string) error {
	var raw [16]byte
	if len(sig) != 2*len(raw) {
		return &core.Error{Code: core.CodeSignatureInvalid, Provider: Name, Message: "sign is not 32 hex digits"}
	}
	if _, err := hex.Decode(raw[:], []byte(sig)); err != nil {
		return &core.Error{Code: core.CodeSignatureInvalid, Provider: Name, Message: "sign is not 32 hex digits"}
	}
	if err := h.Verify(ctx, keySecret, core.SignMD5Key, fields.AppendSigningString(nil, "sign"), raw[:]); err != nil {
		ce := core.AsError(err)
		ce.Provider = Name
		return ce
	}
	return nil
}

// call sends one request and returns the verified data fields. mutating
// tells how to classify an unanswered or unreadable answer: for a call that
// changes state it is unknown_outcome (query to learn the truth), for a
// query provider_unavailable.
func call(ctx context.Context, h pdk.Host, path string, p pdk.Fields, mutating bool) (pdk.Fields, error) {
	if err := sign(ctx, h, &p); err != nil {
		return nil, err
	}
	body := p.JSON()
	resp, err := h.HTTP(ctx, &core.HTTPRequest{Endpoint: endpointGateway, Method: "POST", Path: path,
		Header: map[string][]string{"Content-Type": {"application/json; charset=utf-8"}}, Body: body})
	if err != nil {
		if ce := core.AsError(err); !mutating && ce.Code == core.CodeUnknownOutcome {
			// a read that got no answer changed nothing: it is simply unavailable
			return nil, &core.Error{Code: core.CodeProviderUnavailable, Provider: Name, Retryable: true, Message: ce.Message, Err: err}
		}
		return nil, err
	}
	unreadable := func(format string, args ...any) error {
		code := core.CodeProviderUnavailable
		if mutating {
			code = core.CodeUnknownOutcome
		}
		return &core.Error{Code: code, Provider: Name, Retryable: !mutating, Message: path + ": " + fmt.Sprintf(format, args...)}
	}
	if resp.Status != 200 {
		return nil, unreadable("HTTP %d", resp.Status)
	}
	env, err := pdk.ParseFields(resp.Body)
	if err != nil {
		return nil, unreadable("response is not a gateway envelope")
	}
	code, err := strconv.Atoi(env.Get("code"))
	if err != nil {
		return nil, unreadable("response has no envelope code")
	}
	if code != codeOK {
		return nil, businessError(code, env.Get("msg"), mutating)
	}
	var data pdk.Fields
	if raw := env.Get("data"); raw != "" {
		if data, err = pdk.ParseFieldsString(raw); err != nil {
			return nil, unreadable("data is not an object")
		}
	}
	if err := verify(ctx, h, data, env.Get("sign")); err != nil {
		if mutating {
			return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name,
				Message: path + ": response signature does not verify; the request may have been processed", Err: err}
		}
		return nil, err
	}
	return data, nil
}

// businessError maps a non-zero envelope code and its message to the
// canonical error. The gateway's 9999 messages are Jeepay's texts.
func businessError(code int, msg string, mutating bool) error {
	e := &core.Error{Provider: Name, ProviderCode: strconv.Itoa(code), ProviderMessage: msg, Message: msg}
	switch code {
	case codeParam:
		e.Code = core.CodeInvalidRequest
	case codeSystem, codeDatabase:
		if mutating {
			e.Code = core.CodeUnknownOutcome
		} else {
			e.Code, e.Retryable = core.CodeProviderUnavailable, true
		}
	default:
		e.Code = classify(msg)
	}
	return e
}

// classify maps a 9999 message to a canonical code.
func classify(msg string) core.Code {
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("验签失败", "商户不存在", "商户应用不存在", "不匹配", "签名类型"):
		return core.CodeAuthFailed
	case has("已存在"):
		return core.CodeDuplicate
	case has("不存在"):
		return core.CodeNotFound
	case has("状态不正确", "不可关闭", "在途", "不支持分账", "未初始化"):
		return core.CodeConflict
	case has("余额不足", "超出", "可分账金额不足"):
		return core.CodeInsufficientFunds
	case has("不支持", "未开通"):
		return core.CodeUnsupported
	case has("不能为空", "有误", "请大于", "不能小于", "必填"):
		return core.CodeInvalidRequest
	}
	return core.CodeDeclined
}

func atoi(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}
