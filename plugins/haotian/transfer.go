package haotian

import (
	"context"
	"strconv"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// transferEntry maps a payout destination to the gateway's interface and
// entry type: WeChat change (openid), Alipay account, or a bank card (paid
// through the Alipay interface, as the gateway offers it).
func transferEntry(d core.Destination) (ifCode, entryType string, err error) {
	switch d.Kind {
	case "wechat", "wxpay":
		return "wxpay", "WX_CASH", nil
	case "alipay":
		return "alipay", "ALIPAY_CASH", nil
	case "bank_card":
		if d.BankName == "" {
			return "", "", &core.Error{Code: core.CodeInvalidRequest, Param: "destination.bank_name", Message: "a bank-card transfer needs the bank's name"}
		}
		return "alipay", "BANK_CARD", nil
	}
	return "", "", &core.Error{Code: core.CodeUnsupported, Param: "destination.kind", Provider: Name,
		Message: "the gateway transfers to wechat, alipay or bank_card destinations"}
}

func payoutFromFields(data pdk.Fields, fallback core.Payout) core.Payout {
	p := core.Payout{
		ID:             firstOf(data.Get("mchOrderNo"), fallback.ID),
		ProviderID:     firstOf(data.Get("transferId"), fallback.ProviderID),
		Kind:           core.PayoutTransfer,
		Status:         payoutStatus(atoi(data.Get("state"))),
		Amount:         atoi(data.Get("amount")),
		Currency:       "CNY",
		FailureCode:    data.Get("errCode"),
		FailureMessage: data.Get("errMsg"),
		ProviderData:   map[string]string{"state": data.Get("state")},
	}
	if p.Amount == 0 {
		p.Amount = fallback.Amount
	}
	if ms := atoi(data.Get("successTime")); ms > 0 {
		p.SucceededAt = time.UnixMilli(ms).UTC()
	}
	return p
}

// CreatePayout implements pdk.PayoutCreator: transfers (/api/transferOrder)
// and split receivers' cash-outs (/api/division/receiver/channelBalanceCashout).
func (*Plugin) CreatePayout(ctx context.Context, h pdk.Host, req *core.CreatePayoutRequest) (*core.CreatePayoutResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if req.Currency != "CNY" {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "currency", Provider: Name, Message: "the gateway pays out CNY only"}
	}
	switch req.Kind {
	case core.PayoutTransfer:
		return transfer(ctx, h, req)
	case core.PayoutCashout:
		return cashout(ctx, h, req)
	}
	return nil, &core.Error{Code: core.CodeUnsupported, Param: "kind", Provider: Name, Message: "the gateway offers transfers and receiver cash-outs"}
}

func transfer(ctx context.Context, h pdk.Host, req *core.CreatePayoutRequest) (*core.CreatePayoutResponse, error) {
	ifCode, entry, err := transferEntry(req.Destination)
	if err != nil {
		return nil, err
	}
	if req.Destination.AccountNo == "" {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "destination.account_no", Message: "the payee's account is required"}
	}
	p := pdk.Pairs(
		"mchOrderNo", req.PayoutID,
		"ifCode", ifCode,
		"entryType", entry,
		"amount", strconv.FormatInt(req.Amount, 10),
		"currency", "cny",
		"accountNo", req.Destination.AccountNo,
		"accountName", req.Destination.AccountName,
		"bankName", req.Destination.BankName,
		"transferDesc", firstOf(req.Description, "transfer"),
		"notifyUrl", req.NotifyURL,
		"extParam", req.Extra["extParam"],
	)
	data, err := call(ctx, h, "/api/transferOrder", p, true)
	if err != nil {
		return nil, err
	}
	out := payoutFromFields(data, core.Payout{ID: req.PayoutID, Amount: req.Amount})
	if out.ProviderID == "" {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "transferOrder answered without a transferId"}
	}
	return &core.CreatePayoutResponse{Payout: out}, nil
}

func cashout(ctx context.Context, h pdk.Host, req *core.CreatePayoutRequest) (*core.CreatePayoutResponse, error) {
	if req.Destination.ReceiverID == "" {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "destination.receiver_id", Message: "a cash-out needs the split receiver"}
	}
	data, err := call(ctx, h, "/api/division/receiver/channelBalanceCashout", pdk.Pairs(
		"receiverId", req.Destination.ReceiverID,
		"cashoutAmount", strconv.FormatInt(req.Amount, 10),
	), true)
	if err != nil {
		return nil, err
	}
	out := core.Payout{ID: req.PayoutID, Kind: core.PayoutCashout, Amount: req.Amount, Currency: "CNY",
		Status: core.PayoutSucceeded, ProviderData: map[string]string{"receiverId": req.Destination.ReceiverID}}
	if data.Get("state") != "1" {
		out.Status = core.PayoutFailed
		out.FailureCode = firstOf(data.Get("errCode"), "CASHOUT_FAILED")
		out.FailureMessage = data.Get("errMsg")
	}
	return &core.CreatePayoutResponse{Payout: out}, nil
}

// QueryPayout implements pdk.PayoutQuerier for transfers. A cash-out has no
// query at the gateway: its answer is final, and a lost answer can only be
// settled by reading the receiver's balance.
func (*Plugin) QueryPayout(ctx context.Context, h pdk.Host, req *core.QueryPayoutRequest) (*core.QueryPayoutResponse, error) {
	if req.Payout.Kind == core.PayoutCashout {
		return nil, &core.Error{Code: core.CodeUnsupported, Provider: Name, Message: "the gateway has no cash-out query; read the receiver's balance"}
	}
	var p pdk.Fields
	switch {
	case req.Payout.ProviderID != "":
		p.Set("transferId", req.Payout.ProviderID)
	case req.Payout.ID != "":
		p.Set("mchOrderNo", req.Payout.ID)
	default:
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "payout", Message: "payout id or provider id is required"}
	}
	data, err := call(ctx, h, "/api/transfer/query", p, false)
	if err != nil {
		return nil, err
	}
	return &core.QueryPayoutResponse{Payout: payoutFromFields(data, core.Payout{ID: req.Payout.ID})}, nil
}
