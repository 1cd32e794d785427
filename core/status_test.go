package core

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckTransition(t *testing.T) {
	tests := []struct {
		m        Machine
		from, to string
		want     string // "ok", "same", "conflict", "invalid"
	}{
		{MachinePayment, "created", "processing", "ok"},
		{MachinePayment, "processing", "succeeded", "ok"},
		{MachinePayment, "created", "succeeded", "ok"},
		{MachinePayment, "succeeded", "processing", "conflict"},
		{MachinePayment, "succeeded", "failed", "conflict"},
		{MachinePayment, "succeeded", "reversed", "ok"},
		{MachinePayment, "closed", "succeeded", "conflict"},
		{MachinePayment, "failed", "succeeded", "conflict"},
		{MachinePayment, "succeeded", "succeeded", "same"},
		{MachinePayment, "created", "paid", "invalid"},
		{MachineRefund, "processing", "succeeded", "ok"},
		{MachineRefund, "succeeded", "failed", "conflict"},
		{MachinePayout, "succeeded", "returned", "ok"},
		{MachineSplit, "accepted", "processing", "ok"},
		{MachineSplit, "succeeded", "processing", "conflict"},
		{MachineOnboarding, "needs_info", "submitted", "ok"},
		{MachineOnboarding, "needs_info", "approved", "ok"},
		{MachineOnboarding, "rejected", "needs_info", "conflict"},
		{MachineOnboarding, "approved", "draft", "conflict"},
		{MachineToken, "active", "pending", "conflict"},
	}
	for _, tt := range tests {
		t.Run(string(tt.m)+":"+tt.from+"→"+tt.to, func(t *testing.T) {
			err := CheckTransition(tt.m, tt.from, tt.to)
			switch tt.want {
			case "ok":
				assert.NoError(t, err)
			case "same":
				assert.ErrorIs(t, err, ErrNoTransition)
			case "conflict":
				assert.Equal(t, CodeConflict, CodeOf(err))
			case "invalid":
				assert.Equal(t, CodeInvalidRequest, CodeOf(err))
			}
		})
	}
}

func TestTerminalAndInitial(t *testing.T) {
	assert.True(t, PaymentClosed.Terminal())
	assert.True(t, PaymentReversed.Terminal())
	assert.False(t, PaymentSucceeded.Terminal(), "a succeeded payment can still be reversed")
	assert.False(t, PaymentProcessing.Terminal())
	assert.True(t, RefundSucceeded.Terminal())
	for m := range Machines() {
		assert.True(t, ValidStatus(m, InitialStatus(m)), m)
	}
}
