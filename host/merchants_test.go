package host_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/internal/pgtest"
	adapaysim "github.com/payhost/payhost/plugins/adapay/sim"
)

// assertNoPersonalData fails when any of the application's ID, card or
// mobile numbers appears in full in text.
func assertNoPersonalData(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range personalData {
		assert.NotContains(t, text, s, "%s holds personal data", what)
	}
}

func jsonText(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestMerchantLifecycleByNotifications drives one Adapay merchant through
// the whole lifecycle — application, documents and their review, channel
// activation, real-name authentication with its QR codes, settlement card
// change — with the simulator's steps reported by its notifications (and
// by the poller where Adapay sends none: the document review, the QR
// codes). Personal data stays masked in answers and events and out of logs.
func TestMerchantLifecycleByNotifications(t *testing.T) { testMerchantLifecycle(t, nil) }

// TestPostgresMerchantLifecycle is the lifecycle on PostgreSQL.
func TestPostgresMerchantLifecycle(t *testing.T) { testMerchantLifecycle(t, postgresStore) }

func testMerchantLifecycle(t *testing.T, st func(t *testing.T) store.Store) {
	w := newOnboardingWorld(t, onboardingOpts{store: openStore(t, st)})
	ctx := context.Background()

	m := w.create("acme", "上海测试科技有限公司")
	assert.Equal(t, core.OnboardingSubmitted, m.Status)
	assert.Equal(t, store.StageApplication, m.Stage)
	assert.Equal(t, host.PendingProvider, m.PendingReason)
	assert.Equal(t, "adapay", m.Provider)
	assert.Equal(t, "3211**********5128", m.Application.Legal.IDNumber, "masked")
	assert.Equal(t, "6222***********4287", m.Application.Settlement.Number, "masked")
	assert.Equal(t, "13*******44", m.Application.Legal.Mobile, "masked")
	assert.Equal(t, "13*******44", m.Application.Extra["usr_phone"], "masked by its name")
	entry, ok := w.sim.Entry(m.ID)
	require.True(t, ok, "the merchant id is Adapay's request_id")
	assert.Equal(t, legalID, entry.Params["legal_idno"], "the provider got the application in full")
	assert.Equal(t, w.inbox.URL+"/v1/notify/app", entry.NotifyURL)

	// 开户进件 completes: queryEntryUser.succeeded
	require.Equal(t, 1, w.sim.Advance())
	w.eventually("the merchant approved", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingApproved })
	m = w.merchant("acme", m.ID)
	assert.True(t, strings.HasPrefix(m.ProviderMerchantID, "api_live"), m.ProviderMerchantID)
	assert.NotEmpty(t, m.Issued["app_ids"])
	assert.Empty(t, m.PendingReason)

	// documents, submitted for review; Adapay's review sends no
	// notification: the poller learns the result
	m = w.submitDocuments("acme", m.ID)
	assert.Equal(t, core.OnboardingReviewing, m.Status)
	assert.Equal(t, store.StageReview, m.Stage)
	require.NotNil(t, m.SubmittedAt)
	require.Len(t, m.Documents, 5)
	for _, d := range m.Documents {
		assert.NotEmpty(t, d.ProviderDocumentID)
		assert.Equal(t, int64(len(pngPicture)), d.Size)
		assert.Len(t, d.SHA256, 64)
	}
	sub, _ := w.sim.SubMerchant(m.ProviderMerchantID)
	assert.Equal(t, "I", sub.AuditStatus)
	require.Equal(t, 1, w.sim.Advance())
	w.pollUntil("the review approved", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingApproved })

	// 商户入驻: resident.succeeded, one event per channel
	m = w.activate("acme", w.merchant("acme", m.ID))
	act := latestRequest(m, store.RequestChannels)
	require.NotNil(t, act)
	assert.Equal(t, core.OnboardingSubmitted, act.Status)
	assert.Equal(t, core.OnboardingSubmitted, requestItem(act, "wx_pub").Status)
	require.Equal(t, 1, w.sim.Advance())
	w.eventually("the channels approved", func() bool {
		return requestStatus(w.merchant("acme", m.ID), store.RequestChannels) == core.OnboardingApproved
	})
	act = latestRequest(w.merchant("acme", m.ID), store.RequestChannels)
	res, _ := w.sim.Resident(act.ID)
	assert.Equal(t, res.WxMerCode, requestItem(act, "wx_pub").SubMerchantCode)
	assert.Equal(t, res.AlipayMerCode, requestItem(act, "alipay_qr").SubMerchantCode)

	// 实名认证: reviewed, then each wallet waits for its QR code to be
	// scanned (no notification: a refresh, or the poller, learns it)
	m = w.realName("acme", m.ID)
	rn := latestRequest(m, store.RequestRealName)
	require.NotNil(t, rn)
	assert.Equal(t, "all", rn.Wallet)
	assert.Len(t, rn.Items, 2)
	rnSim, _ := w.sim.RealName(rn.ID)
	assert.Equal(t, "LEGAL", rnSim.ContactType)
	require.Equal(t, 1, w.sim.Advance())
	m, err := w.host.GetMerchant(ctx, "acme", m.ID, host.Refresh())
	require.NoError(t, err)
	rn = latestRequest(m, store.RequestRealName)
	assert.Equal(t, core.OnboardingNeedsInfo, rn.Status)
	wechat := requestItem(rn, "wechat")
	require.NotNil(t, wechat)
	assert.Equal(t, core.OnboardingNeedsInfo, wechat.Status)
	assert.Equal(t, "待法人确认", wechat.ApplyState)
	require.NotEmpty(t, wechat.QRCode)
	// the legal person scans WeChat's code: realname.succeeded for wechat
	scan, err := http.Get(wechat.QRCode)
	require.NoError(t, err)
	scan.Body.Close()
	require.Equal(t, http.StatusOK, scan.StatusCode)
	w.eventually("wechat approved", func() bool {
		it := requestItem(latestRequest(w.merchant("acme", m.ID), store.RequestRealName), "wechat")
		return it.Status == core.OnboardingApproved
	})
	rn = latestRequest(w.merchant("acme", m.ID), store.RequestRealName)
	assert.Empty(t, requestItem(rn, "wechat").QRCode, "nothing is left to scan")
	assert.Equal(t, core.OnboardingNeedsInfo, rn.Status, "alipay still waits")
	require.Equal(t, 1, w.sim.Advance()) // Alipay is confirmed
	// a query after the notification fills the wallet's states in
	w.eventually("real name approved and authorised", func() bool {
		rn := latestRequest(w.merchant("acme", m.ID), store.RequestRealName)
		return rn.Status == core.OnboardingApproved && requestItem(rn, "alipay").AuthorizeState == "authorised"
	})
	assert.Equal(t, "审核通过", requestItem(latestRequest(w.merchant("acme", m.ID), store.RequestRealName), "alipay").ApplyState)

	// 修改结算账户信息: merchant.modify.succeeded
	m = w.changeCard("acme", m.ID)
	card := latestRequest(m, store.RequestSettlement)
	assert.Equal(t, core.OnboardingSubmitted, card.Status)
	assert.Equal(t, "6222***********9999", card.SettlementAccount.Number)
	require.Equal(t, 1, w.sim.Advance())
	w.eventually("the card changed", func() bool {
		return requestStatus(w.merchant("acme", m.ID), store.RequestSettlement) == core.OnboardingApproved
	})
	sub, _ = w.sim.SubMerchant(m.ProviderMerchantID)
	assert.Equal(t, newCard, sub.Card.CardID)
	assert.Empty(t, w.sim.Pending())

	// the outbox: one event per applied change, about the merchant
	m = w.merchant("acme", m.ID)
	evs, err := w.store.ListEvents(ctx, store.EventQuery{Tenant: "acme", ObjectID: m.ID, Limit: 100})
	require.NoError(t, err)
	var types []string
	var qrEvent string
	for i := len(evs) - 1; i >= 0; i-- {
		types = append(types, evs[i].Type)
		assertNoPersonalData(t, "event "+evs[i].Type, string(evs[i].Data))
		if evs[i].Type == "merchant.realname.needs_info" {
			qrEvent = string(evs[i].Data)
		}
	}
	for _, typ := range []string{"merchant.submitted", "merchant.approved", "merchant.reviewing", "merchant.channels.submitted",
		"merchant.channels.approved", "merchant.realname.needs_info", "merchant.realname.approved",
		"merchant.settlement_account.submitted", "merchant.settlement_account.approved"} {
		assert.Contains(t, types, typ)
	}
	assert.Contains(t, qrEvent, "qr_code", "the QR codes travel with the event")
	for _, typ := range []string{"merchant.approved", "merchant.needs_info", "merchant.realname.needs_info", "merchant.settlement_account.rejected"} {
		assert.Contains(t, host.EventTypes(), typ, "endpoints may subscribe to it")
	}

	// personal data: masked in the answer, never in a log line
	assertNoPersonalData(t, "the merchant", jsonText(t, m))
	assertNoPersonalData(t, "the log", w.logs.String())
	sm, err := w.store.GetMerchant(ctx, m.ID)
	require.NoError(t, err)
	assert.Nil(t, sm.Sealed, "the full application is forgotten once the provider has it")
	assertNoPersonalData(t, "the stored merchant", string(sm.Application))
}

