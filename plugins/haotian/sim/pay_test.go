package sim

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnifiedOrderWayCodes(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		wayCode, payDataType string
		extra                map[string]string
		state                string
		wantWay, ifCode      string
	}{
		{"QR_CASHIER", "payurl", nil, "0", "QR_CASHIER", ""},
		{"QR_CASHIER", "codeImgUrl", map[string]string{"channelExtra": `{"payDataType":"codeImgUrl"}`}, "0", "QR_CASHIER", ""},
		{"AUTO_BAR", "none", nil, "2", "ALI_BAR", "alipay"},
		{"ALI_BAR", "none", nil, "2", "ALI_BAR", "alipay"},
		{"ALI_JSAPI", "aliapp", nil, "1", "ALI_JSAPI", "alipay"},
		{"ALI_LITE", "aliapp", nil, "1", "ALI_LITE", "alipay"},
		{"ALI_APP", "aliapp", nil, "1", "ALI_APP", "alipay"},
		{"ALI_PC", "payurl", nil, "1", "ALI_PC", "alipay"},
		{"ALI_PC", "form", map[string]string{"channelExtra": `{"payDataType":"form"}`}, "1", "ALI_PC", "alipay"},
		{"ALI_WAP", "payurl", nil, "1", "ALI_WAP", "alipay"},
		{"ALI_QR", "codeUrl", nil, "1", "ALI_QR", "alipay"},
		{"ALI_QR", "codeImgUrl", map[string]string{"channelExtra": `{"payDataType":"codeImgUrl"}`}, "1", "ALI_QR", "alipay"},
		{"WX_JSAPI", "wxapp", nil, "1", "WX_JSAPI", "wxpay"},
		{"WX_LITE", "wxapp", nil, "1", "WX_LITE", "wxpay"},
		{"WX_BAR", "none", nil, "2", "WX_BAR", "wxpay"},
		{"WX_H5", "payurl", nil, "1", "WX_H5", "wxpay"},
		{"WX_NATIVE", "codeUrl", nil, "1", "WX_NATIVE", "wxpay"},
		{"YSF_BAR", "none", nil, "2", "YSF_BAR", "ysfpay"},
		{"YSF_JSAPI", "ysfapp", nil, "1", "YSF_JSAPI", "ysfpay"},
		{"PP_PC", "payurl", nil, "1", "PP_PC", "pppay"},
	}
	for _, c := range cases {
		t.Run(c.wayCode+"/"+c.payDataType, func(t *testing.T) {
			d := e.order(c.wayCode, 100, c.extra)
			assert.Equal(t, c.state, d["orderState"])
			assert.Equal(t, c.payDataType, d["payDataType"])
			if c.payDataType == "none" {
				assert.Empty(t, d["payData"])
			} else {
				assert.NotEmpty(t, d["payData"])
			}
			o, ok := e.s.Order(d["payOrderId"])
			require.True(t, ok)
			assert.Equal(t, c.wantWay, o.WayCode)
			assert.Equal(t, c.ifCode, o.IfCode)
			assert.Regexp(t, `^P[0-9]{19}$`, o.PayOrderID)
		})
	}
}

