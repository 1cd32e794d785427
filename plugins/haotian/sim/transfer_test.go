package sim

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var transferSeq int

func (e *env) transfer(amount int64, extra map[string]string) resp {
	e.t.Helper()
	transferSeq++
	p := map[string]string{
		"mchOrderNo":   "mht" + strconv.Itoa(transferSeq),
		"ifCode":       "wxpay",
		"entryType":    "WX_CASH",
		"amount":       strconv.FormatInt(amount, 10),
		"currency":     "cny",
		"accountNo":    "o8jhotwaUEffs1fyWE5O3N4HWvbk",
		"accountName":  "张三",
		"transferDesc": "佣金",
	}
	for k, v := range extra {
		if v == "" {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	return e.call("/api/transferOrder", p)
}

func TestTransfer(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Merchants[0].OpeningBalance = 1000 })
	d := e.ok(e.transfer(600, nil)).Data
	first := d["mchOrderNo"]
	assert.Equal(t, "2", d["state"], "TransferDelay 0 settles in the response")
	assert.Regexp(t, `^T[0-9]{19}$`, d["transferId"])
	assert.Equal(t, "600", d["amount"])
	bal, _ := e.s.MerchantBalance(e.m.MchNo)
	assert.Equal(t, int64(400), bal)

	d = e.ok(e.transfer(401, nil)).Data
	assert.Equal(t, "3", d["state"], "above the balance: the channel refuses")
	assert.Equal(t, "NOTENOUGH", d["errCode"])

	t.Run("payments fund transfers", func(t *testing.T) {
		e.paid(10000, 0) // +10000 − 60 fee
		bal, _ := e.s.MerchantBalance(e.m.MchNo)
		assert.Equal(t, int64(400+9940), bal)
		assert.Equal(t, "2", e.ok(e.transfer(10340, nil)).Data["state"])
	})
	t.Run("query", func(t *testing.T) {
		q := e.ok(e.call("/api/transfer/query", map[string]string{"mchOrderNo": first})).Data
		assert.Equal(t, "WX_CASH", q["entryType"])
		assert.Equal(t, "佣金", q["transferDesc"])
		assert.NotEmpty(t, q["successTime"])
		e.fails(e.call("/api/transfer/query", map[string]string{}), 9999, "mchOrderNo 和 transferId不能同时为空")
		e.fails(e.call("/api/transfer/query", map[string]string{"transferId": "T404"}), 9999, "订单不存在")
	})
	t.Run("refused", func(t *testing.T) {
		cases := []struct {
			name  string
			extra map[string]string
			code  int
			msg   string
		}{
			{"duplicate", map[string]string{"mchOrderNo": first}, 9999, "商户订单[" + first + "]已存在"},
			{"missing accountNo", map[string]string{"accountNo": ""}, 9999, "收款账号不能为空"},
			{"missing transferDesc", map[string]string{"transferDesc": ""}, 9999, "转账备注信息不能为空"},
			{"zero amount", map[string]string{"amount": "0"}, 9999, "转账金额不能小于1分"},
			{"entry type of another interface", map[string]string{"entryType": "ALIPAY_CASH"}, 9999, "该接口不支持该入账方式"},
			{"interface without transfers", map[string]string{"ifCode": "ysfpay"}, 9999, "无此转账通道接口"},
			{"unknown interface", map[string]string{"ifCode": "nopay"}, 9999, "应用未开通此接口配置!"},
			{"bank card needs a bank", map[string]string{"ifCode": "alipay", "entryType": "BANK_CARD"}, 9999, "收款人开户行名称不能为空"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.fails(e.transfer(1, c.extra), c.code, c.msg)
			})
		}
	})
}

func TestTransferAsync(t *testing.T) {
	h := newHook(t, 1)
	e := newEnv(t, func(c *Config) {
		c.Merchants[0].OpeningBalance = 1_000_000
		c.TransferDelay = 2 * time.Millisecond
	})
	ok := e.ok(e.transfer(100, map[string]string{"notifyUrl": h.srv.URL, "ifCode": "alipay", "entryType": "BANK_CARD", "bankName": "招商银行"})).Data
	bad := e.ok(e.transfer(MagicDeclined, map[string]string{"notifyUrl": h.srv.URL})).Data
	never := e.ok(e.transfer(MagicNeverPay, nil)).Data
	assert.Equal(t, "1", ok["state"])
	eventually(t, func() bool {
		a, _ := e.s.Transfer(ok["transferId"])
		b, _ := e.s.Transfer(bad["transferId"])
		return a.State == OrderStateSuccess && b.State == OrderStateFailed
	}, "transfers settle")
	e.settled()
	require.Len(t, h.forms(), 2)
	n, _ := e.s.Transfer(never["transferId"])
	assert.Equal(t, OrderStateProcessing, n.State)
	bal, _ := e.s.MerchantBalance(e.m.MchNo)
	assert.Equal(t, int64(1_000_000-100-MagicNeverPay), bal, "a failed transfer gives its amount back")
}
