package sim

import (
	"net/http"
	"time"
)

// Merchant is one merchant application the simulator accepts (the gateway
// knows a merchant number, an application id and the application's MD5
// secret).
type Merchant struct {
	// MchNo is the merchant number (商户号), e.g. M1621873433953.
	MchNo string
	// AppID is the application id (应用ID) the merchant signs with.
	AppID string
	// Secret is the application's MD5 secret (appSecret).
	Secret string
	// Name is the merchant's short name, echoed by the POS interface.
	Name string
	// IfCodes lists the payment interfaces opened for the application
	// (wxpay, alipay, ysfpay, pppay); empty opens all four.
	IfCodes []string
	// OpeningBalance is the merchant's transferable balance in fen before any
	// payment; payments, refunds, splits and transfers move it from there.
	OpeningBalance int64
	// Devices lists the POS device numbers registered for the merchant; empty
	// lets any device number be initialised.
	Devices []string
}

// ReceiverGroup is a split receiver group (分账账号组). Groups are created in
// the merchant portal in reality; here they come from Config.Groups or
// Server.AddGroup.
type ReceiverGroup struct {
	// ID is the group id (receiverGroupId), e.g. 100001.
	ID int64
	// MchNo is the merchant that owns the group.
	MchNo string
	// Name is the group's display name.
	Name string
	// AutoDivision flags the merchant's automatic split group, used by
	// useSysAutoDivisionReceivers=1 and by orders with divisionMode 1. The
	// first flagged group of a merchant wins.
	AutoDivision bool
}

// Config configures a Server. The zero value of every duration means
// "immediately" (or "never" for AutoPayDelay), which is what tests want; the
// sandbox sets delays to look like the real gateway.
type Config struct {
	// Merchants are the merchant applications accepted.
	Merchants []Merchant
	// Groups are the split receiver groups that exist at start.
	Groups []ReceiverGroup
	// Receivers are split receivers bound at start (the sandbox pre-wires
	// some); a zero ID is assigned.
	Receivers []Receiver
	// FeeRatePPM is the merchant fee rate in parts per million of the paid
	// amount (floor). 0 means the default 6000 (0.6%); negative means no fee.
	FeeRatePPM int64
	// ReqTimeWindow is how far reqTime may be from the simulator's clock.
	// 0 means 5 minutes; negative disables the check.
	ReqTimeWindow time.Duration
	// AutoPayDelay, when positive, makes a simulated payer complete QR, JSAPI,
	// H5, app, PC and cashier orders that long after creation. 0 leaves them
	// paying until Server.Pay or Server.Fail.
	AutoPayDelay time.Duration
	// RefundDelay is how long a refund stays processing (state 1) before it
	// succeeds or fails; 0 settles it inside the refund response.
	RefundDelay time.Duration
	// TransferDelay is the same for transfers.
	TransferDelay time.Duration
	// DivisionAutoDelay is how long after payment an order with divisionMode 1
	// is split to the auto group; 0 splits at once.
	DivisionAutoDelay time.Duration
	// DivisionAcceptDelay is how long split records stay accepted (4) before
	// processing (3); 0 moves them at once.
	DivisionAcceptDelay time.Duration
	// DivisionSettleDelay is how long split records stay processing (3) before
	// success (1) or failure (2); 0 settles them at once.
	DivisionSettleDelay time.Duration
	// NotifySchedule is the delay before each notification attempt; nil means
	// the gateway's 0/30/60/90/120/150 s. After the last failed attempt the
	// notification is given up.
	NotifySchedule []time.Duration
	// NotifyTimeout bounds one notification attempt; 0 means 10 s.
	NotifyTimeout time.Duration
	// HTTPClient sends notifications; nil means a plain http.Client.
	HTTPClient *http.Client
	// Now is the clock for reqTime checks and every timestamp; nil means
	// time.Now.
	Now func() time.Time
	// IDFunc makes order ids from a prefix (P pay, R refund, T transfer,
	// D split batch, C channel order, B channel split batch) and a per-prefix
	// sequence starting at 1. nil means prefix + a 19-digit number.
	IDFunc func(prefix string, seq int64) string
	// ReceiverIDStart is the first receiverId assigned; 0 means 800001.
	ReceiverIDStart int64
	// RecordIDStart is the first split recordId assigned; 0 means 1001.
	RecordIDStart int64
	// OrderExpiry is how long a pay order may stay unpaid when the request
	// has no expiredTime; 0 means 2 hours. Expired orders are closed (6).
	OrderExpiry time.Duration
	// RequestLogSize is how many requests Server.Requests keeps; 0 means 256.
	RequestLogSize int
	// PublicURL is the base of pay links (payurl, codeImgUrl) handed to
	// payers; "" uses the Host of the request. GET {PublicURL}/sim/pay/{id}
	// pays the order, like a payer scanning the code.
	PublicURL string
	// Location is the time zone of the POS daily summary; nil means UTC+8.
	Location *time.Location
}

