package sim

import "strings"

// refundInput is what /api/refund/refundOrder or the POS refund asks for.
type refundInput struct {
	payOrderID   string
	mchOrderNo   string
	mchRefundNo  string
	refundAmount int64
	currency     string
	reason       string
	clientIP     string
	notifyURL    string
	channelExtra string
	extParam     string
	deviceNo     string
}

var refundRequired = []required{
	{"mchRefundNo", "商户退款单号不能为空"},
	{"refundAmount", "退款金额不能为空"},
	{"currency", "货币代码不能为空"},
	{"refundReason", "退款原因不能为空"},
}

func refundInputOf(c *call) (refundInput, error) {
	amount, err := parseAmount(c.get("refundAmount"))
	if err != nil {
		return refundInput{}, paramErr("refundAmount")
	}
	return refundInput{
		payOrderID:   c.get("payOrderId"),
		mchOrderNo:   c.get("mchOrderNo"),
		mchRefundNo:  c.get("mchRefundNo"),
		refundAmount: amount,
		currency:     c.get("currency"),
		reason:       c.get("refundReason"),
		clientIP:     c.get("clientIp"),
		notifyURL:    c.get("notifyUrl"),
		channelExtra: c.get("channelExtra"),
		extParam:     c.get("extParam"),
		deviceNo:     c.get("deviceNo"),
	}, nil
}

func handleRefundOrder(s *Server, c *call) (fields, error) {
	in, err := refundInputOf(c)
	if err != nil {
		return nil, err
	}
	r, err := s.createRefundLocked(c, in)
	if err != nil {
		return nil, err
	}
	return refundFields(&r.RefundOrder), nil
}

// refundFields are the fields of the refund response (RefundOrderRS).
func refundFields(r *RefundOrder) fields {
	f := fields{}
	f.set("refundOrderId", r.RefundOrderID)
	f.set("mchRefundNo", r.MchRefundNo)
	f.set("payAmount", r.PayAmount)
	f.set("refundAmount", r.RefundAmount)
	f.set("state", r.State)
	f.set("channelOrderNo", r.ChannelOrderNo)
	f.set("errCode", r.ErrCode)
	f.set("errMsg", r.ErrMsg)
	return f
}

// refundQueryFields are the fields of /api/refund/query and of refund
// notifications (QueryRefundOrderRS).
func refundQueryFields(r *RefundOrder) fields {
	f := fields{}
	f.set("refundOrderId", r.RefundOrderID)
	f.set("payOrderId", r.PayOrderID)
	f.set("mchNo", r.MchNo)
	f.set("appId", r.AppID)
	f.set("mchRefundNo", r.MchRefundNo)
	f.set("payAmount", r.PayAmount)
	f.set("refundAmount", r.RefundAmount)
	f.set("currency", r.Currency)
	f.set("state", r.State)
	f.set("channelOrderNo", r.ChannelOrderNo)
	f.set("errCode", r.ErrCode)
	f.set("errMsg", r.ErrMsg)
	f.set("extParam", r.ExtParam)
	if !r.SuccessTime.IsZero() {
		f.set("successTime", r.SuccessTime.UnixMilli())
	}
	f.set("createdAt", r.CreatedAt.UnixMilli())
	return f
}

