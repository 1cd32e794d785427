package adapay

import (
	"context"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// refundStatus maps a refund's status (or trans_status of 查询退款: I/P
// processing, S succeeded, F failed).
func refundStatus(status string) core.RefundStatus {
	switch status {
	case "succeeded", "S":
		return core.RefundSucceeded
	case "failed", "F":
		return core.RefundFailed
	}
	return core.RefundProcessing
}

// refundFromData maps a refund object (an answer, a notification's data or
// an entry of 查询退款's refunds).
func refundFromData(data pdk.Fields, fallback core.Refund) core.Refund {
	amount, err := core.ParseAmount(data.Get("refund_amt"), 2)
	if err != nil {
		amount = fallback.Amount
	}
	r := core.Refund{
		ID:             firstOf(data.Get("refund_order_no"), fallback.ID),
		ProviderID:     firstOf(data.Get("id"), fallback.ProviderID),
		PaymentID:      fallback.PaymentID,
		Status:         refundStatus(firstOf(data.Get("trans_status"), data.Get("status"))),
		Amount:         amount,
		Currency:       "CNY",
		FailureCode:    data.Get("error_code"),
		FailureMessage: data.Get("error_msg"),
		ProviderData:   map[string]string{},
	}
	if p := data.Get("payment_id"); p != "" {
		r.ProviderData["payment_id"] = p
	}
	if t, err := time.ParseInLocation("20060102150405", data.Get("succeed_time"), chinaTime); err == nil {
		r.SucceededAt = t.UTC()
	}
	return r
}

// CreateRefund implements pdk.RefundCreator with POST
// /v1/payments/{id}/refunds. Adapay answers pending; refund.succeeded /
// refund.failed or QueryRefund settle it.
func (*Plugin) CreateRefund(ctx context.Context, h pdk.Host, req *core.CreateRefundRequest) (*core.CreateRefundResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if len(req.Split) > 0 {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "split", Provider: Name, Message: "refunds of split payments (div_members) are not offered by this plugin"}
	}
	id := req.Payment.ProviderID
	if id == "" {
		data, err := findPayment(ctx, h, req.Payment)
		if err != nil {
			return nil, err
		}
		id = data.Get("id")
	}
	body := (&jsonBody{}).
		str("payment_id", id).
		str("refund_order_no", req.RefundID).
		str("refund_amt", core.FormatAmount(req.Amount, 2)).
		str("reason", req.Reason).
		str("notify_url", req.NotifyURL)
	data, err := call(ctx, h, &request{method: "POST", path: paymentPath(id, "/refunds"), body: body, mutating: true})
	if err != nil {
		return nil, err
	}
	r := refundFromData(data, core.Refund{ID: req.RefundID, PaymentID: req.Payment.ID, Amount: req.Amount})
	if data.Get("id") == "" {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "refunds answered without an id"}
	}
	r.ProviderData["payment_id"] = id
	return &core.CreateRefundResponse{Refund: r}, nil
}

// QueryRefund implements pdk.RefundQuerier with GET /v1/payments/refunds:
// by refund_id when the refund's Adapay id is known, else by the payment's
// id and the refund_order_no.
func (*Plugin) QueryRefund(ctx context.Context, h pdk.Host, req *core.QueryRefundRequest) (*core.QueryRefundResponse, error) {
	ref := req.Refund
	var q pdk.Fields
	switch {
	case ref.ProviderID != "":
		q = pdk.Pairs("refund_id", ref.ProviderID)
	case ref.ID != "":
		paymentID := firstOf(ref.Payment.ProviderID, ref.ProviderData["payment_id"])
		if paymentID == "" {
			data, err := findPayment(ctx, h, ref.Payment)
			if err != nil {
				return nil, err
			}
			paymentID = data.Get("id")
		}
		q = pdk.Pairs("payment_id", paymentID, "refund_order_no", ref.ID)
	default:
		return nil, invalid("refund", "refund id or provider id is required")
	}
	data, err := call(ctx, h, &request{method: "GET", path: pathRefunds, query: q})
	if err != nil {
		return nil, err
	}
	list, err := pdk.ParseObjects([]byte(firstOf(data.Get("refunds"), "[]")))
	if err != nil {
		return nil, &core.Error{Code: core.CodeProviderUnavailable, Provider: Name, Retryable: true, Message: "查询退款: refunds is not a JSON array"}
	}
	for _, it := range list {
		if (ref.ProviderID != "" && it.Get("id") == ref.ProviderID) || (ref.ProviderID == "" && it.Get("refund_order_no") == ref.ID) {
			r := refundFromData(it, core.Refund{ID: ref.ID, ProviderID: ref.ProviderID, PaymentID: ref.Payment.ID, Amount: ref.Amount})
			if r.ProviderData["payment_id"] == "" && data.Get("payment_id") != "" {
				r.ProviderData["payment_id"] = data.Get("payment_id")
			}
			return &core.QueryRefundResponse{Refund: r}, nil
		}
	}
	return nil, &core.Error{Code: core.CodeNotFound, Provider: Name, Message: "查询退款 has no refund " + firstOf(ref.ProviderID, ref.ID)}
}
