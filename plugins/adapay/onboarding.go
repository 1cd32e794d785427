package adapay

import (
	"context"
	"strings"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// Paths of the onboarding calls (Adapay's merchant SDK, adapay_merchant).
const (
	pathUserEntry   = "/v1/batchEntrys/userEntry"
	pathApplication = "/v1/batchEntrys/application"
	pathModify      = "/v1/merchant/modify"
	pathMerConf     = "/v1/batchInput/merConf"
	pathResidentMod = "/v1/batchInput/merResidentModify"
	pathPicture     = "/v1/merProfile/merProfilePicture"
	pathAudit       = "/v1/merProfile/merProfileForAudit"
	pathAuditStatus = "/v1/merProfile/merProfile"
)

// ProviderData keys of a merchant application.
const (
	pdRequestID = "request_id"
	pdStage     = "stage" // "entry" (开户进件) or "audit" (documents submitted)
)

func invalid(param, msg string) error {
	return &core.Error{Code: core.CodeInvalidRequest, Param: param, Message: msg}
}

// entryType maps the applicant's kind to entry_mer_type: 1 enterprise
// (individual businesses have a licence too), 2 micro.
func entryType(k core.MerchantKind) (string, error) {
	switch k {
	case core.MerchantEnterprise, core.MerchantIndividual:
		return "1", nil
	case core.MerchantMicro:
		return "2", nil
	}
	return "", &core.Error{Code: core.CodeUnsupported, Param: "application.kind", Provider: Name,
		Message: "Adapay opens enterprises (with a licence) and micro merchants"}
}

// acctType maps a bank account type to bank_acct_type: 1 corporate, 2 personal.
func acctType(t, param string) (string, error) {
	switch t {
	case "corporate", "1":
		return "1", nil
	case "personal", "2":
		return "2", nil
	}
	return "", invalid(param, "account type must be corporate or personal")
}

// ymd renders a canonical date (YYYYMMDD, or "forever") as Adapay's; long
// term validity is 20991231.
func ymd(s string) string {
	if s == "forever" {
		return "20991231"
	}
	return strings.ReplaceAll(s, "-", "")
}

// feeRateList renders fee_rate_list: rates in parts per million as decimal
// strings, computed with integers.
func feeRateList(rates []core.FeeRate) (string, error) {
	items := make([][]byte, 0, len(rates))
	for _, r := range rates {
		if r.Channel == "" || r.RatePPM < 0 || r.RatePPM >= core.PPM {
			return "", invalid("application.fee_rates", "each fee rate needs a channel and a rate in [0, 1)")
		}
		items = append(items, (&jsonBody{}).str("rate_channel", r.Channel).str("fee_rate", core.FormatRatio(r.RatePPM)).bytes())
	}
	return string(jsonArray(items)), nil
}

// ApplyMerchant implements pdk.MerchantApplier with 开户进件 (POST
// /v1/batchEntrys/userEntry). The application is accepted pending; its
// result comes by queryEntryUser.succeeded / userEntry.failed, or by query.
func (*Plugin) ApplyMerchant(ctx context.Context, h pdk.Host, req *core.ApplyMerchantRequest) (*core.ApplyMerchantResponse, error) {
	a := &req.Application
	if req.ApplicationID == "" {
		return nil, invalid("application_id", "application_id is required (it is the request_id)")
	}
	kind, err := entryType(a.Kind)
	if err != nil {
		return nil, err
	}
	bankType, err := acctType(a.Settlement.Type, "application.settlement.type")
	if err != nil {
		return nil, err
	}
	if len(a.FeeRates) == 0 {
		return nil, invalid("application.fee_rates", "Adapay needs the fee rate of each channel")
	}
	rates, err := feeRateList(a.FeeRates)
	if err != nil {
		return nil, err
	}
	legalType := ""
	switch a.Legal.IDType {
	case "", "id_card", "0":
		legalType = "0"
	default:
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "application.legal.id_type", Provider: Name, Message: "Adapay takes an ID card (身份证) only"}
	}
	body := (&jsonBody{}).
		str("request_id", req.ApplicationID).
		str("usr_phone", firstOf(a.Extra["usr_phone"], a.Contact.Mobile)).
		str("cont_name", a.Contact.Name).
		str("cont_phone", a.Contact.Mobile).
		str("customer_email", a.Contact.Email).
		str("mer_name", a.Name).
		str("mer_short_name", a.ShortName).
		str("license_code", a.License.Code).
		str("reg_addr", a.RegisteredAddress).
		str("cust_addr", a.BusinessAddress).
		str("cust_tel", a.Phone).
		str("mer_start_valid_date", ymd(a.License.Start)).
		str("mer_valid_date", ymd(a.License.End)).
		str("legal_name", a.Legal.Name).
		str("legal_type", legalType).
		str("legal_idno", a.Legal.IDNumber).
		str("legal_mp", a.Legal.Mobile).
		str("legal_start_cert_id_expires", ymd(a.Legal.IDStart)).
		str("legal_id_expires", ymd(a.Legal.IDEnd)).
		str("card_id_mask", a.Settlement.Number).
		str("bank_code", a.Settlement.BankCode).
		str("card_name", a.Settlement.Name).
		str("bank_acct_type", bankType).
		str("prov_code", a.Settlement.Province).
		str("area_code", a.Settlement.Area).
		str("rsa_public_key", a.Extra["rsa_public_key"]).
		str("fee_rate_list", rates).
		str("entry_mer_type", kind).
		str("notify_url", req.NotifyURL).
		str("mer_level", a.Extra["mer_level"])
	data, err := call(ctx, h, &request{method: "POST", path: pathUserEntry, body: body, mutating: true})
	if err != nil {
		return nil, err
	}
	res := entryResult(data, req.ApplicationID)
	if data.Get("status") == "pending" {
		res.Status = core.OnboardingSubmitted
	}
	return &core.ApplyMerchantResponse{Result: res}, nil
}

