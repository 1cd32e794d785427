package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSandboxConfig(t *testing.T) {
	s := New(SandboxConfig())
	defer s.Close()
	for _, id := range []int64{800001, 800002} {
		r, ok := s.Receiver(id)
		require.True(t, ok, "receiver %d pre-bound", id)
		assert.Equal(t, int64(100001), r.GroupID)
		assert.Equal(t, "0.1", r.DivisionProfit)
	}
	bal, ok := s.MerchantBalance(DefaultMerchant.MchNo)
	assert.True(t, ok)
	assert.Equal(t, DefaultMerchant.OpeningBalance, bal)
	_, ok = s.Order("P404")
	assert.False(t, ok)
	_, ok = s.Refund("R404")
	assert.False(t, ok)
	_, ok = s.Transfer("T404")
	assert.False(t, ok)
	_, ok = s.Batch("D404")
	assert.False(t, ok)
	_, ok = s.Balance(1)
	assert.False(t, ok)
	_, ok = s.MerchantBalance("M404")
	assert.False(t, ok)
	assert.Empty(t, s.Batches("P404"))
	assert.Equal(t, "timeout_after_processing", FaultTimeoutAfterProcessing.String())
	assert.Equal(t, "unknown", FaultKind(0).String())
}
