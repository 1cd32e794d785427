package adapay

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

// ack is what Adapay needs to stop retrying: HTTP 200.
var ack = core.Ack{Status: 200, ContentType: "text/plain; charset=utf-8", Body: "succeeded"}

// ParseNotification implements pdk.NotificationParser. Adapay posts a form
// with id, created_time, type, object, app_id, prod_mode, data (the object
// as a JSON string) and sign (SHA1withRSA over data, base64); a JSON body
// with the same members is accepted too. A bad signature, another
// application's payment or refund, or a created_time older than
// notify_max_age_seconds is refused (the host answers 4xx and changes
// nothing). Types this plugin does not model (cash.*, corp_member.*) are
// acknowledged without events.
func (*Plugin) ParseNotification(ctx context.Context, h pdk.Host, req *core.ParseNotificationRequest) (*core.ParseNotificationResponse, error) {
	bad := func(code core.Code, msg string) error {
		return &core.Error{Code: code, Provider: Name, Message: "notification: " + msg}
	}
	var form pdk.Fields
	var err error
	if body := strings.TrimSpace(string(req.Body)); strings.HasPrefix(body, "{") {
		form, err = pdk.ParseFields([]byte(body))
	} else {
		form, err = parseForm(body)
	}
	if err != nil {
		return nil, bad(core.CodeInvalidRequest, err.Error())
	}
	dataText, sign := form.Get("data"), form.Get("sign")
	if sign == "" {
		return nil, bad(core.CodeSignatureInvalid, "unsigned")
	}
	if dataText == "" {
		return nil, bad(core.CodeInvalidRequest, "no data")
	}
	if err := verify(ctx, h, dataText, sign); err != nil {
		return nil, err
	}
	data, err := pdk.ParseFields([]byte(dataText))
	if err != nil {
		return nil, bad(core.CodeInvalidRequest, "data is not a JSON object")
	}
	if maxAge, _ := h.Config(cfgNotifyMaxAge); maxAge != "" {
		if age, err := strconv.ParseInt(maxAge, 10, 64); err == nil && age > 0 {
			if sent, ok := epochSeconds(form.Get("created_time")); ok && h.Now().Sub(sent) > time.Duration(age)*time.Second {
				return nil, bad(core.CodeInvalidRequest, "created_time older than "+maxAge+"s (replayed?)")
			}
		}
	}
	typ := firstOf(form.Get("type"), data.Get("type"))
	if appID, _ := h.Config(cfgAppID); strings.HasPrefix(typ, "payment.") || strings.HasPrefix(typ, "refund.") {
		for _, got := range []string{form.Get("app_id"), data.Get("app_id")} {
			if got != "" && got != appID {
				return nil, bad(core.CodeInvalidRequest, "for another application")
			}
		}
	}
	events, err := eventsOf(typ, data, form.Get("id"))
	if err != nil {
		return nil, err
	}
	return &core.ParseNotificationResponse{Events: events, Ack: ack}, nil
}

// epochSeconds reads a 10-digit Unix time.
func epochSeconds(s string) (time.Time, bool) {
	if len(s) == 0 || len(s) > 10 {
		return time.Time{}, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return time.Time{}, false
	}
	return time.Unix(v, 0), true
}

// parseForm reads an x-www-form-urlencoded body, refusing a repeated field.
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

func missing(typ, what string) error {
	return &core.Error{Code: core.CodeInvalidRequest, Provider: Name, Message: "notification " + typ + ": " + what + " missing"}
}

