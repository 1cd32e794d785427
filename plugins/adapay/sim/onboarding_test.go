package sim

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// notifyServer records notification forms and answers with status.
type notifyServer struct {
	url   string
	forms chan url.Values
}

func newNotifyServer(t *testing.T, status func(n int) int) *notifyServer {
	ns := &notifyServer{forms: make(chan url.Values, 64)}
	var n atomic.Int64
	srv := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		ns.forms <- r.PostForm
		w.WriteHeader(status(int(n.Add(1))))
	}))
	ns.url = srv + "/notify"
	return ns
}

func (ns *notifyServer) next(t *testing.T) url.Values {
	t.Helper()
	select {
	case f := <-ns.forms:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
		return nil
	}
}

func TestEntryValidation(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name   string
		change func(p map[string]any)
		param  string
	}{
		{"request_id missing", func(p map[string]any) { delete(p, "request_id") }, "request_id"},
		{"short name over 10", func(p map[string]any) { p["mer_short_name"] = "一二三四五六七八九十一" }, "mer_short_name"},
		{"bad phone", func(p map[string]any) { p["usr_phone"] = "12345" }, "usr_phone"},
		{"enterprise without licence", func(p map[string]any) { delete(p, "license_code") }, "license_code"},
		{"bad validity date", func(p map[string]any) { p["mer_valid_date"] = "2099-12-31" }, "mer_valid_date"},
		{"micro with a corporate account", func(p map[string]any) { p["entry_mer_type"] = "2" }, "bank_acct_type"},
		{"province not four digits", func(p map[string]any) { p["prov_code"] = "31" }, "prov_code"},
		{"fee rate with 11 decimals", func(p map[string]any) {
			p["fee_rate_list"] = `[{"rate_channel":"wx_scan","fee_rate":"0.00350000001"}]`
		}, "fee_rate_list"},
		{"unknown rate channel", func(p map[string]any) { p["fee_rate_list"] = `[{"rate_channel":"paypal","fee_rate":"0.01"}]` }, "fee_rate_list"},
		{"notify_url with a query", func(p map[string]any) { p["notify_url"] = "https://m.example.com/n?a=1" }, "notify_url"},
		{"passport", func(p map[string]any) { p["legal_type"] = "1" }, "legal_type"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := entryParams("req_v"+strconv.Itoa(i), "上海测试")
			tt.change(p)
			a := e.do(http.MethodPost, "/v1/batchEntrys/userEntry", p)
			assert.Equal(t, http.StatusBadRequest, a.status)
			assert.True(t, Verify(&e.s.key.PublicKey, a.dataText, a.signature), "errors are signed")
			assert.Equal(t, "failed", a.str("status"))
			assert.Equal(t, "request_param_error", a.str("error_code"))
			assert.Equal(t, "invalid_request_error", a.str("error_type"))
			assert.Equal(t, tt.param, a.str("invalid_param"))
		})
	}
	micro := entryParams("req_micro", "小微")
	micro["entry_mer_type"], micro["bank_acct_type"] = "2", "2"
	delete(micro, "license_code")
	delete(micro, "mer_start_valid_date")
	e.ok(e.do(http.MethodPost, "/v1/batchEntrys/userEntry", micro))
	a := e.do(http.MethodPost, "/v1/batchEntrys/userEntry", micro)
	assert.Equal(t, "request_id_repeat", a.str("error_code"))
}

