package sim

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Entry is a sub-merchant application (开户进件) as the simulator holds it.
type Entry struct {
	RequestID   string
	Agent       string            // API key of the agent that applied
	Status      string            // pending, succeeded, failed
	Params      map[string]string // the request's fields
	ErrorType   string
	ErrorMsg    string
	LiveAPIKey  string // the sub-merchant's API key, once succeeded
	TestAPIKey  string
	LoginPwd    string // initial console password (a secret the plugin must drop)
	SignViewURL string
	NotifyURL   string
	CreatedAt   time.Time
}

type entry struct {
	Entry
	base string // the public base URL the entry was made at
}

// SubMerchant is a merchant opened by an entry (its live API key is its
// sub_api_key in every later call).
type SubMerchant struct {
	APIKey      string
	TestAPIKey  string
	Agent       string
	RequestID   string
	Name        string
	Micro       bool // entry_mer_type 2
	Apps        []App
	Card        SettleCard
	AuditStatus string // W (待补充, before any submission), I, P, R
	AuditDesc   string
	Audit       map[string]string // the last submission to 提交商户证照
}

// App is an Adapay application of a merchant (app_id_list, application_list).
type App struct {
	ID        int64
	AppID     string
	AppName   string
	Stat      string // N normal
	MerCustID string
	CreTs     int64 // epoch ms
}

// SettleCard is a settlement bank card.
type SettleCard struct {
	CardID       string
	CardName     string
	BankCode     string
	BankAcctType string // 1 corporate, 2 personal
	ProvCode     string
	AreaCode     string
}

// SettleChange is a 修改结算账户信息 request.
type SettleChange struct {
	OrderNo   string
	SubAPIKey string
	Status    string // pending, succeeded, failed
	Card      SettleCard
	NotifyURL string
	CreatedAt time.Time
}

// Magic tokens: put them in mer_name (开户进件) to choose the outcome of the
// merchant's later steps (README: "Magic values").
const (
	MagicEntryFail     = "#entry_fail"     // the entry fails: userEntry.failed 营业执照认证失败
	MagicAuditW        = "#audit_W"        // the document audit ends W (待补充)
	MagicAuditR        = "#audit_R"        // the document audit ends R (拒绝)
	MagicSettleFail    = "#settle_fail"    // every card change fails
	MagicResidentFAli  = "#resident_F_ali" // Alipay channels are refused at registration
	MagicResidentFWx   = "#resident_F_wx"  // WeChat channels are refused at registration
	MagicResidentStuck = "#resident_I"     // registration stays I (处理中) forever
	MagicModifyFail    = "#modify_F"       // 入驻修改 fails for WeChat (the seed's message)
	MagicRealNameFail  = "#realname_F"     // real-name authentication ends 审核失败
)

var rateChannels = map[string]bool{"wx_pub_online": true, "wx_pub_offline": true, "wx_lite_online": true,
	"wx_lite_offline": true, "wx_scan": true, "alipay_qr_online": true, "alipay_qr_offline": true, "alipay_scan": true,
	"alipay_lite_online": true, "alipay_lite_offline": true, "alipay_call": true, "ali_pub_off_b2b": true,
	"ali_pub_online_b2b": true, "union_qr_under": true, "union_qr_beyond": true, "union": true, "union_online_b2b": true}

var (
	mobileRe = regexp.MustCompile(`^1[0-9]{10}$`)
	code4Re  = regexp.MustCompile(`^[0-9]{4}$`)
)

