package sim

// routes maps every API path to its required fields and handler.
var routes map[string]route

func init() {
	routes = map[string]route{
		"/api/pay/unifiedOrder": {required: []required{
			{"mchOrderNo", "商户订单号不能为空"},
			{"wayCode", "支付方式不能为空"},
			{"amount", "支付金额不能为空"},
			{"currency", "货币代码不能为空"},
			{"subject", "商品标题不能为空"},
			{"body", "商品描述信息不能为空"},
		}, handle: handleUnifiedOrder},
		"/api/pay/query":                               {handle: handlePayQuery},
		"/api/pay/close":                               {handle: handlePayClose},
		"/api/refund/refundOrder":                      {required: refundRequired, handle: handleRefundOrder},
		"/api/refund/query":                            {handle: handleRefundQuery},
		"/api/transferOrder":                           {required: transferRequired, handle: handleTransferOrder},
		"/api/transfer/query":                          {handle: handleTransferQuery},
		"/api/division/receiver/bind":                  {required: bindRequired, handle: handleReceiverBind},
		"/api/division/exec":                           {required: []required{{"useSysAutoDivisionReceivers", "是否使用系统配置的自动分账组不能为空"}}, handle: handleDivisionExec},
		"/api/division/query":                          {required: []required{{"batchOrderId", "系统分账批次号不能为空"}}, handle: handleDivisionQuery},
		"/api/division/receiver/channelBalanceQuery":   {required: []required{{"receiverId", "分账用户ID不能为空"}}, handle: handleChannelBalanceQuery},
		"/api/division/receiver/channelBalanceCashout": {required: []required{{"receiverId", "分账用户ID不能为空"}, {"cashoutAmount", "提现金额不能为空"}}, handle: handleChannelBalanceCashout},
		"/api/pos/device/init":                         {required: deviceRequired, handle: handlePosInit},
		"/api/pos/device/payParams":                    {required: deviceRequired, handle: handlePosPayParams},
		"/api/pos/pay":                                 {required: posPayRequired, handle: handlePosPay},
		"/api/pos/pay/query":                           {required: deviceRequired, handle: handlePosPayQuery},
		"/api/pos/refund":                              {required: posRefundRequired, handle: handlePosRefund},
		"/api/pos/refund/query":                        {required: deviceRequired, handle: handlePosRefundQuery},
		"/api/pos/trade/list":                          {required: withDevice(required{"startTime", "开始时间不能为空"}, required{"endTime", "结束时间不能为空"}), handle: handlePosTradeList},
		"/api/pos/trade/summary":                       {required: withDevice(required{"date", "汇总日期不能为空"}), handle: handlePosSummary},
		"/api/bill/download":                           {required: []required{{"billDate", "账单日期不能为空"}}, handle: handleBillDownload},
	}
}