// TestEntryAndEvents: the entry's pending answer, its asynchronous result
// (the seed's queryEntryUser.succeeded fields, login_pwd included), the
// query, and the failure event of the magic name.
func TestEntryAndEvents(t *testing.T) {
	ns := newNotifyServer(t, func(int) int { return 200 })
	e := newEnv(t, nil)
	p := entryParams("req_1", "上海测试")
	p["notify_url"] = ns.url
	a := e.ok(e.do(http.MethodPost, "/v1/batchEntrys/userEntry", p))
	assert.Equal(t, map[string]any{"request_id": "req_1", "status": "pending", "prod_mode": "true"}, a.data)
	assert.Equal(t, "pending", e.ok(e.do(http.MethodGet, "/v1/batchEntrys/userEntry", map[string]any{"request_id": "req_1"})).str("status"))
	assert.Equal(t, []string{"entry req_1"}, e.s.Pending())
	require.Equal(t, 1, e.s.Advance())

	f := ns.next(t)
	assert.Equal(t, "queryEntryUser.succeeded", f.Get("type"))
	assert.True(t, Verify(&e.s.key.PublicKey, f.Get("data"), f.Get("sign")))
	for _, k := range []string{"id", "created_time", "prod_mode"} {
		assert.NotEmpty(t, f.Get(k), k)
	}
	var data map[string]any
	require.NoError(t, jsonUnmarshal(f.Get("data"), &data))
	for _, k := range []string{"object", "status", "request_id", "test_api_key", "live_api_key", "app_id_list", "sign_view_url", "login_pwd"} {
		assert.Contains(t, data, k)
	}
	_, isList := data["app_id_list"].([]any)
	assert.True(t, isList, "the event's app_id_list is an array")

	q := e.ok(e.do(http.MethodGet, "/v1/batchEntrys/userEntry", map[string]any{"request_id": "req_1"}))
	assert.Equal(t, "succeeded", q.str("status"))
	assert.True(t, strings.HasPrefix(q.str("app_id_list"), `[{"app_id":"app_`), "the query's app_id_list is a JSON string")
	assert.Equal(t, data["live_api_key"], q.str("live_api_key"))

	p = entryParams("req_2", "坏公司"+MagicEntryFail)
	p["notify_url"] = ns.url
	e.ok(e.do(http.MethodPost, "/v1/batchEntrys/userEntry", p))
	e.s.Advance()
	f = ns.next(t)
	assert.Equal(t, "userEntry.failed", f.Get("type"))
	assert.Contains(t, f.Get("data"), "营业执照认证失败")
	q = e.ok(e.do(http.MethodGet, "/v1/batchEntrys/userEntry", map[string]any{"request_id": "req_2"}))
	assert.Equal(t, "failed", q.str("status"))
	assert.Equal(t, "record_not_exist", e.do(http.MethodGet, "/v1/batchEntrys/userEntry", map[string]any{"request_id": "nope"}).str("error_code"))
}

// upload sends 上传商户证照 as multipart, signed over the non-file fields.
func (e *env) upload(key, fileType, name string, content []byte) answer {
	e.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fields := map[string]string{"sub_api_key": key, "file_type": fileType}
	for k, v := range fields {
		require.NoError(e.t, w.WriteField(k, v))
	}
	fw, err := w.CreateFormFile("file", name)
	require.NoError(e.t, err)
	_, _ = fw.Write(content)
	require.NoError(e.t, w.Close())
	req, err := http.NewRequest(http.MethodPost, e.hs.URL+"/v1/merProfile/merProfilePicture", &b)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", e.api)
	req.Header.Set("Signature", Sign(e.key, e.hs.URL+"/v1/merProfile/merProfilePicture"+PlainText(fields)))
	return e.send(req)
}

var jpeg = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}