// entryResult maps 开户进件 and 商户开户查询 answers (and the entry events'
// data): pending → reviewing, succeeded → approved with the live API key as
// ProviderID and the issued identifiers, failed → rejected. login_pwd (the
// initial console password) is dropped.
func entryResult(data pdk.Fields, applicationID string) core.MerchantResult {
	res := core.MerchantResult{ApplicationID: firstOf(data.Get("request_id"), applicationID),
		ProviderData: map[string]string{pdRequestID: firstOf(data.Get("request_id"), applicationID), pdStage: "entry"}}
	switch data.Get("status") {
	case "succeeded":
		res.Status = core.OnboardingApproved
		res.ProviderID = data.Get("live_api_key")
		res.Issued = map[string]string{}
		for _, k := range []string{"test_api_key", "sign_view_url"} {
			if v := data.Get(k); v != "" {
				res.Issued[k] = v
			}
		}
		if ids := appIDs(data.Get("app_id_list")); ids != "" {
			res.Issued["app_ids"] = ids
		}
	case "failed":
		res.Status = core.OnboardingRejected
		res.FailureCode = firstOf(data.Get("error_code"), data.Get("error_type"))
		res.FailureMessage = data.Get("error_msg")
		res.Message = res.FailureMessage
	default:
		res.Status = core.OnboardingReviewing
	}
	return res
}

// appIDs returns the app_id values of app_id_list (a JSON array, or a string
// holding one), comma-separated.
func appIDs(list string) string {
	apps, err := pdk.ParseObjects([]byte(list))
	if err != nil {
		return ""
	}
	ids := make([]string, 0, len(apps))
	for _, a := range apps {
		if id := a.Get("app_id"); id != "" {
			ids = append(ids, id)
		}
	}
	return strings.Join(ids, ",")
}

// QueryMerchant implements pdk.MerchantQuerier. Before the documents are
// submitted it is 商户开户查询 (GET /v1/batchEntrys/userEntry); once
// ProviderData says they were (stage "audit"), it is 查询商户审核状态 (GET
// /v1/merProfile/merProfile): W → needs_info, I → reviewing, P → approved,
// R → rejected.
func (*Plugin) QueryMerchant(ctx context.Context, h pdk.Host, req *core.QueryMerchantRequest) (*core.QueryMerchantResponse, error) {
	if req.ProviderData[pdStage] == "audit" {
		if req.ProviderID == "" {
			return nil, invalid("provider_id", "the merchant's API key is required to read its document review")
		}
		data, err := call(ctx, h, &request{method: "GET", path: pathAuditStatus, query: pdk.Pairs("subApiKey", req.ProviderID)})
		if err != nil {
			return nil, err
		}
		return &core.QueryMerchantResponse{Result: auditResult(data, req.ApplicationID, req.ProviderID)}, nil
	}
	id := firstOf(req.ProviderData[pdRequestID], req.ApplicationID)
	if id == "" {
		return nil, invalid("application_id", "application_id is required")
	}
	data, err := call(ctx, h, &request{method: "GET", path: pathUserEntry, query: pdk.Pairs("request_id", id)})
	if err != nil {
		return nil, err
	}
	return &core.QueryMerchantResponse{Result: entryResult(data, req.ApplicationID)}, nil
}

