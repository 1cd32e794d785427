package adapay

import (
	"context"
	"net/url"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// Paths of the payment calls.
const (
	pathPayments    = "/v1/payments"
	pathPaymentList = "/v1/payments/list"
	pathRefunds     = "/v1/payments/refunds"
)

// chinaTime is Adapay's time zone (time_expire, end_time).
var chinaTime = time.FixedZone("CST", 8*3600)

func paymentPath(id string, suffix string) string {
	return pathPayments + "/" + url.PathEscape(id) + suffix
}

// paymentStatus maps Adapay's payment status: pending processing, succeeded,
// failed; a closed (or expired) payment answers closed.
func paymentStatus(status string) core.PaymentStatus {
	switch status {
	case "succeeded":
		return core.PaymentSucceeded
	case "failed":
		return core.PaymentFailed
	case "closed":
		return core.PaymentClosed
	}
	return core.PaymentProcessing
}

// payInfo maps the expend of a created payment to how the payer pays.
func payInfo(channel string, expend pdk.Fields) *core.PayInfo {
	if q := expend.Get("qrcode_url"); q != "" {
		return &core.PayInfo{Kind: core.PayInfoQRCode, Data: q}
	}
	info := expend.Get("pay_info")
	if info == "" {
		return nil
	}
	kind := core.PayInfoJSAPI
	switch channel {
	case "alipay_wap":
		kind = core.PayInfoRedirect
	case "alipay":
		kind = core.PayInfoApp
	case "wx_lite", "alipay_lite":
		kind = core.PayInfoMiniProgram
	case "alipay_qr", "union_qr":
		kind = core.PayInfoQRCode
	}
	return &core.PayInfo{Kind: kind, Data: info}
}

// paymentFromData maps a payment object (an answer or a notification's data).
func paymentFromData(data pdk.Fields) core.Payment {
	amount, _ := core.ParseAmount(data.Get("pay_amt"), 2)
	p := core.Payment{
		ID:             data.Get("order_no"),
		ProviderID:     data.Get("id"),
		ChannelTradeNo: data.Get("out_trans_id"),
		Status:         paymentStatus(data.Get("status")),
		Amount:         amount,
		Currency:       "CNY",
		Method:         methodsByChannel[data.Get("pay_channel")],
		FailureCode:    data.Get("error_code"),
		FailureMessage: data.Get("error_msg"),
		ProviderData:   map[string]string{},
	}
	for _, k := range []string{"pay_channel", "app_id", "party_order_id", "pay_mode"} {
		if v := data.Get(k); v != "" {
			p.ProviderData[k] = v
		}
	}
	if t, err := time.ParseInLocation("20060102150405", data.Get("end_time"), chinaTime); err == nil {
		p.PaidAt = t.UTC()
	}
	if p.Status == core.PaymentProcessing {
		if expend, err := pdk.ParseFields([]byte(data.Get("expend"))); err == nil {
			p.PayInfo = payInfo(data.Get("pay_channel"), expend)
		}
	}
	return p
}

// CreatePayment implements pdk.PaymentCreator with POST /v1/payments.
func (*Plugin) CreatePayment(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	channel, ok := payChannels[req.Method]
	if !ok {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "method", Provider: Name, Message: "method " + string(req.Method) + " is not offered by Adapay"}
	}
	if req.Currency != "CNY" {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "currency", Provider: Name, Message: "Adapay takes CNY only"}
	}
	if req.SubMerchantID != "" {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "sub_merchant_id", Provider: Name,
			Message: "payments for an onboarded merchant are made with its own account (its API key and app_id)"}
	}
	delay := req.Capture == core.CaptureDelayed
	switch {
	case req.Capture == core.CaptureGuarantee:
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "capture", Provider: Name, Message: "Adapay holds funds with pay_mode delay only"}
	case req.Split != nil && req.Split.Mode == core.SplitManual:
		delay = true // funds are held and split at confirmation
	case req.Split != nil && req.Split.Mode != core.SplitNone && req.Split.Mode != "":
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "split.mode", Provider: Name,
			Message: "Adapay splits a delayed payment when it is confirmed (split mode manual)"}
	}
	expend := &jsonBody{}
	switch channel {
	case "wx_pub", "wx_lite":
		if req.Payer.OpenID == "" {
			return nil, invalid("payer.open_id", channel+" needs the payer's openid")
		}
		expend.str("open_id", req.Payer.OpenID)
	case "alipay_pub", "alipay_lite":
		if req.Payer.BuyerID == "" {
			return nil, invalid("payer.buyer_id", channel+" needs the payer's Alipay user id")
		}
		expend.str("buyer_id", req.Payer.BuyerID)
	}
	appID, _ := h.Config(cfgAppID)
	subject := firstOf(req.Subject, req.Description, req.PaymentID)
	body := (&jsonBody{}).
		str("app_id", appID).
		str("order_no", req.PaymentID).
		str("pay_channel", channel).
		str("pay_amt", core.FormatAmount(req.Amount, 2)).
		str("goods_title", subject).
		str("goods_desc", firstOf(req.Description, subject)).
		str("currency", "cny").
		str("description", req.Extra["description"]).
		str("notify_url", req.NotifyURL).
		raw("expend", nonEmpty(expend))
	if delay {
		body.str("pay_mode", "delay")
	}
	if req.ExpireSeconds > 0 {
		start := req.CreatedAt
		if start.IsZero() {
			start = h.Now()
		}
		body.str("time_expire", start.Add(time.Duration(req.ExpireSeconds)*time.Second).In(chinaTime).Format("20060102150405"))
	}
	data, err := call(ctx, h, &request{method: "POST", path: pathPayments, body: body, mutating: true})
	if err != nil {
		return nil, err
	}
	pay := paymentFromData(data)
	if pay.ProviderID == "" {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "payments answered without an id"}
	}
	pay.ID = firstOf(pay.ID, req.PaymentID)
	pay.Method = req.Method
	if pay.Amount == 0 {
		pay.Amount = req.Amount
	}
	pay.ProviderData["pay_channel"] = channel
	return &core.CreatePaymentResponse{Payment: pay}, nil
}

