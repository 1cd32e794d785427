package sim

import (
	"strconv"
	"time"
)

// Refund is a refund object.
type Refund struct {
	ID            string
	PaymentID     string
	RefundOrderNo string
	Amount        int64  // fen
	Status        string // pending, succeeded, failed
	Reason        string
	ErrorCode     string
	ErrorMsg      string
	NotifyURL     string
	CreatedAt     time.Time
	SucceededAt   time.Time
}

type refund struct {
	Refund
}

func handleRefundCreate(s *Server, c *call) (obj, error) {
	id := c.get("payment_id_path")
	if b := c.get("payment_id"); b != "" && b != id {
		return nil, paramErr("payment_id", "payment_id与请求路径不一致")
	}
	if err := required(c, "refund_order_no", "refund_amt"); err != nil {
		return nil, err
	}
	if !orderRe.MatchString(c.get("refund_order_no")) {
		return nil, paramErr("refund_order_no", "退款订单号只能为英文、数字或者下划线")
	}
	amt, ok := parseYuan(c.get("refund_amt"))
	if !ok || amt <= 0 {
		return nil, paramErr("refund_amt", "金额格式非法,格式为 0.00")
	}
	if err := checkNotifyURL(c.get("notify_url")); err != nil {
		return nil, err
	}
	p, err := s.paymentOwnedLocked(c, id)
	if err != nil {
		return nil, err
	}
	if p.Status != StatusSucceeded {
		return nil, reqErr(codeStatus, "支付对象未支付成功, 不能退款")
	}
	key := p.AppID + "\x00" + c.get("refund_order_no")
	if _, dup := s.refByOrder[key]; dup {
		return nil, reqErr(codeOrderRepeat, "退款订单号["+c.get("refund_order_no")+"]重复")
	}
	if left := p.Amount - p.Refunded - p.Confirmed; amt > left {
		return nil, reqErr(codeRefundOver, "退款金额超过可退金额, 可退"+formatYuan(left)+"元")
	}
	r := &refund{Refund: Refund{ID: s.newIDLocked("002112R"), PaymentID: p.ID, RefundOrderNo: c.get("refund_order_no"), Amount: amt,
		Status: StatusPending, Reason: c.get("reason"), NotifyURL: c.get("notify_url"), CreatedAt: s.now()}}
	if r.NotifyURL == "" {
		r.NotifyURL = p.NotifyURL
	}
	s.refunds[r.ID] = r
	s.refByOrder[key] = r.ID
	p.Refunded += amt
	switch amt {
	case MagicPending:
	case MagicTimeout:
		c.hangup = true
		fallthrough
	default:
		s.afterLocked(s.cfg.RefundDelay, func() { s.settleRefundLocked(r, p) })
	}
	return s.refundObj(r), nil
}

// settleRefundLocked ends a pending refund: succeeded, or failed for the
// magic amount (the amount becomes refundable again).
func (s *Server) settleRefundLocked(r *refund, p *payment) {
	if r.Status != StatusPending {
		return
	}
	if r.Amount == MagicDeclined {
		r.Status, r.ErrorCode, r.ErrorMsg = StatusFailed, codeDeclined, "退款失败,渠道拒绝退款"
		p.Refunded -= r.Amount
	} else {
		r.Status, r.SucceededAt = StatusSucceeded, s.now()
	}
	s.notifyLocked(r.NotifyURL, "refund."+r.Status, "refund", p.AppID, s.refundObj(r))
}

func (s *Server) refundObj(r *refund) obj {
	o := obj{"id": r.ID, "object": "refund", "payment_id": r.PaymentID, "refund_order_no": r.RefundOrderNo,
		"refund_amt": formatYuan(r.Amount), "status": r.Status, "created_time": strconv.FormatInt(r.CreatedAt.Unix(), 10),
		"prod_mode": s.prodMode()}
	if r.Reason != "" {
		o["reason"] = r.Reason
	}
	if r.ErrorCode != "" {
		o["error_code"], o["error_msg"], o["error_type"] = r.ErrorCode, r.ErrorMsg, typeChannel
	}
	if !r.SucceededAt.IsZero() {
		o["succeed_time"] = r.SucceededAt.In(chinaTime).Format("20060102150405")
	}
	return o
}

// transStatus is a refund's trans_status in 查询退款: P processing, S
// succeeded, F failed.
func transStatus(status string) string {
	switch status {
	case StatusSucceeded:
		return "S"
	case StatusFailed:
		return "F"
	}
	return "P"
}

func handleRefundQuery(s *Server, c *call) (obj, error) {
	var list []*refund
	switch {
	case c.get("refund_id") != "":
		r := s.refunds[c.get("refund_id")]
		if r == nil {
			return nil, reqErr(codeNotExist, "退款对象["+c.get("refund_id")+"]不存在")
		}
		if _, err := s.paymentOwnedLocked(c, r.PaymentID); err != nil {
			return nil, reqErr(codeNotExist, "退款对象["+c.get("refund_id")+"]不存在")
		}
		list = append(list, r)
	case c.get("payment_id") != "":
		p, err := s.paymentOwnedLocked(c, c.get("payment_id"))
		if err != nil {
			return nil, err
		}
		for _, r := range s.refunds {
			if r.PaymentID == p.ID && (c.get("refund_order_no") == "" || r.RefundOrderNo == c.get("refund_order_no")) {
				list = append(list, r)
			}
		}
	default:
		return nil, paramErr("refund_id", "refund_id与payment_id不能同时为空")
	}
	out := make([]obj, 0, len(list))
	for _, r := range list {
		o := obj{"id": r.ID, "payment_id": r.PaymentID, "refund_order_no": r.RefundOrderNo, "refund_amt": formatYuan(r.Amount),
			"trans_status": transStatus(r.Status), "created_time": strconv.FormatInt(r.CreatedAt.Unix(), 10)}
		if r.ErrorCode != "" {
			o["error_code"], o["error_msg"] = r.ErrorCode, r.ErrorMsg
		}
		if !r.SucceededAt.IsZero() {
			o["succeed_time"] = r.SucceededAt.In(chinaTime).Format("20060102150405")
		}
		out = append(out, o)
	}
	data := obj{"refunds": out, "status": "succeeded", "prod_mode": s.prodMode()}
	if len(list) > 0 {
		data["payment_id"] = list[0].PaymentID
	}
	return data, nil
}
