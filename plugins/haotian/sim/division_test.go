package sim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func bindParams(kv ...string) map[string]string {
	p := map[string]string{
		"ifCode":          "wxpay",
		"receiverAlias":   "张三",
		"receiverGroupId": "100001",
		"accType":         "0",
		"accNo":           "o8jhotwaUEffs1fyWE5O3N4HWvbk",
		"accName":         "张三",
		"relationType":    "PARTNER",
		"divisionProfit":  "0.3",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(p, kv[i])
		} else {
			p[kv[i]] = kv[i+1]
		}
	}
	return p
}

// bind binds a receiver over HTTP and returns its id.
func (e *env) bind(kv ...string) int64 {
	e.t.Helper()
	d := e.ok(e.call("/api/division/receiver/bind", bindParams(kv...))).Data
	require.Equal(e.t, "1", d["bindState"])
	id, err := strconv.ParseInt(d["receiverId"], 10, 64)
	require.NoError(e.t, err)
	return id
}

func TestReceiverBind(t *testing.T) {
	e := newEnv(t, nil)
	d := e.ok(e.call("/api/division/receiver/bind", bindParams())).Data
	assert.Equal(t, "800001", d["receiverId"])
	assert.Equal(t, "1", d["bindState"])
	assert.Equal(t, strconv.FormatInt(baseTime.UnixMilli(), 10), d["bindSuccessTime"])
	assert.Equal(t, "0.3", d["divisionProfit"])
	assert.Equal(t, "合作伙伴", d["relationTypeName"])
	assert.Equal(t, "100001", d["receiverGroupId"])
	assert.Contains(t, string(e.call("/api/division/receiver/bind", bindParams()).Raw), `"divisionProfit":0.3`, "a JSON number, as the gateway writes BigDecimal")

	for rel, name := range relationTypes {
		t.Run("relationType "+rel, func(t *testing.T) {
			d := e.ok(e.call("/api/division/receiver/bind", bindParams("relationType", rel, "relationTypeName", "我的员工"))).Data
			if name == "" {
				name = "我的员工"
			}
			assert.Equal(t, name, d["relationTypeName"])
		})
	}
	t.Run("accType 1 and alipay", func(t *testing.T) {
		d := e.ok(e.call("/api/division/receiver/bind", bindParams("accType", "1", "ifCode", "alipay", "accNo", "2088102175953034"))).Data
		assert.Equal(t, "1", d["accType"])
		assert.Equal(t, "alipay", d["ifCode"])
	})
	t.Run("channel refuses", func(t *testing.T) {
		d := e.ok(e.call("/api/division/receiver/bind", bindParams("accNo", "NOAUTH-1"))).Data
		assert.Equal(t, "0", d["bindState"])
		assert.Equal(t, "NOAUTH", d["errCode"])
		assert.Equal(t, "无分账权限", d["errMsg"])
		assert.Empty(t, d["receiverId"])
	})
	cases := []struct {
		name   string
		params map[string]string
		msg    string
	}{
		{"missing alias", bindParams("receiverAlias", ""), "接收者账号别名不能为空"},
		{"missing group", bindParams("receiverGroupId", ""), "组ID不能为空， 若不存在请先登录商户平台进行创建操作"},
		{"missing profit", bindParams("divisionProfit", ""), "分账比例不能为空"},
		{"accType 2", bindParams("accType", "2"), "分账接收账号类型设置有误"},
		{"unknown group", bindParams("receiverGroupId", "999"), "商户分账账号组不存在，请检查或进入商户平台进行创建操作"},
		{"group of another merchant", bindParams("receiverGroupId", "200001"), "商户分账账号组不存在，请检查或进入商户平台进行创建操作"},
		{"profit 0", bindParams("divisionProfit", "0"), "账号分账比例有误, 配置值为[0.0001~1.0000]"},
		{"profit over 1", bindParams("divisionProfit", "1.5"), "账号分账比例有误, 配置值为[0.0001~1.0000]"},
		{"profit not a number", bindParams("divisionProfit", "30%"), "账号分账比例有误, 配置值为[0.0001~1.0000]"},
		{"unknown relation", bindParams("relationType", "FRIEND"), "分账关系类型有误[FRIEND]"},
		{"custom without name", bindParams("relationType", "CUSTOM"), "relationType=CUSTOM时relationTypeName不能为空"},
		{"alipay without accName", bindParams("ifCode", "alipay", "accName", ""), "支付宝分账接收账号名称不能为空"},
		{"interface without split", bindParams("ifCode", "ysfpay"), "系统不支持该分账接口"},
		{"interface not opened", bindParams("ifCode", "nopay"), "商户应用的支付配置不存在或已关闭"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fails(e.call("/api/division/receiver/bind", c.params), 9999, c.msg)
		})
	}
}