func TestUnifiedOrderRefused(t *testing.T) {
	e := newEnv(t, nil)
	base := func(kv ...string) map[string]string {
		p := map[string]string{"mchOrderNo": "refused-1", "wayCode": "WX_NATIVE", "amount": "100", "currency": "cny", "subject": "s", "body": "b"}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(p, kv[i])
			} else {
				p[kv[i]] = kv[i+1]
			}
		}
		return p
	}
	cases := []struct {
		name   string
		params map[string]string
		code   int
		msg    string
	}{
		{"missing mchOrderNo", base("mchOrderNo", ""), 9999, "商户订单号不能为空"},
		{"missing amount", base("amount", ""), 9999, "支付金额不能为空"},
		{"zero amount", base("amount", "0"), 9999, "支付金额不能为空"},
		{"decimal amount", base("amount", "1.5"), 11, "参数有误[amount]"},
		{"missing subject", base("subject", ""), 9999, "商品标题不能为空"},
		{"other currency", base("currency", "usd"), 9999, "不支持的币种[usd], 目前仅支持cny"},
		{"unknown wayCode", base("wayCode", "WX_APP"), 9999, "商户应用不支持该支付方式"},
		{"barcode without authCode", base("wayCode", "WX_BAR"), 9999, "支付条码不能为空"},
		{"auto barcode without authCode", base("wayCode", "AUTO_BAR"), 9999, "条码为空"},
		{"auto barcode unknown", base("wayCode", "AUTO_BAR", "channelExtra", `{"authCode":"99123"}`), 9999, "不支持的条码"},
		{"jsapi without openid", base("wayCode", "WX_JSAPI"), 9999, "openid不能为空"},
		{"lite without openid", base("wayCode", "WX_LITE", "channelExtra", `{"buyerUserId":"x"}`), 9999, "openid不能为空"},
		{"alipay jsapi without buyer", base("wayCode", "ALI_JSAPI"), 9999, "用户ID不能为空"},
		{"bad channelExtra", base("channelExtra", "{not json"), 11, "参数有误[channelExtra]"},
		{"bad divisionMode", base("divisionMode", "3"), 9999, "分账模式设置值有误"},
		{"ftp notifyUrl", base("notifyUrl", "ftp://x"), 9999, "异步通知地址协议仅支持http:// 或 https:// !"},
		{"ftp returnUrl", base("returnUrl", "ftp://x"), 9999, "同步通知地址协议仅支持http:// 或 https:// !"},
		{"payDataType not offered", base("channelExtra", `{"payDataType":"form"}`), 9999, "不支持的payDataType[form]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fails(e.call("/api/pay/unifiedOrder", c.params), c.code, c.msg)
		})
	}
	_, found := e.s.OrderByMchOrderNo(testMerchant.MchNo, "refused-1")
	assert.False(t, found, "refused requests store nothing")

	t.Run("interface not opened", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Merchants[0].IfCodes = []string{"alipay"} })
		e.fails(e.call("/api/pay/unifiedOrder", base()), 9999, "商户应用不支持该支付方式")
	})
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, nil)
	query := map[string]string{"payOrderId": "P1"}
	tamper := func(f func(p map[string]string)) []byte {
		p := e.signed(e.m, query)
		f(p)
		return jsonBody(t, p)
	}
	resign := func(f func(p map[string]string)) []byte {
		return tamper(func(p map[string]string) {
			f(p)
			p["sign"] = Sign(p, e.m.Secret)
		})
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(e.clock.Now().Add(d).UnixMilli(), 10) }
	cases := []struct {
		name string
		body []byte
		code int
		msg  string
	}{
		{"bad sign", tamper(func(p map[string]string) { p["sign"] = "C380BEC2BFD727A4B6845133519F3AD6" }), 9999, "验签失败"},
		{"field changed after signing", tamper(func(p map[string]string) { p["payOrderId"] = "P2" }), 9999, "验签失败"},
		{"signed with another secret", tamper(func(p map[string]string) { p["sign"] = Sign(p, "nope") }), 9999, "验签失败"},
		{"missing sign", tamper(func(p map[string]string) { delete(p, "sign") }), 9999, "签名值不能为空"},
		{"missing reqTime", resign(func(p map[string]string) { delete(p, "reqTime") }), 9999, "时间戳不能为空"},
		{"missing mchNo", resign(func(p map[string]string) { delete(p, "mchNo") }), 9999, "商户号不能为空"},
		{"unknown merchant", resign(func(p map[string]string) { p["mchNo"] = "M404" }), 9999, "商户不存在或商户状态不可用"},
		{"unknown app", resign(func(p map[string]string) { p["appId"] = "nope" }), 9999, "商户应用不存在或商户状态不可用"},
		{"app of another merchant", resign(func(p map[string]string) { p["appId"] = otherMerchant.AppID }), 9999, "商户应用与商户号不匹配"},
		{"version", resign(func(p map[string]string) { p["version"] = "2.0" }), 9999, "接口版本号有误[2.0], 固定为1.0"},
		{"signType", resign(func(p map[string]string) { p["signType"] = "RSA2" }), 9999, "不支持的签名类型[RSA2], 目前仅支持MD5"},
		{"reqTime not a number", resign(func(p map[string]string) { p["reqTime"] = "yesterday" }), 11, "参数有误[reqTime]"},
		{"stale reqTime", resign(func(p map[string]string) { p["reqTime"] = ms(-5*time.Minute - time.Millisecond) }), 11, "参数有误[reqTime已失效, 与网关时间相差超过300秒]"},
		{"future reqTime", resign(func(p map[string]string) { p["reqTime"] = ms(5*time.Minute + time.Second) }), 11, "参数有误[reqTime已失效, 与网关时间相差超过300秒]"},
		{"huge reqTime", resign(func(p map[string]string) { p["reqTime"] = "999999999999999999" }), 11, "参数有误[reqTime已失效, 与网关时间相差超过300秒]"},
		{"reqTime at the edge passes auth", resign(func(p map[string]string) { p["reqTime"] = ms(-5 * time.Minute) }), 9999, "订单不存在"},
		{"lower-case sign passes auth", resign(func(p map[string]string) { p["sign"] = string(bytes.ToLower([]byte(p["sign"]))) }), 9999, "订单不存在"},
		{"malformed body", []byte(`{"mchNo":`), 11, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.post("/api/pay/query", "application/json", c.body, e.m)
			require.Equal(t, c.code, r.Code, "%s", r.Raw)
			if c.msg != "" {
				require.Equal(t, c.msg, r.Msg)
			}
		})
	}
	t.Run("window can be disabled", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.ReqTimeWindow = -1 })
		p := e.signed(e.m, query)
		p["reqTime"] = "1622016572190"
		p["sign"] = Sign(p, e.m.Secret)
		e.fails(e.post("/api/pay/query", "application/json", jsonBody(t, p), e.m), 9999, "订单不存在")
	})
	t.Run("window is configurable", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.ReqTimeWindow = time.Second })
		p := e.signed(e.m, query)
		p["reqTime"] = strconv.FormatInt(e.clock.Now().Add(-2*time.Second).UnixMilli(), 10)
		p["sign"] = Sign(p, e.m.Secret)
		e.fails(e.post("/api/pay/query", "application/json", jsonBody(t, p), e.m), 11, "参数有误[reqTime已失效, 与网关时间相差超过1秒]")
	})
	t.Run("wrong method and path", func(t *testing.T) {
		res, err := http.Get(e.hs.URL + "/api/pay/query")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
		res, err = http.Post(e.hs.URL+"/api/nope", "application/json", nil)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
	})
}