// DefaultMerchant is the merchant of DefaultConfig: the public Jeepay demo
// values used by the seed's examples.
var DefaultMerchant = Merchant{
	MchNo:          "M1621873433953",
	AppID:          "60cc09bce4b0f1c0b83761c9",
	Secret:         "EWEFD123RGSRETYDFNGFGFGSHDFGH",
	Name:           "昊天测试商户",
	OpeningBalance: 1_000_000,
}

// DefaultConfig returns a configuration with DefaultMerchant, its automatic
// split group 100001 and a manual group 100002, ready for the sandbox.
func DefaultConfig() Config {
	return Config{
		Merchants: []Merchant{DefaultMerchant},
		Groups: []ReceiverGroup{
			{ID: 100001, MchNo: DefaultMerchant.MchNo, Name: "默认分账组", AutoDivision: true},
			{ID: 100002, MchNo: DefaultMerchant.MchNo, Name: "手动分账组"},
		},
	}
}

// SandboxConfig returns DefaultConfig with the gateway's pace, for `payhost
// sandbox`: a payer pays QR, JSAPI, H5 and cashier orders after 5 s, refunds
// take 2 s, transfers 3 s, a divisionMode 1 order is split 5 s after payment
// and split records take 1 s + 2 s, notifications follow the gateway's
// schedule. Two receivers are bound in the auto group 100001: 800001
// (wxpay, 10%) and 800002 (alipay, 10%).
func SandboxConfig() Config {
	c := DefaultConfig()
	c.AutoPayDelay = 5 * time.Second
	c.RefundDelay = 2 * time.Second
	c.TransferDelay = 3 * time.Second
	c.DivisionAutoDelay = 5 * time.Second
	c.DivisionAcceptDelay = time.Second
	c.DivisionSettleDelay = 2 * time.Second
	c.Receivers = []Receiver{
		{MchNo: DefaultMerchant.MchNo, IfCode: ifWxpay, GroupID: 100001, Alias: "门店分润", AccType: 0, AccNo: "o8jhotwaUEffs1fyWE5O3N4HWvbk", AccName: "张三", RelationType: "STORE", DivisionProfit: "0.1"},
		{MchNo: DefaultMerchant.MchNo, IfCode: ifAlipay, GroupID: 100001, Alias: "合作伙伴", AccType: 0, AccNo: "2088102175953034", AccName: "李四", RelationType: "PARTNER", DivisionProfit: "0.1"},
	}
	return c
}

const (
	defaultFeeRatePPM    = 6000
	defaultReqTimeWindow = 5 * time.Minute
	defaultNotifyTimeout = 10 * time.Second
	defaultOrderExpiry   = 2 * time.Hour
	defaultRequestLog    = 256
	defaultReceiverStart = 800001
	defaultRecordStart   = 1001
)

// DefaultNotifySchedule is the gateway's notification schedule: up to six
// attempts, 0/30/60/90/120/150 seconds after the previous one.
var DefaultNotifySchedule = []time.Duration{0, 30 * time.Second, 60 * time.Second, 90 * time.Second, 120 * time.Second, 150 * time.Second}