// receiversJSON renders exec receivers.
func receiversJSON(t *testing.T, rs ...map[string]any) string {
	b, err := json.Marshal(rs)
	require.NoError(t, err)
	return string(b)
}

func (e *env) exec(payOrderID string, receivers string) resp {
	e.t.Helper()
	p := map[string]string{"payOrderId": payOrderID, "useSysAutoDivisionReceivers": "0", "receivers": receivers}
	if receivers == "" {
		p["useSysAutoDivisionReceivers"] = "1"
	}
	return e.call("/api/division/exec", p)
}

func amountsOf(b DivisionBatch) []int64 {
	var out []int64
	for _, r := range b.Records {
		out = append(out, r.CalDivisionAmount)
	}
	return out
}

func TestDivisionComputation(t *testing.T) {
	e := newEnv(t, nil)
	r1 := e.bind("divisionProfit", "0.3")
	r2 := e.bind("divisionProfit", "0.2", "receiverGroupId", "100002")
	r3 := e.bind("divisionProfit", "0.1", "receiverGroupId", "100002")
	ali := e.bind("ifCode", "alipay")

	cases := []struct {
		name      string
		amount    int64
		receivers []map[string]any
		want      []int64
	}{
		{"default ratios, floor", 10001, []map[string]any{{"receiverId": r1}, {"receiverId": strconv.FormatInt(r2, 10)}},
			[]int64{2982, 1988}}, // base 10001 − 60 = 9941
		{"ratio override", 1_000_000, []map[string]any{{"receiverId": r1, "divisionProfit": "0.0001"}, {"receiverId": r2, "divisionProfit": 0.0002}},
			[]int64{99, 198}}, // base 994000
		{"fixed amount", 10000, []map[string]any{{"receiverId": r1, "divisionAmount": 100}, {"receiverId": r2, "divisionProfit": "0.5"}},
			[]int64{100, 4970}},
		{"cap at the base", 10001, []map[string]any{{"receiverId": r1, "divisionAmount": "9000"}, {"receiverId": r2, "divisionProfit": "0.5"}},
			[]int64{9000, 941}},
		{"group entry", 10000, []map[string]any{{"receiverGroupId": 100002, "divisionProfit": "0.25"}},
			[]int64{2485, 2485}},
		{"group entry with defaults, receiverId empty", 10000, []map[string]any{{"receiverGroupId": "100002", "receiverId": ""}},
			[]int64{1988, 994}},
		{"duplicates count once", 10000, []map[string]any{{"receiverId": r2, "divisionProfit": "0.5"}, {"receiverGroupId": 100002}},
			[]int64{4970, 994}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := e.paid(c.amount, 2)
			d := e.ok(e.exec(id, receiversJSON(t, c.receivers...))).Data
			assert.Equal(t, "1", d["state"], "zero delays settle in the response")
			assert.Regexp(t, `^D[0-9]{19}$`, d["batchOrderId"])
			assert.NotEmpty(t, d["channelBatchOrderId"])
			b, ok := e.s.Batch(d["batchOrderId"])
			require.True(t, ok)
			assert.Equal(t, c.want, amountsOf(b))
			o, _ := e.s.Order(id)
			var sum int64
			for _, a := range c.want {
				sum += a
			}
			assert.Equal(t, sum, o.DividedAmount)
			assert.LessOrEqual(t, sum, c.amount-o.MchFeeAmount)
		})
	}

	refused := []struct {
		name      string
		receivers string
		msg       string
	}{
		{"both profit and amount", receiversJSON(t, map[string]any{"receiverId": r1, "divisionProfit": "0.1", "divisionAmount": 100}), "分账比例和分账金额不支持共传，请确定一种计算方式"},
		{"unknown receiver", receiversJSON(t, map[string]any{"receiverId": 899999}), "分账[用户]中包含不存在或渠道不可用账号，请更改"},
		{"receiver of another interface", receiversJSON(t, map[string]any{"receiverId": ali}), "分账[用户]中包含不存在或渠道不可用账号，请更改"},
		{"unknown group", receiversJSON(t, map[string]any{"receiverGroupId": 999}), "分账[账号组]中包含不存在或不可用组，请更改"},
		{"neither id", receiversJSON(t, map[string]any{"divisionProfit": "0.1"}), "分账用户组： receiverId 和 与receiverGroupId 必填一项"},
		{"ratio sum over 1", receiversJSON(t, map[string]any{"receiverId": r1, "divisionProfit": "0.6"}, map[string]any{"receiverId": r2, "divisionProfit": "0.5"}), "分账比例总和不得高于100%"},
		{"ratio over 1", receiversJSON(t, map[string]any{"receiverId": r1, "divisionProfit": "1.2"}), fmt.Sprintf("分账用户receiverId=[%d],receiverGroupId=[] 分账比例不得高于100%%", r1)},
		{"negative ratio", receiversJSON(t, map[string]any{"receiverId": r1, "divisionProfit": "-0.2"}), fmt.Sprintf("分账用户receiverId=[%d],receiverGroupId=[] 分账比例不得小于0%%", r1)},
		{"fixed amounts over the base", receiversJSON(t, map[string]any{"receiverId": r1, "divisionAmount": 5000}, map[string]any{"receiverId": r2, "divisionAmount": 4941}), "分账金额超出订单可分账金额[9940]"},
		{"group with an amount", receiversJSON(t, map[string]any{"receiverGroupId": 100002, "divisionAmount": 1}), "按组分账不支持指定分账金额(divisionAmount)"},
		{"empty list", "[]", "无可用的分账接收者"},
	}
	id := e.paid(10000, 2)
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			e.fails(e.exec(id, c.receivers), 9999, c.msg)
		})
	}
	t.Run("not a JSON array", func(t *testing.T) {
		e.fails(e.exec(id, "{}"), 11, "参数有误[receivers]")
	})
	o, _ := e.s.Order(id)
	assert.Zero(t, o.DividedAmount, "refused requests split nothing")

	t.Run("order must be paid with divisionMode 2", func(t *testing.T) {
		r := receiversJSON(t, map[string]any{"receiverId": r1})
		e.fails(e.exec(e.paid(100, 0), r), 9999, "当前订单状态不支持分账")
		e.fails(e.exec(e.order("WX_NATIVE", 100, map[string]string{"divisionMode": "2"})["payOrderId"], r), 9999, "当前订单状态不支持分账")
		e.fails(e.exec("P404", r), 9999, "订单不存在")
		e.fails(e.call("/api/division/exec", map[string]string{"payOrderId": id}), 9999, "是否使用系统配置的自动分账组不能为空")
	})
	t.Run("second split uses what is left", func(t *testing.T) {
		id := e.paid(10000, 2) // base 9940
		e.ok(e.exec(id, receiversJSON(t, map[string]any{"receiverId": r1, "divisionProfit": "0.5"})))
		d := e.ok(e.exec(id, receiversJSON(t, map[string]any{"receiverId": r2, "divisionProfit": "0.5"}))).Data
		b, _ := e.s.Batch(d["batchOrderId"])
		assert.Equal(t, int64(4970), b.Base)
		assert.Equal(t, []int64{2485}, amountsOf(b))
		e.ok(e.exec(id, receiversJSON(t, map[string]any{"receiverId": r3, "divisionAmount": 2485})))
		e.fails(e.exec(id, receiversJSON(t, map[string]any{"receiverId": r3})), 9999, "订单可分账金额不足")
	})
	t.Run("system auto group", func(t *testing.T) {
		id := e.paid(10000, 2)
		d := e.ok(e.exec(id, "")).Data
		b, _ := e.s.Batch(d["batchOrderId"])
		require.Len(t, b.Records, 1, "only the wxpay receivers of group 100001")
		assert.Equal(t, r1, b.Records[0].ReceiverID)
		assert.Equal(t, int64(2982), b.Records[0].CalDivisionAmount)
		assert.True(t, b.Auto)
	})
}