func TestDuplicateMchOrderNo(t *testing.T) {
	e := newEnv(t, nil)
	p := map[string]string{"mchOrderNo": "dup-1", "wayCode": "WX_NATIVE", "amount": "100", "currency": "cny", "subject": "s", "body": "b"}
	e.ok(e.call("/api/pay/unifiedOrder", p))
	e.fails(e.call("/api/pay/unifiedOrder", p), 9999, "商户订单[dup-1]已存在")
	// Another merchant may use the same mchOrderNo.
	r := e.post("/api/pay/unifiedOrder", "application/json", jsonBody(t, e.signed(otherMerchant, p)), otherMerchant)
	require.Equal(t, 0, r.Code, "%s", r.Raw)
}

func TestPayOrderStateMachine(t *testing.T) {
	e := newEnv(t, nil)
	d := e.order("WX_NATIVE", 10000, map[string]string{"extParam": "ext-1", "clientIp": "10.0.0.1"})
	id := d["payOrderId"]
	q := e.ok(e.call("/api/pay/query", map[string]string{"payOrderId": id})).Data
	assert.Equal(t, "1", q["state"])
	assert.Equal(t, "ext-1", q["extParam"])
	assert.Equal(t, "10.0.0.1", q["clientIp"])
	assert.Equal(t, "60", q["mchFeeAmount"], "0.6% of 10000, floor")
	assert.Empty(t, q["successTime"])
	assert.Equal(t, strconv.FormatInt(baseTime.UnixMilli(), 10), q["createdAt"])

	require.NoError(t, e.s.Pay(id))
	q = e.ok(e.callForm("/api/pay/query", map[string]string{"mchOrderNo": d["mchOrderNo"]})).Data
	assert.Equal(t, "2", q["state"])
	assert.NotEmpty(t, q["channelOrderNo"])
	assert.NotEmpty(t, q["successTime"])
	assert.ErrorIs(t, e.s.Pay(id), ErrState)
	assert.ErrorIs(t, e.s.Fail(id, "X", "y"), ErrState)
	e.fails(e.call("/api/pay/close", map[string]string{"payOrderId": id}), 9999, "当前订单不可关闭")

	t.Run("close a paying order", func(t *testing.T) {
		id := e.order("ALI_QR", 100, nil)["payOrderId"]
		r := e.ok(e.call("/api/pay/close", map[string]string{"payOrderId": id}))
		assert.Empty(t, r.Data)
		assert.Contains(t, string(r.Raw), `"data":{}`, "close answers an empty data object")
		assert.Equal(t, Sign(map[string]string{}, e.m.Secret), r.Sign)
		o, _ := e.s.Order(id)
		assert.Equal(t, PayStateClosed, o.State)
		assert.ErrorIs(t, e.s.Pay(id), ErrState)
		e.fails(e.call("/api/pay/close", map[string]string{"payOrderId": id}), 9999, "当前订单不可关闭")
	})
	t.Run("close a created cashier order", func(t *testing.T) {
		id := e.order("QR_CASHIER", 100, nil)["payOrderId"]
		e.ok(e.call("/api/pay/close", map[string]string{"payOrderId": id}))
	})
	t.Run("fail", func(t *testing.T) {
		id := e.order("WX_H5", 100, nil)["payOrderId"]
		require.NoError(t, e.s.Fail(id, "ORDERNOTEXIST", "订单不存在"))
		q := e.ok(e.call("/api/pay/query", map[string]string{"payOrderId": id})).Data
		assert.Equal(t, "3", q["state"])
		assert.Equal(t, "ORDERNOTEXIST", q["errCode"])
		assert.Equal(t, "订单不存在", q["errMsg"])
	})
	t.Run("cashier is paid through a real channel", func(t *testing.T) {
		id := e.order("QR_CASHIER", 100, nil)["payOrderId"]
		require.NoError(t, e.s.Pay(id))
		o, _ := e.s.Order(id)
		assert.Equal(t, "WX_JSAPI", o.WayCode)
		assert.Equal(t, "wxpay", o.IfCode)
	})
	t.Run("expiry closes an unpaid order", func(t *testing.T) {
		id := e.order("WX_NATIVE", 100, map[string]string{"expiredTime": "60"})["payOrderId"]
		e.clock.Add(61 * time.Second)
		defer e.clock.Add(-61 * time.Second)
		q := e.ok(e.call("/api/pay/query", map[string]string{"payOrderId": id})).Data
		assert.Equal(t, "6", q["state"])
	})
	t.Run("huge amounts do not overflow", func(t *testing.T) {
		id := e.order("WX_NATIVE", 999999999999999999, nil)["payOrderId"]
		o, _ := e.s.Order(id)
		assert.Equal(t, int64(5999999999999999), o.MchFeeAmount)
	})
	t.Run("not found", func(t *testing.T) {
		e.fails(e.call("/api/pay/query", map[string]string{}), 9999, "mchOrderNo 和 payOrderId不能同时为空")
		e.fails(e.call("/api/pay/query", map[string]string{"payOrderId": "P404"}), 9999, "订单不存在")
		e.fails(e.call("/api/pay/query", map[string]string{"payOrderId": id, "mchOrderNo": "other"}), 9999, "订单不存在")
		r := e.post("/api/pay/query", "application/json", jsonBody(t, e.signed(otherMerchant, map[string]string{"payOrderId": id})), otherMerchant)
		assert.Equal(t, "订单不存在", r.Msg, "another merchant cannot see the order")
		assert.ErrorIs(t, e.s.Pay("P404"), ErrNotFound)
	})
}