// eventsOf maps a verified notification to canonical events. Retries and
// duplicates of one change carry the same event ids.
func eventsOf(typ string, d pdk.Fields, notificationID string) ([]core.Event, error) {
	suffix := typ[strings.LastIndexByte(typ, '.')+1:]
	switch {
	case typ == "payment.succeeded" || typ == "payment.failed":
		p := paymentFromData(d)
		if p.ProviderID == "" || p.ID == "" {
			return nil, missing(typ, "id or order_no")
		}
		if p.Status != core.PaymentSucceeded && p.Status != core.PaymentFailed {
			p.Status = core.PaymentStatus(suffix)
		}
		data := map[string]string{}
		for _, k := range []string{"out_trans_id", "party_order_id", "pay_channel"} {
			if v := d.Get(k); v != "" {
				data[k] = v
			}
		}
		return []core.Event{{ID: "payment:" + p.ProviderID + ":" + string(p.Status), Kind: core.EventPayment, ObjectID: p.ID,
			ProviderObjectID: p.ProviderID, Status: string(p.Status), Amount: p.Amount, Currency: p.Currency,
			FailureCode: p.FailureCode, FailureMessage: p.FailureMessage, OccurredAt: p.PaidAt, Data: data}}, nil
	case strings.HasPrefix(typ, "payment.close."):
		id := d.Get("payment_id")
		if id == "" {
			return nil, missing(typ, "payment_id")
		}
		if suffix != "succeeded" {
			return nil, nil // a refused close changes nothing
		}
		return []core.Event{{ID: "payment:" + id + ":closed", Kind: core.EventPayment, ObjectID: d.Get("order_no"),
			ProviderObjectID: id, Status: string(core.PaymentClosed), Data: map[string]string{"close_id": d.Get("id")}}}, nil
	case typ == "refund.succeeded" || typ == "refund.failed":
		r := refundFromData(d, core.Refund{})
		if r.ProviderID == "" || r.ID == "" {
			return nil, missing(typ, "id or refund_order_no")
		}
		r.Status = core.RefundStatus(suffix)
		return []core.Event{{ID: "refund:" + r.ProviderID + ":" + suffix, Kind: core.EventRefund, ObjectID: r.ID,
			ProviderObjectID: r.ProviderID, Status: string(r.Status), Amount: r.Amount, Currency: r.Currency,
			FailureCode: r.FailureCode, FailureMessage: r.FailureMessage, OccurredAt: r.SucceededAt,
			Data: map[string]string{"payment_id": d.Get("payment_id")}}}, nil
	case typ == "queryEntryUser.succeeded" || typ == "userEntry.failed":
		if d.Get("request_id") == "" {
			return nil, missing(typ, "request_id")
		}
		if typ == "userEntry.failed" {
			d.Set("status", "failed")
		} else {
			d.Set("status", "succeeded")
		}
		res := entryResult(d, "")
		ev := core.Event{ID: "onboarding:" + res.ApplicationID + ":" + string(res.Status), Kind: core.EventOnboarding,
			ObjectID: res.ApplicationID, ProviderObjectID: res.ProviderID, Status: string(res.Status),
			FailureCode: res.FailureCode, FailureMessage: res.FailureMessage, Data: res.Issued}
		if res.Status == core.OnboardingApproved && res.ProviderID == "" {
			return nil, missing(typ, "live_api_key")
		}
		return []core.Event{ev}, nil
	case strings.HasPrefix(typ, "merchant.modify."):
		no := d.Get("order_no")
		if no == "" {
			return nil, missing(typ, "order_no")
		}
		st := onboardingStatus(suffix)
		ev := core.Event{ID: "settlement:" + no + ":" + string(st), Kind: core.EventSettlement, ObjectID: no,
			Status: string(st), FailureCode: d.Get("error_code"), FailureMessage: d.Get("error_msg")}
		if st == core.OnboardingRejected && ev.FailureMessage == "" {
			ev.FailureMessage = "settlement card change refused"
		}
		return []core.Event{ev}, nil
	case strings.HasPrefix(typ, "resident.modify."):
		return residentModifyEvents(typ, suffix, d, notificationID)
	case typ == "resident.succeeded" || typ == "resident.failed":
		id := d.Get("request_id")
		if id == "" {
			return nil, missing(typ, "request_id")
		}
		return residentEvents(typ, id, d)
	case strings.HasPrefix(typ, "realname.") || d.Get("real_name_type") != "":
		id, wallet := d.Get("request_id"), walletNames[d.Get("real_name_type")]
		if id == "" || wallet == "" {
			return nil, missing(typ, "request_id or real_name_type")
		}
		st := onboardingStatus(firstOf(d.Get("status"), suffix))
		return []core.Event{{ID: "realname:" + id + ":" + wallet + ":" + string(st), Kind: core.EventRealName, ObjectID: id,
			Status: string(st), FailureCode: d.Get("error_code"), FailureMessage: d.Get("error_msg"),
			Data: map[string]string{"wallet": wallet}}}, nil
	}
	return nil, nil
}

