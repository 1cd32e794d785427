package core

// Op names a canonical operation. Each has one request and one response type
// in this package; OpInfo lists them.
type Op string

// Canonical operations, grouped by family.
const (
	OpPaymentCreate  Op = "payment.create"  // start a payment (any method)
	OpPaymentQuery   Op = "payment.query"   // read a payment's state from the provider
	OpPaymentClose   Op = "payment.close"   // close an unpaid payment
	OpPaymentCancel  Op = "payment.cancel"  // void or reverse a payment (after success: reversal)
	OpPaymentConfirm Op = "payment.confirm" // submit the payer's verification (SMS code) to finish a payment
	OpPaymentCapture Op = "payment.capture" // release funds held by a guarantee or delayed payment

	OpRefundCreate Op = "refund.create"
	OpRefundQuery  Op = "refund.query"

	OpSplitReceiverBind   Op = "split.receiver.bind"
	OpSplitReceiverQuery  Op = "split.receiver.query"
	OpSplitReceiverDelete Op = "split.receiver.delete"
	OpSplitExecute        Op = "split.execute"
	OpSplitQuery          Op = "split.query"
	OpSplitReturn         Op = "split.return"
	OpSplitReturnQuery    Op = "split.return.query"
	OpSplitPending        Op = "split.pending" // amount of a payment still waiting to be split

	OpPayoutCreate Op = "payout.create" // transfer, withdrawal, disbursement, receiver cash-out
	OpPayoutQuery  Op = "payout.query"

	OpBalanceQuery Op = "balance.query"

	OpStatementDownload Op = "statement.download" // download and parse into canonical lines

	OpTransactionList    Op = "transaction.list"    // list transactions (e.g. of a POS device)
	OpTransactionSummary Op = "transaction.summary" // daily totals

	OpTerminalRegister Op = "terminal.register" // register or initialise a device (POS, QR stand)
	OpTerminalQuery    Op = "terminal.query"    // a device's state and payment parameters

	OpOnboardingApply           Op = "onboarding.apply"            // open a merchant or user account
	OpOnboardingUpdate          Op = "onboarding.update"           // change an application's basic information
	OpOnboardingQuery           Op = "onboarding.query"            // status of an application
	OpOnboardingUploadDocument  Op = "onboarding.document.upload"  // upload one document or image
	OpOnboardingSubmit          Op = "onboarding.submit"           // submit uploaded documents for review
	OpOnboardingActivateChannel Op = "onboarding.channel.activate" // open (or modify) WeChat/Alipay/UnionPay business
	OpOnboardingQueryChannel    Op = "onboarding.channel.query"
	OpOnboardingRealName        Op = "onboarding.realname.apply" // WeChat/Alipay real-name authentication
	OpOnboardingRealNameQuery   Op = "onboarding.realname.query"
	OpOnboardingSetSettlement   Op = "onboarding.settlement.set"    // bind or change a settlement bank account
	OpOnboardingRemoveSettle    Op = "onboarding.settlement.remove" // unbind a bank account

	OpTokenCreate Op = "token.create" // authorised-debit link
	OpTokenQuery  Op = "token.query"
	OpTokenCancel Op = "token.cancel"

	OpExtension Op = "extension" // a provider-only call with a typed name and JSON payload

	OpNotificationParse Op = "notification.parse" // verify and parse an inbound provider notification
)

// Family groups operations for documentation and capability listings.
type Family string

// Operation families.
const (
	FamilyPayment      Family = "payments"
	FamilyRefund       Family = "refunds"
	FamilySplit        Family = "splits"
	FamilyPayout       Family = "payouts"
	FamilyBalance      Family = "balances"
	FamilyStatement    Family = "statements"
	FamilyTransaction  Family = "transactions"
	FamilyTerminal     Family = "terminals"
	FamilyOnboarding   Family = "onboarding"
	FamilyToken        Family = "tokens"
	FamilyExtension    Family = "extensions"
	FamilyNotification Family = "notifications"
)

// OpInfo describes an operation: its family, whether it changes state at the
// provider (so an unanswered call is unknown_outcome), and constructors for
// its request and response types.
type OpInfo struct {
	Op       Op
	Family   Family
	Mutating bool
	NewReq   func() any
	NewResp  func() any
}

func info[Req, Resp any](op Op, f Family, mutating bool) OpInfo {
	return OpInfo{Op: op, Family: f, Mutating: mutating,
		NewReq: func() any { return new(Req) }, NewResp: func() any { return new(Resp) }}
}

