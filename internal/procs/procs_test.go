package procs

import (
	"bytes"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCPUTime(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want time.Duration
		bad  bool
	}{
		{"plain", "4242 (payhost) S 1 4242 4242 0 -1 4194560 1 0 0 0 150 25 0 0 20 0 9 0 1 1 1 1", 1750 * time.Millisecond, false},
		{"name with spaces and parentheses", "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0", 70 * time.Millisecond, false},
		{"no name", "7 a R 1", 0, true},
		{"short", "7 (a) R 1 7 7 0", 0, true},
		{"not a number", "7 (a) R 1 7 7 0 -1 0 0 0 0 0 x 4 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCPUTime(tt.stat)
			if tt.bad {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestStart: the ready line is the first line on stdout; a process that
// exits without one is an error; Stop ends a running one; CPUTime reads
// /proc on Linux.
func TestStart(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	var log bytes.Buffer
	p, line, err := Start("/bin/sh", []string{"-c", "echo oops >&2; echo ready; echo more; exec sleep 600"}, nil, &log, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, "ready", string(line))
	if runtime.GOOS == "linux" {
		_, err := p.CPUTime()
		assert.NoError(t, err)
	}
	p.Stop()
	assert.Equal(t, "oops\n", log.String())

	_, _, err = Start("/bin/sh", []string{"-c", "exit 3"}, nil, &log, time.Minute)
	assert.ErrorContains(t, err, "exited")
}
