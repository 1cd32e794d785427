package sim

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Interface codes (ifCode).
const (
	ifWxpay  = "wxpay"
	ifAlipay = "alipay"
	ifYsfpay = "ysfpay"
	ifPppay  = "pppay"
)

type wayKind int

const (
	wayBarcode  wayKind = iota + 1 // synchronous, payDataType none
	wayCashier                     // QR_CASHIER: order created (0), payurl/codeImgUrl
	wayQRCode                      // codeUrl or codeImgUrl
	wayURL                         // payurl, or form / codeImgUrl on request
	wayWxApp                       // wxapp JSON
	wayAliTrade                    // aliapp {"alipayTradeNo":..}
	wayAliApp                      // aliapp order string
	wayYsfApp                      // ysfapp {"redirectUrl":..}
)

type wayInfo struct {
	ifCode string
	kind   wayKind
	// alt is the payDataType a request may ask for instead of the default.
	alt []string
}

var wayCodes = map[string]wayInfo{
	"QR_CASHIER": {"", wayCashier, []string{"codeImgUrl"}},
	"AUTO_BAR":   {"", wayBarcode, nil},
	"ALI_BAR":    {ifAlipay, wayBarcode, nil},
	"ALI_JSAPI":  {ifAlipay, wayAliTrade, nil},
	"ALI_LITE":   {ifAlipay, wayAliTrade, nil},
	"ALI_APP":    {ifAlipay, wayAliApp, nil},
	"ALI_PC":     {ifAlipay, wayURL, []string{"form"}},
	"ALI_WAP":    {ifAlipay, wayURL, []string{"form"}},
	"ALI_QR":     {ifAlipay, wayQRCode, []string{"codeImgUrl"}},
	"WX_JSAPI":   {ifWxpay, wayWxApp, nil},
	"WX_LITE":    {ifWxpay, wayWxApp, nil},
	"WX_BAR":     {ifWxpay, wayBarcode, nil},
	"WX_H5":      {ifWxpay, wayURL, []string{"codeImgUrl"}},
	"WX_NATIVE":  {ifWxpay, wayQRCode, []string{"codeImgUrl"}},
	"YSF_BAR":    {ifYsfpay, wayBarcode, nil},
	"YSF_JSAPI":  {ifYsfpay, wayYsfApp, nil},
	"PP_PC":      {ifPppay, wayURL, nil},
}

var (
	wxBarCode  = regexp.MustCompile(`^1[0-5][0-9]{16}$`)
	aliBarCode = regexp.MustCompile(`^(2[5-9]|30)[0-9]{14,22}$`)
	ysfBarCode = regexp.MustCompile(`^62[0-9]{17}$`)
)

// wayCodeByAuthCode classifies a payer's barcode as Jeepay does: WeChat 18
// digits starting 10-15, Alipay 16-24 digits starting 25-30, UnionPay 19
// digits starting 62.
func wayCodeByAuthCode(authCode string) (string, error) {
	switch {
	case authCode == "":
		return "", bizErr("条码为空")
	case wxBarCode.MatchString(authCode):
		return "WX_BAR", nil
	case aliBarCode.MatchString(authCode):
		return "ALI_BAR", nil
	case ysfBarCode.MatchString(authCode):
		return "YSF_BAR", nil
	}
	return "", bizErr("不支持的条码")
}

// payInput is what a unified order or a POS payment asks for.
type payInput struct {
	mchOrderNo   string
	wayCode      string
	amount       int64
	currency     string
	subject      string
	body         string
	clientIP     string
	notifyURL    string
	returnURL    string
	expiredSecs  int
	channelExtra string
	extParam     string
	divisionMode int
	authCode     string
	payDataType  string
	deviceNo     string
}

