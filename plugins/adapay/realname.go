package adapay

import (
	"context"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// Wallet names: canonical ↔ real_name_type.
var (
	walletTypes = map[string]string{"alipay": "A", "wechat": "W", "all": "ALL"}
	walletNames = map[string]string{"A": "alipay", "W": "wechat"}
)

func realNamePath(h pdk.Host) string {
	if p, ok := h.Config(cfgRealNamePath); ok && p != "" {
		return p
	}
	return defaultRealName
}

// ApplyRealName implements pdk.RealNameApplier with 实名认证申请: the contact
// (LEGAL 法人 or SUPER 经办人 ← ContactType legal/agent) confirms by scanning a
// QR code that QueryRealName returns. Documents are pic_ids of
// UploadDocument by canonical type: contact_id_front/back and
// authorization_letter (contact_person_info), legal_id_front/back and
// license (legal_person_info), store_front/store_inside
// (support_credentials); Extra["legal_address"] and
// Extra["micro_biz_type"] complete them.
func (*Plugin) ApplyRealName(ctx context.Context, h pdk.Host, req *core.RealNameRequest) (*core.RealNameResponse, error) {
	typ, ok := walletTypes[req.Wallet]
	if !ok {
		return nil, invalid("wallet", "wallet is wechat, alipay or all")
	}
	var contactType string
	switch req.ContactType {
	case "legal":
		contactType = "LEGAL"
	case "agent":
		contactType = "SUPER"
	default:
		return nil, invalid("contact_type", "contact_type is legal or agent")
	}
	switch {
	case req.RequestID == "":
		return nil, invalid("request_id", "request_id is required")
	case req.ProviderID == "":
		return nil, invalid("provider_id", "the merchant's API key (sub_api_key) is required")
	}
	d := req.Documents
	contact := (&jsonBody{}).
		str("id_card_number", req.Contact.IDNumber).
		str("contact_period_begin", ymd(req.Contact.IDStart)).
		str("contact_period_end", ymd(req.Contact.IDEnd)).
		str("contact_id_doc_copy", d["contact_id_front"]).
		str("contact_id_doc_copy_back", d["contact_id_back"]).
		str("business_authorization_letter", d["authorization_letter"])
	legal := (&jsonBody{}).
		str("legal_id_doc_copy", d["legal_id_front"]).
		str("legal_id_doc_copy_back", d["legal_id_back"]).
		str("licence_copy", d["license"]).
		str("legal_address", req.Extra["legal_address"])
	support := (&jsonBody{}).
		str("micro_biz_type", req.Extra["micro_biz_type"]).
		str("store_door_img", d["store_front"]).
		str("store_inner_img", d["store_inside"])
	body := (&jsonBody{}).
		str("request_id", req.RequestID).
		str("sub_api_key", req.ProviderID).
		str("real_name_type", typ).
		str("contact_type", contactType).
		str("notify_url", req.NotifyURL).
		str("contact_person_info", string(nonEmpty(contact))).
		str("legal_person_info", string(nonEmpty(legal))).
		str("support_credentials", string(nonEmpty(support)))
	data, err := call(ctx, h, &request{method: "POST", path: realNamePath(h), body: body, mutating: true})
	if err != nil {
		return nil, err
	}
	var states []core.RealNameState
	for _, w := range []struct{ field, wallet string }{{"wx_status", "wechat"}, {"ali_status", "alipay"}} {
		if v := data.Get(w.field); v != "" {
			st := core.RealNameState{Wallet: w.wallet, Status: onboardingStatus(v), ApplyState: v}
			if st.Status == core.OnboardingReviewing {
				st.Status = core.OnboardingSubmitted
			}
			states = append(states, st)
		}
	}
	if len(states) == 0 {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "实名认证申请 answered without wx_status or ali_status"}
	}
	return &core.RealNameResponse{States: states}, nil
}

// nonEmpty is the object's JSON, or nil when it has no member.
func nonEmpty(j *jsonBody) []byte {
	if len(j.b) == 0 {
		return nil
	}
	return j.bytes()
}

// QueryRealName implements pdk.RealNameQuerier with 实名认证查询: each
// wallet's application state (applement_stat), authorisation state
// (authorize_stat) and the QR code the contact scans. README "Real-name
// states" gives the mapping.
func (*Plugin) QueryRealName(ctx context.Context, h pdk.Host, req *core.QueryRealNameRequest) (*core.QueryRealNameResponse, error) {
	switch {
	case req.RequestID == "":
		return nil, invalid("request_id", "request_id is required")
	case req.ProviderID == "":
		return nil, invalid("provider_id", "the merchant's API key (sub_api_key) is required")
	}
	data, err := call(ctx, h, &request{method: "GET", path: realNamePath(h), query: pdk.Pairs("request_id", req.RequestID, "sub_api_key", req.ProviderID)})
	if err != nil {
		return nil, err
	}
	list := firstOf(data.Get("real_name_result"), data.Get("asyn_real_name_result"), "[]")
	items, err := pdk.ParseObjects([]byte(list))
	if err != nil {
		return nil, &core.Error{Code: core.CodeProviderUnavailable, Provider: Name, Retryable: true, Message: "实名认证查询: real_name_result is not a JSON array"}
	}
	resp := &core.QueryRealNameResponse{States: []core.RealNameState{}}
	for _, it := range items {
		wallet := walletNames[it.Get("real_name_type")]
		if wallet == "" || (req.Wallet != "" && req.Wallet != "all" && req.Wallet != wallet) {
			continue
		}
		resp.States = append(resp.States, core.RealNameState{Wallet: wallet,
			Status:     realNameStatus(it.Get("applement_stat"), it.Get("authorize_stat")),
			ApplyState: it.Get("applement_stat"), AuthorizeState: authorizeState(it.Get("authorize_stat")),
			QRCode: it.Get("qrcode_data"), FailureReason: it.Get("fail_reason")})
	}
	return resp, nil
}

// realNameStatus maps applement_stat (and authorize_stat) to the onboarding
// machine: 编辑中 submitted; 审核中 reviewing; 待联系人确认/待法人确认
// needs_info (someone must scan the QR code); 审核通过 approved once
// authorised (已授权), else needs_info; 审核失败, 已冻结, 已撤回 rejected.
func realNameStatus(apply, authorize string) core.OnboardingStatus {
	switch apply {
	case "编辑中":
		return core.OnboardingSubmitted
	case "待联系人确认", "待法人确认", "待账户验证":
		return core.OnboardingNeedsInfo
	case "审核通过":
		if authorize == "已授权" {
			return core.OnboardingApproved
		}
		return core.OnboardingNeedsInfo
	case "审核失败", "已冻结", "已撤回", "已作废":
		return core.OnboardingRejected
	}
	return core.OnboardingReviewing
}

// authorizeState maps authorize_stat: 已授权 authorised, 未授权
// unauthorised, 已销户 closed.
func authorizeState(s string) string {
	switch s {
	case "已授权":
		return "authorised"
	case "未授权":
		return "unauthorised"
	case "已销户":
		return "closed"
	}
	return s
}
