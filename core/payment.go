package core

import "time"

// Payer carries what a method needs to know about the payer. Card fields are
// sensitive: the host never logs or stores them.
type Payer struct {
	ClientIP   string `json:"client_ip,omitempty"`
	OpenID     string `json:"open_id,omitempty"`     // WeChat openid (jsapi, mini)
	AppID      string `json:"app_id,omitempty"`      // WeChat appid the openid belongs to
	BuyerID    string `json:"buyer_id,omitempty"`    // Alipay buyer user id
	AuthCode   string `json:"auth_code,omitempty"`   // payer code scanned by the merchant (barcode methods)
	UserID     string `json:"user_id,omitempty"`     // provider-side customer id (e.g. hfpay user_cust_id)
	Name       string `json:"name,omitempty"`        //
	Email      string `json:"email,omitempty"`       //
	Phone      string `json:"phone,omitempty"`       //
	Country    string `json:"country,omitempty"`     // ISO 3166-1 alpha-2
	BankCode   string `json:"bank_code,omitempty"`   // bank of a card or online-banking payment
	CardNo     string `json:"card_no,omitempty"`     // quick pay card number (sensitive)
	CardMobile string `json:"card_mobile,omitempty"` // phone registered with the card (sensitive)
	TokenID    string `json:"token_id,omitempty"`    // authorised-debit token (method token)
}

// TerminalInfo identifies the device a payment is taken on.
type TerminalInfo struct {
	ID       string `json:"id"`                  // device number
	Kind     string `json:"kind,omitempty"`      // pos, smart_pos, qr_stand, ...
	SerialNo string `json:"serial_no,omitempty"` //
	Model    string `json:"model,omitempty"`     //
	Location string `json:"location,omitempty"`  // "lat,lng"
	IP       string `json:"ip,omitempty"`        //
}

// SplitMode says how the split of a payment is carried out.
type SplitMode string

// Split modes.
const (
	SplitNone   SplitMode = "none"   // no split
	SplitInline SplitMode = "inline" // split parts travel with the payment (e.g. hfpay div_detail)
	SplitAuto   SplitMode = "auto"   // the provider splits after success (e.g. Jeepay divisionMode 1)
	SplitManual SplitMode = "manual" // funds are held; the merchant executes the split later
)

// SplitPart is one receiver's share: a fixed Amount or a RatioPPM.
type SplitPart struct {
	ReceiverID  string `json:"receiver_id,omitempty"` // provider receiver id (Jeepay receiverId, hfpay divCustId)
	AccountID   string `json:"account_id,omitempty"`  // provider account of the receiver (hfpay divAcctId)
	GroupID     string `json:"group_id,omitempty"`    // receiver group (Jeepay receiverGroupId)
	Amount      int64  `json:"amount,omitempty"`      // minor units
	RatioPPM    int64  `json:"ratio_ppm,omitempty"`   // parts per million of the splittable base
	Description string `json:"description,omitempty"`
}

// SplitInstruction is the split decided for a payment.
type SplitInstruction struct {
	Mode  SplitMode   `json:"mode"`
	Parts []SplitPart `json:"parts,omitempty"`
}

// CaptureMode says when the funds of a payment reach the merchant.
type CaptureMode string

// Capture modes.
const (
	CaptureImmediate CaptureMode = ""          // settled normally
	CaptureDelayed   CaptureMode = "delayed"   // held until payment.capture (Adapay pay_mode delay)
	CaptureGuarantee CaptureMode = "guarantee" // guarantee (escrow) until confirmed (hfpay trans_type guarantee)
)

// PayInfoKind says how the payer completes a payment.
type PayInfoKind string