func TestDivisionAutoMode(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DivisionAutoDelay = time.Millisecond })
	r1 := e.bind("divisionProfit", "0.3")
	id := e.paid(10000, 1)
	eventually(t, func() bool { return len(e.s.Batches(id)) == 1 }, "split after payment")
	b := e.s.Batches(id)[0]
	assert.True(t, b.Auto)
	assert.Equal(t, []int64{2982}, amountsOf(b))
	bal, _ := e.s.Balance(r1)
	assert.Equal(t, int64(2982), bal)
	e.fails(e.exec(id, receiversJSON(t, map[string]any{"receiverId": r1})), 9999, "当前订单状态不支持分账")

	t.Run("no notification and no split without receivers", func(t *testing.T) {
		e := newEnv(t, nil)
		id := e.paid(10000, 1)
		assert.Empty(t, e.s.Batches(id))
	})
}

func TestDivisionAsyncAndQuery(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.DivisionAcceptDelay = 2 * time.Millisecond
		c.DivisionSettleDelay = 2 * time.Millisecond
	})
	r1 := e.bind("divisionProfit", "0.2", "receiverAlias", "A", "accNo", "A", "accName", "A")
	r2 := e.bind("divisionProfit", "0.1", "receiverAlias", "B", "accNo", "B", "accName", "B")
	id := e.paid(10000, 2)
	d := e.ok(e.exec(id, receiversJSON(t, map[string]any{"receiverId": r1}, map[string]any{"receiverId": r2}))).Data
	assert.Equal(t, "4", d["state"], "accepted")
	bal, _ := e.s.Balance(r1)
	assert.Zero(t, bal, "nothing credited before success")
	eventually(t, func() bool {
		b, _ := e.s.Batch(d["batchOrderId"])
		s, _, _ := batchState(&b)
		return s == DivisionStateSuccess
	}, "split settles")
	bal, _ = e.s.Balance(r1)
	assert.Equal(t, int64(1988), bal)

	q := e.ok(e.call("/api/division/query", map[string]string{"payOrderId": id, "batchOrderId": d["batchOrderId"]})).Data
	assert.Equal(t, id, q["payOrderId"])
	assert.Equal(t, d["batchOrderId"], q["batchOrderId"])
	var records []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(q["records"]), &records))
	require.Len(t, records, 2)
	keys := []string{}
	for k := range records[0] {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"accName", "accNo", "accType", "batchOrderId", "calDivisionAmount", "channelBatchOrderId", "divisionProfit", "receiverAlias", "receiverGroupId", "receiverId", "recordId", "state"}, keys)
	assert.Equal(t, "0.200000", string(records[0]["divisionProfit"]), "the seed's shape: a number with six decimals")
	assert.Equal(t, "1988", string(records[0]["calDivisionAmount"]))
	assert.Equal(t, "1", string(records[0]["state"]))
	assert.Equal(t, "1001", string(records[0]["recordId"]))
	assert.True(t, strings.HasPrefix(q["records"], `[{"accName":"A","accNo":"A","accType":0,"batchOrderId":`), "keys sorted as fastjson writes them: %s", q["records"])

	one := e.ok(e.call("/api/division/query", map[string]string{"mchOrderNo": e.mustOrder(id).MchOrderNo, "batchOrderId": d["batchOrderId"], "receiverId": strconv.FormatInt(r2, 10)})).Data
	assert.Equal(t, 1, strings.Count(one["records"], "recordId"))
	e.fails(e.call("/api/division/query", map[string]string{"payOrderId": id, "batchOrderId": "D404"}), 9999, "分账批次不存在")
	e.fails(e.call("/api/division/query", map[string]string{"payOrderId": id}), 9999, "系统分账批次号不能为空")
}