func TestDocumentsAndAudit(t *testing.T) {
	e := newEnv(t, nil)
	key := e.open("req_doc", "上海测试"+MagicAuditW)
	assert.Equal(t, "W", e.ok(e.do(http.MethodGet, "/v1/merProfile/merProfile", map[string]any{"subApiKey": key})).str("audit_status"))
	pics := map[string]string{}
	for field, typ := range map[string]string{"socialCreditCodeId": "01", "legalCertIdFrontId": "02", "legalCertIdBackId": "03", "accountOpeningPermitId": "05", "storeId": "04"} {
		a := e.ok(e.upload(key, typ, typ+".jpg", jpeg))
		assert.Equal(t, typ, a.str("file_type"))
		pics[field] = a.str("pic_id")
	}
	assert.Equal(t, "request_param_error", e.upload(key, "01", "a.pdf", []byte("%PDF")).str("error_code"))
	assert.Equal(t, "file_type", e.upload(key, "20", "a.jpg", jpeg).str("invalid_param"))
	assert.Equal(t, "sub_api_key_not_exist", e.upload("api_live_other", "01", "a.jpg", jpeg).str("error_code"))
	big := append(append([]byte{}, jpeg...), make([]byte, 2<<20)...)
	assert.Equal(t, "file", e.upload(key, "01", "big.jpg", big).str("invalid_param"))

	sub := map[string]any{"subApiKey": key, "businessAdd": "https://shop.example.com"}
	for k, v := range pics {
		sub[k] = v
	}
	wrong := map[string]any{}
	for k, v := range sub {
		wrong[k] = v
	}
	wrong["legalCertIdFrontId"] = pics["legalCertIdBackId"]
	assert.Equal(t, "legalCertIdFrontId", e.do(http.MethodPost, "/v1/merProfile/merProfileForAudit", wrong).str("invalid_param"), "a picture of the wrong type")
	sub["storeId"] = pics["storeId"] + "|" + e.ok(e.upload(key, "04", "s2.jpg", jpeg)).str("pic_id")
	a := e.ok(e.do(http.MethodPost, "/v1/merProfile/merProfileForAudit", sub))
	assert.Equal(t, "I", a.str("audit_status"))
	assert.Equal(t, "status_error", e.do(http.MethodPost, "/v1/merProfile/merProfileForAudit", sub).str("error_code"))
	e.s.Advance()
	q := e.ok(e.do(http.MethodGet, "/v1/merProfile/merProfile", map[string]any{"subApiKey": key}))
	assert.Equal(t, "W", q.str("audit_status"))
	assert.NotEmpty(t, q.str("audit_desc"))
	e.ok(e.do(http.MethodPost, "/v1/merProfile/merProfileForAudit", sub))
}

func TestResidentAndRealName(t *testing.T) {
	ns := newNotifyServer(t, func(int) int { return 200 })
	e := newEnv(t, nil)
	key := e.open("req_res", "上海测试"+MagicResidentFWx)
	sm, _ := e.s.SubMerchant(key)
	base := map[string]any{"request_id": "cfg_1", "sub_api_key": key, "fee_type": "01", "app_id": sm.Apps[0].AppID, "wx_category": "4828",
		"notify_url": ns.url, "add_value_list": `{"wx_pub":{"appid":"wx1","path":"https://m.example.com/"},"alipay_qr":""}`}
	bad := map[string]any{}
	for k, v := range base {
		bad[k] = v
	}
	bad["add_value_list"] = `{"wx_pub":{"appid":"wx1"}}`
	assert.Equal(t, "add_value_list", e.do(http.MethodPost, "/v1/batchInput/merConf", bad).str("invalid_param"))
	e.ok(e.do(http.MethodPost, "/v1/batchInput/merConf", base))
	q := e.ok(e.do(http.MethodGet, "/v1/batchInput/merConf", map[string]any{"request_id": "cfg_1"}))
	assert.Equal(t, map[string]any{"wx_pub": "I", "alipay_qr": "I"}, q.data["wx_alipay_response"])
	e.s.Advance()
	f := ns.next(t)
	assert.Equal(t, "resident.failed", f.Get("type"))
	q = e.ok(e.do(http.MethodGet, "/v1/batchInput/merConf", map[string]any{"request_id": "cfg_1"}))
	assert.Equal(t, "failed", q.str("status"))
	assert.Equal(t, map[string]any{"wx_pub": "F", "alipay_qr": "S"}, q.data["wx_alipay_response"])
	assert.Equal(t, "F", q.str("wx_stat"))
	assert.Equal(t, "S", q.str("alipay_stat"))
	assert.NotEmpty(t, q.str("alipay_mer_code"))
	assert.Empty(t, q.str("wx_mer_code"))

	legal := e.ok(e.upload(key, "02", "f.jpg", jpeg)).str("pic_id")
	legalBack := e.ok(e.upload(key, "03", "b.jpg", jpeg)).str("pic_id")
	lic := e.ok(e.upload(key, "01", "l.jpg", jpeg)).str("pic_id")
	cf := e.ok(e.upload(key, "17", "cf.jpg", jpeg)).str("pic_id")
	cb := e.ok(e.upload(key, "18", "cb.jpg", jpeg)).str("pic_id")
	rn := map[string]any{"request_id": "rn_1", "sub_api_key": key, "real_name_type": "A", "contact_type": "LEGAL", "notify_url": ns.url,
		"contact_person_info": `{"id_card_number":"310101199001011234","contact_period_begin":"20200101","contact_period_end":"20991231","contact_id_doc_copy":"` + cf + `","contact_id_doc_copy_back":"` + cb + `"}`,
		"legal_person_info":   `{"legal_id_doc_copy":"` + legal + `","legal_id_doc_copy_back":"` + legalBack + `","licence_copy":"` + lic + `","legal_address":"上海"}`}
	a := e.ok(e.do(http.MethodPost, RealNamePath, rn))
	assert.Equal(t, map[string]any{"request_id": "rn_1", "prod_mode": "true", "ali_status": "pending"}, a.data)
	rq := e.ok(e.do(http.MethodGet, RealNamePath, map[string]any{"request_id": "rn_1", "sub_api_key": key}))
	assert.Equal(t, `[{"applement_stat":"审核中","authorize_stat":"未授权","real_name_type":"A"}]`, rq.str("real_name_result"))
	e.s.Advance()
	snap, _ := e.s.RealName("rn_1")
	require.Len(t, snap.Wallets, 1)
	assert.Equal(t, ApplyWaitLegal, snap.Wallets[0].ApplyStat)
	assert.Equal(t, e.hs.URL+"/sim/realname/rn_1/A", snap.Wallets[0].QRCode)
	assert.Error(t, e.s.ScanRealNameQR("rn_1", "W"), "no WeChat application")
	require.NoError(t, e.s.ScanRealNameQR("rn_1", "A"))
	f = ns.next(t)
	assert.Equal(t, "realname.succeeded", f.Get("type"))
	assert.Contains(t, f.Get("data"), `"real_name_type":"A"`)
	assert.Equal(t, 1, e.s.Advance(), "the confirmation step finds nothing left to do")
	rq = e.ok(e.do(http.MethodGet, RealNamePath, map[string]any{"request_id": "rn_1", "sub_api_key": key}))
	assert.Equal(t, `[{"applement_stat":"审核通过","authorize_stat":"已授权","real_name_type":"A"}]`, rq.str("real_name_result"))
	select {
	case f := <-ns.forms:
		t.Fatalf("unexpected second notification %v", f)
	case <-time.After(20 * time.Millisecond):
	}
}

