package pdk

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk/abi"
)

// Plugin is a provider adapter. Manifest describes it; the operations it
// supports are the operation interfaces below that it implements.
// Describe fills the manifest's operation list from them.
type Plugin interface {
	Manifest() core.Manifest
}

// PaymentCreator implements core.OpPaymentCreate.
type PaymentCreator interface {
	CreatePayment(ctx context.Context, h Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error)
}

// PaymentQuerier implements core.OpPaymentQuery.
type PaymentQuerier interface {
	QueryPayment(ctx context.Context, h Host, req *core.QueryPaymentRequest) (*core.QueryPaymentResponse, error)
}

// PaymentCloser implements core.OpPaymentClose.
type PaymentCloser interface {
	ClosePayment(ctx context.Context, h Host, req *core.ClosePaymentRequest) (*core.ClosePaymentResponse, error)
}

// PaymentCanceler implements core.OpPaymentCancel.
type PaymentCanceler interface {
	CancelPayment(ctx context.Context, h Host, req *core.CancelPaymentRequest) (*core.CancelPaymentResponse, error)
}

// PaymentConfirmer implements core.OpPaymentConfirm.
type PaymentConfirmer interface {
	ConfirmPayment(ctx context.Context, h Host, req *core.ConfirmPaymentRequest) (*core.ConfirmPaymentResponse, error)
}

// PaymentCapturer implements core.OpPaymentCapture.
type PaymentCapturer interface {
	CapturePayment(ctx context.Context, h Host, req *core.CapturePaymentRequest) (*core.CapturePaymentResponse, error)
}

// RefundCreator implements core.OpRefundCreate.
type RefundCreator interface {
	CreateRefund(ctx context.Context, h Host, req *core.CreateRefundRequest) (*core.CreateRefundResponse, error)
}

// RefundQuerier implements core.OpRefundQuery.
type RefundQuerier interface {
	QueryRefund(ctx context.Context, h Host, req *core.QueryRefundRequest) (*core.QueryRefundResponse, error)
}

// ReceiverBinder implements core.OpSplitReceiverBind.
type ReceiverBinder interface {
	BindReceiver(ctx context.Context, h Host, req *core.BindReceiverRequest) (*core.BindReceiverResponse, error)
}

// ReceiverQuerier implements core.OpSplitReceiverQuery.
type ReceiverQuerier interface {
	QueryReceiver(ctx context.Context, h Host, req *core.QueryReceiverRequest) (*core.QueryReceiverResponse, error)
}

// ReceiverDeleter implements core.OpSplitReceiverDelete.
type ReceiverDeleter interface {
	DeleteReceiver(ctx context.Context, h Host, req *core.DeleteReceiverRequest) (*core.DeleteReceiverResponse, error)
}

// SplitExecutor implements core.OpSplitExecute.
type SplitExecutor interface {
	ExecuteSplit(ctx context.Context, h Host, req *core.ExecuteSplitRequest) (*core.ExecuteSplitResponse, error)
}

// SplitQuerier implements core.OpSplitQuery.
type SplitQuerier interface {
	QuerySplit(ctx context.Context, h Host, req *core.QuerySplitRequest) (*core.QuerySplitResponse, error)
}

// SplitReturner implements core.OpSplitReturn.
type SplitReturner interface {
	ReturnSplit(ctx context.Context, h Host, req *core.ReturnSplitRequest) (*core.ReturnSplitResponse, error)
}

// SplitReturnQuerier implements core.OpSplitReturnQuery.
type SplitReturnQuerier interface {
	QuerySplitReturn(ctx context.Context, h Host, req *core.QuerySplitReturnRequest) (*core.QuerySplitReturnResponse, error)
}

// SplitPendingQuerier implements core.OpSplitPending.
type SplitPendingQuerier interface {
	PendingSplit(ctx context.Context, h Host, req *core.PendingSplitRequest) (*core.PendingSplitResponse, error)
}

// PayoutCreator implements core.OpPayoutCreate.
type PayoutCreator interface {
	CreatePayout(ctx context.Context, h Host, req *core.CreatePayoutRequest) (*core.CreatePayoutResponse, error)
}

// PayoutQuerier implements core.OpPayoutQuery.
type PayoutQuerier interface {
	QueryPayout(ctx context.Context, h Host, req *core.QueryPayoutRequest) (*core.QueryPayoutResponse, error)
}

// BalanceQuerier implements core.OpBalanceQuery.
type BalanceQuerier interface {
	QueryBalance(ctx context.Context, h Host, req *core.QueryBalanceRequest) (*core.QueryBalanceResponse, error)
}

