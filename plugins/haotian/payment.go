package haotian

import (
	"context"
	"strconv"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// Pay order states of the gateway.
const (
	payCreated   = 0
	payPaying    = 1
	paySuccess   = 2
	payFailed    = 3
	payCancelled = 4
	payRefunded  = 5
	payClosed    = 6
)

// paymentStatus maps a pay order state to the canonical status. A refunded
// order (5) stays succeeded: refunds are objects of their own.
func paymentStatus(state int64) core.PaymentStatus {
	switch state {
	case payCreated:
		return core.PaymentCreated
	case payPaying:
		return core.PaymentProcessing
	case paySuccess, payRefunded:
		return core.PaymentSucceeded
	case payFailed:
		return core.PaymentFailed
	case payCancelled, payClosed:
		return core.PaymentClosed
	}
	return core.PaymentProcessing
}

// channelExtra builds the wayCode's channelExtra, refusing before anything
// is sent when the payer's identity the wayCode needs is missing.
func channelExtra(wayCode string, req *core.CreatePaymentRequest) (string, error) {
	var extra pdk.Fields
	switch wayCode {
	case "AUTO_BAR", "ALI_BAR", "WX_BAR", "YSF_BAR":
		if req.Payer.AuthCode == "" {
			return "", &core.Error{Code: core.CodeInvalidRequest, Param: "payer.auth_code", Message: wayCode + " needs the payer's barcode"}
		}
		extra.Set("authCode", req.Payer.AuthCode)
	case "WX_JSAPI", "WX_LITE":
		if req.Payer.OpenID == "" {
			return "", &core.Error{Code: core.CodeInvalidRequest, Param: "payer.open_id", Message: wayCode + " needs the payer's openid"}
		}
		extra.Set("openid", req.Payer.OpenID)
	case "ALI_JSAPI", "ALI_LITE":
		if req.Payer.BuyerID == "" {
			return "", &core.Error{Code: core.CodeInvalidRequest, Param: "payer.buyer_id", Message: wayCode + " needs the payer's Alipay user id"}
		}
		extra.Set("buyerUserId", req.Payer.BuyerID)
	}
	if v := req.Extra["payDataType"]; v != "" {
		extra.Set("payDataType", v)
	}
	if len(extra) == 0 {
		return "", nil
	}
	return string(extra.JSON()), nil
}

func divisionMode(s *core.SplitInstruction) (string, error) {
	if s == nil {
		return "0", nil
	}
	switch s.Mode {
	case core.SplitNone, "":
		return "0", nil
	case core.SplitAuto:
		return "1", nil
	case core.SplitManual:
		return "2", nil
	}
	return "", &core.Error{Code: core.CodeUnsupported, Param: "split.mode", Provider: Name,
		Message: "the gateway splits after payment (auto or manual); it cannot carry split parts with the order"}
}

// CreatePayment implements pdk.PaymentCreator with /api/pay/unifiedOrder.
func (*Plugin) CreatePayment(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	wayCode, ok := wayCodes[req.Method]
	if !ok {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "method", Provider: Name, Message: "method " + string(req.Method) + " is not offered by the gateway"}
	}
	if req.Currency != "CNY" {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "currency", Provider: Name, Message: "the gateway takes CNY only"}
	}
	if req.Terminal != nil && req.Terminal.ID != "" && req.Method.Barcode() {
		return posPay(ctx, h, req)
	}
	extra, err := channelExtra(wayCode, req)
	if err != nil {
		return nil, err
	}
	mode, err := divisionMode(req.Split)
	if err != nil {
		return nil, err
	}
	subject := firstOf(req.Subject, req.Description, req.PaymentID)
	p := pdk.Pairs(
		"mchOrderNo", req.PaymentID,
		"wayCode", wayCode,
		"amount", strconv.FormatInt(req.Amount, 10),
		"currency", "cny",
		"subject", subject,
		"body", firstOf(req.Description, subject),
		"clientIp", req.Payer.ClientIP,
		"notifyUrl", req.NotifyURL,
		"returnUrl", req.ReturnURL,
		"channelExtra", extra,
		"divisionMode", mode,
		"extParam", req.Extra["extParam"],
	)
	if req.ExpireSeconds > 0 {
		p.Set("expiredTime", strconv.FormatInt(req.ExpireSeconds, 10))
	}
	data, err := call(ctx, h, "/api/pay/unifiedOrder", p, true)
	if err != nil {
		return nil, err
	}
	pay := core.Payment{
		ID:             firstOf(data.Get("mchOrderNo"), req.PaymentID),
		ProviderID:     data.Get("payOrderId"),
		Status:         paymentStatus(atoi(data.Get("orderState"))),
		Amount:         req.Amount,
		Currency:       req.Currency,
		Method:         req.Method,
		FailureCode:    data.Get("errCode"),
		FailureMessage: data.Get("errMsg"),
		PayInfo:        payInfo(wayCode, data.Get("payDataType"), data.Get("payData")),
		ProviderData:   map[string]string{"wayCode": wayCode, "divisionMode": mode},
	}
	if pay.ProviderID == "" {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "unifiedOrder answered without a payOrderId"}
	}
	return &core.CreatePaymentResponse{Payment: pay}, nil
}