// TestMerchantLifecycleByPolling: with no notification URL, the poller
// alone settles the application, the review, the channels and the real
// name (with its QR codes). A settlement card change, which Adapay cannot
// be asked about, waits for its notification.
func TestMerchantLifecycleByPolling(t *testing.T) {
	w := newOnboardingWorld(t, onboardingOpts{noNotify: true})
	m := w.create("acme", "上海轮询科技有限公司")
	entry, _ := w.sim.Entry(m.ID)
	assert.Empty(t, entry.NotifyURL)
	require.Equal(t, 1, w.sim.Advance())
	w.pollUntil("the merchant approved", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingApproved })

	w.submitDocuments("acme", m.ID)
	require.Equal(t, 1, w.sim.Advance())
	w.pollUntil("the review approved", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingApproved })

	w.activate("acme", w.merchant("acme", m.ID))
	require.Equal(t, 1, w.sim.Advance())
	w.pollUntil("the channels approved", func() bool {
		return requestStatus(w.merchant("acme", m.ID), store.RequestChannels) == core.OnboardingApproved
	})

	w.realName("acme", m.ID)
	require.Equal(t, 1, w.sim.Advance())
	w.pollUntil("the QR codes", func() bool {
		rn := latestRequest(w.merchant("acme", m.ID), store.RequestRealName)
		return rn.Status == core.OnboardingNeedsInfo && requestItem(rn, "alipay").QRCode != ""
	})
	require.Equal(t, 1, w.sim.Advance())
	w.pollUntil("real name approved", func() bool {
		return requestStatus(w.merchant("acme", m.ID), store.RequestRealName) == core.OnboardingApproved
	})

	m = w.changeCard("acme", m.ID)
	card := latestRequest(m, store.RequestSettlement)
	require.Equal(t, 1, w.sim.Advance())
	// the round must find the request due (Poll.First after the provider's answer)
	due, err := w.store.GetMerchantRequest(context.Background(), card.ID)
	require.NoError(t, err)
	time.Sleep(time.Until(due.NextPollAt))
	w.host.Poll(context.Background())
	assert.Equal(t, core.OnboardingSubmitted, requestStatus(w.merchant("acme", m.ID), store.RequestSettlement),
		"no query exists for it: only its notification settles it")
	sr, err := w.store.GetMerchantRequest(context.Background(), card.ID)
	require.NoError(t, err)
	assert.True(t, sr.NextPollAt.IsZero(), "not polled")
	assert.Empty(t, w.sim.Notifications(), "no notification URL was given")
}

