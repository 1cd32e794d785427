package adapay

import (
	"context"
	"strings"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// residentChannels are the channels 商户入驻 configures (add_value_list), in
// the seed's order.
var residentChannels = []string{"wx_lite", "wx_pub", "wx_scan", "alipay", "alipay_wap", "alipay_lite", "alipay_qr", "alipay_scan"}

func isResidentChannel(ch string) bool {
	for _, c := range residentChannels {
		if c == ch {
			return true
		}
	}
	return false
}

// ActivateChannel implements pdk.ChannelActivator. Without Modify it is
// 商户入驻 (POST /v1/batchInput/merConf): Channels become add_value_list
// (wx_lite needs the mini-program AppID, wx_pub the official-account AppID
// and the payment authorisation directory Path), Category is wx_category
// and/or alipay_category (Extra overrides each), and fee_type, app_id,
// cls_id, model_type, mer_type, province_code, city_code, district_code come
// from Extra. With Modify it is 商户入驻修改 (POST
// /v1/batchInput/merResidentModify) with Extra["alipay_request_params"] and
// Extra["wx_request_params"] (JSON strings). Both answer pending; results
// come by resident.* / resident.modify.* or by QueryChannel.
func (*Plugin) ActivateChannel(ctx context.Context, h pdk.Host, req *core.ActivateChannelRequest) (*core.ActivateChannelResponse, error) {
	switch {
	case req.RequestID == "":
		return nil, invalid("request_id", "request_id is required")
	case req.ProviderID == "":
		return nil, invalid("provider_id", "the merchant's API key (sub_api_key) is required")
	}
	if req.Modify {
		return modifyResident(ctx, h, req)
	}
	if len(req.Channels) == 0 {
		return nil, invalid("channels", "at least one channel is required")
	}
	list := &jsonBody{}
	wx, ali := false, false
	for _, ch := range req.Channels {
		if !isResidentChannel(ch.Channel) {
			return nil, &core.Error{Code: core.CodeUnsupported, Param: "channels", Provider: Name,
				Message: "商户入驻 configures " + strings.Join(residentChannels, ", ") + "; not " + ch.Channel}
		}
		switch ch.Channel {
		case "wx_lite":
			if ch.AppID == "" {
				return nil, invalid("channels.app_id", "wx_lite needs the mini-program's AppID")
			}
			list.raw(ch.Channel, (&jsonBody{}).str("appid", ch.AppID).bytes())
		case "wx_pub":
			if ch.AppID == "" || ch.Path == "" {
				return nil, invalid("channels.path", "wx_pub needs the official account's AppID and the payment authorisation directory")
			}
			list.raw(ch.Channel, (&jsonBody{}).str("appid", ch.AppID).str("path", ch.Path).bytes())
		default:
			list.raw(ch.Channel, []byte(`""`))
		}
		if strings.HasPrefix(ch.Channel, "wx_") {
			wx = true
		} else {
			ali = true
		}
	}
	wxCat, aliCat := req.Extra["wx_category"], req.Extra["alipay_category"]
	if wx && wxCat == "" {
		wxCat = req.Category
	}
	if ali && aliCat == "" {
		aliCat = req.Category
	}
	body := (&jsonBody{}).
		str("request_id", req.RequestID).
		str("sub_api_key", req.ProviderID).
		str("fee_type", req.Extra["fee_type"]).
		str("app_id", req.Extra["app_id"]).
		str("wx_category", wxCat).
		str("alipay_category", aliCat).
		str("cls_id", req.Extra["cls_id"]).
		str("model_type", req.Extra["model_type"]).
		str("mer_type", req.Extra["mer_type"]).
		str("province_code", req.Extra["province_code"]).
		str("city_code", req.Extra["city_code"]).
		str("district_code", req.Extra["district_code"]).
		str("add_value_list", string(list.bytes())).
		str("notify_url", req.NotifyURL)
	data, err := call(ctx, h, &request{method: "POST", path: pathMerConf, body: body, mutating: true})
	if err != nil {
		return nil, err
	}
	resp := &core.ActivateChannelResponse{Status: onboardingStatus(data.Get("status")), Message: data.Get("error_msg")}
	if resp.Status == core.OnboardingReviewing {
		resp.Status = core.OnboardingSubmitted
	}
	for _, ch := range req.Channels {
		resp.Channels = append(resp.Channels, core.ChannelState{Channel: ch.Channel, Status: resp.Status})
	}
	return resp, nil
}

func modifyResident(ctx context.Context, h pdk.Host, req *core.ActivateChannelRequest) (*core.ActivateChannelResponse, error) {
	ali, wx := req.Extra["alipay_request_params"], req.Extra["wx_request_params"]
	if ali == "" && wx == "" {
		return nil, invalid("extra.alipay_request_params", "商户入驻修改 needs alipay_request_params and/or wx_request_params")
	}
	for k, v := range map[string]string{"alipay_request_params": ali, "wx_request_params": wx} {
		if v == "" {
			continue
		}
		if _, err := pdk.ParseFields([]byte(v)); err != nil {
			return nil, invalid("extra."+k, k+" must be a JSON object")
		}
	}
	body := (&jsonBody{}).
		str("request_id", req.RequestID).
		str("sub_api_key", req.ProviderID).
		str("alipay_request_params", ali).
		str("wx_request_params", wx).
		str("notify_url", req.NotifyURL)
	data, err := call(ctx, h, &request{method: "POST", path: pathResidentMod, body: body, mutating: true})
	if err != nil {
		return nil, err
	}
	resp := &core.ActivateChannelResponse{Status: onboardingStatus(data.Get("status")), Message: data.Get("error_msg")}
	if resp.Status == core.OnboardingReviewing {
		resp.Status = core.OnboardingSubmitted
	}
	for wallet, params := range map[string]string{"alipay": ali, "wx": wx} {
		if params != "" {
			resp.Channels = append(resp.Channels, core.ChannelState{Channel: wallet, Status: resp.Status})
		}
	}
	sortStates(resp.Channels)
	return resp, nil
}

// statStatus maps a registration result letter: S approved, F rejected,
// I (or anything else) reviewing.
func statStatus(stat string) core.OnboardingStatus {
	switch stat {
	case "S":
		return core.OnboardingApproved
	case "F":
		return core.OnboardingRejected
	}
	return core.OnboardingReviewing
}

// channelStates reads wx_alipay_response: an object (or a JSON string of
// one) whose values are a stat letter or {"stat","message"}.
func channelStates(data pdk.Fields) []core.ChannelState {
	resp, err := pdk.ParseFields([]byte(data.Get("wx_alipay_response")))
	if err != nil {
		return nil
	}
	var out []core.ChannelState
	for _, ch := range residentChannels {
		v, ok := resp.Lookup(ch)
		if !ok {
			continue
		}
		st := core.ChannelState{Channel: ch}
		stat := v
		if strings.HasPrefix(v, "{") {
			f, _ := pdk.ParseFields([]byte(v))
			stat, st.Message = f.Get("stat"), f.Get("message")
		}
		st.Status = statStatus(stat)
		if st.Status == core.OnboardingApproved {
			if strings.HasPrefix(ch, "wx_") {
				st.SubMerchantCode = data.Get("wx_mer_code")
			} else {
				st.SubMerchantCode = data.Get("alipay_mer_code")
			}
		}
		out = append(out, st)
	}
	return out
}

func sortStates(s []core.ChannelState) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Channel < s[j-1].Channel; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// QueryChannel implements pdk.ChannelQuerier with 商户入驻查询 (GET
// /v1/batchInput/merConf): each channel's result (S approved, F rejected,
// I reviewing) with the WeChat/Alipay sub-merchant number.
func (*Plugin) QueryChannel(ctx context.Context, h pdk.Host, req *core.QueryChannelRequest) (*core.QueryChannelResponse, error) {
	if req.RequestID == "" {
		return nil, invalid("request_id", "request_id is required")
	}
	data, err := call(ctx, h, &request{method: "GET", path: pathMerConf, query: pdk.Pairs("request_id", req.RequestID)})
	if err != nil {
		return nil, err
	}
	return &core.QueryChannelResponse{Status: onboardingStatus(data.Get("status")), Channels: channelStates(data),
		Message: data.Get("error_msg")}, nil
}