// Pay-info kinds.
const (
	PayInfoQRCode      PayInfoKind = "qr_code"      // Data is the content of a QR code to show
	PayInfoQRImage     PayInfoKind = "qr_image"     // Data is the URL of a QR code image
	PayInfoRedirect    PayInfoKind = "redirect_url" // Data is a URL to send the payer to
	PayInfoForm        PayInfoKind = "html_form"    // Data is an auto-submitting HTML form
	PayInfoJSAPI       PayInfoKind = "jsapi"        // Data is the JSON parameters for the wallet's JS bridge
	PayInfoApp         PayInfoKind = "app"          // Data is the parameters for a native app SDK
	PayInfoMiniProgram PayInfoKind = "mini_program" // Data is mini-program launch parameters
	PayInfoSMS         PayInfoKind = "sms_code"     // an SMS code was sent; call payment.confirm with it
	PayInfoNone        PayInfoKind = "none"         // nothing to do (barcode payments)
)

// PayInfo tells the platform how the payer completes the payment.
type PayInfo struct {
	Kind PayInfoKind `json:"kind"`
	Data string      `json:"data,omitempty"`
}

// Payment is the canonical view of a payment at the provider.
type Payment struct {
	ID             string            `json:"id"`                         // Payhost's id, used as the merchant order number
	ProviderID     string            `json:"provider_id,omitempty"`      // the provider's order id
	ChannelTradeNo string            `json:"channel_trade_no,omitempty"` // upstream wallet's trade number
	Status         PaymentStatus     `json:"status"`
	Amount         int64             `json:"amount"`
	Currency       Currency          `json:"currency"`
	Method         Method            `json:"method,omitempty"`
	FeeAmount      int64             `json:"fee_amount,omitempty"`
	RefundedAmount int64             `json:"refunded_amount,omitempty"`
	PayInfo        *PayInfo          `json:"pay_info,omitempty"`
	FailureCode    string            `json:"failure_code,omitempty"`
	FailureMessage string            `json:"failure_message,omitempty"`
	PaidAt         time.Time         `json:"paid_at,omitzero"`
	ProviderData   map[string]string `json:"provider_data,omitempty"`   // plugin-owned facts, sent back on later calls
	CapturedAmount int64             `json:"captured_amount,omitempty"` // funds of a delayed or guarantee payment released so far
}

// PaymentRef identifies an existing payment in later calls. The host fills
// it from its store, including the ProviderData the plugin returned.
type PaymentRef struct {
	ID           string            `json:"id"`
	ProviderID   string            `json:"provider_id,omitempty"`
	Amount       int64             `json:"amount,omitempty"`
	Currency     Currency          `json:"currency,omitempty"`
	Method       Method            `json:"method,omitempty"`
	CreatedAt    time.Time         `json:"created_at,omitzero"`
	ProviderData map[string]string `json:"provider_data,omitempty"`
}