// TestPostgresMerchantTwoEngines: two engines with their own pools on one
// PostgreSQL database get the same application with one key at once, and
// then both poll it: one provider call, one merchant, and each transition
// (and its event) applied once.
func TestPostgresMerchantTwoEngines(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	open := func() store.Store {
		st, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.WithSchema(schema))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st
	}
	w := newOnboardingWorld(t, onboardingOpts{store: open(), noNotify: true})
	second := w.newEngine(open())
	w.sim.SetFaults(adapaysim.Fault{Kind: adapaysim.FaultLatency, Latency: 50 * time.Millisecond})
	engines := []*host.Host{w.host, second}
	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := engines[i%2].CreateMerchant(context.Background(), host.CreateMerchantInput{Tenant: "acme", IdempotencyKey: "two-nodes",
				Account: "app", Application: enterpriseApplication("上海双节点科技")})
			if assert.NoError(t, err) {
				ids[i] = m.ID
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		assert.Equal(t, ids[0], id)
	}
	assert.Equal(t, 1, countEntries(w.sim), "one provider call across both engines")
	w.sim.SetFaults()
	require.Equal(t, 1, w.sim.Advance())
	w.eventually("approved", func() bool {
		var wg sync.WaitGroup
		for _, e := range engines {
			wg.Add(1)
			go func() { defer wg.Done(); e.Poll(context.Background()) }()
		}
		wg.Wait()
		return w.merchant("acme", ids[0]).Status == core.OnboardingApproved
	})
	evs, err := w.store.ListEvents(context.Background(), store.EventQuery{Tenant: "acme", ObjectID: ids[0], Type: "merchant.approved"})
	require.NoError(t, err)
	assert.Len(t, evs, 1, "one transition, one event")
}

