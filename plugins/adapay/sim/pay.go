package sim

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Payment statuses. Adapay documents pending, succeeded and failed; a
// closed (or expired) payment answers closed (README: assumptions).
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusClosed    = "closed"
)

// Magic amounts (fen) on pay_amt and refund_amt (README: "Magic values").
const (
	MagicDeclined = 66601 // "666.01": the payment fails (channel_declined), a refund fails when it settles
	MagicPending  = 66602 // "666.02": stays pending forever (no auto-pay; Pay and Fail still work)
	MagicTimeout  = 66603 // "666.03": processed and stored, but the response never arrives
)

// PayChannels are the pay_channel values the simulator accepts.
var PayChannels = []string{"alipay", "alipay_qr", "alipay_wap", "alipay_lite", "alipay_pub", "wx_pub", "wx_lite", "union_qr"}

// DefaultExpiry is how long a payment without time_expire may stay pending.
const DefaultExpiry = 2 * time.Hour

// Payment is a payment object.
type Payment struct {
	ID           string
	OrderNo      string
	AppID        string
	Owner        string // API key of the merchant that created it
	PayChannel   string
	Amount       int64 // fen
	Status       string
	PayMode      string // "" or delay
	GoodsTitle   string
	GoodsDesc    string
	Description  string
	Expend       map[string]string // the request's expend
	OutTransID   string
	PartyOrderID string
	EndTime      time.Time
	ErrorCode    string
	ErrorMsg     string
	ErrorType    string
	NotifyURL    string
	Refunded     int64 // refunds succeeded or pending
	Confirmed    int64 // confirmed (released) amount of a delayed payment
	CloseID      string
	CreatedAt    time.Time
	ExpireAt     time.Time
}

type payment struct {
	Payment
	base string
}

func handlePaymentCreate(s *Server, c *call) (obj, error) {
	if err := required(c, "app_id", "order_no", "pay_channel", "pay_amt", "goods_title", "goods_desc"); err != nil {
		return nil, err
	}
	if err := s.ownAppLocked(c, c.get("app_id")); err != nil {
		return nil, err
	}
	if !orderRe.MatchString(c.get("order_no")) {
		return nil, paramErr("order_no", "订单号只能为英文、数字或者下划线, 长度不超过64")
	}
	amt, ok := parseYuan(c.get("pay_amt"))
	if !ok || amt <= 0 {
		return nil, paramErr("pay_amt", "金额格式非法,格式为 0.00")
	}
	if cur := c.get("currency"); cur != "" && cur != "cny" {
		return nil, paramErr("currency", "币种只支持cny")
	}
	ch := c.get("pay_channel")
	if !contains(PayChannels, ch) {
		return nil, reqErr(codeChannel, "支付渠道["+ch+"]不支持或未开通")
	}
	for _, l := range []struct {
		n string
		l int
	}{{"goods_title", 64}, {"goods_desc", 127}, {"description", 128}, {"notify_url", 250}} {
		if err := maxLen(c, l.n, l.l); err != nil {
			return nil, err
		}
	}
	expend := map[string]string{}
	if text := c.get("expend"); text != "" {
		m, ok := decodeObject(text)
		if !ok {
			return nil, paramErr("expend", "expend应为JSON对象")
		}
		expend = m
	}
	switch {
	case (ch == "wx_pub" || ch == "wx_lite") && expend["open_id"] == "":
		return nil, paramErr("expend.open_id", "open_id不能为空")
	case (ch == "alipay_pub" || ch == "alipay_lite") && expend["buyer_id"] == "":
		return nil, paramErr("expend.buyer_id", "buyer_id不能为空")
	}
	now := s.now()
	expire := now.Add(DefaultExpiry)
	if te := c.get("time_expire"); te != "" {
		t, err := time.ParseInLocation("20060102150405", te, chinaTime)
		if err != nil || !t.After(now) {
			return nil, paramErr("time_expire", "订单失效时间格式为yyyyMMddHHmmss且晚于当前时间")
		}
		expire = t
	}
	if m := c.get("pay_mode"); m != "" && m != "delay" {
		return nil, paramErr("pay_mode", "pay_mode只能为delay")
	}
	if err := checkNotifyURL(c.get("notify_url")); err != nil {
		return nil, err
	}
	key := c.get("app_id") + "\x00" + c.get("order_no")
	if _, dup := s.payByOrder[key]; dup {
		return nil, reqErr(codeOrderRepeat, "订单号["+c.get("order_no")+"]重复")
	}
	p := &payment{Payment: Payment{ID: s.newIDLocked("002112"), OrderNo: c.get("order_no"), AppID: c.get("app_id"), Owner: c.acct.APIKey,
		PayChannel: ch, Amount: amt, Status: StatusPending, PayMode: c.get("pay_mode"), GoodsTitle: c.get("goods_title"),
		GoodsDesc: c.get("goods_desc"), Description: c.get("description"), Expend: expend, NotifyURL: c.get("notify_url"),
		CreatedAt: now, ExpireAt: expire}, base: s.publicBase(c.r)}
	s.payments[p.ID] = p
	s.payByOrder[key] = p.ID
	switch amt {
	case MagicDeclined:
		s.failLocked(p, codeDeclined, "交易失败,付款方余额不足", typeChannel)
	case MagicTimeout:
		c.hangup = true
	}
	if s.cfg.AutoPayDelay > 0 && amt != MagicPending {
		id := p.ID
		s.afterLocked(s.cfg.AutoPayDelay, func() { _ = s.payLocked(id) })
	}
	return s.paymentObjLocked(p), nil
}