func (e *env) mustOrder(id string) PayOrder {
	o, ok := e.s.Order(id)
	require.True(e.t, ok)
	return o
}

func TestDivisionFailingReceiver(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Merchants[0].OpeningBalance = 0 })
	r1 := e.bind("divisionProfit", "0.2")
	r2 := e.bind("divisionProfit", "0.1")
	require.NoError(t, e.s.SetReceiverFailing(r2, true))
	id := e.paid(10000, 2)
	d := e.ok(e.exec(id, receiversJSON(t, map[string]any{"receiverId": r1}, map[string]any{"receiverId": r2}))).Data
	assert.Equal(t, "2", d["state"])
	assert.Equal(t, "RECEIVER_INVALID", d["errCode"])
	b, _ := e.s.Batch(d["batchOrderId"])
	assert.Equal(t, DivisionStateSuccess, b.Records[0].State)
	assert.Equal(t, DivisionStateFailed, b.Records[1].State)
	o := e.mustOrder(id)
	assert.Equal(t, int64(1988), o.DividedAmount, "the failed share goes back to the order")
	bal, _ := e.s.MerchantBalance(e.m.MchNo)
	assert.Equal(t, int64(9940-1988), bal)
	bal2, _ := e.s.Balance(r2)
	assert.Zero(t, bal2)
	assert.ErrorIs(t, e.s.SetReceiverFailing(1, true), ErrNotFound)
}

