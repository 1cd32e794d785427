package haotian

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// The scan-code POS interface (扫码POS接口) as plugins/haotian/README.md
// specifies it: the gateway's envelope and signature plus a deviceNo.

// RegisterTerminal implements pdk.TerminalRegistrar with /api/pos/device/init
// (设备初始化). Initialising again is allowed.
func (*Plugin) RegisterTerminal(ctx context.Context, h pdk.Host, req *core.RegisterTerminalRequest) (*core.RegisterTerminalResponse, error) {
	if req.Terminal.ID == "" {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "terminal.id", Message: "the device number is required"}
	}
	data, err := call(ctx, h, "/api/pos/device/init", pdk.Pairs(
		"deviceNo", req.Terminal.ID,
		"deviceName", req.Extra["deviceName"],
		"sn", req.Terminal.SerialNo,
		"storeId", req.Extra["storeId"],
	), true)
	if err != nil {
		return nil, err
	}
	t := core.Terminal{ID: req.Terminal.ID, Kind: firstOf(req.Terminal.Kind, "pos"), Status: "inactive", StoreName: data.Get("mchName"),
		ProviderData: map[string]string{"initTime": data.Get("initTime"), "storeId": data.Get("storeId")}}
	if data.Get("state") == "1" {
		t.Status = "active"
	}
	return &core.RegisterTerminalResponse{Terminal: t}, nil
}

// QueryTerminal implements pdk.TerminalQuerier with /api/pos/device/payParams
// (获取设备支付参数): the barcode methods the device may take.
func (*Plugin) QueryTerminal(ctx context.Context, h pdk.Host, req *core.QueryTerminalRequest) (*core.QueryTerminalResponse, error) {
	if req.TerminalID == "" {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "terminal_id", Message: "the device number is required"}
	}
	data, err := call(ctx, h, "/api/pos/device/payParams", pdk.Pairs("deviceNo", req.TerminalID), false)
	if err != nil {
		return nil, err
	}
	t := core.Terminal{ID: req.TerminalID, Kind: "pos", Status: "active", StoreName: data.Get("mchName"),
		Params: map[string]string{"currency": strings.ToUpper(data.Get("currency")), "wayCodes": data.Get("wayCodes")}}
	for _, w := range strings.Split(data.Get("wayCodes"), ",") {
		if m, ok := methodsByWayCode[strings.TrimSpace(w)]; ok {
			t.Methods = append(t.Methods, m)
		}
	}
	return &core.QueryTerminalResponse{Terminal: t}, nil
}

// posPay is a device payment (设备支付): a barcode payment tied to a device.
func posPay(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
	mode, err := divisionMode(req.Split)
	if err != nil {
		return nil, err
	}
	subject := firstOf(req.Subject, req.Description, req.PaymentID)
	data, err := call(ctx, h, "/api/pos/pay", pdk.Pairs(
		"deviceNo", req.Terminal.ID,
		"mchOrderNo", req.PaymentID,
		"amount", strconv.FormatInt(req.Amount, 10),
		"currency", "cny",
		"authCode", req.Payer.AuthCode,
		"subject", subject,
		"body", firstOf(req.Description, subject),
		"clientIp", req.Payer.ClientIP,
		"notifyUrl", req.NotifyURL,
		"divisionMode", mode,
		"extParam", req.Extra["extParam"],
	), true)
	if err != nil {
		return nil, err
	}
	pay := core.Payment{
		ID: firstOf(data.Get("mchOrderNo"), req.PaymentID), ProviderID: data.Get("payOrderId"),
		ChannelTradeNo: data.Get("channelOrderNo"), Status: paymentStatus(atoi(data.Get("orderState"))),
		Amount: req.Amount, Currency: req.Currency, Method: req.Method,
		FailureCode: data.Get("errCode"), FailureMessage: data.Get("errMsg"),
		PayInfo:      &core.PayInfo{Kind: core.PayInfoNone},
		ProviderData: map[string]string{"wayCode": data.Get("wayCode"), "deviceNo": req.Terminal.ID, "divisionMode": mode},
	}
	if ms := atoi(data.Get("successTime")); ms > 0 {
		pay.PaidAt = time.UnixMilli(ms).UTC()
	}
	if pay.ProviderID == "" {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "pos pay answered without a payOrderId"}
	}
	return &core.CreatePaymentResponse{Payment: pay}, nil
}