// StatementDownloader implements core.OpStatementDownload.
type StatementDownloader interface {
	DownloadStatement(ctx context.Context, h Host, req *core.DownloadStatementRequest) (*core.DownloadStatementResponse, error)
}

// TransactionLister implements core.OpTransactionList.
type TransactionLister interface {
	ListTransactions(ctx context.Context, h Host, req *core.ListTransactionsRequest) (*core.ListTransactionsResponse, error)
}

// TransactionSummarizer implements core.OpTransactionSummary.
type TransactionSummarizer interface {
	SummarizeTransactions(ctx context.Context, h Host, req *core.SummarizeTransactionsRequest) (*core.SummarizeTransactionsResponse, error)
}

// TerminalRegistrar implements core.OpTerminalRegister.
type TerminalRegistrar interface {
	RegisterTerminal(ctx context.Context, h Host, req *core.RegisterTerminalRequest) (*core.RegisterTerminalResponse, error)
}

// TerminalQuerier implements core.OpTerminalQuery.
type TerminalQuerier interface {
	QueryTerminal(ctx context.Context, h Host, req *core.QueryTerminalRequest) (*core.QueryTerminalResponse, error)
}

// MerchantApplier implements core.OpOnboardingApply.
type MerchantApplier interface {
	ApplyMerchant(ctx context.Context, h Host, req *core.ApplyMerchantRequest) (*core.ApplyMerchantResponse, error)
}

// MerchantUpdater implements core.OpOnboardingUpdate.
type MerchantUpdater interface {
	UpdateMerchant(ctx context.Context, h Host, req *core.UpdateMerchantRequest) (*core.UpdateMerchantResponse, error)
}

// MerchantQuerier implements core.OpOnboardingQuery.
type MerchantQuerier interface {
	QueryMerchant(ctx context.Context, h Host, req *core.QueryMerchantRequest) (*core.QueryMerchantResponse, error)
}

// DocumentUploader implements core.OpOnboardingUploadDocument.
type DocumentUploader interface {
	UploadDocument(ctx context.Context, h Host, req *core.UploadDocumentRequest) (*core.UploadDocumentResponse, error)
}

// MerchantSubmitter implements core.OpOnboardingSubmit.
type MerchantSubmitter interface {
	SubmitMerchant(ctx context.Context, h Host, req *core.SubmitMerchantRequest) (*core.SubmitMerchantResponse, error)
}

// ChannelActivator implements core.OpOnboardingActivateChannel.
type ChannelActivator interface {
	ActivateChannel(ctx context.Context, h Host, req *core.ActivateChannelRequest) (*core.ActivateChannelResponse, error)
}

// ChannelQuerier implements core.OpOnboardingQueryChannel.
type ChannelQuerier interface {
	QueryChannel(ctx context.Context, h Host, req *core.QueryChannelRequest) (*core.QueryChannelResponse, error)
}

// RealNameApplier implements core.OpOnboardingRealName.
type RealNameApplier interface {
	ApplyRealName(ctx context.Context, h Host, req *core.RealNameRequest) (*core.RealNameResponse, error)
}

// RealNameQuerier implements core.OpOnboardingRealNameQuery.
type RealNameQuerier interface {
	QueryRealName(ctx context.Context, h Host, req *core.QueryRealNameRequest) (*core.QueryRealNameResponse, error)
}

// SettlementAccountSetter implements core.OpOnboardingSetSettlement.
type SettlementAccountSetter interface {
	SetSettlementAccount(ctx context.Context, h Host, req *core.SetSettlementAccountRequest) (*core.SetSettlementAccountResponse, error)
}

// SettlementAccountRemover implements core.OpOnboardingRemoveSettle.
type SettlementAccountRemover interface {
	RemoveSettlementAccount(ctx context.Context, h Host, req *core.RemoveSettlementAccountRequest) (*core.RemoveSettlementAccountResponse, error)
}

// TokenCreator implements core.OpTokenCreate.
type TokenCreator interface {
	CreateToken(ctx context.Context, h Host, req *core.CreateTokenRequest) (*core.CreateTokenResponse, error)
}

// TokenQuerier implements core.OpTokenQuery.
type TokenQuerier interface {
	QueryToken(ctx context.Context, h Host, req *core.QueryTokenRequest) (*core.QueryTokenResponse, error)
}

