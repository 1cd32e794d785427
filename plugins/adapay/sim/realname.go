package sim

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Real-name application states (applement_stat) and authorisation states
// (authorize_stat), as Adapay words them.
const (
	ApplyReviewing      = "审核中"
	ApplyWaitContact    = "待联系人确认"
	ApplyWaitLegal      = "待法人确认"
	ApplyApproved       = "审核通过"
	ApplyRejected       = "审核失败"
	AuthorizeNone       = "未授权"
	AuthorizeAuthorized = "已授权"
)

// RealNameWallet is one wallet's real-name application.
type RealNameWallet struct {
	Type          string // W 微信, A 支付宝
	ApplyStat     string
	AuthorizeStat string
	QRCode        string
	FailReason    string
}

// RealName is a 实名认证申请.
type RealName struct {
	RequestID   string
	SubAPIKey   string
	Type        string // A, W or ALL
	ContactType string // LEGAL or SUPER
	Wallets     []RealNameWallet
	Params      map[string]string
	NotifyURL   string
	CreatedAt   time.Time
}

type realName struct {
	RealName
	base string
}

var microBizTypes = map[string]bool{"MICRO_TYPE_STORE": true, "MICRO_TYPE_MOBILE": true, "MICRO_TYPE_ONLINE": true}

func handleRealNameApply(s *Server, c *call) (obj, error) {
	if err := required(c, "request_id", "real_name_type", "contact_type", "contact_person_info"); err != nil {
		return nil, err
	}
	if err := maxLen(c, "request_id", 64); err != nil {
		return nil, err
	}
	a, err := s.subLocked(c, "sub_api_key")
	if err != nil {
		return nil, err
	}
	typ, ct := c.get("real_name_type"), c.get("contact_type")
	var wallets []string
	switch typ {
	case "A":
		wallets = []string{"A"}
	case "W":
		wallets = []string{"W"}
	case "ALL":
		wallets = []string{"W", "A"}
	default:
		return nil, paramErr("real_name_type", "实名认证申请类型只能为A、W或ALL")
	}
	if ct != "LEGAL" && ct != "SUPER" {
		return nil, paramErr("contact_type", "联系人类型只能为LEGAL或SUPER")
	}
	if a.sub.Micro && ct != "LEGAL" {
		return nil, paramErr("contact_type", "小微商户只能选择法人")
	}
	pics := func(param string, m map[string]string, fields map[string]string, need ...string) error {
		for _, f := range need {
			if m[f] == "" {
				return paramErr(param+"."+f, f+"不能为空")
			}
		}
		for f, t := range fields {
			if m[f] != "" {
				if err := s.checkPicLocked(a.APIKey, param+"."+f, m[f], []string{t}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	contact, ok := decodeObject(c.get("contact_person_info"))
	if !ok {
		return nil, paramErr("contact_person_info", "联系人信息应为JSON对象")
	}
	need := []string{"id_card_number", "contact_period_begin", "contact_period_end", "contact_id_doc_copy", "contact_id_doc_copy_back"}
	if ct == "SUPER" {
		need = append(need, "business_authorization_letter")
	}
	if err := pics("contact_person_info", contact, map[string]string{"contact_id_doc_copy": "17", "contact_id_doc_copy_back": "18",
		"business_authorization_letter": "19"}, need...); err != nil {
		return nil, err
	}
	for _, f := range []string{"contact_period_begin", "contact_period_end"} {
		if !validDate(contact[f]) {
			return nil, paramErr("contact_person_info."+f, f+"格式应为yyyymmdd")
		}
	}
	if text := c.get("legal_person_info"); text != "" || !a.sub.Micro {
		legal, ok := decodeObject(text)
		if !ok {
			return nil, paramErr("legal_person_info", "法人信息应为JSON对象")
		}
		need := []string{"legal_id_doc_copy", "legal_id_doc_copy_back"}
		if !a.sub.Micro {
			need = append(need, "licence_copy", "legal_address")
		}
		if err := pics("legal_person_info", legal, map[string]string{"legal_id_doc_copy": "02", "legal_id_doc_copy_back": "03",
			"licence_copy": "01"}, need...); err != nil {
			return nil, err
		}
	}
	if a.sub.Micro {
		support, ok := decodeObject(c.get("support_credentials"))
		if !ok {
			return nil, paramErr("support_credentials", "小微商户辅助证明材料信息必填")
		}
		biz := support["micro_biz_type"]
		if !microBizTypes[biz] || (biz == "MICRO_TYPE_ONLINE" && typ != "W") {
			return nil, paramErr("support_credentials.micro_biz_type", "小微经营类型错误")
		}
		if err := pics("support_credentials", support, map[string]string{"store_door_img": "15", "store_inner_img": "16"},
			"store_door_img", "store_inner_img"); err != nil {
			return nil, err
		}
	}
	if err := checkNotifyURL(c.get("notify_url")); err != nil {
		return nil, err
	}
	id := c.get("request_id")
	if _, dup := s.realnames[id]; dup {
		return nil, reqErr(codeRequestRepeat, "请求流水号["+id+"]重复")
	}
	rn := &realName{RealName: RealName{RequestID: id, SubAPIKey: a.APIKey, Type: typ, ContactType: ct, Params: withoutPathID(c.params),
		NotifyURL: c.get("notify_url"), CreatedAt: s.now()}, base: s.publicBase(c.r)}
	for _, w := range wallets {
		rn.Wallets = append(rn.Wallets, RealNameWallet{Type: w, ApplyStat: ApplyReviewing, AuthorizeStat: AuthorizeNone})
	}
	s.realnames[id] = rn
	s.stepLocked("realname review "+id, s.cfg.Delays.RealName, func() { s.realNameReviewedLocked(rn, a.sub) })
	out := obj{"request_id": id, "prod_mode": s.prodMode()}
	for _, w := range wallets {
		out[map[string]string{"W": "wx_status", "A": "ali_status"}[w]] = "pending"
	}
	return out, nil
}

// realNameReviewedLocked moves every wallet under review to waiting for the
// contact's (or legal person's) confirmation, with a QR code to scan.
func (s *Server) realNameReviewedLocked(rn *realName, sub *SubMerchant) {
	wait := ApplyWaitContact
	if rn.ContactType == "LEGAL" {
		wait = ApplyWaitLegal
	}
	for i := range rn.Wallets {
		w := &rn.Wallets[i]
		if w.ApplyStat == ApplyReviewing {
			w.ApplyStat = wait
			w.QRCode = rn.base + "/sim/realname/" + rn.RequestID + "/" + w.Type
		}
	}
	s.stepLocked("realname confirm "+rn.RequestID, s.cfg.Delays.RealName, func() {
		for i := range rn.Wallets {
			s.realNameConfirmLocked(rn, sub, i)
		}
	})
}

// realNameConfirmLocked ends wallet i after its QR code was scanned:
// approved and authorised, or (magic) refused; the result is notified.
func (s *Server) realNameConfirmLocked(rn *realName, sub *SubMerchant, i int) bool {
	w := &rn.Wallets[i]
	if w.ApplyStat != ApplyWaitContact && w.ApplyStat != ApplyWaitLegal {
		return false
	}
	status := "succeeded"
	if strings.Contains(sub.Name, MagicRealNameFail) {
		w.ApplyStat, w.FailReason, status = ApplyRejected, "联系人身份证信息与证件照片不一致", "failed"
	} else {
		w.ApplyStat, w.AuthorizeStat = ApplyApproved, AuthorizeAuthorized
	}
	w.QRCode = ""
	data := obj{"request_id": rn.RequestID, "status": status, "real_name_type": w.Type, "prod_mode": s.prodMode(), "sub_api_key": rn.SubAPIKey}
	if status == "failed" {
		data["error_type"], data["error_code"], data["error_msg"] = typeAPI, "realname_failed", w.FailReason
	}
	s.notifyLocked(rn.NotifyURL, "realname."+status, "realname", "", data)
	return true
}

func handleRealNameQuery(s *Server, c *call) (obj, error) {
	if err := required(c, "request_id"); err != nil {
		return nil, err
	}
	a, err := s.subLocked(c, "sub_api_key")
	if err != nil {
		return nil, err
	}
	rn := s.realnames[c.get("request_id")]
	if rn == nil || rn.SubAPIKey != a.APIKey {
		return nil, reqErr(codeNotExist, "请求流水号["+c.get("request_id")+"]不存在")
	}
	list := make([]obj, 0, len(rn.Wallets))
	for _, w := range rn.Wallets {
		o := obj{"real_name_type": w.Type, "applement_stat": w.ApplyStat, "authorize_stat": w.AuthorizeStat}
		if w.QRCode != "" {
			o["qrcode_data"] = w.QRCode
		}
		if w.FailReason != "" {
			o["fail_reason"] = w.FailReason
		}
		list = append(list, o)
	}
	return obj{"request_id": rn.RequestID, "prod_mode": s.prodMode(), "real_name_result": marshal(list)}, nil
}

// serveRealNameScan is the merchant's contact scanning a real-name QR code
// and confirming: GET /sim/realname/{request_id}/{W|A}.
func (s *Server) serveRealNameScan(w http.ResponseWriter, r *http.Request) {
	id, wallet, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/sim/realname/"), "/")
	err := s.ScanRealNameQR(id, wallet)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, "<!doctype html><meta charset=utf-8><p>确认失败: "+htmlEscape(err.Error())+"</p>")
		return
	}
	_, _ = io.WriteString(w, "<!doctype html><meta charset=utf-8><p>已确认实名认证: "+htmlEscape(id)+"</p>")
}

// ScanRealNameQR confirms wallet (W or A) of real-name application
// requestID as its contact would by scanning the QR code.
func (s *Server) ScanRealNameQR(requestID, wallet string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.realnames[requestID]
	if rn == nil {
		return fmt.Errorf("real-name application %q not found", requestID)
	}
	for i := range rn.Wallets {
		if rn.Wallets[i].Type == wallet {
			if !s.realNameConfirmLocked(rn, s.accounts[rn.SubAPIKey].sub, i) {
				return fmt.Errorf("wallet %s of %s is not waiting for confirmation", wallet, requestID)
			}
			return nil
		}
	}
	return fmt.Errorf("real-name application %q has no wallet %q", requestID, wallet)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}
