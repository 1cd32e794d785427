package haotian

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// relationTypes are the seed's 分账关系类型 (plus OTHERS, used by its own example).
var relationTypes = map[string]bool{"SERVICE_PROVIDER": true, "STORE": true, "STAFF": true, "STORE_OWNER": true,
	"PARTNER": true, "HEADQUARTER": true, "BRAND": true, "DISTRIBUTOR": true, "USER": true, "SUPPLIER": true,
	"CUSTOM": true, "OTHERS": true}

func ifCodeOf(channel string) (string, error) {
	switch channel {
	case "wxpay", "wechat":
		return "wxpay", nil
	case "alipay":
		return "alipay", nil
	}
	return "", &core.Error{Code: core.CodeUnsupported, Param: "receiver.channel", Provider: Name,
		Message: "split receivers are bound in wxpay (wechat) or alipay"}
}

// BindReceiver implements pdk.ReceiverBinder with /api/division/receiver/bind.
func (*Plugin) BindReceiver(ctx context.Context, h pdk.Host, req *core.BindReceiverRequest) (*core.BindReceiverResponse, error) {
	r := req.Receiver
	ifCode, err := ifCodeOf(r.Channel)
	if err != nil {
		return nil, err
	}
	accType := "0"
	switch r.Kind {
	case "", "personal":
	case "business":
		accType = "1"
	default:
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "receiver.kind", Message: "kind is personal or business"}
	}
	switch {
	case r.GroupID == "":
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "receiver.group_id", Message: "the gateway binds receivers into a group"}
	case r.AccountNo == "":
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "receiver.account_no", Message: "account_no is required"}
	case r.RatioPPM <= 0 || r.RatioPPM > core.PPM:
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "receiver.ratio_ppm", Message: "a default ratio in (0, 1] is required"}
	case !relationTypes[r.Relation]:
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "receiver.relation", Message: "relation must be one of the gateway's relation types"}
	case (r.Relation == "CUSTOM" || r.Relation == "OTHERS") && r.RelationName == "":
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "receiver.relation_name", Message: r.Relation + " needs a relation name"}
	}
	data, err := call(ctx, h, "/api/division/receiver/bind", pdk.Pairs(
		"ifCode", ifCode,
		"receiverAlias", firstOf(r.Name, r.ID),
		"receiverGroupId", r.GroupID,
		"accType", accType,
		"accNo", r.AccountNo,
		"accName", r.AccountName,
		"relationType", r.Relation,
		"relationTypeName", r.RelationName,
		"channelExtInfo", req.Extra["channelExtInfo"],
		"divisionProfit", core.FormatRatio(r.RatioPPM),
	), true)
	if err != nil {
		return nil, err
	}
	out := r
	out.ProviderID = data.Get("receiverId")
	out.Channel = ifCode
	if data.Get("bindState") == "1" && out.ProviderID != "" {
		out.Status = core.ReceiverBound
		if ms := atoi(data.Get("bindSuccessTime")); ms > 0 {
			out.BoundAt = time.UnixMilli(ms).UTC()
		}
	} else {
		out.Status = core.ReceiverFailed
		out.FailureCode = firstOf(data.Get("errCode"), "BIND_FAILED")
		out.FailureMessage = data.Get("errMsg")
	}
	return &core.BindReceiverResponse{Receiver: out}, nil
}

// splitStatus maps a split state of the gateway (exec and records):
// 0 pending, 1 success, 2 failed, 3 processing, 4 accepted.
func splitStatus(state string) core.SplitStatus {
	switch state {
	case "0":
		return core.SplitPending
	case "1":
		return core.SplitSucceeded
	case "2":
		return core.SplitFailed
	case "3":
		return core.SplitProcessing
	case "4":
		return core.SplitAccepted
	}
	return core.SplitProcessing
}

// receiversJSON builds exec's receivers array: by receiver or by group, with
// a ratio or an amount (never both: the gateway would miscalculate).
func receiversJSON(parts []core.SplitPart) string {
	b := []byte{'['}
	for i, part := range parts {
		if i > 0 {
			b = append(b, ',')
		}
		var f pdk.Fields
		if part.ReceiverID != "" {
			f.Set("receiverId", part.ReceiverID)
		} else {
			f.Set("receiverGroupId", part.GroupID)
		}
		switch {
		case part.Amount > 0:
			f.Set("divisionAmount", strconv.FormatInt(part.Amount, 10))
		case part.RatioPPM > 0:
			f.Set("divisionProfit", core.FormatRatio(part.RatioPPM))
		}
		b = append(b, f.JSON()...)
	}
	return string(append(b, ']'))
}