func handleEntryCreate(s *Server, c *call) (obj, error) {
	if err := required(c, "request_id", "usr_phone", "cont_name", "cont_phone", "mer_name", "mer_short_name",
		"legal_name", "legal_type", "legal_idno", "legal_mp", "card_id_mask", "bank_code", "card_name",
		"bank_acct_type", "prov_code", "area_code", "fee_rate_list"); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		name string
		n    int
	}{{"request_id", 32}, {"cont_name", 16}, {"customer_email", 60}, {"mer_name", 32}, {"mer_short_name", 10},
		{"license_code", 22}, {"reg_addr", 60}, {"cust_addr", 60}, {"cust_tel", 20}, {"legal_name", 16},
		{"legal_idno", 25}, {"legal_mp", 32}, {"card_id_mask", 64}, {"card_name", 64}, {"notify_url", 250}} {
		if err := maxLen(c, l.name, l.n); err != nil {
			return nil, err
		}
	}
	kind := c.get("entry_mer_type")
	switch kind {
	case "":
		kind = "1"
	case "1", "2":
	default:
		return nil, paramErr("entry_mer_type", "商户类型只能为1或2")
	}
	for _, f := range []string{"usr_phone", "cont_phone"} {
		if !mobileRe.MatchString(c.get(f)) {
			return nil, paramErr(f, f+"格式错误")
		}
	}
	if c.get("legal_type") != "0" {
		return nil, paramErr("legal_type", "法人证件类型只支持0-身份证")
	}
	for _, f := range []string{"legal_start_cert_id_expires", "legal_id_expires"} {
		if v := c.get(f); v != "" && !validDate(v) {
			return nil, paramErr(f, f+"格式应为YYYYMMDD")
		}
	}
	if kind == "1" {
		if err := required(c, "license_code", "mer_start_valid_date", "mer_valid_date"); err != nil {
			return nil, err
		}
		for _, f := range []string{"mer_start_valid_date", "mer_valid_date"} {
			if !validDate(c.get(f)) {
				return nil, paramErr(f, f+"格式应为YYYYMMDD")
			}
		}
	}
	switch c.get("bank_acct_type") {
	case "1":
		if kind == "2" {
			return nil, paramErr("bank_acct_type", "小微商户结算账户只能是对私")
		}
	case "2":
	default:
		return nil, paramErr("bank_acct_type", "结算银行账户类型只能为1或2")
	}
	for _, f := range []string{"prov_code", "area_code"} {
		if !code4Re.MatchString(c.get(f)) {
			return nil, paramErr(f, f+"应为四位编码")
		}
	}
	if err := checkFeeRates(c.get("fee_rate_list")); err != nil {
		return nil, err
	}
	if v := c.get("mer_level"); v != "" && v != "02" {
		return nil, paramErr("mer_level", "商户层级只能为02")
	}
	if pk := c.get("rsa_public_key"); pk != "" {
		if _, err := ParsePublicKey(pk); err != nil {
			return nil, paramErr("rsa_public_key", "商户rsa公钥格式错误")
		}
	}
	if err := checkNotifyURL(c.get("notify_url")); err != nil {
		return nil, err
	}
	id := c.get("request_id")
	if _, dup := s.entries[id]; dup {
		return nil, reqErr(codeRequestRepeat, "请求ID["+id+"]重复")
	}
	e := &entry{Entry: Entry{RequestID: id, Agent: c.acct.APIKey, Status: "pending", Params: withoutPathID(c.params),
		NotifyURL: c.get("notify_url"), CreatedAt: s.now()}, base: s.publicBase(c.r)}
	s.entries[id] = e
	s.stepLocked("entry "+id, s.cfg.Delays.Entry, func() { s.completeEntryLocked(e) })
	return obj{"request_id": id, "status": "pending", "prod_mode": s.prodMode()}, nil
}

func checkFeeRates(text string) error {
	var list []map[string]any
	if err := jsonUnmarshal(text, &list); err != nil || len(list) == 0 {
		return paramErr("fee_rate_list", "费率列表应为非空JSON数组")
	}
	seen := map[string]bool{}
	for _, r := range list {
		ch, _ := r["rate_channel"].(string)
		rate, _ := r["fee_rate"].(string)
		if !rateChannels[ch] || seen[ch] {
			return paramErr("fee_rate_list", "费率类型["+ch+"]不支持或重复")
		}
		seen[ch] = true
		if !rateRe.MatchString(rate) {
			return paramErr("fee_rate_list", "费率["+rate+"]格式错误, 不超过10位的小数")
		}
	}
	return nil
}

func checkNotifyURL(u string) error {
	if u == "" {
		return nil
	}
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return paramErr("notify_url", "异步通知地址应为http/https路径")
	}
	if strings.Contains(u, "?") {
		return paramErr("notify_url", "URL 上请勿附带参数")
	}
	return nil
}

