package haotian

import (
	"context"
	"strconv"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// Refund and transfer states of the gateway.
const (
	orderCreated    = 0
	orderProcessing = 1
	orderSuccess    = 2
	orderFailed     = 3
	orderClosed     = 4
)

func refundStatus(state int64) core.RefundStatus {
	switch state {
	case orderCreated:
		return core.RefundCreated
	case orderProcessing:
		return core.RefundProcessing
	case orderSuccess:
		return core.RefundSucceeded
	case orderFailed, orderClosed:
		return core.RefundFailed
	}
	return core.RefundProcessing
}

func refundFromFields(data pdk.Fields, fallback core.Refund) core.Refund {
	r := core.Refund{
		ID:             firstOf(data.Get("mchRefundNo"), fallback.ID),
		ProviderID:     firstOf(data.Get("refundOrderId"), fallback.ProviderID),
		PaymentID:      firstOf(data.Get("mchOrderNo"), fallback.PaymentID),
		Status:         refundStatus(atoi(data.Get("state"))),
		Amount:         atoi(data.Get("refundAmount")),
		Currency:       "CNY",
		FailureCode:    data.Get("errCode"),
		FailureMessage: data.Get("errMsg"),
		ProviderData:   map[string]string{"state": data.Get("state")},
	}
	if data.Get("payOrderId") != "" {
		r.ProviderData["payOrderId"] = data.Get("payOrderId")
	}
	if r.Amount == 0 {
		r.Amount = fallback.Amount
	}
	if ms := atoi(data.Get("successTime")); ms > 0 {
		r.SucceededAt = time.UnixMilli(ms).UTC()
	}
	return r
}

// CreateRefund implements pdk.RefundCreator with /api/refund/refundOrder.
func (*Plugin) CreateRefund(ctx context.Context, h pdk.Host, req *core.CreateRefundRequest) (*core.CreateRefundResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	p := pdk.Pairs(
		"mchRefundNo", req.RefundID,
		"refundAmount", strconv.FormatInt(req.Amount, 10),
		"currency", "cny",
		"refundReason", firstOf(req.Reason, "refund"),
		"notifyUrl", req.NotifyURL,
	)
	if err := orderRef(&p, req.Payment); err != nil {
		return nil, err
	}
	path := "/api/refund/refundOrder"
	if req.Terminal != nil && req.Terminal.ID != "" {
		p.Set("deviceNo", req.Terminal.ID) // a refund made on a POS device (发起退款)
		path = "/api/pos/refund"
	}
	data, err := call(ctx, h, path, p, true)
	if err != nil {
		return nil, err
	}
	r := refundFromFields(data, core.Refund{ID: req.RefundID, PaymentID: req.Payment.ID, Amount: req.Amount})
	if r.ProviderID == "" {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "refundOrder answered without a refundOrderId"}
	}
	return &core.CreateRefundResponse{Refund: r}, nil
}

// QueryRefund implements pdk.RefundQuerier with /api/refund/query.
func (*Plugin) QueryRefund(ctx context.Context, h pdk.Host, req *core.QueryRefundRequest) (*core.QueryRefundResponse, error) {
	var p pdk.Fields
	switch {
	case req.Refund.ProviderID != "":
		p.Set("refundOrderId", req.Refund.ProviderID)
	case req.Refund.ID != "":
		p.Set("mchRefundNo", req.Refund.ID)
	default:
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "refund", Message: "refund id or provider id is required"}
	}
	data, err := call(ctx, h, "/api/refund/query", p, false)
	if err != nil {
		return nil, err
	}
	return &core.QueryRefundResponse{Refund: refundFromFields(data, core.Refund{ID: req.Refund.ID, PaymentID: req.Refund.Payment.ID})}, nil
}
