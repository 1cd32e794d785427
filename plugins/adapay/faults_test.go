package adapay_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/plugins/adapay/sim"
)

// TestFaults: every fault switch of the simulator yields the canonical
// error; a call that changes state is never reported failed when it may
// have gone through (unknown_outcome instead), a read is unavailable.
func TestFaults(t *testing.T) {
	tests := []struct {
		fault      sim.Fault
		createCode core.Code // "" = succeeds
		queryCode  core.Code
		stored     bool // did the simulator keep the payment / the entry?
	}{
		{sim.Fault{Kind: sim.FaultLatency, Latency: 50 * time.Millisecond}, "", "", true},
		{sim.Fault{Kind: sim.FaultTimeoutAfterProcessing}, core.CodeUnknownOutcome, core.CodeProviderUnavailable, true},
		{sim.Fault{Kind: sim.FaultHTTP5xxBefore}, core.CodeUnknownOutcome, core.CodeProviderUnavailable, false},
		{sim.Fault{Kind: sim.FaultHTTP5xxAfter}, core.CodeUnknownOutcome, core.CodeProviderUnavailable, true},
		{sim.Fault{Kind: sim.FaultBadSign}, core.CodeUnknownOutcome, core.CodeSignatureInvalid, true},
		{sim.Fault{Kind: sim.FaultMalformed}, core.CodeUnknownOutcome, core.CodeProviderUnavailable, true},
	}
	forEachTransport(t, func(t *testing.T, transport string) {
		for _, tt := range tests {
			t.Run(tt.fault.Kind.String(), func(t *testing.T) {
				e := newEnv(t, transport, nil)
				id := "pay_" + strconv.Itoa(int(tt.fault.Kind))
				e.sim.SetFaults(tt.fault)
				_, err := e.create(core.CreatePaymentRequest{PaymentID: id, Amount: 100, Method: core.MethodAlipayQR})
				assert.Equal(t, tt.createCode, core.CodeOf(err), "create: %v", err)
				_, stored := e.sim.PaymentByOrderNo(sim.DefaultMerchantAppID, id)
				assert.Equal(t, tt.stored, stored)
				if tt.stored {
					_, err = e.query(core.PaymentRef{ID: id})
					assert.Equal(t, tt.queryCode, core.CodeOf(err), "query: %v", err)
				}

				// an onboarding call that changes state behaves the same
				_, err = call[core.ApplyMerchantResponse](e, core.OpOnboardingApply, &core.ApplyMerchantRequest{ApplicationID: "req_" + id,
					Application: application("故障测试公司", core.MerchantEnterprise)})
				assert.Equal(t, tt.createCode, core.CodeOf(err), "apply: %v", err)
				_, stored = e.sim.Entry("req_" + id)
				assert.Equal(t, tt.stored, stored)

				e.sim.SetFaults()
				if tt.stored {
					q, err := e.query(core.PaymentRef{ID: id})
					require.NoError(t, err, "with the fault cleared the payment is found by its order_no")
					assert.Equal(t, core.PaymentProcessing, q.Payment.Status)
					_, err = call[core.QueryMerchantResponse](e, core.OpOnboardingQuery, &core.QueryMerchantRequest{ApplicationID: "req_" + id})
					require.NoError(t, err, "and the application by its request_id")
				}
			})
		}
	})
}

// TestMagicTimeout: the magic amount is processed but never answered.
func TestMagicTimeout(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		_, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_lost", Amount: sim.MagicTimeout, Method: core.MethodAlipayQR})
		assert.Equal(t, core.CodeUnknownOutcome, core.CodeOf(err))
		q, err := e.query(core.PaymentRef{ID: "pay_lost"})
		require.NoError(t, err)
		assert.Equal(t, core.PaymentProcessing, q.Payment.Status)
	})
}

// TestAuthentication: Adapay refuses an unknown API key or a request signed
// with another key before processing (auth_failed, not unknown_outcome); an
// answer signed by someone other than Adapay is refused by the plugin; a
// base_url that is not the endpoint's breaks the signature.
func TestAuthentication(t *testing.T) {
	other, err := sim.NewKeyPair()
	require.NoError(t, err)
	tests := []struct {
		name   string
		change func(*account)
		create core.Code
		query  core.Code
	}{
		{"unknown api key", func(a *account) { a.config["api_key"] = "api_live_00000000-0000-0000-0000-000000000000" }, core.CodeAuthFailed, core.CodeAuthFailed},
		{"wrong private key", func(a *account) { a.private = other.PrivateKeyPEM() }, core.CodeAuthFailed, core.CodeAuthFailed},
		{"base_url not the endpoint", func(a *account) { a.config["base_url"] = "https://api.adapay.tech" }, core.CodeAuthFailed, core.CodeAuthFailed},
		{"wrong Adapay public key", func(a *account) { a.public = other.PublicKeyBase64() }, core.CodeUnknownOutcome, core.CodeSignatureInvalid},
	}
	forEachTransport(t, func(t *testing.T, transport string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, transport, nil)
				e.h = bindAccount(t, e.p.Manifest(), e.gw.URL, tt.change, time.Now)
				_, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_auth", Amount: 100, Method: core.MethodAlipayQR})
				assert.Equal(t, tt.create, core.CodeOf(err), "create: %v", err)
				_, err = e.query(core.PaymentRef{ID: "pay_auth", ProviderID: "002112x"})
				assert.Equal(t, tt.query, core.CodeOf(err), "query: %v", err)
				_, stored := e.sim.PaymentByOrderNo(sim.DefaultMerchantAppID, "pay_auth")
				assert.Equal(t, tt.create == core.CodeUnknownOutcome, stored)
			})
		}
	})
}

// TestDuplicateAndForgedNotifications: a duplicate carries the same event id
// (the host drops it); a notification whose sign does not match its data is
// refused and changes nothing.
func TestDuplicateAndForgedNotifications(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		e := newEnv(t, transport, nil)
		e.sim.SetFaults(sim.Fault{Kind: sim.FaultDuplicateNotify, PathPrefix: "payment."})
		created, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_dup", Amount: 300, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		require.NoError(t, e.sim.Pay(created.Payment.ProviderID))
		first := e.mustParse(t, e.notify.waitType(t, "payment.succeeded"))
		second := e.mustParse(t, e.notify.waitType(t, "payment.succeeded"))
		assert.Equal(t, first[0].ID, second[0].ID, "the duplicate has the same event id")
		notes := e.sim.Notifications()
		require.Len(t, notes, 2)
		assert.True(t, notes[1].Duplicate)

		e.sim.SetFaults(sim.Fault{Kind: sim.FaultNotifyBadSign})
		forged, err := e.create(core.CreatePaymentRequest{PaymentID: "pay_forged", Amount: 300, Method: core.MethodAlipayQR})
		require.NoError(t, err)
		require.NoError(t, e.sim.Pay(forged.Payment.ProviderID))
		_, err = e.parse(e.notify.waitType(t, "payment.succeeded"))
		assert.Equal(t, core.CodeSignatureInvalid, core.CodeOf(err))
	})
}
