package sim

import (
	"bytes"
	"strings"
	"time"
)

// Picture is an uploaded merchant document (上传商户证照).
type Picture struct {
	PicID     string
	SubAPIKey string
	FileType  string // 01 … 19
	FileName  string
	Size      int
	CreatedAt time.Time
}

// picFields are the pic_id fields of 提交商户证照 and the file types each
// accepts.
var picFields = map[string][]string{
	"socialCreditCodeId":          {"01"},
	"legalCertIdFrontId":          {"02"},
	"legalCertIdBackId":           {"03"},
	"accountOpeningPermitId":      {"05"},
	"storeId":                     {"04", "15", "16"},
	"transactionTestRecordId":     {"13"},
	"webPicId":                    {"09"},
	"leaseContractId":             {"12"},
	"settleAccountCertificateId":  {"08"},
	"bussSupportMaterialsId":      {"14"},
	"icpRegistrationLicenseId":    {"11"},
	"industryQualifyDocLicenseId": {"10"},
}

func imageKind(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) || bytes.HasPrefix(b, []byte("\x89PNG")) || bytes.HasPrefix(b, []byte("BM"))
}

func handlePictureUpload(s *Server, c *call) (obj, error) {
	a, err := s.subLocked(c, "sub_api_key")
	if err != nil {
		return nil, err
	}
	ft := c.get("file_type")
	if len(ft) != 2 || ft < "01" || ft > "19" {
		return nil, paramErr("file_type", "图片类型只能为01-19")
	}
	if c.file == nil {
		return nil, paramErr("file", "file不能为空")
	}
	if int64(len(c.file)) > s.cfg.MaxUpload {
		return nil, paramErr("file", "图片大小不能超过2M")
	}
	if strings.ContainsAny(c.fname, `/\:*?"<>`) {
		return nil, paramErr("file", "文件名中不能使用字符/、\\、:、*、?、\"、<、>")
	}
	ext := strings.ToLower(c.fname[strings.LastIndexByte(c.fname, '.')+1:])
	if (ext != "jpg" && ext != "jpeg" && ext != "png" && ext != "bmp") || !imageKind(c.file) {
		return nil, paramErr("file", "图片必须为JPG/PNG/JPEG/BMP格式")
	}
	p := &Picture{PicID: s.newIDLocked("pic"), SubAPIKey: a.APIKey, FileType: ft, FileName: c.fname, Size: len(c.file), CreatedAt: s.now()}
	s.pictures[p.PicID] = p
	return obj{"file_type": ft, "pic_id": p.PicID, "sub_api_key": a.APIKey, "status": "succeeded", "prod_mode": s.prodMode()}, nil
}

// checkPicLocked refuses a pic_id that is unknown, of another merchant or of
// a file type the field does not take.
func (s *Server) checkPicLocked(sub, field, id string, types []string) error {
	p := s.pictures[id]
	if p == nil || p.SubAPIKey != sub {
		return &apiError{status: 400, code: codePicNotExist, msg: "图片[" + id + "]不存在", typ: typeInvalidRequest, param: field}
	}
	for _, t := range types {
		if p.FileType == t {
			return nil
		}
	}
	return paramErr(field, field+"的图片类型应为"+strings.Join(types, "/"))
}

func handleAuditSubmit(s *Server, c *call) (obj, error) {
	a, err := s.subLocked(c, "subApiKey")
	if err != nil {
		return nil, err
	}
	sub := a.sub
	if err := required(c, "legalCertIdFrontId", "legalCertIdBackId", "accountOpeningPermitId"); err != nil {
		return nil, err
	}
	switch {
	case !sub.Micro && c.get("socialCreditCodeId") == "":
		return nil, paramErr("socialCreditCodeId", "企业商户统一社会信用代码必填")
	case sub.Micro && c.get("socialCreditCodeId") != "":
		return nil, paramErr("socialCreditCodeId", "小微商户不填统一社会信用代码")
	case c.get("businessAdd") == "" && c.get("storeId") == "":
		return nil, paramErr("businessAdd", "线上商户须填业务网址, 线下商户须上传门店照片")
	}
	if t := c.get("industryQualifyDocType"); t != "" && (len(t) != 1 || t < "1" || t > "4") {
		return nil, paramErr("industryQualifyDocType", "行业资质文件类型只能为1-4")
	}
	for field, types := range picFields {
		for _, id := range strings.Split(c.get(field), "|") {
			if id == "" {
				continue
			}
			if err := s.checkPicLocked(a.APIKey, field, id, types); err != nil {
				return nil, err
			}
		}
	}
	if list := c.get("shareholderInfoList"); list != "" {
		var holders []map[string]any
		if err := jsonUnmarshal(list, &holders); err != nil {
			return nil, paramErr("shareholderInfoList", "股东信息应为JSON数组")
		}
		for _, h := range holders {
			for f, t := range map[string]string{"certFrontImageId": "06", "certBackImageId": "07"} {
				id, _ := h[f].(string)
				if err := s.checkPicLocked(a.APIKey, "shareholderInfoList."+f, id, []string{t}); err != nil {
					return nil, err
				}
			}
			if id, _ := h["certId"].(string); id == "" || strings.ContainsRune(id, 'x') {
				return nil, paramErr("shareholderInfoList.certId", "身份证号不能为空(字母X大写)")
			}
		}
	}
	switch sub.AuditStatus {
	case "I":
		return nil, reqErr(codeStatus, "商户证照审核中, 请勿重复提交")
	case "P":
		return nil, reqErr(codeStatus, "商户证照已审核通过")
	}
	sub.AuditStatus, sub.AuditDesc = "I", ""
	sub.Audit = withoutPathID(c.params)
	s.stepLocked("audit "+a.APIKey, s.cfg.Delays.Audit, func() {
		if sub.AuditStatus != "I" {
			return
		}
		switch {
		case strings.Contains(sub.Name, MagicAuditR):
			sub.AuditStatus, sub.AuditDesc = "R", "营业执照与商户名称不符"
		case strings.Contains(sub.Name, MagicAuditW):
			sub.AuditStatus, sub.AuditDesc = "W", "门店照片无法体现经营内容, 请补充租赁合同"
		default:
			sub.AuditStatus = "P"
		}
	})
	return obj{"sub_api_key": a.APIKey, "audit_status": "I", "prod_mode": s.prodMode()}, nil
}

func handleAuditQuery(s *Server, c *call) (obj, error) {
	a, err := s.subLocked(c, "subApiKey")
	if err != nil {
		return nil, err
	}
	out := obj{"sub_api_key": a.APIKey, "audit_status": a.sub.AuditStatus, "prod_mode": s.prodMode()}
	if a.sub.AuditDesc != "" {
		out["audit_desc"] = a.sub.AuditDesc
	}
	return out, nil
}