func countEntries(s *adapaysim.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == "/v1/batchEntrys/userEntry" && r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

// TestMerchantFailures: what the provider refuses, by the simulator's
// magic merchant names, ends rejected with the provider's reason.
func TestMerchantFailures(t *testing.T) {
	t.Run("entry fails", func(t *testing.T) {
		w := newOnboardingWorld(t, onboardingOpts{})
		m := w.create("acme", "坏公司#entry_fail")
		require.Equal(t, 1, w.sim.Advance())
		w.eventually("rejected", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingRejected })
		m = w.merchant("acme", m.ID)
		require.NotNil(t, m.Failure)
		assert.Equal(t, "营业执照认证失败", m.Failure.Message)
		assert.Equal(t, core.CodeDeclined, m.Failure.Code)
		// nothing more can be asked of a merchant the provider never opened
		_, err := w.host.ActivateMerchantChannels(context.Background(), host.ActivateMerchantChannelsInput{Tenant: "acme",
			IdempotencyKey: obKey("ch"), MerchantID: m.ID, Channels: []core.ChannelActivation{{Channel: "alipay_qr"}}})
		assert.Equal(t, core.CodeConflict, core.CodeOf(err))
	})
	t.Run("review refused", func(t *testing.T) {
		w := newOnboardingWorld(t, onboardingOpts{})
		m := w.open("上海测试#audit_R")
		w.submitDocuments("acme", m.ID)
		require.Equal(t, 1, w.sim.Advance())
		w.pollUntil("rejected", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingRejected })
		m = w.merchant("acme", m.ID)
		assert.Equal(t, "营业执照与商户名称不符", m.Failure.Message)
		assert.Equal(t, "R", m.Failure.ProviderCode)
	})
	t.Run("review wants more, then passes", func(t *testing.T) {
		w := newOnboardingWorld(t, onboardingOpts{})
		m := w.open("上海测试#audit_W")
		w.submitDocuments("acme", m.ID)
		require.Equal(t, 1, w.sim.Advance())
		w.pollUntil("needs info", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingNeedsInfo })
		m = w.merchant("acme", m.ID)
		assert.Contains(t, m.Message, "租赁合同")
		assert.Empty(t, m.PendingReason)
		assert.Nil(t, m.Failure, "nothing failed: something is missing")
		// a second submission reopens the review
		w.upload("acme", m.ID, "lease")
		again, err := w.host.SubmitMerchant(context.Background(), host.SubmitMerchantInput{Tenant: "acme", IdempotencyKey: obKey("s2"),
			MerchantID: m.ID, Extra: map[string]string{"businessAdd": "https://shop.example.com"}})
		require.NoError(t, err)
		assert.Equal(t, core.OnboardingReviewing, again.Status)
		assert.Nil(t, again.Failure)
		sub, _ := w.sim.SubMerchant(m.ProviderMerchantID)
		assert.NotEmpty(t, sub.Audit["leaseContractId"])
	})
	t.Run("wechat channels refused", func(t *testing.T) {
		w := newOnboardingWorld(t, onboardingOpts{})
		m := w.open("上海测试#resident_F_wx")
		w.activate("acme", m)
		require.Equal(t, 1, w.sim.Advance())
		w.eventually("rejected", func() bool {
			return requestStatus(w.merchant("acme", m.ID), store.RequestChannels) == core.OnboardingRejected
		})
		act := latestRequest(w.merchant("acme", m.ID), store.RequestChannels)
		assert.Equal(t, core.OnboardingRejected, requestItem(act, "wx_pub").Status)
		assert.Contains(t, requestItem(act, "wx_pub").Message, "微信子商户号申请失败")
		assert.Equal(t, core.OnboardingApproved, requestItem(act, "alipay_qr").Status)
		require.NotNil(t, act.Failure)
		assert.Contains(t, act.Failure.Message, "wx_pub")
	})
	t.Run("real name refused", func(t *testing.T) {
		w := newOnboardingWorld(t, onboardingOpts{})
		m := w.open("上海测试#realname_F")
		w.realName("acme", m.ID)
		require.Equal(t, 1, w.sim.Advance()) // reviewed: QR codes
		require.Equal(t, 1, w.sim.Advance()) // the confirmation fails
		w.eventually("rejected", func() bool {
			return requestStatus(w.merchant("acme", m.ID), store.RequestRealName) == core.OnboardingRejected
		})
		rn := latestRequest(w.merchant("acme", m.ID), store.RequestRealName)
		for _, wallet := range []string{"wechat", "alipay"} {
			assert.Equal(t, core.OnboardingRejected, requestItem(rn, wallet).Status)
			assert.Equal(t, "联系人身份证信息与证件照片不一致", requestItem(rn, wallet).Message)
		}
	})
	t.Run("card change refused", func(t *testing.T) {
		w := newOnboardingWorld(t, onboardingOpts{})
		m := w.open("上海测试#settle_fail")
		w.changeCard("acme", m.ID)
		require.Equal(t, 1, w.sim.Advance())
		w.eventually("rejected", func() bool {
			return requestStatus(w.merchant("acme", m.ID), store.RequestSettlement) == core.OnboardingRejected
		})
		card := latestRequest(w.merchant("acme", m.ID), store.RequestSettlement)
		require.NotNil(t, card.Failure)
		assert.Equal(t, "settlement card change refused", card.Failure.Message)
	})
	t.Run("request refused before anything happened", func(t *testing.T) {
		w := newOnboardingWorld(t, onboardingOpts{})
		m := w.open("上海测试科技")
		out, err := w.host.ActivateMerchantChannels(context.Background(), host.ActivateMerchantChannelsInput{Tenant: "acme",
			IdempotencyKey: obKey("ch"), MerchantID: m.ID, Channels: []core.ChannelActivation{{Channel: "wx_pub"}}})
		require.NoError(t, err, "the request exists: it is returned rejected")
		act := latestRequest(out, store.RequestChannels)
		assert.Equal(t, core.OnboardingRejected, act.Status)
		assert.Equal(t, core.CodeInvalidRequest, act.Failure.Code)
		assert.Equal(t, core.OnboardingRejected, requestItem(act, "wx_pub").Status)
	})
}

