package adapay_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/plugins/adapay/sim"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seed-responses", name))
	require.NoError(t, err)
	return b
}

// seedGateway answers each "METHOD path" with one of the seed's response
// examples as Adapay's data string, signed with the simulator's key.
func seedGateway(t *testing.T, files map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file, ok := files[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		data := string(fixture(t, file))
		env, err := json.Marshal(map[string]string{"data": data, "signature": sim.Sign(sim.SimulatorKey().Private, data)})
		require.NoError(t, err)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(env)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSeedResponsesParse: every response example of seed 003 is understood.
func TestSeedResponsesParse(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		gw := seedGateway(t, map[string]string{
			"POST /v1/batchEntrys/userEntry": "userEntry_create.json",
			"GET /v1/batchEntrys/userEntry":  "userEntry_query.json",
			"POST /v1/merchant/modify":       "merchant_modify.json",
			"POST /v1/batchInput/merConf":    "merConf_create.json",
			"GET /v1/batchInput/merConf":     "merConf_query.json",
			"POST " + sim.RealNamePath:       "realname_apply.json",
			"GET " + sim.RealNamePath:        "realname_query.json",
		})
		e := &env{t: t, p: loadTransport(t, transport)}
		e.h = bindAccount(t, e.p.Manifest(), gw.URL, nil, time.Now)

		apply, err := call[core.ApplyMerchantResponse](e, core.OpOnboardingApply, &core.ApplyMerchantRequest{
			ApplicationID: "merchant_entry_1568686499494", Application: application("上海测试科技有限公司", core.MerchantEnterprise)})
		require.NoError(t, err)
		assert.Equal(t, core.OnboardingSubmitted, apply.Result.Status)
		assert.Equal(t, "merchant_entry_1568686499494", apply.Result.ApplicationID)

		q, err := call[core.QueryMerchantResponse](e, core.OpOnboardingQuery, &core.QueryMerchantRequest{ApplicationID: "merchant_entry_1568686499494"})
		require.NoError(t, err)
		assert.Equal(t, core.MerchantResult{ApplicationID: "merchant_entry_1568686499494", ProviderID: "api_live_a99c99cb-a9a8-4121-81ec-915c13b7d731",
			Status: core.OnboardingApproved, Issued: map[string]string{"app_ids": "app_28eadb84-0651-4d0d-9a24-7918151aa259",
				"test_api_key":  "api_test_4b048905-1d1d-4e20-88fa-1e28e04f3371",
				"sign_view_url": "https://testapi.fadada.com:8443/api//viewContract.action?app_id=400932&v=2.0&timestamp=20190917101525&contract_id=201909170200013731&msg_digest=MzExMUJGMDc3ODg3RkQyRjg1RkU0MEY1Q0Q5M0I3Q0ZEODUxQTExNw=="},
			ProviderData: map[string]string{"request_id": "merchant_entry_1568686499494", "stage": "entry"}}, q.Result)

		set, err := call[core.SetSettlementAccountResponse](e, core.OpOnboardingSetSettlement, &core.SetSettlementAccountRequest{
			RequestID: "test_settle_card_202304060009", ProviderID: "test_api_live_00000001",
			Account: core.BankAccount{Type: "personal", Number: "6222021001115701111", BankCode: "01030000", Province: "0031", Area: "3100"}})
		require.NoError(t, err)
		assert.Equal(t, core.OnboardingSubmitted, set.Status)

		act, err := call[core.ActivateChannelResponse](e, core.OpOnboardingActivateChannel, &core.ActivateChannelRequest{
			RequestID: "merchant_resident_1568687057520", ProviderID: "test_api_live_00000001", Channels: []core.ChannelActivation{{Channel: "alipay_qr"}}})
		require.NoError(t, err)
		assert.Equal(t, core.OnboardingSubmitted, act.Status)

		cq, err := call[core.QueryChannelResponse](e, core.OpOnboardingQueryChannel, &core.QueryChannelRequest{RequestID: "201909161000002"})
		require.NoError(t, err)
		assert.Equal(t, core.OnboardingApproved, cq.Status)
		require.Len(t, cq.Channels, 8)
		assert.Equal(t, core.ChannelState{Channel: "wx_lite", Status: core.OnboardingApproved, SubMerchantCode: "0021001020"}, cq.Channels[0])
		assert.Equal(t, core.ChannelState{Channel: "alipay", Status: core.OnboardingApproved}, cq.Channels[3])

		rn, err := call[core.RealNameResponse](e, core.OpOnboardingRealName, &core.RealNameRequest{RequestID: "realname_000000000000000000030",
			ProviderID: "test_api_live_00000001", Wallet: "all", ContactType: "legal"})
		require.NoError(t, err)
		assert.Equal(t, []core.RealNameState{{Wallet: "wechat", Status: core.OnboardingSubmitted, ApplyState: "pending"},
			{Wallet: "alipay", Status: core.OnboardingSubmitted, ApplyState: "pending"}}, rn.States)

		rq, err := call[core.QueryRealNameResponse](e, core.OpOnboardingRealNameQuery, &core.QueryRealNameRequest{RequestID: "realname_0000000000000000004",
			ProviderID: "test_api_live_00000001"})
		require.NoError(t, err)
		assert.Equal(t, []core.RealNameState{{Wallet: "wechat", Status: core.OnboardingRejected, ApplyState: "已撤回", AuthorizeState: "unauthorised"}}, rq.States)
	})
}

