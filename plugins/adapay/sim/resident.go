package sim

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ResidentChannels are the channels of add_value_list, in the seed's order.
var ResidentChannels = []string{"wx_lite", "wx_pub", "wx_scan", "alipay", "alipay_wap", "alipay_lite", "alipay_qr", "alipay_scan"}

// ChannelResult is one channel's registration result.
type ChannelResult struct {
	Stat    string // I 处理中, S 成功, F 失败
	Message string
}

// Resident is a 商户入驻 request: the merchant's registration with WeChat and
// Alipay and its channel configuration.
type Resident struct {
	RequestID     string
	SubAPIKey     string
	Status        string // pending, succeeded, failed
	Channels      map[string]ChannelResult
	WxMerCode     string
	AlipayMerCode string
	Params        map[string]string
	NotifyURL     string
	CreatedAt     time.Time
}

type resident struct {
	Resident
}

// ResidentModify is a 商户入驻修改 request.
type ResidentModify struct {
	RequestID  string
	SubAPIKey  string
	Status     string // pending, succeeded, failed
	AlipayStat string // S, F or "" when Alipay was not changed
	WxStat     string
	ErrorCode  string
	ErrorMsg   string
	Params     map[string]string
	NotifyURL  string
	CreatedAt  time.Time
}

var (
	region6Re  = regexp.MustCompile(`^[0-9]{6}$`)
	district9  = regexp.MustCompile(`^([0-9]{6}|[0-9]{9})$`)
	merTypes   = map[string]bool{"1": true, "2": true, "3": true, "4": true, "5": true, "7": true, "8": true}
	aliModKeys = map[string]bool{"mer_short_name": true, "mer_phone": true, "fee_type": true, "card_no": true, "card_name": true,
		"category": true, "cls_id": true, "mer_name": true, "mer_addr": true, "contact_name": true, "contact_phone": true,
		"contact_mobile": true, "contact_email": true, "legal_id_no": true, "mer_license": true, "province_code": true,
		"city_code": true, "district_code": true}
	wxModKeys = map[string]bool{"mer_short_name": true, "mer_phone": true}
)

func isWx(ch string) bool { return strings.HasPrefix(ch, "wx_") }