// open creates a merchant for acme and completes Adapay's entry.
func (w *onboardingWorld) open(name string) *host.Merchant {
	w.t.Helper()
	m := w.create("acme", name)
	require.Equal(w.t, 1, w.sim.Advance())
	w.eventually("the merchant opened", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingApproved })
	return w.merchant("acme", m.ID)
}

// TestMerchantUnknownOutcome: an application whose answer was lost is
// submitted with pending_reason unknown_outcome and settled by query; one
// that never arrived is sent again by the poller under the same id.
func TestMerchantUnknownOutcome(t *testing.T) {
	t.Run("processed, answer lost", func(t *testing.T) {
		w := newOnboardingWorld(t, onboardingOpts{})
		w.sim.SetFaults(adapaysim.Fault{Kind: adapaysim.FaultTimeoutAfterProcessing, PathPrefix: "/v1/batchEntrys/userEntry", Count: 1})
		m := w.create("acme", "上海测试科技")
		assert.Equal(t, core.OnboardingSubmitted, m.Status)
		assert.Equal(t, host.PendingUnknownOutcome, m.PendingReason)
		w.pollUntil("the provider answered", func() bool { return w.merchant("acme", m.ID).PendingReason == host.PendingProvider })
		require.Equal(t, 1, w.sim.Advance())
		w.eventually("approved", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingApproved })
	})
	t.Run("never arrived", func(t *testing.T) {
		w := newOnboardingWorld(t, onboardingOpts{})
		w.sim.SetFaults(adapaysim.Fault{Kind: adapaysim.FaultHTTP5xxBefore, PathPrefix: "/v1/batchEntrys/userEntry", Count: 1})
		m := w.create("acme", "上海测试科技")
		assert.Equal(t, host.PendingUnknownOutcome, m.PendingReason)
		_, ok := w.sim.Entry(m.ID)
		require.False(t, ok)
		w.pollUntil("sent again", func() bool { _, ok := w.sim.Entry(m.ID); return ok })
		sm, err := w.store.GetMerchant(context.Background(), m.ID)
		require.NoError(t, err)
		assert.Nil(t, sm.Sealed)
		require.Equal(t, 1, w.sim.Advance())
		w.eventually("approved", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingApproved })
	})
}