// auditResult maps audit_status.
func auditResult(data pdk.Fields, applicationID, providerID string) core.MerchantResult {
	res := core.MerchantResult{ApplicationID: applicationID, ProviderID: firstOf(data.Get("sub_api_key"), providerID),
		Message: data.Get("audit_desc"), ProviderData: map[string]string{pdStage: "audit", "audit_status": data.Get("audit_status")}}
	if applicationID != "" {
		res.ProviderData[pdRequestID] = applicationID
	}
	switch data.Get("audit_status") {
	case "W":
		res.Status = core.OnboardingNeedsInfo
	case "P":
		res.Status = core.OnboardingApproved
	case "R":
		res.Status = core.OnboardingRejected
		res.FailureCode, res.FailureMessage = "R", data.Get("audit_desc")
	default: // I
		res.Status = core.OnboardingReviewing
	}
	return res
}

// documentTypes maps canonical document types to Adapay's file_type.
var documentTypes = map[string]string{
	"license":              "01",
	"legal_id_front":       "02",
	"legal_id_back":        "03",
	"store":                "04",
	"account_permit":       "05",
	"bank_card_front":      "05",
	"shareholder_id_front": "06",
	"shareholder_id_back":  "07",
	"settlement_proof":     "08",
	"website":              "09",
	"industry_license":     "10",
	"icp":                  "11",
	"lease":                "12",
	"test_record":          "13",
	"business_proof":       "14",
	"store_front":          "15",
	"store_inside":         "16",
	"contact_id_front":     "17",
	"contact_id_back":      "18",
	"authorization_letter": "19",
}

// maxPicture is Adapay's limit on an uploaded picture.
const maxPicture = 2 << 20

// UploadDocument implements pdk.DocumentUploader with 上传商户证照 (multipart
// POST /v1/merProfile/merProfilePicture): one picture per call; pic_id is
// the DocumentID that 提交商户证照 and 实名认证 reference.
func (*Plugin) UploadDocument(ctx context.Context, h pdk.Host, req *core.UploadDocumentRequest) (*core.UploadDocumentResponse, error) {
	fileType, ok := documentTypes[req.Type]
	if !ok {
		if len(req.Type) == 2 && req.Type >= "01" && req.Type <= "19" {
			fileType = req.Type
		} else {
			return nil, &core.Error{Code: core.CodeUnsupported, Param: "type", Provider: Name, Message: "Adapay has no document type " + req.Type}
		}
	}
	switch {
	case req.ProviderID == "":
		return nil, invalid("provider_id", "the merchant's API key (sub_api_key) is required")
	case len(req.Content) == 0:
		return nil, invalid("content", "the picture is empty")
	case len(req.Content) > maxPicture:
		return nil, invalid("content", "Adapay takes pictures of at most 2 MiB")
	case req.FileName == "" || strings.ContainsAny(req.FileName, `/\:*?"<>`):
		return nil, invalid("file_name", `a file name without / \ : * ? " < > is required`)
	}
	data, err := call(ctx, h, &request{method: "POST", path: pathPicture, mutating: true,
		form: pdk.Pairs("sub_api_key", req.ProviderID, "file_type", fileType),
		file: &filePart{field: "file", name: req.FileName, contentType: req.ContentType, content: req.Content}})
	if err != nil {
		return nil, err
	}
	if data.Get("pic_id") == "" {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "merProfilePicture answered without a pic_id"}
	}
	return &core.UploadDocumentResponse{DocumentID: data.Get("pic_id"), Type: req.Type}, nil
}

// auditFields maps canonical document types to the pic_id fields of
// 提交商户证照. Adapay's own field names are accepted as keys too.
var auditFields = map[string]string{
	"license":          "socialCreditCodeId",
	"legal_id_front":   "legalCertIdFrontId",
	"legal_id_back":    "legalCertIdBackId",
	"account_permit":   "accountOpeningPermitId",
	"bank_card_front":  "accountOpeningPermitId",
	"store":            "storeId",
	"test_record":      "transactionTestRecordId",
	"website":          "webPicId",
	"lease":            "leaseContractId",
	"settlement_proof": "settleAccountCertificateId",
	"business_proof":   "bussSupportMaterialsId",
	"icp":              "icpRegistrationLicenseId",
	"industry_license": "industryQualifyDocLicenseId",
}