func handleUnifiedOrder(s *Server, c *call) (fields, error) {
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
	expired, err := parseSmallInt(c.get("expiredTime"), 0)
	if err != nil {
		return nil, paramErr("expiredTime")
	}
	extra, err := parseJSONObjectText(c.get("channelExtra"))
	if err != nil {
		return nil, paramErr("channelExtra")
	}
	in := payInput{
		mchOrderNo:   c.get("mchOrderNo"),
		wayCode:      c.get("wayCode"),
		amount:       amount,
		currency:     c.get("currency"),
		subject:      c.get("subject"),
		body:         c.get("body"),
		clientIP:     c.get("clientIp"),
		notifyURL:    c.get("notifyUrl"),
		returnURL:    c.get("returnUrl"),
		expiredSecs:  expired,
		channelExtra: c.get("channelExtra"),
		extParam:     c.get("extParam"),
		divisionMode: mode,
		authCode:     extra["authCode"],
		payDataType:  extra["payDataType"],
	}
	info, ok := wayCodes[in.wayCode]
	if !ok {
		return nil, bizErr("商户应用不支持该支付方式")
	}
	switch in.wayCode {
	case "ALI_BAR", "WX_BAR", "YSF_BAR":
		if in.authCode == "" {
			return nil, bizErr("支付条码不能为空")
		}
	case "WX_JSAPI", "WX_LITE":
		if extra["openid"] == "" {
			return nil, bizErr("openid不能为空")
		}
	case "ALI_JSAPI", "ALI_LITE":
		if extra["buyerUserId"] == "" && extra["buyerOpenId"] == "" {
			return nil, bizErr("用户ID不能为空")
		}
	}
	if in.payDataType != "" && in.payDataType != "payurl" && !containsStr(info.alt, in.payDataType) {
		return nil, bizErr("不支持的payDataType[" + in.payDataType + "]")
	}
	o, err := s.createPayOrderLocked(c, in)
	if err != nil {
		return nil, err
	}
	out := fields{}
	out.set("payOrderId", o.PayOrderID)
	out.set("mchOrderNo", o.MchOrderNo)
	out.set("orderState", o.State)
	if o.State == PayStateFailed {
		out.set("payDataType", "none")
		out.set("errCode", o.ErrCode)
		out.set("errMsg", o.ErrMsg)
		return out, nil
	}
	dt, data := s.payData(c, o, wayCodes[o.WayCode], in.payDataType)
	out.set("payDataType", dt)
	out.set("payData", data)
	return out, nil
}

// createPayOrderLocked runs the checks shared by the unified order and the
// POS payment, stores the order and moves it as far as the channel would
// synchronously.
func (s *Server) createPayOrderLocked(c *call, in payInput) (*payOrder, error) {
	if !strings.EqualFold(in.currency, "cny") {
		return nil, bizErr("不支持的币种[" + in.currency + "], 目前仅支持cny")
	}
	key := c.mch.MchNo + "\x00" + in.mchOrderNo
	if _, dup := s.orderByMch[key]; dup {
		return nil, bizErr("商户订单[" + in.mchOrderNo + "]已存在")
	}
	if err := checkURL(in.notifyURL, "异步通知地址协议仅支持http:// 或 https:// !"); err != nil {
		return nil, err
	}
	if err := checkURL(in.returnURL, "同步通知地址协议仅支持http:// 或 https:// !"); err != nil {
		return nil, err
	}
	info := wayCodes[in.wayCode]
	if in.wayCode == "AUTO_BAR" {
		wc, err := wayCodeByAuthCode(in.authCode)
		if err != nil {
			return nil, err
		}
		in.wayCode, info = wc, wayCodes[wc]
	}
	if info.ifCode != "" && !c.mch.ifCodes[info.ifCode] {
		return nil, bizErr("商户应用不支持该支付方式")
	}
	now := s.now()
	expiry := s.cfg.OrderExpiry
	if in.expiredSecs > 0 {
		expiry = time.Duration(in.expiredSecs) * time.Second
	}
	o := &payOrder{PayOrder: PayOrder{
		PayOrderID:   s.newIDLocked("P"),
		MchNo:        c.mch.MchNo,
		AppID:        c.mch.AppID,
		MchOrderNo:   in.mchOrderNo,
		IfCode:       info.ifCode,
		WayCode:      in.wayCode,
		Amount:       in.amount,
		Currency:     strings.ToLower(in.currency),
		State:        PayStateCreated,
		ClientIP:     in.clientIP,
		Subject:      in.subject,
		Body:         in.body,
		NotifyURL:    in.notifyURL,
		ReturnURL:    in.returnURL,
		ChannelExtra: in.channelExtra,
		ExtParam:     in.extParam,
		DivisionMode: in.divisionMode,
		MchFeeAmount: ratio{num: s.feePPM, scale: 6}.of(in.amount),
		DeviceNo:     in.deviceNo,
		CreatedAt:    now,
		ExpiredAt:    now.Add(expiry),
	}, magic: in.amount}
	s.orders[o.PayOrderID] = o
	s.orderByMch[key] = o.PayOrderID
	if o.magic == MagicTimeout {
		c.hangup = true
	}

	if info.kind == wayCashier {
		s.scheduleAutoPayLocked(o)
		return o, nil
	}
	// The channel has the order from here on.
	o.State = PayStatePaying
	o.ChannelOrderNo = s.newIDLocked("C")
	switch {
	case o.magic == MagicDeclined:
		code, msg := declineReason(o.IfCode)
		s.failPayLocked(o, code, msg)
	case info.kind == wayBarcode && o.magic != MagicNeverPay:
		s.succeedPayLocked(o)
	default:
		s.scheduleAutoPayLocked(o)
	}
	return o, nil
}