// TestMerchantStaleNotification: an application notification that arrives
// after the documents were submitted (its first delivery lost) does not
// decide the review: it is checked against the provider's review.
func TestMerchantStaleNotification(t *testing.T) {
	w := newOnboardingWorld(t, onboardingOpts{simConfig: func(c *adapaysim.Config) {
		c.NotifySchedule = []time.Duration{0}
	}})
	w.drop.Store(true)
	m := w.create("acme", "上海测试科技")
	require.Equal(t, 1, w.sim.Advance())
	w.eventually("the dropped delivery", func() bool {
		ns := w.sim.Notifications()
		return len(ns) == 1 && ns[0].GaveUp
	})
	w.pollUntil("approved by query", func() bool { return w.merchant("acme", m.ID).Status == core.OnboardingApproved })
	w.drop.Store(false)
	w.submitDocuments("acme", m.ID)
	result := w.replay("queryEntryUser.succeeded")
	assert.True(t, strings.HasPrefix(result, "stale"), result)
	assert.Equal(t, core.OnboardingReviewing, w.merchant("acme", m.ID).Status)
}

// TestMerchantDraft: documents first, then the application with them (how
// providers that take documents before the application work).
func TestMerchantDraft(t *testing.T) {
	w := newOnboardingWorld(t, onboardingOpts{})
	ctx := context.Background()
	m, err := w.host.CreateMerchant(ctx, host.CreateMerchantInput{Tenant: "acme", IdempotencyKey: "draft-1", Account: "app",
		Application: enterpriseApplication("上海草稿科技"), Draft: true})
	require.NoError(t, err)
	assert.Equal(t, core.OnboardingDraft, m.Status)
	assert.Equal(t, store.StageDraft, m.Stage)
	assert.Empty(t, m.PendingReason)
	_, ok := w.sim.Entry(m.ID)
	assert.False(t, ok, "nothing sent")
	// Adapay needs the merchant opened before it takes documents
	_, err = w.host.UploadMerchantDocument(ctx, host.UploadMerchantDocumentInput{Tenant: "acme", IdempotencyKey: obKey("d"),
		MerchantID: m.ID, Type: "license", FileName: "license.png", Content: pngPicture})
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err))
	assert.Empty(t, w.merchant("acme", m.ID).Documents)
	m, err = w.host.SubmitMerchant(ctx, host.SubmitMerchantInput{Tenant: "acme", IdempotencyKey: obKey("s"), MerchantID: m.ID})
	require.NoError(t, err)
	assert.Equal(t, core.OnboardingSubmitted, m.Status)
	assert.Equal(t, store.StageApplication, m.Stage)
	_, ok = w.sim.Entry(m.ID)
	assert.True(t, ok, "sent on submission")
	_, err = w.host.SubmitMerchant(ctx, host.SubmitMerchantInput{Tenant: "acme", IdempotencyKey: obKey("s"), MerchantID: m.ID})
	assert.Equal(t, core.CodeConflict, core.CodeOf(err), "the provider is deciding on it")
}

