package sim

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var refundSeq int

func (e *env) refund(payOrderID string, amount int64, extra map[string]string) resp {
	e.t.Helper()
	refundSeq++
	p := map[string]string{
		"payOrderId":   payOrderID,
		"mchRefundNo":  "mhr" + strconv.Itoa(refundSeq),
		"refundAmount": strconv.FormatInt(amount, 10),
		"currency":     "cny",
		"refundReason": "退货",
	}
	for k, v := range extra {
		if v == "" {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	return e.call("/api/refund/refundOrder", p)
}

func TestRefundLimits(t *testing.T) {
	e := newEnv(t, nil)
	id := e.paid(1000, 0)

	d := e.ok(e.refund(id, 300, nil)).Data
	first := d["mchRefundNo"]
	assert.Equal(t, "2", d["state"], "RefundDelay 0 settles in the response")
	assert.Equal(t, "1000", d["payAmount"])
	assert.Equal(t, "300", d["refundAmount"])
	assert.Regexp(t, `^R[0-9]{19}$`, d["refundOrderId"])
	assert.NotEmpty(t, d["channelOrderNo"])

	e.fails(e.refund(id, 701, nil), 9999, "申请金额超出订单可退款余额，请检查退款金额")
	e.fails(e.refund(id, 0, nil), 9999, "退款金额请大于1分")
	e.fails(e.refund(id, 1, map[string]string{"currency": "usd"}), 9999, "不支持的币种[usd], 目前仅支持cny")
	e.fails(e.refund(id, 1, map[string]string{"mchRefundNo": first}), 9999, "商户退款订单号["+first+"]已存在")
	e.fails(e.refund(id, 1, map[string]string{"refundReason": ""}), 9999, "退款原因不能为空")
	e.fails(e.refund(id, 1, map[string]string{"payOrderId": ""}), 9999, "mchOrderNo 和 payOrderId不能同时为空")
	e.fails(e.refund("P404", 1, nil), 9999, "退款订单不存在")
	e.fails(e.refund(id, 1, map[string]string{"notifyUrl": "mailto:x"}), 9999, "异步通知地址协议仅支持http:// 或 https:// !")

	o, _ := e.s.Order(id)
	assert.Equal(t, PayStateSuccess, o.State, "partly refunded orders stay paid")
	e.ok(e.refund(id, 700, nil))
	o, _ = e.s.Order(id)
	assert.Equal(t, PayStateRefunded, o.State, "fully refunded")
	assert.Equal(t, int64(1000), o.RefundedAmount)
	e.fails(e.refund(id, 1, nil), 9999, "订单状态不正确， 无法完成退款")

	t.Run("only on a paid order", func(t *testing.T) {
		id := e.order("WX_NATIVE", 100, nil)["payOrderId"]
		e.fails(e.refund(id, 1, nil), 9999, "订单状态不正确， 无法完成退款")
	})
	t.Run("query", func(t *testing.T) {
		r := e.ok(e.call("/api/refund/query", map[string]string{"mchRefundNo": first})).Data
		assert.Equal(t, id, r["payOrderId"])
		assert.Equal(t, "300", r["refundAmount"])
		assert.Equal(t, "2", r["state"])
		assert.NotEmpty(t, r["successTime"])
		e.fails(e.call("/api/refund/query", map[string]string{}), 9999, "mchRefundNo 和 refundOrderId不能同时为空")
		e.fails(e.call("/api/refund/query", map[string]string{"refundOrderId": "R404"}), 9999, "订单不存在")
	})
}

func TestRefundAsync(t *testing.T) {
	h := newHook(t, 1)
	e := newEnv(t, func(c *Config) { c.RefundDelay = 5 * time.Millisecond })
	id := e.paid(1000, 0)
	d := e.ok(e.refund(id, 100, map[string]string{"notifyUrl": h.srv.URL})).Data
	assert.Equal(t, "1", d["state"], "processing in the response")
	e.fails(e.refund(id, 100, nil), 9999, "支付订单具有在途退款申请，请稍后再试")
	eventually(t, func() bool {
		r, _ := e.s.Refund(d["refundOrderId"])
		return r.State == OrderStateSuccess
	}, "refund settles")
	e.settled()
	forms := h.forms()
	require.Len(t, forms, 1)
	assert.Equal(t, "2", forms[0].Get("state"))
	assert.Equal(t, d["refundOrderId"], forms[0].Get("refundOrderId"))

	t.Run("declined refund", func(t *testing.T) {
		id := e.paid(100000, 0)
		d := e.ok(e.refund(id, MagicDeclined, nil)).Data
		eventually(t, func() bool {
			r, _ := e.s.Refund(d["refundOrderId"])
			return r.State == OrderStateFailed
		}, "refund fails")
		o, _ := e.s.Order(id)
		assert.Zero(t, o.RefundedAmount)
		assert.Zero(t, o.PendingRefundAmount)
		e.ok(e.refund(id, 100, nil))
	})
	t.Run("never settles", func(t *testing.T) {
		id := e.paid(100000, 0)
		d := e.ok(e.refund(id, MagicNeverPay, nil)).Data
		assert.Equal(t, "1", d["state"])
		e.fails(e.refund(id, 100, nil), 9999, "支付订单具有在途退款申请，请稍后再试")
	})
}

func TestRefundTimeout(t *testing.T) {
	e := newEnv(t, nil)
	id := e.paid(100000, 0)
	p := e.signed(e.m, map[string]string{"payOrderId": id, "mchRefundNo": "to-r1", "refundAmount": strconv.Itoa(MagicTimeout), "currency": "cny", "refundReason": "r"})
	_, err := http.Post(e.hs.URL+"/api/refund/refundOrder", "application/json", bytes.NewReader(jsonBody(t, p)))
	require.Error(t, err, "no answer")
	r := e.ok(e.call("/api/refund/query", map[string]string{"mchRefundNo": "to-r1"})).Data
	assert.Equal(t, "2", r["state"], "the refund was processed")
}