// TokenCanceler implements core.OpTokenCancel.
type TokenCanceler interface {
	CancelToken(ctx context.Context, h Host, req *core.CancelTokenRequest) (*core.CancelTokenResponse, error)
}

// Extender implements core.OpExtension for the extensions the manifest lists.
type Extender interface {
	Extension(ctx context.Context, h Host, req *core.ExtensionRequest) (*core.ExtensionResponse, error)
}

// NotificationParser implements core.OpNotificationParse: verify an inbound
// notification and turn it into canonical events plus the exact
// acknowledgement the provider expects.
type NotificationParser interface {
	ParseNotification(ctx context.Context, h Host, req *core.ParseNotificationRequest) (*core.ParseNotificationResponse, error)
}

// handler binds one operation to its interface method.
type handler struct {
	supported func(Plugin) bool
	call      func(ctx context.Context, p Plugin, h Host, req any) (any, error)
}

func bind[I, Req, Resp any](op core.Op, method func(I, context.Context, Host, *Req) (*Resp, error)) handler {
	return handler{
		supported: func(p Plugin) bool { _, ok := p.(I); return ok },
		call: func(ctx context.Context, p Plugin, h Host, req any) (any, error) {
			impl, ok := p.(I)
			if !ok {
				return nil, &core.Error{Code: core.CodeUnsupported, Message: fmt.Sprintf("plugin %s does not support %s", p.Manifest().Name, op)}
			}
			r, ok := req.(*Req)
			if !ok {
				return nil, core.Errorf(core.CodeInternal, "%s: request has type %T", op, req)
			}
			resp, err := method(impl, ctx, h, r)
			if err != nil {
				return nil, err
			}
			if resp == nil {
				return nil, core.Errorf(core.CodePluginFailure, "%s returned neither a response nor an error", op)
			}
			return resp, nil
		},
	}
}

var handlers = map[core.Op]handler{
	core.OpPaymentCreate:             bind(core.OpPaymentCreate, PaymentCreator.CreatePayment),
	core.OpPaymentQuery:              bind(core.OpPaymentQuery, PaymentQuerier.QueryPayment),
	core.OpPaymentClose:              bind(core.OpPaymentClose, PaymentCloser.ClosePayment),
	core.OpPaymentCancel:             bind(core.OpPaymentCancel, PaymentCanceler.CancelPayment),
	core.OpPaymentConfirm:            bind(core.OpPaymentConfirm, PaymentConfirmer.ConfirmPayment),
	core.OpPaymentCapture:            bind(core.OpPaymentCapture, PaymentCapturer.CapturePayment),
	core.OpRefundCreate:              bind(core.OpRefundCreate, RefundCreator.CreateRefund),
	core.OpRefundQuery:               bind(core.OpRefundQuery, RefundQuerier.QueryRefund),
	core.OpSplitReceiverBind:         bind(core.OpSplitReceiverBind, ReceiverBinder.BindReceiver),
	core.OpSplitReceiverQuery:        bind(core.OpSplitReceiverQuery, ReceiverQuerier.QueryReceiver),
	core.OpSplitReceiverDelete:       bind(core.OpSplitReceiverDelete, ReceiverDeleter.DeleteReceiver),
	core.OpSplitExecute:              bind(core.OpSplitExecute, SplitExecutor.ExecuteSplit),
	core.OpSplitQuery:                bind(core.OpSplitQuery, SplitQuerier.QuerySplit),
	core.OpSplitReturn:               bind(core.OpSplitReturn, SplitReturner.ReturnSplit),
	core.OpSplitReturnQuery:          bind(core.OpSplitReturnQuery, SplitReturnQuerier.QuerySplitReturn),
	core.OpSplitPending:              bind(core.OpSplitPending, SplitPendingQuerier.PendingSplit),
	core.OpPayoutCreate:              bind(core.OpPayoutCreate, PayoutCreator.CreatePayout),
	core.OpPayoutQuery:               bind(core.OpPayoutQuery, PayoutQuerier.QueryPayout),
	core.OpBalanceQuery:              bind(core.OpBalanceQuery, BalanceQuerier.QueryBalance),
	core.OpStatementDownload:         bind(core.OpStatementDownload, StatementDownloader.DownloadStatement),
	core.OpTransactionList:           bind(core.OpTransactionList, TransactionLister.ListTransactions),
	core.OpTransactionSummary:        bind(core.OpTransactionSummary, TransactionSummarizer.SummarizeTransactions),
	core.OpTerminalRegister:          bind(core.OpTerminalRegister, TerminalRegistrar.RegisterTerminal),
	core.OpTerminalQuery:             bind(core.OpTerminalQuery, TerminalQuerier.QueryTerminal),
	core.OpOnboardingApply:           bind(core.OpOnboardingApply, MerchantApplier.ApplyMerchant),
	core.OpOnboardingUpdate:          bind(core.OpOnboardingUpdate, MerchantUpdater.UpdateMerchant),
	core.OpOnboardingQuery:           bind(core.OpOnboardingQuery, MerchantQuerier.QueryMerchant),
	core.OpOnboardingUploadDocument:  bind(core.OpOnboardingUploadDocument, DocumentUploader.UploadDocument),
	core.OpOnboardingSubmit:          bind(core.OpOnboardingSubmit, MerchantSubmitter.SubmitMerchant),
	core.OpOnboardingActivateChannel: bind(core.OpOnboardingActivateChannel, ChannelActivator.ActivateChannel),
	core.OpOnboardingQueryChannel:    bind(core.OpOnboardingQueryChannel, ChannelQuerier.QueryChannel),
	core.OpOnboardingRealName:        bind(core.OpOnboardingRealName, RealNameApplier.ApplyRealName),
	core.OpOnboardingRealNameQuery:   bind(core.OpOnboardingRealNameQuery, RealNameQuerier.QueryRealName),
	core.OpOnboardingSetSettlement:   bind(core.OpOnboardingSetSettlement, SettlementAccountSetter.SetSettlementAccount),
	core.OpOnboardingRemoveSettle:    bind(core.OpOnboardingRemoveSettle, SettlementAccountRemover.RemoveSettlementAccount),
	core.OpTokenCreate:               bind(core.OpTokenCreate, TokenCreator.CreateToken),
	core.OpTokenQuery:                bind(core.OpTokenQuery, TokenQuerier.QueryToken),
	core.OpTokenCancel:               bind(core.OpTokenCancel, TokenCanceler.CancelToken),
	core.OpExtension:                 bind(core.OpExtension, Extender.Extension),
	core.OpNotificationParse:         bind(core.OpNotificationParse, NotificationParser.ParseNotification),
}