func TestSimulatedPayer(t *testing.T) {
	t.Run("pay link", func(t *testing.T) {
		e := newEnv(t, nil)
		d := e.order("WX_H5", 100, nil)
		require.Equal(t, e.hs.URL+"/sim/pay/"+d["payOrderId"], d["payData"])
		res, err := http.Get(d["payData"])
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
		o, _ := e.s.Order(d["payOrderId"])
		assert.Equal(t, PayStateSuccess, o.State)
		res, err = http.Get(d["payData"])
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusConflict, res.StatusCode, "a paid order cannot be paid twice")
	})
	t.Run("auto pay", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.AutoPayDelay = time.Millisecond })
		never := e.order("WX_NATIVE", MagicNeverPay, nil)["payOrderId"]
		normal := e.order("WX_NATIVE", 100, nil)["payOrderId"]
		cashier := e.order("QR_CASHIER", 100, nil)["payOrderId"]
		eventually(t, func() bool {
			a, _ := e.s.Order(normal)
			b, _ := e.s.Order(cashier)
			return a.State == PayStateSuccess && b.State == PayStateSuccess
		}, "auto paid")
		o, _ := e.s.Order(never)
		assert.Equal(t, PayStatePaying, o.State, "the payer of 66602 never pays")
		require.NoError(t, e.s.Pay(never), "a test may still pay it")
	})
}