// seedEvent turns a seed event example into the form Adapay posts: its data
// object (for resident.*, the whole object) as a compact JSON string,
// re-signed with the simulator's key.
func seedEvent(t *testing.T, name string) []byte {
	t.Helper()
	var ev map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(fixture(t, filepath.Join("events", name)), &ev))
	data := ev["data"]
	delete(ev, "sign")
	if data == nil {
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		data = b
	}
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, data))
	kv := []string{"data", compact.String(), "sign", sim.Sign(sim.SimulatorKey().Private, compact.String())}
	for _, k := range []string{"id", "created_time", "type", "prod_mode"} {
		var v string
		if raw, ok := ev[k]; ok && json.Unmarshal(raw, &v) == nil {
			kv = append(kv, k, v)
		}
	}
	return form(kv...)
}

// TestSeedEventsParse: every event of the seed's Event table parses into
// canonical events of the onboarding machine.
func TestSeedEventsParse(t *testing.T) {
	allS := func(chs ...string) map[string]string {
		m := map[string]string{}
		for _, c := range chs {
			m[c] = "approved"
		}
		return m
	}
	tests := []struct {
		file     string
		kind     core.EventKind
		object   string
		statuses map[string]string // channel/wallet → status; "" key for single events
		check    func(t *testing.T, evs []core.Event)
	}{
		{"queryEntryUser.succeeded.json", core.EventOnboarding, "req_mer_20200403115903666666", map[string]string{"": "approved"}, func(t *testing.T, evs []core.Event) {
			assert.Equal(t, "api_live_bf636064-xxxx-xxxx-xxxx-ddd11ffe0000", evs[0].ProviderObjectID)
			assert.Equal(t, map[string]string{"app_ids": "app_2fc6b8a4-xxxx-xxxx-xxxx-34eeee33bbbbb",
				"test_api_key":  "api_test_364ac64b-xxxx-xxxx-xxxx-144411199999",
				"sign_view_url": "https://xxx.xxxxxx.com/api/downloadContract?contractId=EieUFRY4eR6&digest=78F056245F32C28F5042781E66668888"}, evs[0].Data)
			b, _ := json.Marshal(evs)
			assert.NotContains(t, string(b), "Axxx6666", "login_pwd is dropped")
		}},
		{"userEntry.failed.json", core.EventOnboarding, "req_mer_20200403166666655555", map[string]string{"": "rejected"}, func(t *testing.T, evs []core.Event) {
			assert.Equal(t, "营业执照认证失败", evs[0].FailureMessage)
			assert.Equal(t, "api_error", evs[0].FailureCode)
		}},
		{"merchant.modify.succeeded.json", core.EventSettlement, "test_bind_card_202304060011", map[string]string{"": "approved"}, nil},
		{"merchant.modify.failed.json", core.EventSettlement, "test_bind_card_202304060011", map[string]string{"": "rejected"}, nil},
		{"resident.succeeded.json", core.EventChannel, "20200221081000007999",
			allS("wx_lite", "wx_pub", "wx_scan", "alipay", "alipay_wap", "alipay_lite", "alipay_qr", "alipay_scan"), nil},
		{"resident.failed.json", core.EventChannel, "req_cfg_20200220140530952000",
			map[string]string{"wx_lite": "rejected", "wx_pub": "approved", "wx_scan": "approved", "alipay": "rejected"}, func(t *testing.T, evs []core.Event) {
				for _, ev := range evs {
					if ev.Data["channel"] == "alipay" {
						assert.Contains(t, ev.FailureMessage, "黑名单校验不通过", "the wallet's refusal")
					}
				}
			}},
		{"resident.modify.succeeded.json", core.EventChannel, "", map[string]string{"alipay": "approved", "wx": "approved"}, nil},
		{"resident.modify.failed.json", core.EventChannel, "", map[string]string{"alipay": "approved", "wx": "rejected"}, func(t *testing.T, evs []core.Event) {
			assert.Equal(t, "modify_err", evs[1].FailureCode)
			assert.Contains(t, evs[1].FailureMessage, "不足30天")
		}},
	}
	forEachTransport(t, func(t *testing.T, transport string) {
		e := &env{t: t, p: loadTransport(t, transport)}
		// the examples are from 2020–2023: switch the replay window off
		e.h = bindAccount(t, e.p.Manifest(), "https://api.adapay.tech", func(a *account) {
			a.config["base_url"] = "https://api.adapay.tech"
			a.config["notify_max_age_seconds"] = "0"
		}, time.Now)
		for _, tt := range tests {
			t.Run(tt.file, func(t *testing.T) {
				evs := e.mustParse(t, seedEvent(t, tt.file))
				got := map[string]string{}
				ids := map[string]bool{}
				for _, ev := range evs {
					assert.Equal(t, tt.kind, ev.Kind)
					assert.Equal(t, tt.object, ev.ObjectID)
					assert.True(t, core.ValidStatus(core.MachineOnboarding, ev.Status), ev.Status)
					assert.NotEmpty(t, ev.ID)
					assert.False(t, ids[ev.ID], "event ids are distinct")
					ids[ev.ID] = true
					got[ev.Data["channel"]] = ev.Status
				}
				assert.Equal(t, tt.statuses, got)
				if tt.check != nil {
					tt.check(t, evs)
				}
			})
		}
	})
}