// TestMerchantBadInput: refused before anything is stored or sent, with
// the field at fault.
func TestMerchantBadInput(t *testing.T) {
	w := newOnboardingWorld(t, onboardingOpts{})
	ctx := context.Background()
	create := func(account string, change func(*core.MerchantApplication)) error {
		app := enterpriseApplication("上海测试科技")
		if change != nil {
			change(&app)
		}
		_, err := w.host.CreateMerchant(ctx, host.CreateMerchantInput{Tenant: "acme", IdempotencyKey: obKey("bad"), Account: account, Application: app})
		return err
	}
	tests := []struct {
		name    string
		account string
		change  func(*core.MerchantApplication)
		code    core.Code
		param   string
	}{
		{"no account", "", nil, core.CodeInvalidRequest, "account"},
		{"unknown account", "nope", nil, core.CodeForbidden, "account"},
		{"account that does not onboard", "main", nil, core.CodeUnsupported, "account"},
		{"no kind", "app", func(a *core.MerchantApplication) { a.Kind = "" }, core.CodeInvalidRequest, "application.kind"},
		{"unknown kind", "app", func(a *core.MerchantApplication) { a.Kind = "company" }, core.CodeInvalidRequest, "application.kind"},
		{"no name", "app", func(a *core.MerchantApplication) { a.Name = " " }, core.CodeInvalidRequest, "application.name"},
		{"NUL", "app", func(a *core.MerchantApplication) { a.Legal.Name = "a\x00b" }, core.CodeInvalidRequest, "application.legal.name"},
		{"bad rate", "app", func(a *core.MerchantApplication) { a.FeeRates[0].RatePPM = core.PPM }, core.CodeInvalidRequest, "application.fee_rates"},
		{"long text", "app", func(a *core.MerchantApplication) { a.BusinessScope = strings.Repeat("经", 1025) }, core.CodeInvalidRequest, "application.business_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := create(tt.account, tt.change)
			ce := core.AsError(err)
			assert.Equal(t, tt.code, ce.Code, "%v", err)
			assert.Equal(t, tt.param, ce.Param)
		})
	}
	_, err := w.host.CreateMerchant(ctx, host.CreateMerchantInput{Tenant: "acme", Account: "app", Application: enterpriseApplication("x")})
	assert.Equal(t, core.CodeInvalidRequest, core.CodeOf(err), "an idempotency key is required")
	assert.Empty(t, w.sim.Requests(), "nothing reached the provider")

	// a provider refusal of the application: the merchant exists, rejected
	app := enterpriseApplication("上海测试科技")
	app.Kind = core.MerchantPerson
	m, err := w.host.CreateMerchant(ctx, host.CreateMerchantInput{Tenant: "acme", IdempotencyKey: obKey("p"), Account: "app", Application: app})
	require.NoError(t, err)
	assert.Equal(t, core.OnboardingRejected, m.Status)
	assert.Equal(t, core.CodeUnsupported, m.Failure.Code)

	// documents and requests
	opened := w.open("上海开户科技")
	pending := w.create("acme", "上海等待科技")
	upload := func(id string, change func(*host.UploadMerchantDocumentInput)) error {
		in := host.UploadMerchantDocumentInput{Tenant: "acme", IdempotencyKey: obKey("u"), MerchantID: id, Type: "license",
			FileName: "license.png", ContentType: "image/png", Content: pngPicture}
		if change != nil {
			change(&in)
		}
		_, err := w.host.UploadMerchantDocument(ctx, in)
		return err
	}
	uploads := []struct {
		name   string
		id     string
		change func(*host.UploadMerchantDocumentInput)
		code   core.Code
		param  string
	}{
		{"no type", opened.ID, func(in *host.UploadMerchantDocumentInput) { in.Type = "" }, core.CodeInvalidRequest, "type"},
		{"bad type", opened.ID, func(in *host.UploadMerchantDocumentInput) { in.Type = "../x" }, core.CodeInvalidRequest, "type"},
		{"no file name", opened.ID, func(in *host.UploadMerchantDocumentInput) { in.FileName = "" }, core.CodeInvalidRequest, "file_name"},
		{"empty", opened.ID, func(in *host.UploadMerchantDocumentInput) { in.Content = nil }, core.CodeInvalidRequest, "content"},
		{"over the engine's bound", opened.ID, func(in *host.UploadMerchantDocumentInput) {
			in.Content = make([]byte, host.MaxDocumentBytes+1)
		}, core.CodeInvalidRequest, "content"},
		{"over Adapay's bound", opened.ID, func(in *host.UploadMerchantDocumentInput) {
			in.Content = append(append([]byte{}, pngPicture...), make([]byte, 3<<20)...)
		}, core.CodeInvalidRequest, "content"},
		{"not opened yet", pending.ID, nil, core.CodeConflict, ""},
		{"unknown merchant", "mer_nope", nil, core.CodeNotFound, "id"},
	}
	for _, tt := range uploads {
		t.Run("upload "+tt.name, func(t *testing.T) {
			ce := core.AsError(upload(tt.id, tt.change))
			assert.Equal(t, tt.code, ce.Code, ce.Message)
			assert.Equal(t, tt.param, ce.Param)
		})
	}
	assert.Empty(t, w.merchant("acme", opened.ID).Documents, "no refused upload left a document")

	_, err = w.host.SubmitMerchant(ctx, host.SubmitMerchantInput{Tenant: "acme", IdempotencyKey: obKey("s"), MerchantID: opened.ID,
		Documents: []string{"doc_nope"}})
	assert.Equal(t, "documents", core.AsError(err).Param)
	_, err = w.host.SubmitMerchant(ctx, host.SubmitMerchantInput{Tenant: "acme", IdempotencyKey: obKey("s"), MerchantID: opened.ID})
	assert.Equal(t, "documents", core.AsError(err).Param, "nothing uploaded yet")
	_, err = w.host.ActivateMerchantChannels(ctx, host.ActivateMerchantChannelsInput{Tenant: "acme", IdempotencyKey: obKey("c"), MerchantID: opened.ID})
	assert.Equal(t, "channels", core.AsError(err).Param)
	_, err = w.host.ActivateMerchantChannels(ctx, host.ActivateMerchantChannelsInput{Tenant: "acme", IdempotencyKey: obKey("c"),
		MerchantID: pending.ID, Channels: []core.ChannelActivation{{Channel: "alipay_qr"}}})
	assert.Equal(t, core.CodeConflict, core.CodeOf(err), "not opened yet")
	_, err = w.host.RequestRealName(ctx, host.RealNameInput{Tenant: "acme", IdempotencyKey: obKey("r"), MerchantID: opened.ID, Wallet: "qq", ContactType: "legal"})
	assert.Equal(t, "wallet", core.AsError(err).Param)
	_, err = w.host.RequestRealName(ctx, host.RealNameInput{Tenant: "acme", IdempotencyKey: obKey("r"), MerchantID: opened.ID, Wallet: "all"})
	assert.Equal(t, "contact_type", core.AsError(err).Param)
	_, err = w.host.ChangeSettlementAccount(ctx, host.SettlementAccountInput{Tenant: "acme", IdempotencyKey: obKey("a"), MerchantID: opened.ID})
	assert.Equal(t, "account.number", core.AsError(err).Param)
	assertNoPersonalData(t, "the log", w.logs.String())
}