func TestMagicAmounts(t *testing.T) {
	t.Run("66601 declined", func(t *testing.T) {
		h := newHook(t, 1)
		e := newEnv(t, nil)
		for _, way := range []string{"WX_BAR", "ALI_QR", "YSF_BAR"} {
			d := e.order(way, MagicDeclined, map[string]string{"notifyUrl": h.srv.URL})
			assert.Equal(t, "3", d["orderState"], way)
			assert.NotEmpty(t, d["errCode"], way)
			assert.NotEmpty(t, d["errMsg"], way)
			assert.Equal(t, "none", d["payDataType"])
		}
		e.settled()
		require.Len(t, h.forms(), 3, "a failure is a terminal state: notified")
		assert.Equal(t, "3", h.forms()[0].Get("state"))
	})
	t.Run("66602 stays paying", func(t *testing.T) {
		e := newEnv(t, nil)
		d := e.order("WX_BAR", MagicNeverPay, nil)
		assert.Equal(t, "1", d["orderState"], "even a barcode payment waits")
	})
	t.Run("66603 processed, no answer", func(t *testing.T) {
		e := newEnv(t, nil)
		p := e.signed(e.m, map[string]string{"mchOrderNo": "timeout-1", "wayCode": "WX_BAR", "amount": strconv.Itoa(MagicTimeout), "currency": "cny", "subject": "s", "body": "b", "channelExtra": `{"authCode":"134567890123456789"}`})
		_, err := http.Post(e.hs.URL+"/api/pay/unifiedOrder", "application/json", bytes.NewReader(jsonBody(t, p)))
		require.Error(t, err, "the connection is dropped without a response")
		o, ok := e.s.OrderByMchOrderNo(e.m.MchNo, "timeout-1")
		require.True(t, ok, "the order is stored")
		assert.Equal(t, PayStateSuccess, o.State)
		q := e.ok(e.call("/api/pay/query", map[string]string{"mchOrderNo": "timeout-1"})).Data
		assert.Equal(t, "2", q["state"], "and found by query")
		eventually(t, func() bool {
			for _, r := range e.s.Requests() {
				if r.Path == "/api/pay/unifiedOrder" && r.Params["mchOrderNo"] == "timeout-1" {
					return r.HTTPStatus == 0 && r.Code == -1
				}
			}
			return false
		}, "the request log shows no answer")
	})
}