// residentEvents gives one channel event per channel of wx_alipay_response.
// A wallet whose wx_stat / alipay_stat is given but none of whose channels
// is listed (the seed's resident.failed example reports Alipay's refusal
// that way) gets one event for the wallet; a refused channel without a
// message takes its wallet's.
func residentEvents(typ, id string, d pdk.Fields) ([]core.Event, error) {
	wallets := map[string]pdk.Fields{}
	for _, w := range []string{"wx", "alipay"} {
		if v := d.Get(w + "_stat"); v != "" {
			f, err := pdk.ParseFields([]byte(v))
			if err != nil {
				f = pdk.Pairs("stat", v)
			}
			wallets[w] = f
		}
	}
	walletOf := func(ch string) string {
		if strings.HasPrefix(ch, "wx") {
			return "wx"
		}
		return "alipay"
	}
	var out []core.Event
	listed := map[string]bool{}
	add := func(st core.ChannelState) {
		ev := core.Event{ID: "channel:" + id + ":" + st.Channel + ":" + string(st.Status), Kind: core.EventChannel, ObjectID: id,
			ProviderObjectID: st.SubMerchantCode, Status: string(st.Status), FailureMessage: st.Message,
			Data: map[string]string{"channel": st.Channel}}
		if st.Status == core.OnboardingRejected {
			ev.FailureCode = "F"
			if ev.FailureMessage == "" {
				ev.FailureMessage = wallets[walletOf(st.Channel)].Get("message")
			}
		}
		out = append(out, ev)
	}
	for _, st := range channelStates(d) {
		listed[walletOf(st.Channel)] = true
		add(st)
	}
	for _, w := range []string{"wx", "alipay"} {
		if f, ok := wallets[w]; ok && !listed[w] {
			add(core.ChannelState{Channel: w, Status: statStatus(f.Get("stat")), Message: f.Get("message")})
		}
	}
	if len(out) == 0 {
		return nil, missing(typ, "wx_alipay_response")
	}
	return out, nil
}

// residentModifyEvents gives one channel event per wallet changed by
// 商户入驻修改 (alipay_stat, wx_stat: S or F). Adapay's example leaves
// request_id empty; the event then has no object id (the host keeps it for
// the record only) and its id is made from the notification's id.
func residentModifyEvents(typ, suffix string, d pdk.Fields, notificationID string) ([]core.Event, error) {
	id := d.Get("request_id")
	key := firstOf(id, "notification "+notificationID)
	var out []core.Event
	for _, w := range []struct{ field, wallet string }{{"alipay_stat", "alipay"}, {"wx_stat", "wx"}} {
		stat := d.Get(w.field)
		if stat == "" {
			continue
		}
		st := statStatus(stat)
		ev := core.Event{ID: "channel_modify:" + key + ":" + w.wallet + ":" + string(st), Kind: core.EventChannel,
			ObjectID: id, Status: string(st), Data: map[string]string{"channel": w.wallet, "modify": "true"}}
		if st == core.OnboardingRejected {
			ev.FailureCode, ev.FailureMessage = firstOf(d.Get("error_code"), "F"), d.Get("error_msg")
		}
		out = append(out, ev)
	}
	if len(out) == 0 {
		if suffix != "failed" {
			return nil, missing(typ, "alipay_stat or wx_stat")
		}
		out = append(out, core.Event{ID: "channel_modify:" + key + ":rejected", Kind: core.EventChannel, ObjectID: id,
			Status: string(core.OnboardingRejected), FailureCode: d.Get("error_code"), FailureMessage: d.Get("error_msg"),
			Data: map[string]string{"modify": "true"}})
	}
	return out, nil
}