// posDate turns YYYY-MM-DD into the POS interface's yyyyMMdd.
func posDate(date string) (string, error) {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		return "", &core.Error{Code: core.CodeInvalidRequest, Param: "date", Message: "date must be YYYY-MM-DD"}
	}
	return d.Format("20060102"), nil
}

// ListTransactions implements pdk.TransactionLister with /api/pos/trade/list
// (交易记录查询): a device's trades in a time range, newest first.
func (*Plugin) ListTransactions(ctx context.Context, h pdk.Host, req *core.ListTransactionsRequest) (*core.ListTransactionsResponse, error) {
	if req.TerminalID == "" {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "terminal_id", Message: "the POS listing is made through a device: terminal_id is required"}
	}
	if req.From.IsZero() || !req.To.After(req.From) {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "to", Message: "give a time range with to after from"}
	}
	tradeType := "ALL"
	switch req.Kind {
	case core.TransactionPayment:
		tradeType = "PAY"
	case core.TransactionRefund:
		tradeType = "REFUND"
	}
	page, size := max(req.Page, 1), req.PageSize
	if size <= 0 {
		size = 20
	}
	data, err := call(ctx, h, "/api/pos/trade/list", pdk.Pairs(
		"deviceNo", req.TerminalID,
		"startTime", strconv.FormatInt(req.From.UnixMilli(), 10),
		"endTime", strconv.FormatInt(req.To.UnixMilli(), 10),
		"tradeType", tradeType,
		"pageNumber", strconv.Itoa(page),
		"pageSize", strconv.Itoa(size),
	), false)
	if err != nil {
		return nil, err
	}
	records, err := pdk.ParseObjects([]byte(firstOf(data.Get("records"), "[]")))
	if err != nil {
		return nil, &core.Error{Code: core.CodeProviderUnavailable, Provider: Name, Retryable: true, Message: "trade list: records are not a JSON array"}
	}
	out := &core.ListTransactionsResponse{Total: int(atoi(data.Get("total"))), Page: int(atoi(data.Get("pageNumber")))}
	for _, r := range records {
		t := core.TransactionRecord{ProviderID: r.Get("orderId"), Amount: atoi(r.Get("amount")), Currency: "CNY",
			Method: methodsByWayCode[r.Get("wayCode")], TerminalID: r.Get("deviceNo")}
		if ms := atoi(r.Get("createdAt")); ms > 0 {
			t.CreatedAt = time.UnixMilli(ms).UTC()
		}
		if ms := atoi(r.Get("successTime")); ms > 0 {
			t.CompletedAt = time.UnixMilli(ms).UTC()
		}
		if r.Get("tradeType") == "REFUND" {
			t.Kind, t.ID, t.PaymentID = core.TransactionRefund, r.Get("mchRefundNo"), r.Get("payOrderId")
			t.Status = string(refundStatus(atoi(r.Get("state"))))
		} else {
			t.Kind, t.ID = core.TransactionPayment, r.Get("mchOrderNo")
			t.Status = string(paymentStatus(atoi(r.Get("state"))))
		}
		out.Transactions = append(out.Transactions, t)
	}
	return out, nil
}

// SummarizeTransactions implements pdk.TransactionSummarizer with
// /api/pos/trade/summary (汇总查询): a device's totals for one day (China time).
func (*Plugin) SummarizeTransactions(ctx context.Context, h pdk.Host, req *core.SummarizeTransactionsRequest) (*core.SummarizeTransactionsResponse, error) {
	if req.TerminalID == "" {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: "terminal_id", Message: "the POS summary is made through a device: terminal_id is required"}
	}
	date, err := posDate(req.Date)
	if err != nil {
		return nil, err
	}
	data, err := call(ctx, h, "/api/pos/trade/summary", pdk.Pairs("deviceNo", req.TerminalID, "date", date), false)
	if err != nil {
		return nil, err
	}
	return &core.SummarizeTransactionsResponse{Date: req.Date, Currency: "CNY",
		PaymentCount: atoi(data.Get("payCount")), PaymentAmount: atoi(data.Get("payAmount")),
		RefundCount: atoi(data.Get("refundCount")), RefundAmount: atoi(data.Get("refundAmount"))}, nil
}
