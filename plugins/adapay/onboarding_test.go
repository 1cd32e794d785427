package adapay_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
)

// application is a complete enterprise application named name.
func application(name string, kind core.MerchantKind) core.MerchantApplication {
	a := core.MerchantApplication{
		Kind: kind, Name: name, ShortName: "测试商户",
		License:           core.License{Code: "91310000MA1FL0000X", Start: "20200101", End: "forever"},
		RegisteredAddress: "上海市徐汇区宜山路700号", BusinessAddress: "上海市徐汇区宜山路700号", Phone: "021-12345678",
		Legal:   core.Person{Name: "史万福", IDType: "id_card", IDNumber: "321121198606115128", IDStart: "20160101", IDEnd: "20360101", Mobile: "13333333344"},
		Contact: core.Person{Name: "李四", Mobile: "13333333344", Email: "ops@example.com"},
		Settlement: core.BankAccount{Type: "corporate", Number: "6222021001115704287", Name: "上海测试科技有限公司", BankCode: "01020000",
			Province: "0031", Area: "3100"},
		FeeRates: []core.FeeRate{{Channel: "wx_pub_online", RatePPM: 3000}, {Channel: "wx_scan", RatePPM: 3500},
			{Channel: "alipay_qr_online", RatePPM: 3800}, {Channel: "union_qr_under", RatePPM: 4000}},
		Extra: map[string]string{"usr_phone": "13333333344"},
	}
	if kind == core.MerchantMicro {
		a.License = core.License{}
		a.Settlement.Type = "personal"
		a.Settlement.Name = "史万福"
	}
	return a
}

func (e *env) apply(t *testing.T, id, name string, kind core.MerchantKind) core.MerchantResult {
	t.Helper()
	resp, err := call[core.ApplyMerchantResponse](e, core.OpOnboardingApply, &core.ApplyMerchantRequest{
		ApplicationID: id, Application: application(name, kind), NotifyURL: e.notify.url()})
	require.NoError(t, err)
	return resp.Result
}

func (e *env) queryMerchant(t *testing.T, prev core.MerchantResult) core.MerchantResult {
	t.Helper()
	resp, err := call[core.QueryMerchantResponse](e, core.OpOnboardingQuery, &core.QueryMerchantRequest{
		ApplicationID: prev.ApplicationID, ProviderID: prev.ProviderID, ProviderData: prev.ProviderData})
	require.NoError(t, err)
	return resp.Result
}

// open applies for a merchant and completes the entry; it returns the
// merchant's API key.
func (e *env) open(t *testing.T, id, name string, kind core.MerchantKind) string {
	t.Helper()
	e.apply(t, id, name, kind)
	require.Equal(t, 1, e.sim.Advance())
	res := e.queryMerchant(t, core.MerchantResult{ApplicationID: id})
	require.Equal(t, core.OnboardingApproved, res.Status)
	return res.ProviderID
}

var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")

func (e *env) upload(t *testing.T, key, typ string) string {
	t.Helper()
	resp, err := call[core.UploadDocumentResponse](e, core.OpOnboardingUploadDocument, &core.UploadDocumentRequest{
		ProviderID: key, Type: typ, FileName: typ + ".png", ContentType: "image/png", Content: png})
	require.NoError(t, err)
	require.NotEmpty(t, resp.DocumentID)
	return resp.DocumentID
}

// documents uploads what 提交商户证照 needs for an enterprise.
func (e *env) documents(t *testing.T, key string) map[string]string {
	t.Helper()
	docs := map[string]string{}
	for _, typ := range []string{"license", "legal_id_front", "legal_id_back", "account_permit", "store"} {
		docs[typ] = e.upload(t, key, typ)
	}
	return docs
}

func (e *env) submit(t *testing.T, id, key string, docs map[string]string) core.MerchantResult {
	t.Helper()
	resp, err := call[core.SubmitMerchantResponse](e, core.OpOnboardingSubmit, &core.SubmitMerchantRequest{
		ApplicationID: id, ProviderID: key, Documents: docs, Extra: map[string]string{"businessAdd": "https://shop.example.com"}})
	require.NoError(t, err)
	return resp.Result
}

func (e *env) activate(t *testing.T, id, key string) core.ActivateChannelResponse {
	t.Helper()
	sub, ok := e.sim.SubMerchant(key)
	require.True(t, ok)
	resp, err := call[core.ActivateChannelResponse](e, core.OpOnboardingActivateChannel, &core.ActivateChannelRequest{
		RequestID: id, ProviderID: key, Category: "4828", NotifyURL: e.notify.url(),
		Channels: []core.ChannelActivation{{Channel: "wx_pub", AppID: "wx2421b1c4370ec43b", Path: "https://shop.example.com/pay/"},
			{Channel: "wx_lite", AppID: "wx8888888888888888"}, {Channel: "alipay_qr"}, {Channel: "alipay"}},
		Extra: map[string]string{"fee_type": "01", "app_id": sub.Apps[0].AppID, "cls_id": "5311", "model_type": "1", "mer_type": "3",
			"province_code": "310000", "city_code": "310100", "district_code": "310104"}})
	require.NoError(t, err)
	return *resp
}