// CreatePaymentRequest starts a payment.
type CreatePaymentRequest struct {
	PaymentID     string            `json:"payment_id"`
	Amount        int64             `json:"amount"`
	Currency      Currency          `json:"currency"`
	Method        Method            `json:"method"`
	Subject       string            `json:"subject,omitempty"`     // short title shown to the payer
	Description   string            `json:"description,omitempty"` // longer body
	Payer         Payer             `json:"payer,omitzero"`
	Terminal      *TerminalInfo     `json:"terminal,omitempty"`
	Split         *SplitInstruction `json:"split,omitempty"`
	Capture       CaptureMode       `json:"capture,omitempty"`
	NotifyURL     string            `json:"notify_url,omitempty"`
	ReturnURL     string            `json:"return_url,omitempty"`
	ExpireSeconds int64             `json:"expire_seconds,omitempty"`
	CreatedAt     time.Time         `json:"created_at,omitzero"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	Extra         map[string]string `json:"extra,omitempty"`           // provider-specific parameters, passed through
	SubMerchantID string            `json:"sub_merchant_id,omitempty"` // provider id of the merchant collected for (dougong huifu_id, hfpay in_cust_id); empty = the account's own
}

// Validate checks the provider-independent rules of the request.
func (r *CreatePaymentRequest) Validate() error {
	switch {
	case r.PaymentID == "":
		return &Error{Code: CodeInvalidRequest, Param: "payment_id", Message: "payment_id is required"}
	case r.Amount <= 0:
		return &Error{Code: CodeInvalidRequest, Param: "amount", Message: "amount must be a positive integer in minor units"}
	case !r.Currency.Valid():
		return &Error{Code: CodeInvalidRequest, Param: "currency", Message: "unknown currency " + string(r.Currency)}
	case !r.Method.Valid():
		return &Error{Code: CodeInvalidRequest, Param: "method", Message: "unknown method " + string(r.Method)}
	case r.Method.Barcode() && r.Payer.AuthCode == "":
		return &Error{Code: CodeInvalidRequest, Param: "payer.auth_code", Message: "barcode methods need the payer's code"}
	case r.ExpireSeconds < 0:
		return &Error{Code: CodeInvalidRequest, Param: "expire_seconds", Message: "expire_seconds must not be negative"}
	}
	return nil
}

// CreatePaymentResponse is the payment as created.
type CreatePaymentResponse struct {
	Payment Payment `json:"payment"`
}

// QueryPaymentRequest asks the provider for a payment's state.
type QueryPaymentRequest struct {
	Payment PaymentRef `json:"payment"`
}

// QueryPaymentResponse is the payment's state at the provider.
type QueryPaymentResponse struct {
	Payment Payment `json:"payment"`
}

// ClosePaymentRequest closes an unpaid payment.
type ClosePaymentRequest struct {
	Payment   PaymentRef `json:"payment"`
	Reason    string     `json:"reason,omitempty"`
	CreatedAt time.Time  `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// ClosePaymentResponse is the payment after the close.
type ClosePaymentResponse struct {
	Payment Payment `json:"payment"`
}

// CancelPaymentRequest voids or reverses a payment.
type CancelPaymentRequest struct {
	CancelID  string     `json:"cancel_id"` // new merchant order number for the reversal
	Payment   PaymentRef `json:"payment"`
	Amount    int64      `json:"amount,omitempty"` // 0 = the whole payment
	Reason    string     `json:"reason,omitempty"`
	NotifyURL string     `json:"notify_url,omitempty"`
	CreatedAt time.Time  `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// CancelPaymentResponse is the payment after the cancel.
type CancelPaymentResponse struct {
	Payment          Payment `json:"payment"`
	CancelProviderID string  `json:"cancel_provider_id,omitempty"`
}

// ConfirmPaymentRequest submits the payer's verification code (quick pay SMS).
type ConfirmPaymentRequest struct {
	Payment          PaymentRef        `json:"payment"`
	VerificationCode string            `json:"verification_code"`
	Extra            map[string]string `json:"extra,omitempty"`
	CreatedAt        time.Time         `json:"created_at,omitzero"`  // first attempt; identical on every retry
	ConfirmID        string            `json:"confirm_id,omitempty"` // new merchant order number, where the provider makes the confirmation an order
	NotifyURL        string            `json:"notify_url,omitempty"`
}

// ConfirmPaymentResponse is the payment after confirmation.
type ConfirmPaymentResponse struct {
	Payment Payment `json:"payment"`
}

// CapturePaymentRequest releases funds held by a delayed or guarantee payment,
// optionally splitting them.
type CapturePaymentRequest struct {
	CaptureID string            `json:"capture_id"` // new merchant order number for the confirmation
	Payment   PaymentRef        `json:"payment"`
	Amount    int64             `json:"amount"`
	Split     *SplitInstruction `json:"split,omitempty"`
	NotifyURL string            `json:"notify_url,omitempty"`
	Extra     map[string]string `json:"extra,omitempty"`
	CreatedAt time.Time         `json:"created_at,omitzero"` // first attempt; identical on every retry
}

// CapturePaymentResponse is the capture's outcome.
type CapturePaymentResponse struct {
	CaptureProviderID string        `json:"capture_provider_id,omitempty"`
	Status            PaymentStatus `json:"status"` // succeeded, processing or failed
	Payment           Payment       `json:"payment"`
}