// TestMerchantIdempotency: the same key and body give the first result
// and one provider call; another body is a mismatch; keys are per tenant.
func TestMerchantIdempotency(t *testing.T) {
	w := newOnboardingWorld(t, onboardingOpts{})
	ctx := context.Background()
	in := host.CreateMerchantInput{Tenant: "acme", IdempotencyKey: "same", Account: "app", Application: enterpriseApplication("上海测试科技")}
	first, err := w.host.CreateMerchant(ctx, in)
	require.NoError(t, err)
	again, err := w.host.CreateMerchant(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID)
	assert.Equal(t, 1, countEntries(w.sim), "one provider call")
	in.Application.Name = "另一家公司"
	_, err = w.host.CreateMerchant(ctx, in)
	assert.Equal(t, core.CodeIdempotencyMismatch, core.CodeOf(err))
	in.Tenant = "globex"
	other, err := w.host.CreateMerchant(ctx, in)
	require.NoError(t, err)
	assert.NotEqual(t, first.ID, other.ID)
}

// TestMerchantTenantIsolation: a tenant sees and changes only its own merchants.
func TestMerchantTenantIsolation(t *testing.T) {
	w := newOnboardingWorld(t, onboardingOpts{})
	ctx := context.Background()
	m := w.open("上海测试科技")
	_, err := w.host.GetMerchant(ctx, "globex", m.ID, host.Refresh())
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.UploadMerchantDocument(ctx, host.UploadMerchantDocumentInput{Tenant: "globex", IdempotencyKey: obKey("d"),
		MerchantID: m.ID, Type: "license", FileName: "l.png", Content: pngPicture})
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.SubmitMerchant(ctx, host.SubmitMerchantInput{Tenant: "globex", IdempotencyKey: obKey("s"), MerchantID: m.ID})
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.ActivateMerchantChannels(ctx, host.ActivateMerchantChannelsInput{Tenant: "globex", IdempotencyKey: obKey("c"),
		MerchantID: m.ID, Channels: []core.ChannelActivation{{Channel: "alipay_qr"}}})
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.RequestRealName(ctx, host.RealNameInput{Tenant: "globex", IdempotencyKey: obKey("r"), MerchantID: m.ID,
		Wallet: "all", ContactType: "legal"})
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	_, err = w.host.ChangeSettlementAccount(ctx, host.SettlementAccountInput{Tenant: "globex", IdempotencyKey: obKey("a"),
		MerchantID: m.ID, Account: core.BankAccount{Number: newCard}})
	assert.Equal(t, core.CodeNotFound, core.CodeOf(err))
	evs, err := w.store.ListEvents(ctx, store.EventQuery{Tenant: "globex", Limit: 100})
	require.NoError(t, err)
	assert.Empty(t, evs, "another tenant's events")
	assert.Len(t, w.merchant("acme", m.ID).Requests, 0)
}