// completeEntryLocked ends an entry: the sub-merchant opens (its account,
// keys and first application), or the entry fails.
func (s *Server) completeEntryLocked(e *entry) {
	if e.Status != "pending" {
		return
	}
	name := e.Params["mer_name"]
	if strings.Contains(name, MagicEntryFail) {
		e.Status, e.ErrorType, e.ErrorMsg = "failed", typeAPI, "营业执照认证失败"
		s.notifyLocked(e.NotifyURL, "userEntry.failed", "userEntry", "", obj{"object": "userEntry", "status": "failed",
			"error_type": e.ErrorType, "error_msg": e.ErrorMsg, "prod_mode": s.prodMode(), "request_id": e.RequestID})
		return
	}
	agent := s.accounts[e.Agent]
	sub := &SubMerchant{APIKey: s.newIDLocked("api_live"), TestAPIKey: s.newIDLocked("api_test"), Agent: e.Agent,
		RequestID: e.RequestID, Name: name, Micro: e.Params["entry_mer_type"] == "2", AuditStatus: "W", AuditDesc: "待补充商户证照",
		Card: SettleCard{CardID: e.Params["card_id_mask"], CardName: e.Params["card_name"], BankCode: e.Params["bank_code"],
			BankAcctType: e.Params["bank_acct_type"], ProvCode: e.Params["prov_code"], AreaCode: e.Params["area_code"]}}
	acct := &account{Merchant: Merchant{APIKey: sub.APIKey, Name: name}, agent: e.Agent, sub: sub}
	acct.pub = agent.pub
	if pk := e.Params["rsa_public_key"]; pk != "" {
		if pub, err := ParsePublicKey(pk); err == nil {
			acct.pub = pub
		}
	}
	s.accounts[sub.APIKey] = acct
	app := s.newAppLocked(acct, "test_"+e.Params["usr_phone"])
	acct.AppID = app.AppID
	e.Status = "succeeded"
	e.LiveAPIKey, e.TestAPIKey = sub.APIKey, sub.TestAPIKey
	e.LoginPwd = fmt.Sprintf("Ada%05d", s.seq["api_live"]*7919%100000)
	e.SignViewURL = e.base + "/sim/contract/" + e.RequestID
	data := s.entryResultLocked(e)
	data["object"] = "queryEntryUser"
	data["app_id_list"] = appList(sub.Apps, true)
	s.notifyLocked(e.NotifyURL, "queryEntryUser.succeeded", "queryEntryUser", "", data)
}

func (s *Server) newAppLocked(acct *account, name string) App {
	sub := acct.sub
	now := s.now().UnixMilli()
	s.seq["app_row"]++
	app := App{ID: 49000 + s.seq["app_row"], AppID: s.newIDLocked("app"), AppName: name, Stat: "N",
		MerCustID: fmt.Sprintf("00757575%08d", s.seq["api_live"]), CreTs: now}
	sub.Apps = append(sub.Apps, app)
	s.apps[app.AppID] = acct
	return app
}

// appList renders applications as app_id_list entries (full) or as
// application_list entries (name and id).
func appList(apps []App, full bool) []obj {
	out := make([]obj, 0, len(apps))
	for _, a := range apps {
		o := obj{"app_id": a.AppID, "app_name": a.AppName}
		if full {
			o["id"], o["stat"], o["mer_cust_id"], o["cre_user"], o["upd_user"] = a.ID, a.Stat, a.MerCustID, a.MerCustID, a.MerCustID
			o["cre_ts"], o["upd_ts"], o["remark"] = a.CreTs, a.CreTs, ""
		}
		out = append(out, o)
	}
	return out
}

// entryResultLocked is the answer of 商户开户查询.
func (s *Server) entryResultLocked(e *entry) obj {
	out := obj{"request_id": e.RequestID, "status": e.Status, "prod_mode": s.prodMode()}
	switch e.Status {
	case "succeeded":
		sub := s.accounts[e.LiveAPIKey].sub
		out["live_api_key"], out["test_api_key"], out["login_pwd"] = e.LiveAPIKey, e.TestAPIKey, e.LoginPwd
		out["sign_view_url"] = e.SignViewURL
		out["app_id_list"] = marshal(appList(sub.Apps, true)) // a JSON string, as in the seed's example
	case "failed":
		out["error_type"], out["error_msg"] = e.ErrorType, e.ErrorMsg
	}
	return out
}

func handleEntryQuery(s *Server, c *call) (obj, error) {
	if err := required(c, "request_id"); err != nil {
		return nil, err
	}
	e := s.entries[c.get("request_id")]
	if e == nil || e.Agent != c.acct.APIKey {
		return nil, reqErr(codeNotExist, "请求ID["+c.get("request_id")+"]不存在")
	}
	return s.entryResultLocked(e), nil
}

// subLocked finds the sub-merchant key of the calling agent.
func (s *Server) subLocked(c *call, param string) (*account, error) {
	key := c.get(param)
	if key == "" {
		return nil, paramErr(param, param+"不能为空")
	}
	a := s.accounts[key]
	if a == nil || a.sub == nil || a.agent != c.acct.APIKey {
		return nil, reqErr(codeSubKeyNotExist, "商户["+key+"]不存在")
	}
	return a, nil
}

