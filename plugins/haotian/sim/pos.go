package sim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// posWayCodes are the barcode payments a POS device can take.
var posWayCodes = []string{"WX_BAR", "ALI_BAR", "YSF_BAR"}

// deviceLocked returns the caller's initialised device named by deviceNo.
func (s *Server) deviceLocked(c *call) (*Device, error) {
	d := s.devices[c.mch.MchNo+"\x00"+c.get("deviceNo")]
	if d == nil {
		return nil, bizErr("设备[" + c.get("deviceNo") + "]未初始化，请先调用设备初始化接口")
	}
	return d, nil
}

var deviceRequired = []required{{"deviceNo", "设备号不能为空"}}

func withDevice(extra ...required) []required {
	return append(append([]required(nil), deviceRequired...), extra...)
}

func handlePosInit(s *Server, c *call) (fields, error) {
	no := c.get("deviceNo")
	if len(c.mch.devices) > 0 && !c.mch.devices[no] {
		return nil, bizErr("设备[" + no + "]不存在或未绑定该商户")
	}
	key := c.mch.MchNo + "\x00" + no
	d := s.devices[key]
	if d == nil {
		d = &Device{MchNo: c.mch.MchNo, AppID: c.mch.AppID, DeviceNo: no, InitTime: s.now()}
		s.devices[key] = d
	}
	if v := c.get("deviceName"); v != "" {
		d.DeviceName = v
	}
	if v := c.get("sn"); v != "" {
		d.SN = v
	}
	if v := c.get("storeId"); v != "" {
		d.StoreID = v
	}
	out := fields{}
	out.set("deviceNo", d.DeviceNo)
	out.set("deviceName", d.DeviceName)
	out.set("sn", d.SN)
	out.set("storeId", d.StoreID)
	out.set("mchNo", d.MchNo)
	out.set("appId", d.AppID)
	out.set("mchName", c.mch.Name)
	out.set("state", 1)
	out.set("initTime", d.InitTime.UnixMilli())
	return out, nil
}

func handlePosPayParams(s *Server, c *call) (fields, error) {
	d, err := s.deviceLocked(c)
	if err != nil {
		return nil, err
	}
	var ways []string
	for _, w := range posWayCodes {
		if c.mch.ifCodes[wayCodes[w].ifCode] {
			ways = append(ways, w)
		}
	}
	out := fields{}
	out.set("deviceNo", d.DeviceNo)
	out.set("mchNo", d.MchNo)
	out.set("appId", d.AppID)
	out.set("mchName", c.mch.Name)
	out.set("currency", "cny")
	out.set("wayCodes", strings.Join(ways, ","))
	return out, nil
}

var posPayRequired = withDevice(
	required{"mchOrderNo", "商户订单号不能为空"},
	required{"amount", "支付金额不能为空"},
	required{"currency", "货币代码不能为空"},
	required{"authCode", "支付条码不能为空"},
	required{"subject", "商品标题不能为空"},
	required{"body", "商品描述信息不能为空"},
)

func handlePosPay(s *Server, c *call) (fields, error) {
	d, err := s.deviceLocked(c)
	if err != nil {
		return nil, err
	}
	amount, err := parseAmount(c.get("amount"))
	if err != nil {
		return nil, paramErr("amount")
	}
	if amount < 1 {
		return nil, bizErr("支付金额不能为空")
	}
	mode, err := parseSmallInt(c.get("divisionMode"), 0)
	if err != nil || mode > 2 {
		return nil, bizErr("分账模式设置值有误")
	}
	o, err := s.createPayOrderLocked(c, payInput{
		mchOrderNo:   c.get("mchOrderNo"),
		wayCode:      "AUTO_BAR",
		amount:       amount,
		currency:     c.get("currency"),
		subject:      c.get("subject"),
		body:         c.get("body"),
		clientIP:     c.get("clientIp"),
		notifyURL:    c.get("notifyUrl"),
		extParam:     c.get("extParam"),
		authCode:     c.get("authCode"),
		deviceNo:     d.DeviceNo,
		divisionMode: mode,
	})
	if err != nil {
		return nil, err
	}
	out := fields{}
	out.set("payOrderId", o.PayOrderID)
	out.set("mchOrderNo", o.MchOrderNo)
	out.set("deviceNo", o.DeviceNo)
	out.set("wayCode", o.WayCode)
	out.set("ifCode", o.IfCode)
	out.set("amount", o.Amount)
	out.set("orderState", o.State)
	out.set("channelOrderNo", o.ChannelOrderNo)
	out.set("errCode", o.ErrCode)
	out.set("errMsg", o.ErrMsg)
	if !o.SuccessTime.IsZero() {
		out.set("successTime", o.SuccessTime.UnixMilli())
	}
	return out, nil
}

