package adapay

import (
	"context"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// pathConfirm is 创建支付确认对象.
const pathConfirm = "/v1/payments/confirm"

// merchantMember is the member id of the merchant itself.
const merchantMember = "0"

// divMembers renders the split of a confirmation as div_members: each part's
// amount (a ratio part gets floor(amount × ratio)); what the parts leave goes
// to the merchant's own part (member "0"), which is added when missing; the
// fee member (config fee_member, default the merchant) bears the fee
// (fee_flag Y) — docs/operations.md decision 8.
func divMembers(h pdk.Host, amount int64, split *core.SplitInstruction) ([]byte, error) {
	if split == nil || len(split.Parts) == 0 {
		return nil, nil
	}
	feeMember, _ := h.Config(cfgFeeMember)
	if feeMember == "" {
		feeMember = merchantMember
	}
	type member struct {
		id     string
		amount int64
	}
	var list []member
	index := map[string]int{}
	var sum int64
	for _, p := range split.Parts {
		if p.ReceiverID == "" {
			return nil, invalid("split.parts.receiver_id", "each part needs a member id (receiver_id)")
		}
		v := p.Amount
		if p.RatioPPM > 0 {
			var err error
			if v, err = core.MulDiv(amount, p.RatioPPM, core.PPM, core.RoundDown); err != nil {
				return nil, err
			}
		}
		if v < 0 {
			return nil, invalid("split.parts", "part amounts must not be negative")
		}
		var err error
		if sum, err = core.AddAmounts(sum, v); err != nil {
			return nil, err
		}
		if i, ok := index[p.ReceiverID]; ok {
			list[i].amount += v
			continue
		}
		index[p.ReceiverID] = len(list)
		list = append(list, member{id: p.ReceiverID, amount: v})
	}
	if sum > amount {
		return nil, invalid("split.parts", "the parts exceed the amount captured")
	}
	if i, ok := index[merchantMember]; ok {
		list[i].amount += amount - sum
	} else {
		index[merchantMember] = len(list)
		list = append(list, member{id: merchantMember, amount: amount - sum})
	}
	if _, ok := index[feeMember]; !ok {
		return nil, invalid("split.parts", "the fee member "+feeMember+" has no part")
	}
	items := make([][]byte, 0, len(list))
	for _, m := range list {
		flag := "N"
		if m.id == feeMember {
			flag = "Y"
		}
		items = append(items, (&jsonBody{}).str("member_id", m.id).str("amount", core.FormatAmount(m.amount, 2)).str("fee_flag", flag).bytes())
	}
	return jsonArray(items), nil
}

// CapturePayment implements pdk.PaymentCapturer with 创建支付确认对象 (POST
// /v1/payments/confirm): releases funds of a delayed payment (pay_mode
// delay), split among members by Split (receiver ids are Adapay member
// ids; "0" is the merchant).
func (*Plugin) CapturePayment(ctx context.Context, h pdk.Host, req *core.CapturePaymentRequest) (*core.CapturePaymentResponse, error) {
	switch {
	case req.CaptureID == "":
		return nil, invalid("capture_id", "capture_id is required (it is the order_no)")
	case req.Amount <= 0:
		return nil, invalid("amount", "amount must be a positive integer in minor units")
	case req.Payment.Amount > 0 && req.Amount > req.Payment.Amount:
		return nil, invalid("amount", "the capture exceeds the payment")
	}
	members, err := divMembers(h, req.Amount, req.Split)
	if err != nil {
		return nil, err
	}
	id := req.Payment.ProviderID
	if id == "" {
		data, err := findPayment(ctx, h, req.Payment)
		if err != nil {
			return nil, err
		}
		id = data.Get("id")
	}
	body := (&jsonBody{}).
		str("payment_id", id).
		str("order_no", req.CaptureID).
		str("confirm_amt", core.FormatAmount(req.Amount, 2)).
		str("description", req.Extra["description"]).
		raw("div_members", members)
	data, err := call(ctx, h, &request{method: "POST", path: pathConfirm, body: body, mutating: true})
	if err != nil {
		return nil, err
	}
	if data.Get("id") == "" {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "payments/confirm answered without an id"}
	}
	resp := &core.CapturePaymentResponse{CaptureProviderID: data.Get("id"), Status: paymentStatus(data.Get("status")),
		Payment: core.Payment{ID: req.Payment.ID, ProviderID: id, Status: core.PaymentSucceeded, Amount: req.Payment.Amount,
			Currency: "CNY", Method: req.Payment.Method, FailureCode: data.Get("error_code"), FailureMessage: data.Get("error_msg")}}
	if resp.Status == core.PaymentSucceeded {
		resp.Payment.CapturedAmount = req.Amount
	}
	return resp, nil
}