var auditFieldNames = func() map[string]bool {
	m := map[string]bool{}
	for _, v := range auditFields {
		m[v] = true
	}
	return m
}()

// SubmitMerchant implements pdk.MerchantSubmitter with 提交商户证照 (POST
// /v1/merProfile/merProfileForAudit). Several store pictures are joined by
// "|" (give them so in Documents["store"]). businessAdd, testAccount,
// testPwd, industryQualifyDocType and shareholderInfoList (JSON) come from
// Extra. The result is reviewing (audit_status I); QueryMerchant then reads
// the review.
func (*Plugin) SubmitMerchant(ctx context.Context, h pdk.Host, req *core.SubmitMerchantRequest) (*core.SubmitMerchantResponse, error) {
	if req.ProviderID == "" {
		return nil, invalid("provider_id", "the merchant's API key (subApiKey) is required")
	}
	var fields pdk.Fields
	for typ, id := range req.Documents {
		field, ok := auditFields[typ]
		if !ok && auditFieldNames[typ] {
			field, ok = typ, true
		}
		if !ok {
			return nil, &core.Error{Code: core.CodeUnsupported, Param: "documents", Provider: Name, Message: "提交商户证照 takes no document " + typ}
		}
		if prev := fields.Get(field); prev != "" {
			id = prev + "|" + id
		}
		fields.Set(field, id)
	}
	fields.Sort()
	body := (&jsonBody{}).str("subApiKey", req.ProviderID)
	for _, f := range fields {
		body.str(f.Key, f.Value)
	}
	for _, k := range []string{"businessAdd", "testAccount", "testPwd", "industryQualifyDocType"} {
		body.str(k, req.Extra[k])
	}
	if list := req.Extra["shareholderInfoList"]; list != "" {
		if _, err := pdk.ParseObjects([]byte(list)); err != nil {
			return nil, invalid("extra.shareholderInfoList", "shareholderInfoList must be a JSON array of objects")
		}
		body.raw("shareholderInfoList", []byte(list))
	}
	data, err := call(ctx, h, &request{method: "POST", path: pathAudit, body: body, mutating: true})
	if err != nil {
		return nil, err
	}
	if data.Get("audit_status") == "" {
		data.Set("audit_status", "I")
	}
	return &core.SubmitMerchantResponse{Result: auditResult(data, req.ApplicationID, req.ProviderID)}, nil
}

// SetSettlementAccount implements pdk.SettlementAccountSetter with
// 修改结算账户信息 (adapay_func_code merchant.modify, POST
// /v1/merchant/modify). Adapay answers pending; the result comes by
// merchant.modify.succeeded / merchant.modify.failed.
func (*Plugin) SetSettlementAccount(ctx context.Context, h pdk.Host, req *core.SetSettlementAccountRequest) (*core.SetSettlementAccountResponse, error) {
	switch {
	case req.UserID != "" && req.UserID != "0":
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "user_id", Provider: Name,
			Message: "members' cards (/v1/settle_accounts) are not offered by this plugin; the merchant's card is changed with merchant.modify"}
	case req.RequestID == "":
		return nil, invalid("request_id", "request_id is required (it is the order_no)")
	case req.ProviderID == "":
		return nil, invalid("provider_id", "the merchant's API key (sub_api_key) is required")
	}
	bankType, err := acctType(req.Account.Type, "account.type")
	if err != nil {
		return nil, err
	}
	card := (&jsonBody{}).
		str("card_id", req.Account.Number).
		str("bank_code", req.Account.BankCode).
		str("bank_acct_type", bankType).
		str("prov_code", req.Account.Province).
		str("area_code", req.Account.Area).bytes()
	body := (&jsonBody{}).
		str("adapay_func_code", "merchant.modify").
		str("order_no", req.RequestID).
		str("sub_api_key", req.ProviderID).
		str("settle_card_info", string(card)).
		str("notify_url", req.NotifyURL)
	data, err := call(ctx, h, &request{method: "POST", path: pathModify, body: body, mutating: true})
	if err != nil {
		return nil, err
	}
	resp := &core.SetSettlementAccountResponse{Status: onboardingStatus(data.Get("status")), Message: data.Get("error_msg")}
	if resp.Status == core.OnboardingReviewing {
		resp.Status = core.OnboardingSubmitted
	}
	return resp, nil
}

// onboardingStatus maps an onboarding call's status.
func onboardingStatus(s string) core.OnboardingStatus {
	switch s {
	case "succeeded", "successed":
		return core.OnboardingApproved
	case "failed":
		return core.OnboardingRejected
	}
	return core.OnboardingReviewing
}
