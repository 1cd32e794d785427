package sim

import "strings"

// transferEntryTypes lists the entry types each transfer interface supports.
var transferEntryTypes = map[string][]string{
	ifWxpay:  {"WX_CASH"},
	ifAlipay: {"ALIPAY_CASH", "BANK_CARD"},
}

var transferRequired = []required{
	{"mchOrderNo", "商户订单号不能为空"},
	{"ifCode", "支付接口代码不能为空"},
	{"entryType", "入账方式不能为空"},
	{"amount", "转账金额不能为空"},
	{"currency", "货币代码不能为空"},
	{"accountNo", "收款账号不能为空"},
	{"transferDesc", "转账备注信息不能为空"},
}

func handleTransferOrder(s *Server, c *call) (fields, error) {
	amount, err := parseAmount(c.get("amount"))
	if err != nil {
		return nil, paramErr("amount")
	}
	if amount < 1 {
		return nil, bizErr("转账金额不能小于1分")
	}
	if !strings.EqualFold(c.get("currency"), "cny") {
		return nil, bizErr("不支持的币种[" + c.get("currency") + "], 目前仅支持cny")
	}
	mchOrderNo := c.get("mchOrderNo")
	key := c.mch.MchNo + "\x00" + mchOrderNo
	if _, dup := s.transferByMch[key]; dup {
		return nil, bizErr("商户订单[" + mchOrderNo + "]已存在")
	}
	if err := checkURL(c.get("notifyUrl"), "异步通知地址协议仅支持http:// 或 https:// !"); err != nil {
		return nil, err
	}
	ifCode, entry := c.get("ifCode"), c.get("entryType")
	if !c.mch.ifCodes[ifCode] {
		return nil, bizErr("应用未开通此接口配置!")
	}
	entries, ok := transferEntryTypes[ifCode]
	if !ok {
		return nil, bizErr("无此转账通道接口")
	}
	if !containsStr(entries, entry) {
		return nil, bizErr("该接口不支持该入账方式")
	}
	if entry == "BANK_CARD" {
		if c.get("accountName") == "" {
			return nil, bizErr("收款人姓名不能为空")
		}
		if c.get("bankName") == "" {
			return nil, bizErr("收款人开户行名称不能为空")
		}
	}
	if ifCode == ifAlipay && c.get("accountName") == "" {
		return nil, bizErr("收款人姓名不能为空")
	}
	m := c.mch
	t := &TransferOrder{
		TransferID:   s.newIDLocked("T"),
		MchNo:        m.MchNo,
		AppID:        m.AppID,
		MchOrderNo:   mchOrderNo,
		IfCode:       ifCode,
		EntryType:    entry,
		Amount:       amount,
		Currency:     "cny",
		AccountNo:    c.get("accountNo"),
		AccountName:  c.get("accountName"),
		BankName:     c.get("bankName"),
		TransferDesc: c.get("transferDesc"),
		ClientIP:     c.get("clientIp"),
		NotifyURL:    c.get("notifyUrl"),
		ChannelExtra: c.get("channelExtra"),
		ExtParam:     c.get("extParam"),
		State:        OrderStateProcessing,
		CreatedAt:    s.now(),
	}
	s.transfers[t.TransferID] = t
	s.transferByMch[key] = t.TransferID
	if amount == MagicTimeout {
		c.hangup = true
	}
	if amount > m.balance {
		prev := *t
		t.State = OrderStateFailed
		t.ErrCode, t.ErrMsg = "NOTENOUGH", "商户可用余额不足"
		s.notifyLocked("transfer", t.TransferID, t.NotifyURL, t.MchNo, transferQueryFields(t), transferQueryFields(&prev))
		return transferFields(t), nil
	}
	m.balance -= amount
	if amount != MagicNeverPay {
		id := t.TransferID
		s.afterLocked(s.cfg.TransferDelay, func() { s.settleTransferLocked(id) })
	}
	return transferFields(t), nil
}

func (s *Server) settleTransferLocked(id string) {
	t := s.transfers[id]
	if t == nil || t.State != OrderStateProcessing {
		return
	}
	prev := *t
	if t.Amount == MagicDeclined {
		t.State = OrderStateFailed
		t.ErrCode, t.ErrMsg = "PAYEE_ACCOUNT_ABNORMAL", "收款账户异常"
		s.merchants[t.MchNo].balance += t.Amount
	} else {
		t.State = OrderStateSuccess
		t.ChannelOrderNo = s.newIDLocked("C")
		t.SuccessTime = s.now()
	}
	s.notifyLocked("transfer", t.TransferID, t.NotifyURL, t.MchNo, transferQueryFields(t), transferQueryFields(&prev))
}

// transferFields are the fields of the transfer response (TransferOrderRS).
func transferFields(t *TransferOrder) fields {
	f := fields{}
	f.set("transferId", t.TransferID)
	f.set("mchOrderNo", t.MchOrderNo)
	f.set("amount", t.Amount)
	f.set("accountNo", t.AccountNo)
	f.set("accountName", t.AccountName)
	f.set("bankName", t.BankName)
	f.set("state", t.State)
	f.set("channelOrderNo", t.ChannelOrderNo)
	f.set("errCode", t.ErrCode)
	f.set("errMsg", t.ErrMsg)
	return f
}

// transferQueryFields are the fields of /api/transfer/query and of transfer
// notifications (QueryTransferOrderRS).
func transferQueryFields(t *TransferOrder) fields {
	f := fields{}
	f.set("transferId", t.TransferID)
	f.set("mchNo", t.MchNo)
	f.set("appId", t.AppID)
	f.set("mchOrderNo", t.MchOrderNo)
	f.set("ifCode", t.IfCode)
	f.set("entryType", t.EntryType)
	f.set("amount", t.Amount)
	f.set("currency", t.Currency)
	f.set("accountNo", t.AccountNo)
	f.set("accountName", t.AccountName)
	f.set("bankName", t.BankName)
	f.set("transferDesc", t.TransferDesc)
	f.set("state", t.State)
	f.set("channelExtra", t.ChannelExtra)
	f.set("channelOrderNo", t.ChannelOrderNo)
	f.set("errCode", t.ErrCode)
	f.set("errMsg", t.ErrMsg)
	f.set("extParam", t.ExtParam)
	if !t.SuccessTime.IsZero() {
		f.set("successTime", t.SuccessTime.UnixMilli())
	}
	f.set("createdAt", t.CreatedAt.UnixMilli())
	return f
}

func handleTransferQuery(s *Server, c *call) (fields, error) {
	id, no := c.get("transferId"), c.get("mchOrderNo")
	if id == "" && no == "" {
		return nil, bizErr("mchOrderNo 和 transferId不能同时为空")
	}
	var t *TransferOrder
	if id != "" {
		t = s.transfers[id]
	} else if tid, ok := s.transferByMch[c.mch.MchNo+"\x00"+no]; ok {
		t = s.transfers[tid]
	}
	if t == nil || t.MchNo != c.mch.MchNo || no != "" && t.MchOrderNo != no {
		return nil, bizErr("订单不存在")
	}
	return transferQueryFields(t), nil
}
