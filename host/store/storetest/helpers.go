package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

// t0 is the suite's clock: microsecond precision, as stores keep.
var t0 = time.Date(2025, 5, 1, 10, 0, 0, 123456000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr[T any](v T) *T { return &v }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(reflect.ValueOf(got), reflect.ValueOf(want), what); d != "" {
		t.Fatal(d)
	}
}

var timeType = reflect.TypeFor[time.Time]()

// diff compares exported values field by field: times with Equal, nil and
// empty maps and byte slices alike. "" when equal.
func diff(got, want reflect.Value, path string) string {
	if got.IsValid() != want.IsValid() {
		return fmt.Sprintf("%s: got %v, want %v", path, got, want)
	}
	if !got.IsValid() {
		return ""
	}
	if got.Type() != want.Type() {
		return fmt.Sprintf("%s: type %s, want %s", path, got.Type(), want.Type())
	}
	switch {
	case got.Type() == timeType:
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !g.Equal(w) {
			return fmt.Sprintf("%s: got %s, want %s", path, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano))
		}
		return ""
	case got.Kind() == reflect.Pointer:
		if got.IsNil() || want.IsNil() {
			if got.IsNil() != want.IsNil() {
				return fmt.Sprintf("%s: got %v, want %v", path, got, want)
			}
			return ""
		}
		return diff(got.Elem(), want.Elem(), path)
	case got.Kind() == reflect.Struct:
		for i := range got.NumField() {
			f := got.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if d := diff(got.Field(i), want.Field(i), path+"."+f.Name); d != "" {
				return d
			}
		}
		return ""
	case got.Kind() == reflect.Slice && got.Type().Elem().Kind() == reflect.Uint8:
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			return fmt.Sprintf("%s: got %q, want %q", path, got.Bytes(), want.Bytes())
		}
		return ""
	case got.Kind() == reflect.Slice:
		if got.Len() != want.Len() {
			return fmt.Sprintf("%s: %d elements, want %d", path, got.Len(), want.Len())
		}
		for i := range got.Len() {
			if d := diff(got.Index(i), want.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	case got.Kind() == reflect.Map:
		if got.Len() == 0 && want.Len() == 0 {
			return ""
		}
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			return fmt.Sprintf("%s: got %v, want %v", path, got.Interface(), want.Interface())
		}
		return ""
	default:
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			return fmt.Sprintf("%s: got %#v, want %#v", path, got.Interface(), want.Interface())
		}
		return ""
	}
}

// fullPayment has every field set.
func fullPayment(id, tenant string) *store.Payment {
	return &store.Payment{
		ID:              id,
		Tenant:          tenant,
		MerchantOrderID: "order-" + id,
		IdempotencyKey:  "idem-" + id,
		Amount:          12345,
		Currency:        "CNY",
		Method:          "alipay.qr",
		Description:     "咖啡 ☕ and 'quotes' \"too\"; DROP TABLE payments; --",
		Metadata:        map[string]string{"cart": "42", "备注": "加急", "empty": ""},
		Status:          "processing",
		Plugin:          "haotian",
		Account:         "haotian-main",
		ProviderID:      "prov-" + id,
		ChannelTradeNo:  "202505011000001",
		PayInfo:         []byte(`{"qr_code":"https://qr.example/abc?x=1&y=2"}`),
		Decision:        []byte(`{"ruleset":"sha256:ab","matched":["r1","r2"],"fee":37}`),
		FeeAmount:       37,
		RefundedAmount:  0,
		RefundReserved:  0,
		FailureCode:     "card_declined",
		FailureMessage:  "declined by the channel",
		ProviderCode:    "ACQ.TRADE_HAS_CLOSE",
		ChannelMethod:   "cashier",
		TerminalID:      "pos-7",
		SplitDueAt:      at(time.Hour),
		ProviderData:    map[string]string{"openid": "o-123", "bank": "ICBC"},
		CreatedAt:       at(0),
		UpdatedAt:       at(time.Second),
		PaidAt:          at(2 * time.Second),
		NextPollAt:      at(time.Minute),
		PollAttempts:    3,
	}
}

// succeededPayment is a payment of amount a refund can be taken from.
func succeededPayment(id, tenant string, amount int64) *store.Payment {
	return &store.Payment{
		ID: id, Tenant: tenant, Amount: amount, Currency: "CNY", Method: "alipay.qr",
		Status: "succeeded", CreatedAt: at(0), UpdatedAt: at(0), PaidAt: at(0),
	}
}

func newRefund(id, tenant, paymentID string, amount int64) *store.Refund {
	return &store.Refund{
		ID: id, Tenant: tenant, PaymentID: paymentID, Amount: amount, Currency: "CNY",
		Status: "processing", CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute),
	}
}

func getPayment(t *testing.T, s store.Store, id string) *store.Payment {
	t.Helper()
	p, err := s.GetPayment(t.Context(), id)
	must(t, err)
	return p
}

func wantTotals(t *testing.T, s store.Store, paymentID string, reserved, refunded int64) {
	t.Helper()
	p := getPayment(t, s, paymentID)
	if p.RefundReserved != reserved || p.RefundedAmount != refunded {
		t.Fatalf("payment %s: reserved %d refunded %d, want %d and %d", paymentID, p.RefundReserved, p.RefundedAmount, reserved, refunded)
	}
}