func handleResidentCreate(s *Server, c *call) (obj, error) {
	if err := required(c, "request_id", "fee_type", "app_id", "add_value_list"); err != nil {
		return nil, err
	}
	a, err := s.subLocked(c, "sub_api_key")
	if err != nil {
		return nil, err
	}
	if f := c.get("fee_type"); f != "01" && f != "02" {
		return nil, paramErr("fee_type", "费率类型只能为01或02")
	}
	if s.apps[c.get("app_id")] != a {
		return nil, &apiError{status: 400, code: codeAppNotExist, msg: "应用[" + c.get("app_id") + "]不存在", typ: typeInvalidRequest, param: "app_id"}
	}
	if c.get("wx_category") == "" && c.get("alipay_category") == "" && c.get("cls_id") == "" {
		return nil, paramErr("wx_category", "微信经营类目与支付宝经营类目二选一")
	}
	if m := c.get("model_type"); m != "" && m != "1" {
		return nil, paramErr("model_type", "入驻模式只支持1-服务商模式")
	}
	if m := c.get("mer_type"); m != "" && !merTypes[m] {
		return nil, paramErr("mer_type", "商户种类错误")
	}
	for _, f := range []string{"province_code", "city_code"} {
		if v := c.get(f); v != "" && !region6Re.MatchString(v) {
			return nil, paramErr(f, f+"应为六位编码")
		}
	}
	if v := c.get("district_code"); v != "" && !district9.MatchString(v) {
		return nil, paramErr("district_code", "district_code应为六位或九位编码")
	}
	if err := checkNotifyURL(c.get("notify_url")); err != nil {
		return nil, err
	}
	list, ok := decodeObject(c.get("add_value_list"))
	if !ok || len(list) == 0 {
		return nil, paramErr("add_value_list", "支付渠道配置信息应为非空JSON对象")
	}
	channels := map[string]ChannelResult{}
	for ch, cfg := range list {
		if !contains(ResidentChannels, ch) {
			return nil, paramErr("add_value_list", "不支持的支付渠道["+ch+"]")
		}
		if ch == "wx_lite" || ch == "wx_pub" {
			conf, _ := decodeObject(cfg)
			if conf["appid"] == "" {
				return nil, paramErr("add_value_list", ch+"的appid必传")
			}
			if ch == "wx_pub" && !strings.HasPrefix(conf["path"], "http") {
				return nil, paramErr("add_value_list", "wx_pub的支付授权目录path必传")
			}
		}
		channels[ch] = ChannelResult{Stat: "I"}
	}
	id := c.get("request_id")
	if _, dup := s.residents[id]; dup {
		return nil, reqErr(codeRequestRepeat, "请求ID["+id+"]重复")
	}
	r := &resident{Resident: Resident{RequestID: id, SubAPIKey: a.APIKey, Status: "pending", Channels: channels,
		Params: withoutPathID(c.params), NotifyURL: c.get("notify_url"), CreatedAt: s.now()}}
	s.residents[id] = r
	if !strings.Contains(a.sub.Name, MagicResidentStuck) {
		s.stepLocked("resident "+id, s.cfg.Delays.Resident, func() { s.completeResidentLocked(r, a.sub) })
	}
	return obj{"request_id": id, "status": "pending", "prod_mode": s.prodMode()}, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// completeResidentLocked registers each channel (S, or F for the magic
// tokens) and notifies resident.succeeded or resident.failed.
func (s *Server) completeResidentLocked(r *resident, sub *SubMerchant) {
	if r.Status != "pending" {
		return
	}
	failed := false
	for ch := range r.Channels {
		res := ChannelResult{Stat: "S"}
		switch {
		case !isWx(ch) && strings.Contains(sub.Name, MagicResidentFAli):
			res = ChannelResult{Stat: "F", Message: "根据我公司风险监测系统的监测结果,你的账户可能存在风险,暂时不能创建。原因:黑名单校验不通过"}
		case isWx(ch) && strings.Contains(sub.Name, MagicResidentFWx):
			res = ChannelResult{Stat: "F", Message: "微信子商户号申请失败:商户名称与营业执照不符"}
		}
		failed = failed || res.Stat == "F"
		r.Channels[ch] = res
		if res.Stat == "S" && isWx(ch) && r.WxMerCode == "" {
			r.WxMerCode = fmt.Sprintf("00210%05d", (s.seq["evt"]+int64(len(s.residents)))%100000)
		}
		if res.Stat == "S" && !isWx(ch) && r.AlipayMerCode == "" {
			r.AlipayMerCode = fmt.Sprintf("20881%011d", int64(len(s.residents))*7919)
		}
	}
	r.Status = "succeeded"
	if failed {
		r.Status = "failed"
	}
	data := obj{"request_id": r.RequestID, "prod_mode": s.prodMode(), "type": "resident." + r.Status, "status": r.Status,
		"object": "batchconf", "sub_api_key": r.SubAPIKey}
	resp := obj{}
	for ch, res := range r.Channels {
		resp[ch] = obj{"message": res.Message, "stat": res.Stat}
	}
	data["wx_alipay_response"] = resp
	for _, wallet := range []string{"wx", "alipay"} {
		if st, ok := walletStat(r.Channels, wallet == "wx"); ok {
			data[wallet+"_stat"] = obj{"message": st.Message, "stat": st.Stat}
		}
	}
	if r.WxMerCode != "" {
		data["wx_mer_code"] = r.WxMerCode
	}
	if r.AlipayMerCode != "" {
		data["alipay_mer_code"] = r.AlipayMerCode
	}
	s.notifyLocked(r.NotifyURL, "resident."+r.Status, "batchconf", "", data)
}

// walletStat is one wallet's overall result: F with the first failure's
// message when a channel failed, I while one is pending, else S.
func walletStat(chs map[string]ChannelResult, wx bool) (ChannelResult, bool) {
	out, seen := ChannelResult{Stat: "S"}, false
	for _, ch := range ResidentChannels {
		res, ok := chs[ch]
		if !ok || isWx(ch) != wx {
			continue
		}
		seen = true
		switch {
		case res.Stat == "F" && out.Stat != "F":
			out = res
		case res.Stat == "I" && out.Stat == "S":
			out = res
		}
	}
	return out, seen
}

func handleResidentQuery(s *Server, c *call) (obj, error) {
	if err := required(c, "request_id"); err != nil {
		return nil, err
	}
	r := s.residents[c.get("request_id")]
	if r == nil || s.accounts[r.SubAPIKey].agent != c.acct.APIKey {
		return nil, reqErr(codeNotExist, "请求ID["+c.get("request_id")+"]不存在")
	}
	out := obj{"request_id": r.RequestID, "status": r.Status, "prod_mode": s.prodMode()}
	resp := obj{}
	for ch, res := range r.Channels {
		resp[ch] = res.Stat
	}
	out["wx_alipay_response"] = resp
	if r.Status != "pending" {
		for _, wallet := range []string{"wx", "alipay"} {
			if st, ok := walletStat(r.Channels, wallet == "wx"); ok {
				out[wallet+"_stat"] = st.Stat
			}
		}
	}
	if r.WxMerCode != "" {
		out["wx_mer_code"] = r.WxMerCode
	}
	if r.AlipayMerCode != "" {
		out["alipay_mer_code"] = r.AlipayMerCode
	}
	return out, nil
}

func handleResidentModify(s *Server, c *call) (obj, error) {
	if err := required(c, "request_id"); err != nil {
		return nil, err
	}
	a, err := s.subLocked(c, "sub_api_key")
	if err != nil {
		return nil, err
	}
	ali, wx := c.get("alipay_request_params"), c.get("wx_request_params")
	if ali == "" && wx == "" {
		return nil, paramErr("alipay_request_params", "支付宝与微信入驻修改参数不能同时为空")
	}
	for _, p := range []struct {
		name, text string
		keys       map[string]bool
	}{{"alipay_request_params", ali, aliModKeys}, {"wx_request_params", wx, wxModKeys}} {
		if p.text == "" {
			continue
		}
		m, ok := decodeObject(p.text)
		if !ok || len(m) == 0 {
			return nil, paramErr(p.name, p.name+"应为JSON对象")
		}
		for k := range m {
			if !p.keys[k] {
				return nil, paramErr(p.name, p.name+"不支持字段["+k+"]")
			}
		}
		if runes(m["mer_short_name"]) > 10 {
			return nil, paramErr(p.name, "商户简称长度不能超过10")
		}
	}
	var last *resident
	for _, r := range s.residents {
		if r.SubAPIKey == a.APIKey && r.Status != "pending" && (last == nil || r.CreatedAt.After(last.CreatedAt)) {
			last = r
		}
	}
	if last == nil {
		return nil, reqErr(codeStatus, "商户未完成入驻, 不能修改")
	}
	id := c.get("request_id")
	if _, dup := s.modifies[id]; dup {
		return nil, reqErr(codeRequestRepeat, "请求ID["+id+"]重复")
	}
	notify := c.get("notify_url")
	if notify == "" {
		notify = last.NotifyURL
	}
	m := &ResidentModify{RequestID: id, SubAPIKey: a.APIKey, Status: "pending", Params: withoutPathID(c.params), NotifyURL: notify, CreatedAt: s.now()}
	s.modifies[id] = m
	s.stepLocked("resident modify "+id, s.cfg.Delays.ResidentModify, func() {
		if m.Status != "pending" {
			return
		}
		m.Status = "succeeded"
		if ali != "" {
			m.AlipayStat = "S"
		}
		if wx != "" {
			m.WxStat = "S"
			if strings.Contains(a.sub.Name, MagicModifyFail) {
				m.WxStat, m.Status, m.ErrorCode = "F", "failed", codeModify
				m.ErrorMsg = "微信入驻修改失败原因:商户简称或商户全称距离上一次修改时间不足30天,暂不支持修改;"
			}
		}
		s.notifyLocked(m.NotifyURL, "resident.modify."+m.Status, "resident_modify", "", obj{"request_id": m.RequestID,
			"prod_mode": s.prodMode(), "type": "resident.modify." + m.Status, "alipay_stat": m.AlipayStat, "wx_stat": m.WxStat,
			"object": "resident_modify", "status": m.Status, "error_code": m.ErrorCode, "error_msg": m.ErrorMsg, "sub_api_key": m.SubAPIKey})
	})
	return obj{"request_id": id, "status": "pending", "prod_mode": s.prodMode()}, nil
}