func (e *env) realName(t *testing.T, id, key, wallet, contact string) core.RealNameResponse {
	t.Helper()
	docs := map[string]string{}
	for _, typ := range []string{"contact_id_front", "contact_id_back", "legal_id_front", "legal_id_back", "license"} {
		docs[typ] = e.upload(t, key, typ)
	}
	if contact == "agent" {
		docs["authorization_letter"] = e.upload(t, key, "authorization_letter")
	}
	resp, err := call[core.RealNameResponse](e, core.OpOnboardingRealName, &core.RealNameRequest{RequestID: id, ProviderID: key,
		Wallet: wallet, ContactType: contact, NotifyURL: e.notify.url(), Documents: docs,
		Contact: core.Person{Name: "李四", IDNumber: "310101199001011234", IDStart: "20200101", IDEnd: "forever"},
		Extra:   map[string]string{"legal_address": "上海市徐汇区宜山路700号"}})
	require.NoError(t, err)
	return *resp
}

func (e *env) queryRealName(t *testing.T, id, key string) map[string]core.RealNameState {
	t.Helper()
	resp, err := call[core.QueryRealNameResponse](e, core.OpOnboardingRealNameQuery, &core.QueryRealNameRequest{RequestID: id, ProviderID: key})
	require.NoError(t, err)
	out := map[string]core.RealNameState{}
	for _, st := range resp.States {
		out[st.Wallet] = st
	}
	return out
}

func channelStatuses(states []core.ChannelState) map[string]core.OnboardingStatus {
	out := map[string]core.OnboardingStatus{}
	for _, s := range states {
		out[s.Channel] = s.Status
	}
	return out
}

func eventStatuses(evs []core.Event) map[string]string {
	out := map[string]string{}
	for _, ev := range evs {
		out[ev.Data["channel"]+ev.Data["wallet"]] = ev.Status
	}
	return out
}