func handleAppCreate(s *Server, c *call) (obj, error) {
	a, err := s.subLocked(c, "sub_api_key")
	if err != nil {
		return nil, err
	}
	if err := required(c, "app_name"); err != nil {
		return nil, err
	}
	if err := maxLen(c, "app_name", 32); err != nil {
		return nil, err
	}
	for _, app := range a.sub.Apps {
		if app.AppName == c.get("app_name") {
			return nil, reqErr("app_name_repeat", "应用名称["+app.AppName+"]已存在")
		}
	}
	app := s.newAppLocked(a, c.get("app_name"))
	return obj{"app_id": app.AppID, "app_name": app.AppName, "sub_api_key": a.APIKey, "status": "succeeded", "prod_mode": s.prodMode()}, nil
}

func handleAppList(s *Server, c *call) (obj, error) {
	a, err := s.subLocked(c, "sub_api_key")
	if err != nil {
		return nil, err
	}
	return obj{"application_list": appList(a.sub.Apps, false), "sub_api_key": a.APIKey, "status": "succeeded", "prod_mode": s.prodMode()}, nil
}

func handleSettleModify(s *Server, c *call) (obj, error) {
	if fc := c.get("adapay_func_code"); fc != "" && fc != "merchant.modify" {
		return nil, paramErr("adapay_func_code", "接口功能号错误")
	}
	if err := required(c, "order_no", "settle_card_info"); err != nil {
		return nil, err
	}
	a, err := s.subLocked(c, "sub_api_key")
	if err != nil {
		return nil, err
	}
	if !orderRe.MatchString(c.get("order_no")) {
		return nil, paramErr("order_no", "请求订单号只能为英文、数字或者下划线")
	}
	card, ok := decodeObject(c.get("settle_card_info"))
	if !ok {
		return nil, paramErr("settle_card_info", "结算账户信息应为JSON对象")
	}
	for _, f := range []string{"card_id", "bank_code", "bank_acct_type", "prov_code", "area_code"} {
		if card[f] == "" {
			return nil, paramErr("settle_card_info."+f, f+"不能为空")
		}
	}
	switch {
	case card["bank_acct_type"] != "1" && card["bank_acct_type"] != "2":
		return nil, paramErr("settle_card_info.bank_acct_type", "结算银行账户类型只能为1或2")
	case a.sub.Micro && card["bank_acct_type"] != "2":
		return nil, paramErr("settle_card_info.bank_acct_type", "小微商户结算账户只能是对私")
	case !code4Re.MatchString(card["prov_code"]) || !code4Re.MatchString(card["area_code"]):
		return nil, paramErr("settle_card_info.prov_code", "省份/地区应为四位编码")
	}
	if err := checkNotifyURL(c.get("notify_url")); err != nil {
		return nil, err
	}
	key := c.acct.APIKey + "\x00" + c.get("order_no")
	if _, dup := s.settles[key]; dup {
		return nil, reqErr(codeOrderRepeat, "请求订单号["+c.get("order_no")+"]重复")
	}
	ch := &SettleChange{OrderNo: c.get("order_no"), SubAPIKey: a.APIKey, Status: "pending", NotifyURL: c.get("notify_url"), CreatedAt: s.now(),
		Card: SettleCard{CardID: card["card_id"], CardName: a.sub.Card.CardName, BankCode: card["bank_code"], BankAcctType: card["bank_acct_type"],
			ProvCode: card["prov_code"], AreaCode: card["area_code"]}}
	s.settles[key] = ch
	s.stepLocked("settle "+ch.OrderNo, s.cfg.Delays.Settle, func() {
		if ch.Status != "pending" {
			return
		}
		ch.Status = "succeeded"
		if strings.Contains(a.sub.Name, MagicSettleFail) {
			ch.Status = "failed"
		} else {
			a.sub.Card = ch.Card
		}
		s.notifyLocked(ch.NotifyURL, "merchant.modify."+ch.Status, "merchant_modify", "",
			obj{"object": "merchant_modify", "status": ch.Status, "prod_mode": s.prodMode(), "order_no": ch.OrderNo})
	})
	return obj{"object": "merchant_modify", "order_no": ch.OrderNo, "prod_mode": s.prodMode(), "status": "pending", "sub_api_key": a.APIKey}, nil
}