// ownAppLocked refuses an app_id that is neither the caller's nor one of its
// sub-merchants'.
func (s *Server) ownAppLocked(c *call, appID string) error {
	a := s.apps[appID]
	if a == nil || (a != c.acct && a.agent != c.acct.APIKey) {
		return &apiError{status: 400, code: codeAppNotExist, msg: "应用[" + appID + "]不存在", typ: typeInvalidRequest, param: "app_id"}
	}
	return nil
}

// paymentOwnedLocked finds payment id for the caller.
func (s *Server) paymentOwnedLocked(c *call, id string) (*payment, error) {
	p := s.payments[id]
	if p == nil || (p.Owner != c.acct.APIKey && s.accounts[p.Owner].agent != c.acct.APIKey) {
		return nil, reqErr(codeNotExist, "支付对象["+id+"]不存在")
	}
	s.expireLocked(p)
	return p, nil
}

func (s *Server) expireLocked(p *payment) {
	if p.Status == StatusPending && !s.now().Before(p.ExpireAt) {
		p.Status = StatusClosed
	}
}

// payInfo is what the payer needs, by channel (the response's expend).
func (p *payment) payInfo() map[string]any {
	link := p.base + "/sim/pay/" + p.ID
	ts := strconv.FormatInt(p.CreatedAt.Unix(), 10)
	switch p.PayChannel {
	case "alipay_qr", "union_qr":
		return map[string]any{"qrcode_url": link}
	case "alipay_wap":
		return map[string]any{"pay_info": link}
	case "alipay":
		return map[string]any{"pay_info": "alipay_sdk=sim&biz_content=" + p.ID + "&notify=" + link}
	case "wx_pub", "wx_lite":
		return map[string]any{"pay_info": marshal(obj{"appId": "wx" + p.ID[len(p.ID)-16:], "timeStamp": ts, "nonceStr": p.ID[len(p.ID)-12:],
			"package": "prepay_id=wx" + p.ID, "signType": "RSA", "paySign": "sim" + p.ID})}
	default: // alipay_pub, alipay_lite
		return map[string]any{"pay_info": marshal(obj{"tradeNO": "2020" + p.ID[len(p.ID)-24:]})}
	}
}

// paymentObjLocked renders the payment object.
func (s *Server) paymentObjLocked(p *payment) obj {
	o := obj{"id": p.ID, "object": "payment", "created_time": strconv.FormatInt(p.CreatedAt.Unix(), 10), "order_no": p.OrderNo,
		"prod_mode": s.prodMode(), "app_id": p.AppID, "pay_channel": p.PayChannel, "pay_amt": formatYuan(p.Amount),
		"currency": "cny", "query_url": p.base + "/v1/payments/" + p.ID, "status": p.Status}
	if p.Description != "" {
		o["description"] = p.Description
	}
	if p.PayMode != "" {
		o["pay_mode"] = p.PayMode
	}
	expend := p.payInfo()
	if p.Status == StatusSucceeded {
		expend = map[string]any{"bank_type": "OTHERS"}
		if p.Expend["open_id"] != "" {
			expend["open_id"], expend["sub_open_id"] = p.Expend["open_id"], p.Expend["open_id"]
		}
		if p.Expend["buyer_id"] != "" {
			expend["buyer_id"] = p.Expend["buyer_id"]
		}
		o["end_time"] = p.EndTime.In(chinaTime).Format("20060102150405")
		o["out_trans_id"], o["party_order_id"] = p.OutTransID, p.PartyOrderID
	}
	if p.Status == StatusPending || p.Status == StatusSucceeded {
		o["expend"] = expend
	}
	if p.ErrorCode != "" {
		o["error_code"], o["error_msg"], o["error_type"] = p.ErrorCode, p.ErrorMsg, p.ErrorType
	}
	return o
}