func handlePosPayQuery(s *Server, c *call) (fields, error) {
	if _, err := s.deviceLocked(c); err != nil {
		return nil, err
	}
	f, err := handlePayQuery(s, c)
	if err != nil {
		return nil, err
	}
	o := s.findPayOrderLocked(c.mch.MchNo, c.get("payOrderId"), c.get("mchOrderNo"))
	f.set("deviceNo", o.DeviceNo)
	return f, nil
}

var posRefundRequired = withDevice(refundRequired...)

func handlePosRefund(s *Server, c *call) (fields, error) {
	if _, err := s.deviceLocked(c); err != nil {
		return nil, err
	}
	in, err := refundInputOf(c)
	if err != nil {
		return nil, err
	}
	r, err := s.createRefundLocked(c, in)
	if err != nil {
		return nil, err
	}
	f := refundFields(&r.RefundOrder)
	f.set("payOrderId", r.PayOrderID)
	f.set("deviceNo", r.DeviceNo)
	return f, nil
}

func handlePosRefundQuery(s *Server, c *call) (fields, error) {
	if _, err := s.deviceLocked(c); err != nil {
		return nil, err
	}
	r, err := s.findRefundLocked(c)
	if err != nil {
		return nil, err
	}
	f := refundQueryFields(&r.RefundOrder)
	f.set("deviceNo", r.DeviceNo)
	return f, nil
}

// posScope reads the scope parameter: DEVICE (default) or MCH.
func posScope(c *call) (string, error) {
	switch v := strings.ToUpper(c.get("scope")); v {
	case "", "DEVICE":
		return "DEVICE", nil
	case "MCH":
		return "MCH", nil
	default:
		return "", paramErr("scope")
	}
}

// trade is one line of the POS trade list.
type trade struct {
	tradeType   string
	orderID     string
	payOrderID  string
	mchNo       string
	amount      int64
	state       int
	wayCode     string
	ifCode      string
	deviceNo    string
	createdAt   time.Time
	successTime time.Time
}

const maxTradeRange = 31 * 24 * time.Hour