// ExecuteSplit implements pdk.SplitExecutor with /api/division/exec. Only an
// order created with divisionMode 2 (manual) can be split by the merchant;
// records settle asynchronously: query the batch.
func (*Plugin) ExecuteSplit(ctx context.Context, h pdk.Host, req *core.ExecuteSplitRequest) (*core.ExecuteSplitResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	for _, part := range req.Parts {
		if part.GroupID != "" && part.ReceiverID == "" && part.Amount > 0 {
			return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "parts", Message: "a whole group shares by ratio, not by amount"}
		}
	}
	p := pdk.Pairs("useSysAutoDivisionReceivers", "0")
	if req.UseAutoReceivers {
		p.Set("useSysAutoDivisionReceivers", "1")
	} else {
		p.Set("receivers", receiversJSON(req.Parts))
	}
	if err := orderRef(&p, req.Payment); err != nil {
		return nil, err
	}
	data, err := call(ctx, h, "/api/division/exec", p, true)
	if err != nil {
		return nil, err
	}
	batch := core.SplitBatch{ID: req.SplitID, ProviderID: data.Get("batchOrderId"), ChannelBatchID: data.Get("channelBatchOrderId"),
		PaymentID: req.Payment.ID, Status: splitStatus(data.Get("state")), Currency: "CNY",
		FailureCode: data.Get("errCode"), FailureMessage: data.Get("errMsg")}
	if batch.ProviderID == "" && batch.Status != core.SplitFailed {
		// a refused split may come without a batch (the seed's example); anything else needs one
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "division exec answered without a batchOrderId"}
	}
	return &core.ExecuteSplitResponse{Split: batch}, nil
}

// QuerySplit implements pdk.SplitQuerier with /api/division/query.
func (*Plugin) QuerySplit(ctx context.Context, h pdk.Host, req *core.QuerySplitRequest) (*core.QuerySplitResponse, error) {
	if req.Split.ProviderID == "" {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "split.provider_id", Message: "the gateway's batchOrderId is required"}
	}
	p := pdk.Pairs("batchOrderId", req.Split.ProviderID, "receiverId", req.ReceiverID)
	if err := orderRef(&p, req.Payment); err != nil {
		return nil, err
	}
	data, err := call(ctx, h, "/api/division/query", p, false)
	if err != nil {
		return nil, err
	}
	batch := core.SplitBatch{ID: req.Split.ID, ProviderID: data.Get("batchOrderId"), ChannelBatchID: data.Get("channelBatchOrderId"),
		PaymentID: req.Payment.ID, Currency: "CNY"}
	records, err := pdk.ParseObjects([]byte(firstOf(data.Get("records"), "[]")))
	if err != nil {
		return nil, &core.Error{Code: core.CodeProviderUnavailable, Provider: Name, Retryable: true, Message: "division query: records are not a JSON array"}
	}
	var open, failed, ok int
	for _, r := range records {
		ratio, _ := core.ParseRatio(r.Get("divisionProfit"))
		rec := core.SplitRecord{ReceiverID: r.Get("receiverId"), ProviderRecordID: r.Get("recordId"), GroupID: r.Get("receiverGroupId"),
			AccountNo: r.Get("accNo"), Amount: atoi(r.Get("calDivisionAmount")), RatioPPM: ratio, Status: splitStatus(r.Get("state"))}
		batch.Amount += rec.Amount
		switch rec.Status {
		case core.SplitSucceeded:
			ok++
		case core.SplitFailed:
			failed++
		default:
			open++
		}
		batch.Records = append(batch.Records, rec)
	}
	switch {
	case open > 0 && ok+failed == 0 && allAccepted(batch.Records):
		batch.Status = core.SplitAccepted
	case open > 0:
		batch.Status = core.SplitProcessing
	case failed > 0:
		batch.Status = core.SplitFailed
	case ok > 0:
		batch.Status = core.SplitSucceeded
	default:
		batch.Status = core.SplitPending
	}
	return &core.QuerySplitResponse{Split: batch}, nil
}

func allAccepted(rs []core.SplitRecord) bool {
	for _, r := range rs {
		if r.Status != core.SplitAccepted {
			return false
		}
	}
	return true
}

// QueryBalance implements pdk.BalanceQuerier for split receivers' channel
// balances (/api/division/receiver/channelBalanceQuery); the gateway has no
// merchant balance query.
func (*Plugin) QueryBalance(ctx context.Context, h pdk.Host, req *core.QueryBalanceRequest) (*core.QueryBalanceResponse, error) {
	if req.Owner != core.BalanceReceiver {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "owner", Provider: Name, Message: "the gateway reports split receivers' balances only"}
	}
	if req.OwnerID == "" {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "owner_id", Message: "the receiver id is required"}
	}
	if req.Currency != "" && !strings.EqualFold(string(req.Currency), "CNY") {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "currency", Provider: Name, Message: "balances are in CNY"}
	}
	data, err := call(ctx, h, "/api/division/receiver/channelBalanceQuery", pdk.Pairs("receiverId", req.OwnerID), false)
	if err != nil {
		return nil, err
	}
	return &core.QueryBalanceResponse{Balances: []core.Balance{{Currency: "CNY", Available: atoi(data.Get("balanceAmount")), AccountID: data.Get("receiverId")}}}, nil
}
