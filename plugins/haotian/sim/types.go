package sim

import "time"

// Pay order states (支付状态).
const (
	PayStateCreated   = 0 // 订单生成
	PayStatePaying    = 1 // 支付中
	PayStateSuccess   = 2 // 支付成功
	PayStateFailed    = 3 // 支付失败
	PayStateCancelled = 4 // 已撤销
	PayStateRefunded  = 5 // 已退款 (fully refunded)
	PayStateClosed    = 6 // 订单关闭
)

// Refund and transfer states.
const (
	OrderStateCreated    = 0 // 订单生成
	OrderStateProcessing = 1 // 退款中 / 转账中
	OrderStateSuccess    = 2 // 成功
	OrderStateFailed     = 3 // 失败
	OrderStateClosed     = 4 // 关闭
)

// Split record states (分账状态), as /api/division/query reports them.
const (
	DivisionStateWaiting    = 0 // 待分账
	DivisionStateSuccess    = 1 // 分账成功
	DivisionStateFailed     = 2 // 分账失败
	DivisionStateProcessing = 3 // 分账处理中
	DivisionStateAccepted   = 4 // 分账已受理
)

// Magic amounts in fen. They apply to the amount of a unified order or POS
// payment, to refundAmount and to a transfer amount.
const (
	// MagicDeclined makes a payment fail (state 3 with errCode/errMsg in the
	// response), a refund or a transfer fail when it settles.
	MagicDeclined = 66601
	// MagicNeverPay leaves a payment paying forever (the payer never pays;
	// Server.Pay still can), a refund or transfer processing forever.
	MagicNeverPay = 66602
	// MagicTimeout processes and stores the request normally, then never
	// answers: the connection is hijacked and closed.
	MagicTimeout = 66603
)

// PayOrder is a snapshot of a pay order.
type PayOrder struct {
	PayOrderID     string
	MchNo          string
	AppID          string
	MchOrderNo     string
	IfCode         string
	WayCode        string
	Amount         int64
	Currency       string
	State          int
	ClientIP       string
	Subject        string
	Body           string
	NotifyURL      string
	ReturnURL      string
	ChannelExtra   string
	ExtParam       string
	ChannelOrderNo string
	ErrCode        string
	ErrMsg         string
	// DivisionMode is 0 none, 1 automatic after success, 2 manual.
	DivisionMode int
	// MchFeeAmount is the merchant fee in fen, floor(amount × fee rate).
	MchFeeAmount int64
	// RefundedAmount sums the successful refunds.
	RefundedAmount int64
	// PendingRefundAmount sums the refunds still processing.
	PendingRefundAmount int64
	// DividedAmount sums the split records not failed.
	DividedAmount int64
	// DeviceNo is the POS device of a POS payment, empty otherwise.
	DeviceNo    string
	CreatedAt   time.Time
	SuccessTime time.Time
	ExpiredAt   time.Time
}

// RefundOrder is a snapshot of a refund.
type RefundOrder struct {
	RefundOrderID  string
	PayOrderID     string
	MchNo          string
	AppID          string
	MchRefundNo    string
	PayAmount      int64
	RefundAmount   int64
	Currency       string
	State          int
	RefundReason   string
	ClientIP       string
	NotifyURL      string
	ChannelExtra   string
	ExtParam       string
	ChannelOrderNo string
	ErrCode        string
	ErrMsg         string
	DeviceNo       string
	CreatedAt      time.Time
	SuccessTime    time.Time
}

// TransferOrder is a snapshot of a transfer (发起转账).
type TransferOrder struct {
	TransferID     string
	MchNo          string
	AppID          string
	MchOrderNo     string
	IfCode         string
	EntryType      string
	Amount         int64
	Currency       string
	AccountNo      string
	AccountName    string
	BankName       string
	TransferDesc   string
	ClientIP       string
	NotifyURL      string
	ChannelExtra   string
	ExtParam       string
	State          int
	ChannelOrderNo string
	ErrCode        string
	ErrMsg         string
	CreatedAt      time.Time
	SuccessTime    time.Time
}

// Receiver is a split receiver (分账接收者): the input of Server.AddReceiver
// and the snapshot Server.Receiver returns.
type Receiver struct {
	// ID is the receiverId; zero asks AddReceiver to assign the next one.
	ID               int64
	MchNo            string
	AppID            string
	IfCode           string
	Alias            string
	GroupID          int64
	AccType          int
	AccNo            string
	AccName          string
	RelationType     string
	RelationTypeName string
	ChannelExtInfo   string
	// DivisionProfit is the default ratio as a decimal string, e.g. "0.3".
	DivisionProfit  string
	BindSuccessTime time.Time
	// Balance is the receiver's channel balance in fen.
	Balance int64
	// FailSplits makes every split record to this receiver fail (state 2).
	FailSplits bool
}

// DivisionBatch is a snapshot of one split batch (one /api/division/exec or
// one automatic split).
type DivisionBatch struct {
	BatchOrderID        string
	PayOrderID          string
	MchNo               string
	AppID               string
	ChannelBatchOrderID string
	// Auto is true for a split made by divisionMode 1 or
	// useSysAutoDivisionReceivers=1.
	Auto bool
	// Base is the order's divisible amount when the batch was computed:
	// paid − fee − refunded − already split.
	Base      int64
	Records   []DivisionRecord
	CreatedAt time.Time
}

// DivisionRecord is one receiver's share of a batch.
type DivisionRecord struct {
	RecordID          int64
	ReceiverID        int64
	ReceiverGroupID   int64
	ReceiverAlias     string
	AccType           int
	AccNo             string
	AccName           string
	RelationType      string
	RelationTypeName  string
	DivisionProfit    string
	CalDivisionAmount int64
	State             int
	ErrCode           string
	ErrMsg            string
}

// Device is a snapshot of a POS device.
type Device struct {
	MchNo      string
	AppID      string
	DeviceNo   string
	DeviceName string
	SN         string
	StoreID    string
	InitTime   time.Time
}

// Notification is one merchant notification payload and its delivery.
type Notification struct {
	ID int64
	// Kind is "pay", "refund" or "transfer".
	Kind    string
	OrderID string
	URL     string
	// Params are the form fields posted, sign included.
	Params map[string]string
	// Attempts counts the POSTs made so far.
	Attempts int
	// Delivered is set once an attempt got HTTP 200 with body SUCCESS.
	Delivered bool
	// GaveUp is set when every attempt of the schedule failed.
	GaveUp bool
	// Duplicate marks the second copy sent by FaultDuplicateNotify.
	Duplicate bool
	// Stale marks the out-of-date re-notification sent by
	// FaultOutOfOrderNotify.
	Stale       bool
	LastStatus  int
	LastBody    string
	LastError   string
	CreatedAt   time.Time
	DeliveredAt time.Time
}

// Pending reports whether the notification still has attempts to make.
func (n Notification) Pending() bool { return !n.Delivered && !n.GaveUp }

// RequestRecord is one request in the request log.
type RequestRecord struct {
	Time        time.Time
	Method      string
	Path        string
	ContentType string
	// Params are the parsed parameters, sign included; nil when the body
	// could not be parsed.
	Params map[string]string
	// HTTPStatus is the status written, 0 when the connection was dropped.
	HTTPStatus int
	// Code is the envelope's code, -1 when no envelope was written.
	Code int
	// Msg is the envelope's msg.
	Msg string
	// Faults names the fault switches applied to the request.
	Faults []string
}