func declineReason(ifCode string) (string, string) {
	switch ifCode {
	case ifWxpay:
		return "NOTENOUGH", "用户账号余额不足"
	case ifAlipay:
		return "ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"
	default:
		return "BALANCE_NOT_ENOUGH", "付款方余额不足"
	}
}

// scheduleAutoPayLocked lets the simulated payer pay o after AutoPayDelay.
func (s *Server) scheduleAutoPayLocked(o *payOrder) {
	if s.cfg.AutoPayDelay <= 0 || o.magic == MagicNeverPay || o.magic == MagicDeclined {
		return
	}
	id := o.PayOrderID
	s.afterLocked(s.cfg.AutoPayDelay, func() {
		if cur := s.orders[id]; cur != nil {
			s.expireLocked(cur)
			if cur.State == PayStateCreated || cur.State == PayStatePaying {
				s.payLocked(cur)
			}
		}
	})
}

// payLocked completes a created or paying order as the payer would.
func (s *Server) payLocked(o *payOrder) {
	if o.WayCode == "QR_CASHIER" {
		// The payer picked WeChat in the cashier (or the first channel open).
		o.WayCode, o.IfCode = "WX_JSAPI", ifWxpay
		if !s.merchants[o.MchNo].ifCodes[ifWxpay] {
			for _, wc := range []string{"ALI_JSAPI", "YSF_JSAPI", "PP_PC"} {
				if s.merchants[o.MchNo].ifCodes[wayCodes[wc].ifCode] {
					o.WayCode, o.IfCode = wc, wayCodes[wc].ifCode
					break
				}
			}
		}
	}
	if o.ChannelOrderNo == "" {
		o.ChannelOrderNo = s.newIDLocked("C")
	}
	s.succeedPayLocked(o)
}

func (s *Server) succeedPayLocked(o *payOrder) {
	prev := o.PayOrder
	o.State = PayStateSuccess
	o.SuccessTime = s.now()
	o.ErrCode, o.ErrMsg = "", ""
	s.merchants[o.MchNo].balance += o.Amount - o.MchFeeAmount
	s.notifyPayLocked(o, prev)
	if o.DivisionMode == 1 {
		id := o.PayOrderID
		s.afterLocked(s.cfg.DivisionAutoDelay, func() { s.autoDivideLocked(id) })
	}
}

func (s *Server) failPayLocked(o *payOrder, code, msg string) {
	prev := o.PayOrder
	o.State = PayStateFailed
	o.ErrCode, o.ErrMsg = code, msg
	s.notifyPayLocked(o, prev)
}

// expireLocked closes an unpaid order whose expiry has passed, as the
// gateway's expiry task does.
func (s *Server) expireLocked(o *payOrder) {
	if (o.State == PayStateCreated || o.State == PayStatePaying) && !o.ExpiredAt.IsZero() && s.now().After(o.ExpiredAt) {
		o.State = PayStateClosed
	}
}

// Pay completes the created or paying order payOrderID as its payer would:
// it becomes successful (2) and its notification is sent. A QR_CASHIER
// order is paid with WX_JSAPI (or the first other channel open).
func (s *Server) Pay(payOrderID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[payOrderID]
	if o == nil {
		return fmt.Errorf("pay %s: %w", payOrderID, ErrNotFound)
	}
	s.expireLocked(o)
	if o.State != PayStateCreated && o.State != PayStatePaying {
		return fmt.Errorf("pay %s in state %d: %w", payOrderID, o.State, ErrState)
	}
	s.payLocked(o)
	return nil
}

// Fail makes the created or paying order payOrderID fail (3) with the
// channel's errCode and errMsg, and sends its notification.
func (s *Server) Fail(payOrderID, errCode, errMsg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[payOrderID]
	if o == nil {
		return fmt.Errorf("fail %s: %w", payOrderID, ErrNotFound)
	}
	s.expireLocked(o)
	if o.State != PayStateCreated && o.State != PayStatePaying {
		return fmt.Errorf("fail %s in state %d: %w", payOrderID, o.State, ErrState)
	}
	s.failPayLocked(o, errCode, errMsg)
	return nil
}

// Errors of the Go API.
var (
	// ErrNotFound is returned for an unknown order, receiver or group.
	ErrNotFound = errors.New("not found")
	// ErrState is returned when an object is not in a state that allows the
	// operation.
	ErrState = errors.New("operation not allowed in the current state")
	// ErrInvalid is returned for an invalid argument.
	ErrInvalid = errors.New("invalid argument")
)