// TestDelaysWithoutManual: without Manual the steps run on their own after
// their delays.
func TestDelaysWithoutManual(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Manual = false
		c.Delays.Entry = 10 * time.Millisecond
	})
	e.ok(e.do(http.MethodPost, "/v1/batchEntrys/userEntry", entryParams("req_auto", "自动")))
	assert.Equal(t, "pending", e.ok(e.do(http.MethodGet, "/v1/batchEntrys/userEntry", map[string]any{"request_id": "req_auto"})).str("status"))
	eventually(t, func() bool {
		en, _ := e.s.Entry("req_auto")
		return en.Status == "succeeded"
	}, "entry completes")
	assert.Empty(t, e.s.Pending())
}

func TestSettlementChange(t *testing.T) {
	ns := newNotifyServer(t, func(int) int { return 200 })
	e := newEnv(t, nil)
	key := e.open("req_set", "上海测试")
	p := map[string]any{"adapay_func_code": "merchant.modify", "order_no": "set_1", "sub_api_key": key, "notify_url": ns.url,
		"settle_card_info": `{"card_id":"6222","bank_code":"01030000","bank_acct_type":"2","prov_code":"0031","area_code":"3100"}`}
	a := e.ok(e.do(http.MethodPost, "/v1/merchant/modify", p))
	assert.Equal(t, map[string]any{"object": "merchant_modify", "order_no": "set_1", "prod_mode": "true", "status": "pending", "sub_api_key": key}, a.data)
	assert.Equal(t, "order_no_repeat", e.do(http.MethodPost, "/v1/merchant/modify", p).str("error_code"))
	e.s.Advance()
	f := ns.next(t)
	assert.Equal(t, "merchant.modify.succeeded", f.Get("type"))
	assert.JSONEq(t, `{"object":"merchant_modify","status":"succeeded","prod_mode":"true","order_no":"set_1"}`, f.Get("data"))
	sm, _ := e.s.SubMerchant(key)
	assert.Equal(t, "6222", sm.Card.CardID)
}