// Describe returns p's manifest with the ABI version set and the operation
// list computed from the operation interfaces p implements, in canonical
// order. Operations the plugin lists itself are ignored: what it implements
// is what it supports.
func Describe(p Plugin) core.Manifest {
	m := p.Manifest()
	m.ABIVersion = core.ABIVersion
	m.Operations = m.Operations[:0:0]
	for _, info := range core.Ops() {
		if h, ok := handlers[info.Op]; ok && h.supported(p) {
			m.Operations = append(m.Operations, info.Op)
		}
	}
	return m
}

// Invoke calls operation op on p with a typed request (a pointer to the
// operation's request type) and returns the typed response. A panic in the
// plugin becomes a plugin_failure error.
func Invoke(ctx context.Context, p Plugin, h Host, op core.Op, req any) (resp any, err error) {
	hd, ok := handlers[op]
	if !ok {
		return nil, core.Errorf(core.CodeUnsupported, "unknown operation %q", op)
	}
	defer func() {
		if r := recover(); r != nil {
			resp = nil
			err = &core.Error{Code: core.CodePluginFailure, Message: fmt.Sprintf("plugin panicked in %s: %v", op, r),
				Err: fmt.Errorf("panic: %v\n%s", r, debug.Stack())}
		}
	}()
	return hd.call(ctx, p, h, req)
}

// Handle decodes a request for op in the ABI's binary encoding, invokes it
// and encodes the response. It is what the wasm glue runs inside the guest.
func Handle(ctx context.Context, p Plugin, h Host, op core.Op, in []byte) ([]byte, error) {
	return handleString(ctx, p, h, op, string(in), nil)
}

// handleString is Handle over a string, as the wasm glue calls it: the
// request's strings share in's memory (one copy of the input rather than
// one per field), and the response is appended to out (a buffer the glue
// reuses; nil for a new one).
func handleString(ctx context.Context, p Plugin, h Host, op core.Op, in string, out []byte) ([]byte, error) {
	req, err := abi.DecodeRequestString(op, in)
	if err != nil {
		return nil, core.WrapError(core.CodePluginFailure, err, "%s: decode request", op)
	}
	resp, err := Invoke(ctx, p, h, op, req)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = make([]byte, 0, 256)
	}
	out, err = abi.AppendResponse(out, op, resp)
	if err != nil {
		return nil, core.WrapError(core.CodePluginFailure, err, "%s: encode response", op)
	}
	return out, nil
}
