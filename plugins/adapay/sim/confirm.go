package sim

import (
	"strconv"
	"time"
)

// Confirm is a 支付确认 (POST /v1/payments/confirm): funds of a delayed
// payment (pay_mode delay) released, optionally split among members.
type Confirm struct {
	ID         string
	PaymentID  string
	OrderNo    string
	Amount     int64 // fen
	Status     string
	DivMembers []DivMember
	CreatedAt  time.Time
}

// DivMember is one member's part of a confirmation.
type DivMember struct {
	MemberID string
	Amount   int64
	FeeFlag  bool
}

// AddMember makes memberID a member (split receiver) of the merchant with
// API key apiKey, as 创建用户对象 (/v1/members) would. Member "0" is the
// merchant itself and always exists.
func (s *Server) AddMember(apiKey, memberID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.members[apiKey] == nil {
		s.members[apiKey] = map[string]bool{}
	}
	s.members[apiKey][memberID] = true
}

func handlePaymentConfirm(s *Server, c *call) (obj, error) {
	if err := required(c, "payment_id", "order_no", "confirm_amt"); err != nil {
		return nil, err
	}
	if !orderRe.MatchString(c.get("order_no")) {
		return nil, paramErr("order_no", "订单号只能为英文、数字或者下划线")
	}
	amt, ok := parseYuan(c.get("confirm_amt"))
	if !ok || amt <= 0 {
		return nil, paramErr("confirm_amt", "金额格式非法,格式为 0.00")
	}
	p, err := s.paymentOwnedLocked(c, c.get("payment_id"))
	if err != nil {
		return nil, err
	}
	switch {
	case p.PayMode != "delay":
		return nil, reqErr(codeStatus, "非延时支付不能确认")
	case p.Status != StatusSucceeded:
		return nil, reqErr(codeStatus, "支付对象未支付成功, 不能确认")
	}
	var members []DivMember
	if text := c.get("div_members"); text != "" {
		var list []map[string]any
		if err := jsonUnmarshal(text, &list); err != nil || len(list) == 0 {
			return nil, paramErr("div_members", "分账对象信息应为非空JSON数组")
		}
		var sum int64
		fee := 0
		for _, m := range list {
			id, _ := m["member_id"].(string)
			a, _ := m["amount"].(string)
			flag, _ := m["fee_flag"].(string)
			v, ok := parseYuan(a)
			if id == "" || !ok {
				return nil, paramErr("div_members", "分账对象的member_id与amount必填, 金额格式为 0.00")
			}
			if id != "0" && !s.members[p.Owner][id] {
				return nil, &apiError{status: 400, code: "member_id_not_exist", msg: "用户对象[" + id + "]不存在", typ: typeInvalidRequest}
			}
			if flag == "Y" {
				fee++
			}
			sum += v
			members = append(members, DivMember{MemberID: id, Amount: v, FeeFlag: flag == "Y"})
		}
		switch {
		case sum != amt:
			return nil, paramErr("div_members", "分账金额之和须等于确认金额")
		case fee != 1:
			return nil, paramErr("div_members", "有且只有一个分账对象承担手续费(fee_flag=Y)")
		}
	}
	key := p.AppID + "\x00confirm\x00" + c.get("order_no")
	if _, dup := s.payByOrder[key]; dup {
		return nil, reqErr(codeOrderRepeat, "订单号["+c.get("order_no")+"]重复")
	}
	if amt > p.Amount-p.Confirmed-p.Refunded {
		return nil, reqErr("confirm_amt_over", "确认金额超过可确认金额, 可确认"+formatYuan(p.Amount-p.Confirmed-p.Refunded)+"元")
	}
	cf := &Confirm{ID: s.newIDLocked("002112F"), PaymentID: p.ID, OrderNo: c.get("order_no"), Amount: amt, Status: StatusSucceeded,
		DivMembers: members, CreatedAt: s.now()}
	s.payByOrder[key] = cf.ID
	s.confirms[cf.ID] = cf
	p.Confirmed += amt
	out := obj{"id": cf.ID, "object": "payment_confirm", "payment_id": p.ID, "order_no": cf.OrderNo, "confirm_amt": formatYuan(amt),
		"status": cf.Status, "created_time": strconv.FormatInt(cf.CreatedAt.Unix(), 10), "prod_mode": s.prodMode(), "fee_amt": "0.00"}
	if len(members) > 0 {
		list := make([]obj, 0, len(members))
		for _, m := range members {
			flag := "N"
			if m.FeeFlag {
				flag = "Y"
			}
			list = append(list, obj{"member_id": m.MemberID, "amount": formatYuan(m.Amount), "fee_flag": flag})
		}
		out["div_members"] = list
	}
	return out, nil
}

// Confirm returns a snapshot of confirmation id.
func (s *Server) Confirm(id string) (Confirm, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cf := s.confirms[id]
	if cf == nil {
		return Confirm{}, false
	}
	c := *cf
	c.DivMembers = append([]DivMember(nil), cf.DivMembers...)
	return c, true
}
