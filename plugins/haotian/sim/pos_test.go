package sim

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var posSeq int

func (e *env) posPay(device string, amount int64, authCode string) resp {
	e.t.Helper()
	posSeq++
	return e.call("/api/pos/pay", map[string]string{
		"deviceNo":   device,
		"mchOrderNo": "pos" + strconv.Itoa(posSeq),
		"amount":     strconv.FormatInt(amount, 10),
		"currency":   "cny",
		"authCode":   authCode,
		"subject":    "商品",
		"body":       "商品描述",
	})
}

const wxCode = "134567890123456789"

func TestPosInitBeforePay(t *testing.T) {
	e := newEnv(t, nil)
	e.fails(e.posPay("POS001", 100, wxCode), 9999, "设备[POS001]未初始化，请先调用设备初始化接口")
	e.fails(e.call("/api/pos/device/payParams", map[string]string{"deviceNo": "POS001"}), 9999, "设备[POS001]未初始化，请先调用设备初始化接口")
	_, found := e.s.Device(e.m.MchNo, "POS001")
	assert.False(t, found)

	d := e.ok(e.call("/api/pos/device/init", map[string]string{"deviceNo": "POS001", "deviceName": "收银台1", "sn": "SN123"})).Data
	assert.Equal(t, "1", d["state"])
	assert.Equal(t, "POS001", d["deviceNo"])
	assert.Equal(t, "收银台1", d["deviceName"])
	assert.Equal(t, e.m.Name, d["mchName"])
	assert.Equal(t, strconv.FormatInt(baseTime.UnixMilli(), 10), d["initTime"])
	again := e.ok(e.call("/api/pos/device/init", map[string]string{"deviceNo": "POS001"})).Data
	assert.Equal(t, d["initTime"], again["initTime"], "init is idempotent")

	p := e.ok(e.call("/api/pos/device/payParams", map[string]string{"deviceNo": "POS001"})).Data
	assert.Equal(t, "WX_BAR,ALI_BAR,YSF_BAR", p["wayCodes"])
	assert.Equal(t, "cny", p["currency"])

	pay := e.ok(e.posPay("POS001", 100, wxCode)).Data
	assert.Equal(t, "2", pay["orderState"], "a barcode payment settles synchronously")
	assert.Equal(t, "WX_BAR", pay["wayCode"])
	assert.Equal(t, "wxpay", pay["ifCode"])
	assert.Equal(t, "POS001", pay["deviceNo"])
	assert.NotEmpty(t, pay["successTime"])

	t.Run("device of another merchant is not initialised here", func(t *testing.T) {
		r := e.post("/api/pos/pay/query", "application/json", jsonBody(t, e.signed(otherMerchant, map[string]string{"deviceNo": "POS001", "payOrderId": pay["payOrderId"]})), otherMerchant)
		assert.Equal(t, "设备[POS001]未初始化，请先调用设备初始化接口", r.Msg)
	})
	t.Run("registered devices only", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Merchants[0].Devices = []string{"POS-A"} })
		e.fails(e.call("/api/pos/device/init", map[string]string{"deviceNo": "POS-B"}), 9999, "设备[POS-B]不存在或未绑定该商户")
		e.ok(e.call("/api/pos/device/init", map[string]string{"deviceNo": "POS-A"}))
	})
	t.Run("refused payments", func(t *testing.T) {
		e.fails(e.posPay("POS001", 100, "99"), 9999, "不支持的条码")
		e.fails(e.posPay("POS001", 0, wxCode), 9999, "支付金额不能为空")
		e.fails(e.call("/api/pos/pay", map[string]string{"deviceNo": "POS001"}), 9999, "商户订单号不能为空")
		e.fails(e.call("/api/pos/pay", map[string]string{}), 9999, "设备号不能为空")
	})
	t.Run("magic amounts", func(t *testing.T) {
		assert.Equal(t, "3", e.ok(e.posPay("POS001", MagicDeclined, wxCode)).Data["orderState"])
		assert.Equal(t, "1", e.ok(e.posPay("POS001", MagicNeverPay, "281234567890123456")).Data["orderState"])
	})
}