// payInfo maps payDataType/payData to how the payer completes the payment.
func payInfo(wayCode, typ, data string) *core.PayInfo {
	kind := core.PayInfoNone
	switch typ {
	case "payurl":
		kind = core.PayInfoRedirect
	case "form":
		kind = core.PayInfoForm
	case "codeUrl":
		kind = core.PayInfoQRCode
	case "codeImgUrl":
		kind = core.PayInfoQRImage
	case "wxapp", "aliapp", "ysfapp":
		switch wayCode {
		case "WX_LITE", "ALI_LITE":
			kind = core.PayInfoMiniProgram
		case "ALI_APP":
			kind = core.PayInfoApp
		default:
			kind = core.PayInfoJSAPI
		}
	}
	if kind == core.PayInfoNone && data == "" {
		return &core.PayInfo{Kind: core.PayInfoNone}
	}
	return &core.PayInfo{Kind: kind, Data: data}
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// orderRef picks payOrderId when known, else the merchant order number.
func orderRef(p *pdk.Fields, ref core.PaymentRef) error {
	switch {
	case ref.ProviderID != "":
		p.Set("payOrderId", ref.ProviderID)
	case ref.ID != "":
		p.Set("mchOrderNo", ref.ID)
	default:
		return &core.Error{Code: core.CodeInvalidRequest, Param: "payment", Message: "payment id or provider id is required"}
	}
	return nil
}

// paymentFromQuery maps /api/pay/query (and pay notification) fields.
func paymentFromQuery(data pdk.Fields) core.Payment {
	p := core.Payment{
		ID:             data.Get("mchOrderNo"),
		ProviderID:     data.Get("payOrderId"),
		ChannelTradeNo: data.Get("channelOrderNo"),
		Status:         paymentStatus(atoi(data.Get("state"))),
		Amount:         atoi(data.Get("amount")),
		Currency:       "CNY",
		Method:         methodsByWayCode[data.Get("wayCode")],
		FeeAmount:      atoi(data.Get("mchFeeAmount")),
		FailureCode:    data.Get("errCode"),
		FailureMessage: data.Get("errMsg"),
		ProviderData:   map[string]string{"state": data.Get("state")},
	}
	if data.Get("wayCode") != "" {
		p.ProviderData["wayCode"] = data.Get("wayCode")
	}
	if data.Get("ifCode") != "" {
		p.ProviderData["ifCode"] = data.Get("ifCode")
	}
	if ms := atoi(data.Get("successTime")); ms > 0 {
		p.PaidAt = time.UnixMilli(ms).UTC()
	}
	return p
}

// QueryPayment implements pdk.PaymentQuerier with /api/pay/query.
func (*Plugin) QueryPayment(ctx context.Context, h pdk.Host, req *core.QueryPaymentRequest) (*core.QueryPaymentResponse, error) {
	var p pdk.Fields
	if err := orderRef(&p, req.Payment); err != nil {
		return nil, err
	}
	data, err := call(ctx, h, "/api/pay/query", p, false)
	if err != nil {
		return nil, err
	}
	return &core.QueryPaymentResponse{Payment: paymentFromQuery(data)}, nil
}

// ClosePayment implements pdk.PaymentCloser with /api/pay/close. The
// gateway answers an empty data object; success means the order is closed.
func (*Plugin) ClosePayment(ctx context.Context, h pdk.Host, req *core.ClosePaymentRequest) (*core.ClosePaymentResponse, error) {
	var p pdk.Fields
	if err := orderRef(&p, req.Payment); err != nil {
		return nil, err
	}
	if _, err := call(ctx, h, "/api/pay/close", p, true); err != nil {
		return nil, err
	}
	return &core.ClosePaymentResponse{Payment: core.Payment{
		ID: req.Payment.ID, ProviderID: req.Payment.ProviderID, Status: core.PaymentClosed,
		Amount: req.Payment.Amount, Currency: req.Payment.Currency, Method: req.Payment.Method,
	}}, nil
}