// TestOnboardingLifecycle drives one merchant through all of seed 003 by the
// simulator's asynchronous steps, its notifications and queries: entry,
// documents and audit, applications, channel registration, real-name
// authentication with its QR code, settlement card and registration change.
func TestOnboardingLifecycle(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)

		// 开户进件: pending, then the asynchronous result
		res := e.apply(t, "req_mer_life", "上海测试科技有限公司", core.MerchantEnterprise)
		assert.Equal(t, core.OnboardingSubmitted, res.Status)
		assert.Equal(t, "req_mer_life", res.ProviderData["request_id"])
		entry, ok := e.sim.Entry("req_mer_life")
		require.True(t, ok)
		assert.JSONEq(t, `[{"fee_rate":"0.003","rate_channel":"wx_pub_online"},{"fee_rate":"0.0035","rate_channel":"wx_scan"},{"fee_rate":"0.0038","rate_channel":"alipay_qr_online"},{"fee_rate":"0.004","rate_channel":"union_qr_under"}]`,
			entry.Params["fee_rate_list"], "rates in ppm become decimal strings")
		assert.Equal(t, "20991231", entry.Params["mer_valid_date"], "forever")
		assert.Equal(t, "1", entry.Params["bank_acct_type"])
		res = e.queryMerchant(t, res)
		assert.Equal(t, core.OnboardingReviewing, res.Status)

		require.Equal(t, 1, e.sim.Advance())
		evs := e.mustParse(t, e.notify.waitType(t, "queryEntryUser.succeeded"))
		require.Len(t, evs, 1)
		assert.Equal(t, core.EventOnboarding, evs[0].Kind)
		assert.Equal(t, "req_mer_life", evs[0].ObjectID)
		assert.Equal(t, string(core.OnboardingApproved), evs[0].Status)
		key := evs[0].ProviderObjectID
		assert.True(t, strings.HasPrefix(key, "api_live_"), key)
		assert.NotEmpty(t, evs[0].Data["app_ids"])
		assert.NotContains(t, evs[0].Data, "login_pwd")

		res = e.queryMerchant(t, res)
		assert.Equal(t, core.OnboardingApproved, res.Status)
		assert.Equal(t, key, res.ProviderID)
		assert.Equal(t, evs[0].Data["app_ids"], res.Issued["app_ids"])
		assert.NotEmpty(t, res.Issued["test_api_key"])
		assert.NotEmpty(t, res.Issued["sign_view_url"])
		entry, _ = e.sim.Entry("req_mer_life")
		require.NotEmpty(t, entry.LoginPwd)
		for _, m := range []map[string]string{res.Issued, res.ProviderData, evs[0].Data} {
			for k, v := range m {
				assert.NotContains(t, k, "pwd")
				assert.NotContains(t, v, entry.LoginPwd, "login_pwd is dropped")
			}
		}

		// documents: before submission the review waits for them (W)
		res.ProviderData["stage"] = "audit"
		assert.Equal(t, core.OnboardingNeedsInfo, e.queryMerchant(t, res).Status)
		docs := e.documents(t, key)
		pic, ok := e.sim.Picture(docs["license"])
		require.True(t, ok)
		assert.Equal(t, "01", pic.FileType)
		sres := e.submit(t, "req_mer_life", key, docs)
		assert.Equal(t, core.OnboardingReviewing, sres.Status)
		assert.Equal(t, "audit", sres.ProviderData["stage"])
		sub, _ := e.sim.SubMerchant(key)
		assert.Equal(t, docs["store"], sub.Audit["storeId"])
		assert.Equal(t, docs["license"], sub.Audit["socialCreditCodeId"])
		assert.Equal(t, core.OnboardingReviewing, e.queryMerchant(t, sres).Status)
		require.Equal(t, 1, e.sim.Advance())
		assert.Equal(t, core.OnboardingApproved, e.queryMerchant(t, sres).Status)

		// applications (extensions)
		created, err := call[core.ExtensionResponse](e, core.OpExtension, &core.ExtensionRequest{Name: "adapay.app_create",
			Payload: json.RawMessage(`{"sub_api_key":"` + key + `","app_name":"商城"}`)})
		require.NoError(t, err)
		var app struct {
			AppID string `json:"app_id"`
		}
		require.NoError(t, json.Unmarshal(created.Payload, &app))
		assert.True(t, strings.HasPrefix(app.AppID, "app_"))
		listed, err := call[core.ExtensionResponse](e, core.OpExtension, &core.ExtensionRequest{Name: "adapay.app_list",
			Payload: json.RawMessage(`{"sub_api_key":"` + key + `"}`)})
		require.NoError(t, err)
		var apps struct {
			List []struct {
				AppID   string `json:"app_id"`
				AppName string `json:"app_name"`
			} `json:"application_list"`
		}
		require.NoError(t, json.Unmarshal(listed.Payload, &apps), string(listed.Payload))
		require.Len(t, apps.List, 2)
		assert.Equal(t, "商城", apps.List[1].AppName)
		assert.Equal(t, app.AppID, apps.List[1].AppID)

		// 商户入驻: every channel I, then S with the sub-merchant numbers
		act := e.activate(t, "req_cfg_life", key)
		assert.Equal(t, core.OnboardingSubmitted, act.Status)
		assert.Len(t, act.Channels, 4)
		q, err := call[core.QueryChannelResponse](e, core.OpOnboardingQueryChannel, &core.QueryChannelRequest{RequestID: "req_cfg_life", ProviderID: key})
		require.NoError(t, err)
		assert.Equal(t, core.OnboardingReviewing, q.Status)
		assert.Equal(t, map[string]core.OnboardingStatus{"wx_pub": "reviewing", "wx_lite": "reviewing", "alipay_qr": "reviewing", "alipay": "reviewing"},
			channelStatuses(q.Channels))
		r, _ := e.sim.Resident("req_cfg_life")
		assert.JSONEq(t, `{"wx_pub":{"appid":"wx2421b1c4370ec43b","path":"https://shop.example.com/pay/"},"wx_lite":{"appid":"wx8888888888888888"},"alipay_qr":"","alipay":""}`,
			r.Params["add_value_list"])
		assert.Equal(t, "4828", r.Params["wx_category"])
		assert.Equal(t, "4828", r.Params["alipay_category"])
		require.Equal(t, 1, e.sim.Advance())
		evs = e.mustParse(t, e.notify.waitType(t, "resident.succeeded"))
		assert.Equal(t, map[string]string{"wx_pub": "approved", "wx_lite": "approved", "alipay_qr": "approved", "alipay": "approved"}, eventStatuses(evs))
		q, err = call[core.QueryChannelResponse](e, core.OpOnboardingQueryChannel, &core.QueryChannelRequest{RequestID: "req_cfg_life"})
		require.NoError(t, err)
		assert.Equal(t, core.OnboardingApproved, q.Status)
		r, _ = e.sim.Resident("req_cfg_life")
		for _, ch := range q.Channels {
			assert.Equal(t, core.OnboardingApproved, ch.Status)
			if strings.HasPrefix(ch.Channel, "wx_") {
				assert.Equal(t, r.WxMerCode, ch.SubMerchantCode)
			} else {
				assert.Equal(t, r.AlipayMerCode, ch.SubMerchantCode)
			}
		}

		// 实名认证 (both wallets, by an agent): review, QR codes, confirmation
		rn := e.realName(t, "realname_life", key, "all", "agent")
		require.Len(t, rn.States, 2)
		for _, st := range rn.States {
			assert.Equal(t, core.OnboardingSubmitted, st.Status)
		}
		rnSim, _ := e.sim.RealName("realname_life")
		assert.Equal(t, "SUPER", rnSim.ContactType)
		assert.Equal(t, "ALL", rnSim.Type)
		states := e.queryRealName(t, "realname_life", key)
		assert.Equal(t, core.OnboardingReviewing, states["wechat"].Status)
		assert.Equal(t, "审核中", states["wechat"].ApplyState)
		assert.Equal(t, "unauthorised", states["alipay"].AuthorizeState)
		require.Equal(t, 1, e.sim.Advance())
		states = e.queryRealName(t, "realname_life", key)
		for _, w := range []string{"wechat", "alipay"} {
			assert.Equal(t, core.OnboardingNeedsInfo, states[w].Status, w)
			assert.Equal(t, "待联系人确认", states[w].ApplyState)
			assert.NotEmpty(t, states[w].QRCode)
		}
		// the contact scans the WeChat code; Alipay is confirmed by the next step
		scan, err := http.Get(states["wechat"].QRCode)
		require.NoError(t, err)
		scan.Body.Close()
		require.Equal(t, http.StatusOK, scan.StatusCode)
		evs = e.mustParse(t, e.notify.waitType(t, "realname.succeeded"))
		require.Len(t, evs, 1)
		assert.Equal(t, core.EventRealName, evs[0].Kind)
		assert.Equal(t, "realname_life", evs[0].ObjectID)
		assert.Equal(t, map[string]string{"wallet": "wechat"}, evs[0].Data)
		assert.Equal(t, string(core.OnboardingApproved), evs[0].Status)
		states = e.queryRealName(t, "realname_life", key)
		assert.Equal(t, core.OnboardingApproved, states["wechat"].Status)
		assert.Equal(t, "authorised", states["wechat"].AuthorizeState)
		assert.Equal(t, core.OnboardingNeedsInfo, states["alipay"].Status)
		require.Equal(t, 1, e.sim.Advance())
		evs = e.mustParse(t, e.notify.waitType(t, "realname.succeeded"))
		assert.Equal(t, "alipay", evs[0].Data["wallet"])
		only, err := call[core.QueryRealNameResponse](e, core.OpOnboardingRealNameQuery, &core.QueryRealNameRequest{RequestID: "realname_life", ProviderID: key, Wallet: "alipay"})
		require.NoError(t, err)
		require.Len(t, only.States, 1)
		assert.Equal(t, core.OnboardingApproved, only.States[0].Status)

		// 修改结算账户信息: pending, then merchant.modify.succeeded
		set, err := call[core.SetSettlementAccountResponse](e, core.OpOnboardingSetSettlement, &core.SetSettlementAccountRequest{
			RequestID: "settle_card_life", ProviderID: key, NotifyURL: e.notify.url(),
			Account: core.BankAccount{Type: "corporate", Number: "6222021001115709999", BankCode: "01030000", Province: "0031", Area: "3100"}})
		require.NoError(t, err)
		assert.Equal(t, core.OnboardingSubmitted, set.Status)
		require.Equal(t, 1, e.sim.Advance())
		evs = e.mustParse(t, e.notify.waitType(t, "merchant.modify.succeeded"))
		assert.Equal(t, core.Event{ID: "settlement:settle_card_life:approved", Kind: core.EventSettlement, ObjectID: "settle_card_life",
			Status: "approved"}, evs[0])
		sub, _ = e.sim.SubMerchant(key)
		assert.Equal(t, "6222021001115709999", sub.Card.CardID)

		// 商户入驻修改
		mod, err := call[core.ActivateChannelResponse](e, core.OpOnboardingActivateChannel, &core.ActivateChannelRequest{
			RequestID: "req_mod_life", ProviderID: key, Modify: true,
			Extra: map[string]string{"alipay_request_params": `{"mer_short_name":"测试新店"}`, "wx_request_params": `{"mer_phone":"02187654321"}`}})
		require.NoError(t, err)
		assert.Equal(t, core.OnboardingSubmitted, mod.Status)
		require.Equal(t, 1, e.sim.Advance())
		evs = e.mustParse(t, e.notify.waitType(t, "resident.modify.succeeded"))
		assert.Equal(t, map[string]string{"alipay": "approved", "wx": "approved"}, eventStatuses(evs))
		assert.Equal(t, "req_mod_life", evs[0].ObjectID)
		assert.Empty(t, e.sim.Pending())
	})
}