var opTable = []OpInfo{
	info[CreatePaymentRequest, CreatePaymentResponse](OpPaymentCreate, FamilyPayment, true),
	info[QueryPaymentRequest, QueryPaymentResponse](OpPaymentQuery, FamilyPayment, false),
	info[ClosePaymentRequest, ClosePaymentResponse](OpPaymentClose, FamilyPayment, true),
	info[CancelPaymentRequest, CancelPaymentResponse](OpPaymentCancel, FamilyPayment, true),
	info[ConfirmPaymentRequest, ConfirmPaymentResponse](OpPaymentConfirm, FamilyPayment, true),
	info[CapturePaymentRequest, CapturePaymentResponse](OpPaymentCapture, FamilyPayment, true),
	info[CreateRefundRequest, CreateRefundResponse](OpRefundCreate, FamilyRefund, true),
	info[QueryRefundRequest, QueryRefundResponse](OpRefundQuery, FamilyRefund, false),
	info[BindReceiverRequest, BindReceiverResponse](OpSplitReceiverBind, FamilySplit, true),
	info[QueryReceiverRequest, QueryReceiverResponse](OpSplitReceiverQuery, FamilySplit, false),
	info[DeleteReceiverRequest, DeleteReceiverResponse](OpSplitReceiverDelete, FamilySplit, true),
	info[ExecuteSplitRequest, ExecuteSplitResponse](OpSplitExecute, FamilySplit, true),
	info[QuerySplitRequest, QuerySplitResponse](OpSplitQuery, FamilySplit, false),
	info[ReturnSplitRequest, ReturnSplitResponse](OpSplitReturn, FamilySplit, true),
	info[QuerySplitReturnRequest, QuerySplitReturnResponse](OpSplitReturnQuery, FamilySplit, false),
	info[PendingSplitRequest, PendingSplitResponse](OpSplitPending, FamilySplit, false),
	info[CreatePayoutRequest, CreatePayoutResponse](OpPayoutCreate, FamilyPayout, true),
	info[QueryPayoutRequest, QueryPayoutResponse](OpPayoutQuery, FamilyPayout, false),
	info[QueryBalanceRequest, QueryBalanceResponse](OpBalanceQuery, FamilyBalance, false),
	info[DownloadStatementRequest, DownloadStatementResponse](OpStatementDownload, FamilyStatement, false),
	info[ListTransactionsRequest, ListTransactionsResponse](OpTransactionList, FamilyTransaction, false),
	info[SummarizeTransactionsRequest, SummarizeTransactionsResponse](OpTransactionSummary, FamilyTransaction, false),
	info[RegisterTerminalRequest, RegisterTerminalResponse](OpTerminalRegister, FamilyTerminal, true),
	info[QueryTerminalRequest, QueryTerminalResponse](OpTerminalQuery, FamilyTerminal, false),
	info[ApplyMerchantRequest, ApplyMerchantResponse](OpOnboardingApply, FamilyOnboarding, true),
	info[UpdateMerchantRequest, UpdateMerchantResponse](OpOnboardingUpdate, FamilyOnboarding, true),
	info[QueryMerchantRequest, QueryMerchantResponse](OpOnboardingQuery, FamilyOnboarding, false),
	info[UploadDocumentRequest, UploadDocumentResponse](OpOnboardingUploadDocument, FamilyOnboarding, true),
	info[SubmitMerchantRequest, SubmitMerchantResponse](OpOnboardingSubmit, FamilyOnboarding, true),
	info[ActivateChannelRequest, ActivateChannelResponse](OpOnboardingActivateChannel, FamilyOnboarding, true),
	info[QueryChannelRequest, QueryChannelResponse](OpOnboardingQueryChannel, FamilyOnboarding, false),
	info[RealNameRequest, RealNameResponse](OpOnboardingRealName, FamilyOnboarding, true),
	info[QueryRealNameRequest, QueryRealNameResponse](OpOnboardingRealNameQuery, FamilyOnboarding, false),
	info[SetSettlementAccountRequest, SetSettlementAccountResponse](OpOnboardingSetSettlement, FamilyOnboarding, true),
	info[RemoveSettlementAccountRequest, RemoveSettlementAccountResponse](OpOnboardingRemoveSettle, FamilyOnboarding, true),
	info[CreateTokenRequest, CreateTokenResponse](OpTokenCreate, FamilyToken, true),
	info[QueryTokenRequest, QueryTokenResponse](OpTokenQuery, FamilyToken, false),
	info[CancelTokenRequest, CancelTokenResponse](OpTokenCancel, FamilyToken, true),
	info[ExtensionRequest, ExtensionResponse](OpExtension, FamilyExtension, true),
	info[ParseNotificationRequest, ParseNotificationResponse](OpNotificationParse, FamilyNotification, false),
}

var opIndex = func() map[Op]OpInfo {
	m := make(map[Op]OpInfo, len(opTable))
	for _, o := range opTable {
		m[o.Op] = o
	}
	return m
}()

// Ops returns every canonical operation in a stable order.
func Ops() []OpInfo {
	return append([]OpInfo(nil), opTable...)
}

// LookupOp returns the description of op.
func LookupOp(op Op) (OpInfo, bool) {
	o, ok := opIndex[op]
	return o, ok
}

// Valid reports whether op is a canonical operation.
func (op Op) Valid() bool {
	_, ok := opIndex[op]
	return ok
}
