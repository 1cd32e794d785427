package adapay_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/plugins/adapay/sim"
)

// TestOnboardingRejections: each magic value of the simulator ends its step
// the unhappy way, seen both through the notification and the query.
func TestOnboardingRejections(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"entry fails", func(t *testing.T, e *env) {
			e.apply(t, "req_fail", "失败商户"+sim.MagicEntryFail, core.MerchantEnterprise)
			e.sim.Advance()
			evs := e.mustParse(t, e.notify.waitType(t, "userEntry.failed"))
			assert.Equal(t, core.Event{ID: "onboarding:req_fail:rejected", Kind: core.EventOnboarding, ObjectID: "req_fail",
				Status: "rejected", FailureCode: "api_error", FailureMessage: "营业执照认证失败"}, evs[0])
			res := e.queryMerchant(t, core.MerchantResult{ApplicationID: "req_fail"})
			assert.Equal(t, core.OnboardingRejected, res.Status)
			assert.Equal(t, "营业执照认证失败", res.FailureMessage)
			assert.Empty(t, res.ProviderID)
		}},
		{"micro merchant opens; audit asks for more, then refuses", func(t *testing.T, e *env) {
			key := e.open(t, "req_micro", "小微张三"+sim.MagicAuditW, core.MerchantMicro)
			entry, _ := e.sim.Entry("req_micro")
			assert.Equal(t, "2", entry.Params["entry_mer_type"])
			docs := map[string]string{}
			for _, typ := range []string{"legal_id_front", "legal_id_back", "bank_card_front", "store_front"} {
				docs[typ] = e.upload(t, key, typ)
			}
			docs["store"] = docs["store_front"]
			delete(docs, "store_front")
			res := e.submit(t, "req_micro", key, docs)
			e.sim.Advance()
			res = e.queryMerchant(t, res)
			assert.Equal(t, core.OnboardingNeedsInfo, res.Status)
			assert.NotEmpty(t, res.Message)
			_, err := call[core.SubmitMerchantResponse](e, core.OpOnboardingSubmit, &core.SubmitMerchantRequest{ProviderID: key,
				Documents: map[string]string{"license": e.upload(t, key, "license"), "legal_id_front": docs["legal_id_front"],
					"legal_id_back": docs["legal_id_back"], "account_permit": docs["bank_card_front"], "store": docs["store"]}})
			assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "a micro merchant has no licence")
			assert.Equal(t, "socialCreditCodeId", core.AsError(err).Param)
		}},
		{"audit refuses", func(t *testing.T, e *env) {
			key := e.open(t, "req_r", "上海拒绝公司"+sim.MagicAuditR, core.MerchantEnterprise)
			res := e.submit(t, "req_r", key, e.documents(t, key))
			_, err := call[core.SubmitMerchantResponse](e, core.OpOnboardingSubmit, &core.SubmitMerchantRequest{ProviderID: key, Documents: e.documents(t, key),
				Extra: map[string]string{"businessAdd": "https://x.example.com"}})
			assert.Equal(t, core.CodeConflict, core.CodeOf(err), "under review: no second submission")
			e.sim.Advance()
			res = e.queryMerchant(t, res)
			assert.Equal(t, core.OnboardingRejected, res.Status)
			assert.Equal(t, "营业执照与商户名称不符", res.FailureMessage)
		}},
		{"alipay refuses the registration, wechat accepts", func(t *testing.T, e *env) {
			key := e.open(t, "req_ali", "黑名单公司"+sim.MagicResidentFAli, core.MerchantEnterprise)
			e.activate(t, "req_cfg_ali", key)
			e.sim.Advance()
			evs := e.mustParse(t, e.notify.waitType(t, "resident.failed"))
			assert.Equal(t, map[string]string{"wx_pub": "approved", "wx_lite": "approved", "alipay_qr": "rejected", "alipay": "rejected"}, eventStatuses(evs))
			for _, ev := range evs {
				if ev.Status == "rejected" {
					assert.Contains(t, ev.FailureMessage, "黑名单校验不通过")
					assert.Empty(t, ev.ProviderObjectID)
				} else {
					assert.NotEmpty(t, ev.ProviderObjectID, "WeChat sub-merchant number")
				}
			}
			q, err := call[core.QueryChannelResponse](e, core.OpOnboardingQueryChannel, &core.QueryChannelRequest{RequestID: "req_cfg_ali"})
			require.NoError(t, err)
			assert.Equal(t, core.OnboardingRejected, q.Status)
			assert.Equal(t, map[string]core.OnboardingStatus{"wx_pub": "approved", "wx_lite": "approved", "alipay_qr": "rejected", "alipay": "rejected"},
				channelStatuses(q.Channels))
		}},
		{"real-name authentication fails", func(t *testing.T, e *env) {
			key := e.open(t, "req_rn", "实名失败公司"+sim.MagicRealNameFail, core.MerchantEnterprise)
			rn := e.realName(t, "realname_fail", key, "wechat", "legal")
			require.Len(t, rn.States, 1)
			assert.Equal(t, "wechat", rn.States[0].Wallet)
			e.sim.Advance()
			states := e.queryRealName(t, "realname_fail", key)
			assert.Equal(t, "待法人确认", states["wechat"].ApplyState)
			e.sim.Advance()
			evs := e.mustParse(t, e.notify.waitType(t, "realname.failed"))
			assert.Equal(t, string(core.OnboardingRejected), evs[0].Status)
			assert.NotEmpty(t, evs[0].FailureMessage)
			states = e.queryRealName(t, "realname_fail", key)
			assert.Equal(t, core.OnboardingRejected, states["wechat"].Status)
			assert.Equal(t, "审核失败", states["wechat"].ApplyState)
			assert.NotEmpty(t, states["wechat"].FailureReason)
		}},
		{"card change and registration change fail", func(t *testing.T, e *env) {
			key := e.open(t, "req_chg", "变更失败公司"+sim.MagicSettleFail+sim.MagicModifyFail, core.MerchantEnterprise)
			_, err := call[core.SetSettlementAccountResponse](e, core.OpOnboardingSetSettlement, &core.SetSettlementAccountRequest{
				RequestID: "settle_bad", ProviderID: key, NotifyURL: e.notify.url(),
				Account: core.BankAccount{Type: "personal", Number: "6222021001115701111", BankCode: "01030000", Province: "0031", Area: "3100"}})
			require.NoError(t, err)
			e.activate(t, "req_cfg_chg", key)
			e.sim.Advance()
			evs := e.mustParse(t, e.notify.waitType(t, "merchant.modify.failed"))
			assert.Equal(t, string(core.OnboardingRejected), evs[0].Status)
			assert.Equal(t, "settle_bad", evs[0].ObjectID)
			e.mustParse(t, e.notify.waitType(t, "resident.succeeded"))
			_, err = call[core.ActivateChannelResponse](e, core.OpOnboardingActivateChannel, &core.ActivateChannelRequest{RequestID: "mod_bad",
				ProviderID: key, Modify: true, Extra: map[string]string{"wx_request_params": `{"mer_short_name":"新简称"}`}})
			require.NoError(t, err)
			e.sim.Advance()
			evs = e.mustParse(t, e.notify.waitType(t, "resident.modify.failed"))
			require.Len(t, evs, 1)
			assert.Equal(t, "wx", evs[0].Data["channel"])
			assert.Equal(t, string(core.OnboardingRejected), evs[0].Status)
			assert.Equal(t, "modify_err", evs[0].FailureCode)
			assert.Contains(t, evs[0].FailureMessage, "不足30天")
		}},
	}
	forEachTransport(t, func(t *testing.T, transport string) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) { sc.run(t, newEnv(t, transport, nil)) })
		}
	})
}