// createRefundLocked applies the gateway's refund rules, in its order:
// order found and paid, amount within what is left, no refund in flight,
// mchRefundNo unique.
func (s *Server) createRefundLocked(c *call, in refundInput) (*refundOrder, error) {
	if in.payOrderID == "" && in.mchOrderNo == "" {
		return nil, bizErr("mchOrderNo 和 payOrderId不能同时为空")
	}
	o := s.findPayOrderLocked(c.mch.MchNo, in.payOrderID, in.mchOrderNo)
	if o == nil {
		return nil, bizErr("退款订单不存在")
	}
	if o.State != PayStateSuccess {
		return nil, bizErr("订单状态不正确， 无法完成退款")
	}
	if in.refundAmount < 1 {
		return nil, bizErr("退款金额请大于1分")
	}
	if !strings.EqualFold(in.currency, o.Currency) {
		return nil, bizErr("不支持的币种[" + in.currency + "], 目前仅支持cny")
	}
	if o.PendingRefundAmount > 0 {
		return nil, bizErr("支付订单具有在途退款申请，请稍后再试")
	}
	// Refundable: paid − already split − already refunded (see README).
	if o.RefundedAmount+o.PendingRefundAmount+o.DividedAmount+in.refundAmount > o.Amount {
		return nil, bizErr("申请金额超出订单可退款余额，请检查退款金额")
	}
	key := c.mch.MchNo + "\x00" + in.mchRefundNo
	if _, dup := s.refundByMch[key]; dup {
		return nil, bizErr("商户退款订单号[" + in.mchRefundNo + "]已存在")
	}
	if err := checkURL(in.notifyURL, "异步通知地址协议仅支持http:// 或 https:// !"); err != nil {
		return nil, err
	}
	r := &refundOrder{RefundOrder: RefundOrder{
		RefundOrderID: s.newIDLocked("R"),
		PayOrderID:    o.PayOrderID,
		MchNo:         o.MchNo,
		AppID:         o.AppID,
		MchRefundNo:   in.mchRefundNo,
		PayAmount:     o.Amount,
		RefundAmount:  in.refundAmount,
		Currency:      o.Currency,
		State:         OrderStateProcessing,
		RefundReason:  in.reason,
		ClientIP:      in.clientIP,
		NotifyURL:     in.notifyURL,
		ChannelExtra:  in.channelExtra,
		ExtParam:      in.extParam,
		DeviceNo:      in.deviceNo,
		CreatedAt:     s.now(),
	}, magic: in.refundAmount}
	s.refunds[r.RefundOrderID] = r
	s.refundByMch[key] = r.RefundOrderID
	o.PendingRefundAmount += r.RefundAmount
	s.merchants[o.MchNo].balance -= r.RefundAmount
	if r.magic == MagicTimeout {
		c.hangup = true
	}
	if r.magic == MagicNeverPay {
		return r, nil
	}
	id := r.RefundOrderID
	s.afterLocked(s.cfg.RefundDelay, func() { s.settleRefundLocked(id) })
	return r, nil
}

// settleRefundLocked ends a processing refund: success, or failure for the
// declined magic amount.
func (s *Server) settleRefundLocked(id string) {
	r := s.refunds[id]
	if r == nil || r.State != OrderStateProcessing {
		return
	}
	o := s.orders[r.PayOrderID]
	prev := r.RefundOrder
	o.PendingRefundAmount -= r.RefundAmount
	if r.magic == MagicDeclined {
		r.State = OrderStateFailed
		r.ErrCode, r.ErrMsg = "REFUND_FAILED", "退款失败，渠道拒绝退款"
		s.merchants[o.MchNo].balance += r.RefundAmount
	} else {
		r.State = OrderStateSuccess
		r.ChannelOrderNo = s.newIDLocked("C")
		r.SuccessTime = s.now()
		o.RefundedAmount += r.RefundAmount
		if o.RefundedAmount >= o.Amount {
			o.State = PayStateRefunded
		}
	}
	s.notifyLocked("refund", r.RefundOrderID, r.NotifyURL, r.MchNo, refundQueryFields(&r.RefundOrder), refundQueryFields(&prev))
}

func handleRefundQuery(s *Server, c *call) (fields, error) {
	r, err := s.findRefundLocked(c)
	if err != nil {
		return nil, err
	}
	return refundQueryFields(&r.RefundOrder), nil
}

func (s *Server) findRefundLocked(c *call) (*refundOrder, error) {
	id, no := c.get("refundOrderId"), c.get("mchRefundNo")
	if id == "" && no == "" {
		return nil, bizErr("mchRefundNo 和 refundOrderId不能同时为空")
	}
	var r *refundOrder
	if id != "" {
		r = s.refunds[id]
	} else if rid, ok := s.refundByMch[c.mch.MchNo+"\x00"+no]; ok {
		r = s.refunds[rid]
	}
	if r == nil || r.MchNo != c.mch.MchNo || no != "" && r.MchRefundNo != no {
		return nil, bizErr("订单不存在")
	}
	return r, nil
}