func TestPosQueriesAndRefund(t *testing.T) {
	h := newHook(t, 1)
	e := newEnv(t, nil)
	for _, d := range []string{"POS001", "POS002"} {
		e.ok(e.call("/api/pos/device/init", map[string]string{"deviceNo": d}))
	}
	p1 := e.ok(e.posPay("POS001", 1000, wxCode)).Data
	e.clock.Add(time.Minute)
	p2 := e.ok(e.posPay("POS001", 500, "6212345678901234567")).Data
	e.clock.Add(time.Minute)
	e.ok(e.posPay("POS002", 300, "281234567890123456"))
	e.paid(700, 0) // a gateway order, no device
	e.clock.Add(time.Minute)

	q := e.ok(e.call("/api/pos/pay/query", map[string]string{"deviceNo": "POS001", "payOrderId": p1["payOrderId"]})).Data
	assert.Equal(t, "2", q["state"])
	assert.Equal(t, "POS001", q["deviceNo"])
	assert.Equal(t, "1000", q["amount"])

	r := e.ok(e.call("/api/pos/refund", map[string]string{"deviceNo": "POS002", "payOrderId": p1["payOrderId"], "mchRefundNo": "posr1", "refundAmount": "400", "currency": "cny", "refundReason": "退货", "notifyUrl": h.srv.URL})).Data
	assert.Equal(t, "2", r["state"])
	assert.Equal(t, "POS002", r["deviceNo"])
	e.fails(e.call("/api/pos/refund", map[string]string{"deviceNo": "POS002", "payOrderId": p1["payOrderId"], "mchRefundNo": "posr2", "refundAmount": "601", "currency": "cny", "refundReason": "退货"}), 9999, "申请金额超出订单可退款余额，请检查退款金额")
	rq := e.ok(e.call("/api/pos/refund/query", map[string]string{"deviceNo": "POS001", "mchRefundNo": "posr1"})).Data
	assert.Equal(t, "POS002", rq["deviceNo"])
	assert.Equal(t, p1["payOrderId"], rq["payOrderId"])
	e.settled()
	require.Len(t, h.forms(), 1)

	start := strconv.FormatInt(baseTime.UnixMilli(), 10)
	end := strconv.FormatInt(e.clock.Now().Add(time.Second).UnixMilli(), 10)
	list := func(kv ...string) map[string]string {
		p := map[string]string{"deviceNo": "POS001", "startTime": start, "endTime": end}
		for i := 0; i+1 < len(kv); i += 2 {
			p[kv[i]] = kv[i+1]
		}
		return e.ok(e.call("/api/pos/trade/list", p)).Data
	}
	records := func(d map[string]string) []map[string]any {
		var out []map[string]any
		require.NoError(t, json.Unmarshal([]byte(d["records"]), &out))
		return out
	}
	d := list()
	assert.Equal(t, "2", d["total"], "this device's payments; the refund was made on POS002")
	rs := records(d)
	require.Len(t, rs, 2)
	assert.Equal(t, p2["payOrderId"], rs[0]["orderId"], "newest first")
	assert.Equal(t, "PAY", rs[0]["tradeType"])

	d = list("scope", "MCH")
	assert.Equal(t, "5", d["total"], "3 POS payments, the gateway order, the refund")
	d = list("scope", "MCH", "tradeType", "REFUND")
	assert.Equal(t, "1", d["total"])
	assert.Equal(t, "posr1", records(d)[0]["mchRefundNo"])
	d = list("scope", "MCH", "pageSize", "2", "pageNumber", "3")
	assert.Equal(t, "0", d["hasNext"])
	assert.Len(t, records(d), 1)
	assert.Equal(t, "1", list("scope", "MCH", "pageSize", "2")["hasNext"])
	e.fails(e.call("/api/pos/trade/list", map[string]string{"deviceNo": "POS001", "startTime": end, "endTime": start}), 9999, "查询时间范围有误, endTime须大于startTime且跨度不超过31天")
	e.fails(e.call("/api/pos/trade/list", map[string]string{"deviceNo": "POS001", "startTime": start, "endTime": end, "pageSize": "101"}), 11, "参数有误[pageSize]")

	sum := e.ok(e.call("/api/pos/trade/summary", map[string]string{"deviceNo": "POS001", "date": "20240514"})).Data
	assert.Equal(t, "2", sum["payCount"])
	assert.Equal(t, "1500", sum["payAmount"])
	assert.Equal(t, "0", sum["refundCount"], "the refund was made on POS002")
	sum = e.ok(e.call("/api/pos/trade/summary", map[string]string{"deviceNo": "POS001", "date": "20240514", "scope": "MCH"})).Data
	assert.Equal(t, "4", sum["payCount"])
	assert.Equal(t, "2500", sum["payAmount"])
	assert.Equal(t, "1", sum["refundCount"])
	assert.Equal(t, "400", sum["refundAmount"])
	assert.Equal(t, "2100", sum["netAmount"])
	empty := e.ok(e.call("/api/pos/trade/summary", map[string]string{"deviceNo": "POS001", "date": "20240515", "scope": "MCH"})).Data
	assert.Equal(t, "0", empty["payCount"])
	e.fails(e.call("/api/pos/trade/summary", map[string]string{"deviceNo": "POS001", "date": "2024-05-14"}), 11, "参数有误[date]")
}
