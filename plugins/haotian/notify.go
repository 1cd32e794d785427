package haotian

import (
	"context"
	"errors"
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
	fields, err := parseForm(string(req.Body))
	if err != nil {
		return nil, bad(core.CodeInvalidRequest, err.Error())
	}
	if fields.Get("sign") == "" {
		return nil, bad(core.CodeSignatureInvalid, "unsigned")
	}
	if err := verify(ctx, h, fields, fields.Get("sign")); err != nil {
		return nil, err
	}
	mchNo, _ := h.Config(cfgMchNo)
	appID, _ := h.Config(cfgAppID)
	if fields.Get("mchNo") != mchNo || fields.Get("appId") != appID {
		return nil, bad(core.CodeInvalidRequest, "for another merchant or application")
	}
	maxAge, _ := h.Config(cfgNotifyMaxAge)
	if age, err := strconv.ParseInt(maxAge, 10, 64); err == nil && age > 0 {
		sent := time.UnixMilli(atoi(fields.Get("reqTime")))
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

// parseForm reads an x-www-form-urlencoded body, refusing a repeated field
// (which copy a verifier and a consumer would use could differ).
func parseForm(body string) (pdk.Fields, error) {
	var out pdk.Fields
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, errors.New("body is not form-encoded")
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, errors.New("body is not form-encoded")
		}
		if _, dup := out.Lookup(key); dup {
			return nil, errors.New("field " + key + " repeated")
		}
		out = append(out, pdk.Field{Key: key, Value: val})
	}
	return out, nil
}

func eventFromFields(f pdk.Fields) (core.Event, error) {
	var ev core.Event
	state := f.Get("state")
	switch {
	case f.Get("refundOrderId") != "":
		r := refundFromFields(f, core.Refund{})
		ev = core.Event{Kind: core.EventRefund, ObjectID: r.ID, ProviderObjectID: r.ProviderID, Status: string(r.Status),
			Amount: r.Amount, Currency: r.Currency, FailureCode: r.FailureCode, FailureMessage: r.FailureMessage, OccurredAt: r.SucceededAt,
			Data: map[string]string{"payOrderId": f.Get("payOrderId")}}
	case f.Get("transferId") != "":
		ev = core.Event{Kind: core.EventPayout, ObjectID: f.Get("mchOrderNo"), ProviderObjectID: f.Get("transferId"),
			Status: string(payoutStatus(atoi(state))), Amount: atoi(f.Get("amount")), Currency: "CNY",
			FailureCode: f.Get("errCode"), FailureMessage: f.Get("errMsg")}
	case f.Get("payOrderId") != "":
		p := paymentFromQuery(f)
		ev = core.Event{Kind: core.EventPayment, ObjectID: p.ID, ProviderObjectID: p.ProviderID, Status: string(p.Status),
			Amount: p.Amount, Currency: p.Currency, FeeAmount: p.FeeAmount, FailureCode: p.FailureCode,
			FailureMessage: p.FailureMessage, OccurredAt: p.PaidAt, Data: map[string]string{"wayCode": f.Get("wayCode"), "channelOrderNo": f.Get("channelOrderNo")}}
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