// TestOnboardingRefusals: input errors are refused before anything is sent;
// Adapay's refusals map to canonical codes with the parameter at fault.
func TestOnboardingRefusals(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		key := e.open(t, "req_ok", "上海测试科技有限公司", core.MerchantEnterprise)
		apply := func(id string, change func(*core.MerchantApplication)) error {
			a := application("上海测试科技有限公司", core.MerchantEnterprise)
			change(&a)
			_, err := call[core.ApplyMerchantResponse](e, core.OpOnboardingApply, &core.ApplyMerchantRequest{ApplicationID: id, Application: a})
			return err
		}
		tests := []struct {
			name  string
			call  func() error
			code  core.Code
			param string
			sent  bool
		}{
			{"person", func() error { return apply("a1", func(a *core.MerchantApplication) { a.Kind = core.MerchantPerson }) }, core.CodeUnsupported, "application.kind", false},
			{"no fee rates", func() error { return apply("a2", func(a *core.MerchantApplication) { a.FeeRates = nil }) }, core.CodeInvalidRequest, "application.fee_rates", false},
			{"rate of 100%", func() error {
				return apply("a3", func(a *core.MerchantApplication) {
					a.FeeRates = []core.FeeRate{{Channel: "wx_scan", RatePPM: core.PPM}}
				})
			}, core.CodeInvalidRequest, "application.fee_rates", false},
			{"passport", func() error { return apply("a4", func(a *core.MerchantApplication) { a.Legal.IDType = "passport" }) }, core.CodeUnsupported, "application.legal.id_type", false},
			{"unknown rate channel", func() error {
				return apply("a5", func(a *core.MerchantApplication) { a.FeeRates = []core.FeeRate{{Channel: "paypal", RatePPM: 1}} })
			}, core.CodeInvalidRequest, "fee_rate_list", true},
			{"short name too long", func() error {
				return apply("a6", func(a *core.MerchantApplication) { a.ShortName = "一二三四五六七八九十一" })
			}, core.CodeInvalidRequest, "mer_short_name", true},
			{"micro with a corporate account", func() error {
				return apply("a7", func(a *core.MerchantApplication) { a.Kind = core.MerchantMicro; a.License = core.License{} })
			}, core.CodeInvalidRequest, "bank_acct_type", true},
			{"request_id reused", func() error { return apply("req_ok", func(*core.MerchantApplication) {}) }, core.CodeDuplicate, "", true},
			{"query of an unknown entry", func() error {
				_, err := call[core.QueryMerchantResponse](e, core.OpOnboardingQuery, &core.QueryMerchantRequest{ApplicationID: "nope"})
				return err
			}, core.CodeNotFound, "", true},
			{"wx_pub without directory", func() error {
				_, err := call[core.ActivateChannelResponse](e, core.OpOnboardingActivateChannel, &core.ActivateChannelRequest{RequestID: "c1", ProviderID: key,
					Channels: []core.ChannelActivation{{Channel: "wx_pub", AppID: "wx1"}}})
				return err
			}, core.CodeInvalidRequest, "channels.path", false},
			{"channel Adapay does not register", func() error {
				_, err := call[core.ActivateChannelResponse](e, core.OpOnboardingActivateChannel, &core.ActivateChannelRequest{RequestID: "c2", ProviderID: key,
					Channels: []core.ChannelActivation{{Channel: "union_qr"}}})
				return err
			}, core.CodeUnsupported, "channels", false},
			{"registration of another merchant", func() error {
				_, err := call[core.ActivateChannelResponse](e, core.OpOnboardingActivateChannel, &core.ActivateChannelRequest{RequestID: "c3", ProviderID: "api_live_unknown",
					Channels: []core.ChannelActivation{{Channel: "alipay_qr"}}, Category: "x", Extra: map[string]string{"fee_type": "01", "app_id": "app_x"}})
				return err
			}, core.CodeNotFound, "", true},
			{"registration in another merchant's app", func() error {
				_, err := call[core.ActivateChannelResponse](e, core.OpOnboardingActivateChannel, &core.ActivateChannelRequest{RequestID: "c4", ProviderID: key,
					Channels: []core.ChannelActivation{{Channel: "alipay_qr"}}, Category: "x", Extra: map[string]string{"fee_type": "01", "app_id": sim.DefaultMerchantAppID}})
				return err
			}, core.CodeAuthFailed, "", true},
			{"modify without parameters", func() error {
				_, err := call[core.ActivateChannelResponse](e, core.OpOnboardingActivateChannel, &core.ActivateChannelRequest{RequestID: "m1", ProviderID: key, Modify: true})
				return err
			}, core.CodeInvalidRequest, "extra.alipay_request_params", false},
			{"modify before registration", func() error {
				_, err := call[core.ActivateChannelResponse](e, core.OpOnboardingActivateChannel, &core.ActivateChannelRequest{RequestID: "m2", ProviderID: key, Modify: true,
					Extra: map[string]string{"wx_request_params": `{"mer_phone":"02100000000"}`}})
				return err
			}, core.CodeConflict, "", true},
			{"document type unknown", func() error {
				_, err := call[core.UploadDocumentResponse](e, core.OpOnboardingUploadDocument, &core.UploadDocumentRequest{ProviderID: key, Type: "selfie", FileName: "a.png", Content: png})
				return err
			}, core.CodeUnsupported, "type", false},
			{"document too large", func() error {
				_, err := call[core.UploadDocumentResponse](e, core.OpOnboardingUploadDocument, &core.UploadDocumentRequest{ProviderID: key, Type: "license", FileName: "a.png",
					Content: make([]byte, 2<<20+1)})
				return err
			}, core.CodeInvalidRequest, "content", false},
			{"document not an image", func() error {
				_, err := call[core.UploadDocumentResponse](e, core.OpOnboardingUploadDocument, &core.UploadDocumentRequest{ProviderID: key, Type: "license", FileName: "a.pdf",
					Content: []byte("%PDF-1.4")})
				return err
			}, core.CodeInvalidRequest, "file", true},
			{"submission with another merchant's picture", func() error {
				other := e.open(t, "req_other", "另一家公司", core.MerchantEnterprise)
				_, err := call[core.SubmitMerchantResponse](e, core.OpOnboardingSubmit, &core.SubmitMerchantRequest{ProviderID: key,
					Documents: e.documents(t, other), Extra: map[string]string{"businessAdd": "https://x.example.com"}})
				return err
			}, core.CodeNotFound, "", true},
			{"card of a member", func() error {
				_, err := call[core.SetSettlementAccountResponse](e, core.OpOnboardingSetSettlement, &core.SetSettlementAccountRequest{RequestID: "s1", ProviderID: key, UserID: "member_1"})
				return err
			}, core.CodeUnsupported, "user_id", false},
			{"card change with a bad area", func() error {
				_, err := call[core.SetSettlementAccountResponse](e, core.OpOnboardingSetSettlement, &core.SetSettlementAccountRequest{RequestID: "s2", ProviderID: key,
					Account: core.BankAccount{Type: "corporate", Number: "6222", BankCode: "01030000", Province: "31", Area: "3100"}})
				return err
			}, core.CodeInvalidRequest, "settle_card_info.prov_code", true},
			{"real-name wallet unknown", func() error {
				_, err := call[core.RealNameResponse](e, core.OpOnboardingRealName, &core.RealNameRequest{RequestID: "r1", ProviderID: key, Wallet: "unionpay", ContactType: "legal"})
				return err
			}, core.CodeInvalidRequest, "wallet", false},
			{"real-name by an agent without a letter", func() error {
				_, err := call[core.RealNameResponse](e, core.OpOnboardingRealName, &core.RealNameRequest{RequestID: "r2", ProviderID: key, Wallet: "wechat", ContactType: "agent",
					Contact:   core.Person{IDNumber: "310101199001011234", IDStart: "20200101", IDEnd: "20300101"},
					Documents: map[string]string{"contact_id_front": e.upload(t, key, "contact_id_front"), "contact_id_back": e.upload(t, key, "contact_id_back")}})
				return err
			}, core.CodeInvalidRequest, "contact_person_info.business_authorization_letter", true},
			{"extension unknown", func() error {
				_, err := call[core.ExtensionResponse](e, core.OpExtension, &core.ExtensionRequest{Name: "adapay.nothing", Payload: json.RawMessage(`{"sub_api_key":"k"}`)})
				return err
			}, core.CodeUnsupported, "name", false},
			{"application name reused", func() error {
				_, err := call[core.ExtensionResponse](e, core.OpExtension, &core.ExtensionRequest{Name: "adapay.app_create",
					Payload: json.RawMessage(`{"sub_api_key":"` + key + `","app_name":"test_13333333344"}`)})
				return err
			}, core.CodeDuplicate, "", true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				n := len(e.sim.Requests())
				err := tt.call()
				require.Error(t, err)
				ce := core.AsError(err)
				assert.Equal(t, tt.code, ce.Code, ce.Error())
				assert.Equal(t, tt.param, ce.Param)
				if !tt.sent {
					assert.Equal(t, n, len(e.sim.Requests()), "nothing sent")
				}
			})
		}
	})
}