func handlePosTradeList(s *Server, c *call) (fields, error) {
	d, err := s.deviceLocked(c)
	if err != nil {
		return nil, err
	}
	scope, err := posScope(c)
	if err != nil {
		return nil, err
	}
	start, err1 := parseAmount(c.get("startTime"))
	end, err2 := parseAmount(c.get("endTime"))
	if err1 != nil || err2 != nil {
		return nil, paramErr("startTime/endTime")
	}
	if end <= start || end-start > maxTradeRange.Milliseconds() {
		return nil, bizErr("查询时间范围有误, endTime须大于startTime且跨度不超过31天")
	}
	tradeType := strings.ToUpper(c.get("tradeType"))
	if tradeType == "" {
		tradeType = "ALL"
	}
	if tradeType != "ALL" && tradeType != "PAY" && tradeType != "REFUND" {
		return nil, paramErr("tradeType")
	}
	page, err := parseSmallInt(c.get("pageNumber"), 1)
	if err != nil || page < 1 {
		return nil, paramErr("pageNumber")
	}
	size, err := parseSmallInt(c.get("pageSize"), 20)
	if err != nil || size < 1 || size > 100 {
		return nil, paramErr("pageSize")
	}
	in := func(t time.Time, dev string) bool {
		ms := t.UnixMilli()
		return ms >= start && ms < end && (scope == "MCH" || dev == d.DeviceNo)
	}
	var list []trade
	if tradeType != "REFUND" {
		for _, o := range s.orders {
			s.expireLocked(o)
			if o.MchNo == c.mch.MchNo && in(o.CreatedAt, o.DeviceNo) {
				list = append(list, trade{"PAY", o.PayOrderID, o.PayOrderID, o.MchOrderNo, o.Amount, o.State, o.WayCode, o.IfCode, o.DeviceNo, o.CreatedAt, o.SuccessTime})
			}
		}
	}
	if tradeType != "PAY" {
		for _, r := range s.refunds {
			if r.MchNo == c.mch.MchNo && in(r.CreatedAt, r.DeviceNo) {
				o := s.orders[r.PayOrderID]
				list = append(list, trade{"REFUND", r.RefundOrderID, r.PayOrderID, r.MchRefundNo, r.RefundAmount, r.State, o.WayCode, o.IfCode, r.DeviceNo, r.CreatedAt, r.SuccessTime})
			}
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].createdAt.Equal(list[j].createdAt) {
			return list[i].createdAt.After(list[j].createdAt)
		}
		return list[i].orderID > list[j].orderID
	})
	total := len(list)
	from := min((page-1)*size, total)
	to := min(from+size, total)
	records := make([]map[string]any, 0, to-from)
	for _, t := range list[from:to] {
		m := map[string]any{
			"tradeType":  t.tradeType,
			"orderId":    t.orderID,
			"payOrderId": t.payOrderID,
			"amount":     t.amount,
			"state":      t.state,
			"createdAt":  t.createdAt.UnixMilli(),
		}
		if t.tradeType == "PAY" {
			m["mchOrderNo"] = t.mchNo
		} else {
			m["mchRefundNo"] = t.mchNo
		}
		for k, v := range map[string]string{"wayCode": t.wayCode, "ifCode": t.ifCode, "deviceNo": t.deviceNo} {
			if v != "" {
				m[k] = v
			}
		}
		if !t.successTime.IsZero() {
			m["successTime"] = t.successTime.UnixMilli()
		}
		records = append(records, m)
	}
	text, err := json.Marshal(records)
	if err != nil {
		return nil, fmt.Errorf("encode records: %w", err)
	}
	hasNext := 0
	if to < total {
		hasNext = 1
	}
	out := fields{}
	out.set("deviceNo", d.DeviceNo)
	out.set("scope", scope)
	out.set("total", total)
	out.set("pageNumber", page)
	out.set("pageSize", size)
	out.set("hasNext", hasNext)
	out.set("records", string(text))
	return out, nil
}

func handlePosSummary(s *Server, c *call) (fields, error) {
	d, err := s.deviceLocked(c)
	if err != nil {
		return nil, err
	}
	scope, err := posScope(c)
	if err != nil {
		return nil, err
	}
	date := c.get("date")
	day, err := time.ParseInLocation("20060102", date, s.location)
	if err != nil {
		return nil, paramErr("date")
	}
	next := day.AddDate(0, 0, 1)
	in := func(t time.Time, dev string) bool {
		return !t.IsZero() && !t.Before(day) && t.Before(next) && (scope == "MCH" || dev == d.DeviceNo)
	}
	var payCount, refundCount int
	var payAmount, refundAmount int64
	for _, o := range s.orders {
		if o.MchNo == c.mch.MchNo && (o.State == PayStateSuccess || o.State == PayStateRefunded) && in(o.SuccessTime, o.DeviceNo) {
			payCount++
			payAmount += o.Amount
		}
	}
	for _, r := range s.refunds {
		if r.MchNo == c.mch.MchNo && r.State == OrderStateSuccess && in(r.SuccessTime, r.DeviceNo) {
			refundCount++
			refundAmount += r.RefundAmount
		}
	}
	out := fields{}
	out.set("date", date)
	out.set("deviceNo", d.DeviceNo)
	out.set("scope", scope)
	out.set("payCount", payCount)
	out.set("payAmount", payAmount)
	out.set("refundCount", refundCount)
	out.set("refundAmount", refundAmount)
	out.set("netAmount", payAmount-refundAmount)
	return out, nil
}