// findPayment reads a payment by its Adapay id, or by its order_no through
// the payment list of the configured application when the id is unknown
// (a create whose answer was lost).
func findPayment(ctx context.Context, h pdk.Host, ref core.PaymentRef) (pdk.Fields, error) {
	if ref.ProviderID != "" {
		return call(ctx, h, &request{method: "GET", path: paymentPath(ref.ProviderID, "")})
	}
	if ref.ID == "" {
		return nil, invalid("payment", "payment id or provider id is required")
	}
	appID, _ := h.Config(cfgAppID)
	data, err := call(ctx, h, &request{method: "GET", path: pathPaymentList, query: pdk.Pairs("app_id", appID, "order_no", ref.ID)})
	if err != nil {
		return nil, err
	}
	list, err := pdk.ParseObjects([]byte(firstOf(data.Get("payments"), "[]")))
	if err != nil {
		return nil, &core.Error{Code: core.CodeProviderUnavailable, Provider: Name, Retryable: true, Message: "payments/list: payments is not a JSON array"}
	}
	for _, p := range list {
		if p.Get("order_no") == ref.ID {
			return p, nil
		}
	}
	return nil, &core.Error{Code: core.CodeNotFound, Provider: Name, Message: "no payment with order_no " + ref.ID}
}

// QueryPayment implements pdk.PaymentQuerier with GET /v1/payments/{id}.
func (*Plugin) QueryPayment(ctx context.Context, h pdk.Host, req *core.QueryPaymentRequest) (*core.QueryPaymentResponse, error) {
	data, err := findPayment(ctx, h, req.Payment)
	if err != nil {
		return nil, err
	}
	pay := paymentFromData(data)
	pay.ID = firstOf(pay.ID, req.Payment.ID)
	if pay.Method == "" {
		pay.Method = req.Payment.Method
	}
	return &core.QueryPaymentResponse{Payment: pay}, nil
}

// ClosePayment implements pdk.PaymentCloser with POST
// /v1/payments/{id}/close. Only a pending payment can be closed.
func (*Plugin) ClosePayment(ctx context.Context, h pdk.Host, req *core.ClosePaymentRequest) (*core.ClosePaymentResponse, error) {
	id := req.Payment.ProviderID
	if id == "" {
		data, err := findPayment(ctx, h, req.Payment)
		if err != nil {
			return nil, err
		}
		id = data.Get("id")
	}
	data, err := call(ctx, h, &request{method: "POST", path: paymentPath(id, "/close"), mutating: true,
		body: (&jsonBody{}).str("payment_id", id).str("reason", req.Reason)})
	if err != nil {
		return nil, err
	}
	pay := core.Payment{ID: req.Payment.ID, ProviderID: id, Amount: req.Payment.Amount, Currency: req.Payment.Currency,
		Method: req.Payment.Method, ProviderData: map[string]string{}}
	switch data.Get("status") {
	case "succeeded":
		pay.Status = core.PaymentClosed
	case "failed":
		return nil, &core.Error{Code: core.CodeConflict, Provider: Name, ProviderCode: data.Get("error_code"),
			ProviderMessage: data.Get("error_msg"), Message: "close refused: " + firstOf(data.Get("error_msg"), "failed")}
	default:
		pay.Status = core.PaymentProcessing // the close is pending: payment.close.succeeded or a query settles it
	}
	if c := data.Get("id"); c != "" {
		pay.ProviderData["close_id"] = c
	}
	return &core.ClosePaymentResponse{Payment: pay}, nil
}
