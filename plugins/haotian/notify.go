package haotian

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// ack is the only answer the gateway accepts as "received".
var ack = core.Ack{Status: 200, ContentType: "text/plain; charset=utf-8", Body: "SUCCESS"}

// ParseNotification implements pdk.NotificationParser: a form-encoded POST of
// the query-response fields plus reqTime and sign, acknowledged with SUCCESS.
// A bad signature, another merchant's notification or a reqTime older than
// notify_max_age_seconds is refused (the host answers 4xx and changes
// nothing); duplicates carry the same event id so the host drops them.
func (*Plugin) ParseNotification(ctx context.Context, h pdk.Host, req *core.ParseNotificationRequest) (*core.ParseNotificationResponse, error) {
	bad := func(code core.Code, msg string) error {
		return &core.Error{Code: code, Provider: Name, Message: "notification: " + msg}
	}
	values, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return nil, bad(core.CodeInvalidRequest, "body is not form-encoded")
	}
	fields := make(map[string]string, len(values))
	for k, vs := range values {
		if len(vs) != 1 {
			return nil, bad(core.CodeInvalidRequest, "field "+k+" repeated")
		}
		fields[k] = vs[0]
	}
	if fields["sign"] == "" {
		return nil, bad(core.CodeSignatureInvalid, "unsigned")
	}
	if err := verify(ctx, h, fields, fields["sign"]); err != nil {
		return nil, err
	}
	mchNo, _ := h.Config(cfgMchNo)
	appID, _ := h.Config(cfgAppID)
	if fields["mchNo"] != mchNo || fields["appId"] != appID {
		return nil, bad(core.CodeInvalidRequest, "for another merchant or application")
	}
	maxAge, _ := h.Config(cfgNotifyMaxAge)
	if age, err := strconv.ParseInt(maxAge, 10, 64); err == nil && age > 0 {
		sent := time.UnixMilli(atoi(fields["reqTime"]))
		if h.Now().Sub(sent) > time.Duration(age)*time.Second {
			return nil, bad(core.CodeInvalidRequest, "reqTime older than "+maxAge+"s (replayed?)")
		}
	}
	ev, err := eventFromFields(fields)
	if err != nil {
		return nil, err
	}
	return &core.ParseNotificationResponse{Events: []core.Event{ev}, Ack: ack}, nil
}

func eventFromFields(f map[string]string) (core.Event, error) {
	var ev core.Event
	state := f["state"]
	switch {
	case f["refundOrderId"] != "":
		r := refundFromFields(f, core.Refund{})
		ev = core.Event{Kind: core.EventRefund, ObjectID: r.ID, ProviderObjectID: r.ProviderID, Status: string(r.Status),
			Amount: r.Amount, Currency: r.Currency, FailureCode: r.FailureCode, FailureMessage: r.FailureMessage, OccurredAt: r.SucceededAt,
			Data: map[string]string{"payOrderId": f["payOrderId"]}}
	case f["transferId"] != "":
		ev = core.Event{Kind: core.EventPayout, ObjectID: f["mchOrderNo"], ProviderObjectID: f["transferId"],
			Status: string(payoutStatus(atoi(state))), Amount: atoi(f["amount"]), Currency: "CNY",
			FailureCode: f["errCode"], FailureMessage: f["errMsg"]}
	case f["payOrderId"] != "":
		p := paymentFromQuery(f)
		ev = core.Event{Kind: core.EventPayment, ObjectID: p.ID, ProviderObjectID: p.ProviderID, Status: string(p.Status),
			Amount: p.Amount, Currency: p.Currency, FeeAmount: p.FeeAmount, FailureCode: p.FailureCode,
			FailureMessage: p.FailureMessage, OccurredAt: p.PaidAt, Data: map[string]string{"wayCode": f["wayCode"], "channelOrderNo": f["channelOrderNo"]}}
	default:
		return ev, &core.Error{Code: core.CodeInvalidRequest, Provider: Name, Message: "notification: neither a pay order, a refund nor a transfer"}
	}
	if ev.ObjectID == "" || state == "" {
		return ev, &core.Error{Code: core.CodeInvalidRequest, Provider: Name, Message: "notification: object id or state missing"}
	}
	// Retries and duplicates of one state change share the id.
	ev.ID = strings.Join([]string{string(ev.Kind), ev.ProviderObjectID, state}, ":")
	return ev, nil
}

// payoutStatus maps a transfer state.
func payoutStatus(state int64) core.PayoutStatus {
	switch state {
	case orderCreated:
		return core.PayoutCreated
	case orderProcessing:
		return core.PayoutProcessing
	case orderSuccess:
		return core.PayoutSucceeded
	case orderFailed:
		return core.PayoutFailed
	case orderClosed:
		return core.PayoutCanceled
	}
	return core.PayoutProcessing
}