func handlePaymentQuery(s *Server, c *call) (obj, error) {
	p, err := s.paymentOwnedLocked(c, c.get("payment_id_path"))
	if err != nil {
		return nil, err
	}
	return s.paymentObjLocked(p), nil
}

func handlePaymentList(s *Server, c *call) (obj, error) {
	if err := required(c, "app_id"); err != nil {
		return nil, err
	}
	if err := s.ownAppLocked(c, c.get("app_id")); err != nil {
		return nil, err
	}
	list := []obj{}
	if no := c.get("order_no"); no != "" {
		if id, ok := s.payByOrder[c.get("app_id")+"\x00"+no]; ok {
			p := s.payments[id]
			s.expireLocked(p)
			list = append(list, s.paymentObjLocked(p))
		}
	} else if id := c.get("payment_id"); id != "" {
		if p := s.payments[id]; p != nil && p.AppID == c.get("app_id") {
			s.expireLocked(p)
			list = append(list, s.paymentObjLocked(p))
		}
	} else {
		return nil, paramErr("order_no", "order_no与payment_id不能同时为空")
	}
	return obj{"payments": list, "has_more": false, "prod_mode": s.prodMode(), "status": "succeeded"}, nil
}

func handlePaymentClose(s *Server, c *call) (obj, error) {
	id := c.get("payment_id_path")
	if b := c.get("payment_id"); b != "" && b != id {
		return nil, paramErr("payment_id", "payment_id与请求路径不一致")
	}
	if err := checkNotifyURL(c.get("notify_url")); err != nil {
		return nil, err
	}
	p, err := s.paymentOwnedLocked(c, id)
	if err != nil {
		return nil, err
	}
	switch p.Status {
	case StatusSucceeded:
		return nil, reqErr(codeStatus, "已支付成功的订单不能关闭")
	case StatusClosed:
		return nil, reqErr(codeStatus, "订单已关闭")
	case StatusFailed:
		return nil, reqErr(codeStatus, "支付失败的订单不能关闭")
	}
	p.Status, p.CloseID = StatusClosed, s.newIDLocked("002112C")
	close := obj{"id": p.CloseID, "object": "close", "payment_id": p.ID, "status": StatusSucceeded,
		"created_time": strconv.FormatInt(s.now().Unix(), 10), "prod_mode": s.prodMode()}
	if r := c.get("reason"); r != "" {
		close["reason"] = r
	}
	notify := c.get("notify_url")
	if notify == "" {
		notify = p.NotifyURL
	}
	s.notifyLocked(notify, "payment.close.succeeded", "close", p.AppID, close)
	return close, nil
}

// Pay completes pending payment id as its payer would.
func (s *Server) Pay(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payLocked(id)
}

func (s *Server) payLocked(id string) error {
	p := s.payments[id]
	if p == nil {
		return fmt.Errorf("payment %q not found", id)
	}
	s.expireLocked(p)
	if p.Status != StatusPending {
		return fmt.Errorf("payment %s is %s", id, p.Status)
	}
	p.Status, p.EndTime = StatusSucceeded, s.now()
	p.OutTransID = "4200000" + p.ID[len(p.ID)-21:]
	if strings.HasPrefix(p.PayChannel, "alipay") {
		p.OutTransID = "2020" + p.ID[len(p.ID)-24:]
	}
	p.PartyOrderID = "0221" + p.ID[len(p.ID)-19:]
	s.notifyLocked(p.NotifyURL, "payment.succeeded", "payment", p.AppID, s.paymentObjLocked(p))
	return nil
}

// Fail makes pending payment id fail with an error code and message, as the
// channel would.
func (s *Server) Fail(id, code, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		return fmt.Errorf("payment %q not found", id)
	}
	s.expireLocked(p)
	if p.Status != StatusPending {
		return fmt.Errorf("payment %s is %s", id, p.Status)
	}
	s.failLocked(p, code, msg, typeChannel)
	return nil
}

func (s *Server) failLocked(p *payment, code, msg, typ string) {
	p.Status, p.ErrorCode, p.ErrorMsg, p.ErrorType = StatusFailed, code, msg, typ
	s.notifyLocked(p.NotifyURL, "payment.failed", "payment", p.AppID, s.paymentObjLocked(p))
}

// servePayer is the simulated payer: GET /sim/pay/{id} pays the payment.
func (s *Server) servePayer(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/sim/pay/")
	err := s.Pay(id)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, "<!doctype html><meta charset=utf-8><p>支付失败: "+htmlEscape(err.Error())+"</p>")
		return
	}
	_, _ = io.WriteString(w, "<!doctype html><meta charset=utf-8><p>支付成功: "+htmlEscape(id)+"</p>")
}