// payData builds the payDataType and payData the channel would return.
func (s *Server) payData(c *call, o *payOrder, info wayInfo, want string) (string, string) {
	base := s.publicBase(c.r)
	link := base + "/sim/pay/" + o.PayOrderID
	switch info.kind {
	case wayCashier:
		if want == "codeImgUrl" {
			return "codeImgUrl", link + "?img=1"
		}
		return "payurl", link
	case wayQRCode:
		if want == "codeImgUrl" {
			return "codeImgUrl", link + "?img=1"
		}
		return "codeUrl", link
	case wayURL:
		switch want {
		case "form":
			return "form", `<form id="paysubmit" name="paysubmit" action="` + link + `" method="get"></form><script>document.forms['paysubmit'].submit();</script>`
		case "codeImgUrl":
			return "codeImgUrl", link + "?img=1"
		}
		return "payurl", link
	case wayWxApp:
		ts := fmt.Sprint(s.now().Unix())
		pkg := "prepay_id=wx" + o.PayOrderID
		sum := md5.Sum([]byte(o.PayOrderID + ts + pkg))
		b, _ := json.Marshal(map[string]string{
			"appId":     "wx_sim_" + o.AppID,
			"timeStamp": ts,
			"nonceStr":  o.PayOrderID,
			"package":   pkg,
			"signType":  "RSA",
			"paySign":   strings.ToUpper(hex.EncodeToString(sum[:])),
		})
		return "wxapp", string(b)
	case wayAliTrade:
		b, _ := json.Marshal(map[string]string{"alipayTradeNo": o.ChannelOrderNo})
		return "aliapp", string(b)
	case wayAliApp:
		return "aliapp", "alipay_sdk=alipay-sdk-java-sim&app_id=sim" + o.AppID + "&biz_content=" + o.PayOrderID + "&method=alipay.trade.app.pay&sign_type=RSA2&version=1.0"
	case wayYsfApp:
		b, _ := json.Marshal(map[string]string{"redirectUrl": link})
		return "ysfapp", string(b)
	}
	return "none", ""
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// findPayOrderLocked finds a merchant's order by payOrderId (preferred) or
// mchOrderNo.
func (s *Server) findPayOrderLocked(mchNo, payOrderID, mchOrderNo string) *payOrder {
	var o *payOrder
	if payOrderID != "" {
		o = s.orders[payOrderID]
	} else if id, ok := s.orderByMch[mchNo+"\x00"+mchOrderNo]; ok {
		o = s.orders[id]
	}
	if o == nil || o.MchNo != mchNo {
		return nil
	}
	if mchOrderNo != "" && o.MchOrderNo != mchOrderNo {
		return nil
	}
	s.expireLocked(o)
	return o
}

// payQueryFields are the fields of /api/pay/query and of pay notifications.
func payQueryFields(o *PayOrder) fields {
	f := fields{}
	f.set("payOrderId", o.PayOrderID)
	f.set("mchNo", o.MchNo)
	f.set("appId", o.AppID)
	f.set("mchOrderNo", o.MchOrderNo)
	f.set("ifCode", o.IfCode)
	f.set("wayCode", o.WayCode)
	f.set("amount", o.Amount)
	f.set("currency", o.Currency)
	f.set("state", o.State)
	f.set("clientIp", o.ClientIP)
	f.set("subject", o.Subject)
	f.set("body", o.Body)
	f.set("channelOrderNo", o.ChannelOrderNo)
	f.set("errCode", o.ErrCode)
	f.set("errMsg", o.ErrMsg)
	f.set("extParam", o.ExtParam)
	f.set("mchFeeAmount", o.MchFeeAmount)
	if !o.SuccessTime.IsZero() {
		f.set("successTime", o.SuccessTime.UnixMilli())
	}
	f.set("createdAt", o.CreatedAt.UnixMilli())
	return f
}

func handlePayQuery(s *Server, c *call) (fields, error) {
	if c.get("payOrderId") == "" && c.get("mchOrderNo") == "" {
		return nil, bizErr("mchOrderNo 和 payOrderId不能同时为空")
	}
	o := s.findPayOrderLocked(c.mch.MchNo, c.get("payOrderId"), c.get("mchOrderNo"))
	if o == nil {
		return nil, bizErr("订单不存在")
	}
	return payQueryFields(&o.PayOrder), nil
}

func handlePayClose(s *Server, c *call) (fields, error) {
	if c.get("payOrderId") == "" && c.get("mchOrderNo") == "" {
		return nil, bizErr("mchOrderNo 和 payOrderId 不能同时为空")
	}
	o := s.findPayOrderLocked(c.mch.MchNo, c.get("payOrderId"), c.get("mchOrderNo"))
	if o == nil {
		return nil, bizErr("订单不存在")
	}
	if o.State != PayStateCreated && o.State != PayStatePaying {
		return nil, bizErr("当前订单不可关闭")
	}
	o.State = PayStateClosed
	return fields{}, nil
}
