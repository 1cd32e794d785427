package host_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/store"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// A payment creation commits twice on its normal path: the claim of its
// key with the payment and its channel before the provider is called, then
// the outcome with its attempt, transition, event and stored answer. A
// replay of the key commits nothing.
func TestCreatePaymentCommitsTwice(t *testing.T) {
	w := newWorld(t, worldOpts{
		extra: func(c *host.Config) { c.NodeHeartbeat = time.Hour }, // no heartbeat inside the measurement
		// no notification either: only the creation commits
		simConfig: func(c *sim.Config) { c.NotifySchedule = []time.Duration{time.Hour} },
	})
	sr, ok := w.store.(store.StatsReporter)
	require.True(t, ok, "the SQL store counts its commits")
	// amounts the simulator does not pay later
	for _, tc := range []struct {
		name   string
		in     host.CreatePaymentInput
		status core.PaymentStatus
	}{
		{"processing", host.CreatePaymentInput{Amount: sim.MagicNeverPay}, core.PaymentProcessing},
		{"declined", host.CreatePaymentInput{Amount: sim.MagicDeclined, Method: core.MethodWechatBarcode,
			Payer: core.Payer{AuthCode: "134567890123456789"}}, core.PaymentFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.IdempotencyKey = "commits-" + tc.name
			before := sr.Stats().Commits
			p, err := w.create(in)
			require.NoError(t, err)
			require.Equal(t, tc.status, p.Status)
			require.Equal(t, uint64(2), sr.Stats().Commits-before, "durable commits for one payment creation")

			before = sr.Stats().Commits
			again, err := w.create(in)
			require.NoError(t, err)
			require.Equal(t, p.ID, again.ID)
			require.Zero(t, sr.Stats().Commits-before, "commits for a replayed key")
		})
	}
}
