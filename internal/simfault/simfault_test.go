package simfault

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTake(t *testing.T) {
	faults := []Fault[int]{{Kind: 1, PathPrefix: "/api/pay", Count: 2}, {Kind: 2}, {Kind: 1, Status: 502}}
	tests := []struct {
		name   string
		kind   int
		key    string
		ok     bool
		status int
		left   int
	}{
		{"prefix and count", 1, "/api/pay/query", true, 503, 3},
		{"count used up: removed", 1, "/api/pay", true, 503, 2},
		{"next match of the kind", 1, "/api/pay", true, 502, 2},
		{"no count: stays", 2, "/anything", true, 503, 2},
		{"no such kind", 3, "/api/pay", false, 503, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := Take(&faults, tt.kind, tt.key)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.status, f.StatusOr(503))
			assert.Len(t, faults, tt.left)
		})
	}
}