func TestReceiverBalanceAndCashout(t *testing.T) {
	e := newEnv(t, nil)
	r1 := e.bind("divisionProfit", "0.5")
	id := e.paid(10000, 2)
	e.ok(e.exec(id, receiversJSON(t, map[string]any{"receiverId": r1})))
	q := func() string {
		return e.ok(e.call("/api/division/receiver/channelBalanceQuery", map[string]string{"receiverId": strconv.FormatInt(r1, 10)})).Data["balanceAmount"]
	}
	assert.Equal(t, "4970", q())

	cash := func(amount string) map[string]string {
		return e.ok(e.call("/api/division/receiver/channelBalanceCashout", map[string]string{"receiverId": strconv.FormatInt(r1, 10), "cashoutAmount": amount})).Data
	}
	d := cash("4971")
	assert.Equal(t, "0", d["state"], "beyond the balance")
	assert.Equal(t, "NOTENOUGH", d["errCode"])
	assert.Equal(t, "4970", q(), "nothing withdrawn")
	d = cash("4000")
	assert.Equal(t, "1", d["state"])
	assert.Equal(t, strconv.FormatInt(r1, 10), d["receiverId"])
	assert.Equal(t, "970", q())
	e.fails(e.call("/api/division/receiver/channelBalanceCashout", map[string]string{"receiverId": strconv.FormatInt(r1, 10), "cashoutAmount": "0"}), 9999, "提现金额必须大于0")
	e.fails(e.call("/api/division/receiver/channelBalanceQuery", map[string]string{"receiverId": "899999"}), 9999, "分账用户不存在")
	r := e.post("/api/division/receiver/channelBalanceQuery", "application/json", jsonBody(t, e.signed(otherMerchant, map[string]string{"receiverId": strconv.FormatInt(r1, 10)})), otherMerchant)
	assert.Equal(t, "分账用户不存在", r.Msg, "another merchant cannot see the receiver")
}

func TestRefundAfterSplit(t *testing.T) {
	e := newEnv(t, nil)
	r1 := e.bind("divisionProfit", "0.5")
	id := e.paid(10000, 2)
	e.ok(e.exec(id, receiversJSON(t, map[string]any{"receiverId": r1}))) // 4970 split
	e.fails(e.refund(id, 5031, nil), 9999, "申请金额超出订单可退款余额，请检查退款金额")
	e.ok(e.refund(id, 1000, nil))
	// The base shrinks by the refund: 10000 − 60 − 1000 − 4970 = 3970.
	d := e.ok(e.exec(id, receiversJSON(t, map[string]any{"receiverId": r1, "divisionProfit": "1"}))).Data
	b, _ := e.s.Batch(d["batchOrderId"])
	assert.Equal(t, []int64{3970}, amountsOf(b))
	e.fails(e.refund(id, 61, nil), 9999, "申请金额超出订单可退款余额，请检查退款金额")
	e.ok(e.refund(id, 60, nil))
}

func TestAddGroupAndReceiver(t *testing.T) {
	e := newEnv(t, nil)
	require.NoError(t, e.s.AddGroup(ReceiverGroup{ID: 100003, MchNo: e.m.MchNo, Name: "new"}))
	assert.ErrorIs(t, e.s.AddGroup(ReceiverGroup{ID: 100003, MchNo: e.m.MchNo}), ErrInvalid)
	assert.ErrorIs(t, e.s.AddGroup(ReceiverGroup{ID: 5, MchNo: "M404"}), ErrNotFound)
	assert.ErrorIs(t, e.s.AddGroup(ReceiverGroup{MchNo: e.m.MchNo}), ErrInvalid)
	e.bind("receiverGroupId", "100003")

	r, err := e.s.AddReceiver(Receiver{ID: 800050, MchNo: e.m.MchNo, GroupID: 100003, AccNo: "x", Balance: 10})
	require.NoError(t, err)
	assert.Equal(t, "0.1", r.DivisionProfit)
	assert.Equal(t, e.m.AppID, r.AppID)
	_, err = e.s.AddReceiver(Receiver{ID: 800050, MchNo: e.m.MchNo, GroupID: 100003})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = e.s.AddReceiver(Receiver{MchNo: e.m.MchNo, GroupID: 4})
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = e.s.AddReceiver(Receiver{MchNo: e.m.MchNo, GroupID: 100003, DivisionProfit: "2"})
	assert.ErrorIs(t, err, ErrInvalid)
	assert.Equal(t, "800051", e.ok(e.call("/api/division/receiver/bind", bindParams())).Data["receiverId"], "ids continue after the highest")
	bal, ok := e.s.Balance(800050)
	assert.True(t, ok)
	assert.Equal(t, int64(10), bal)
}
