package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// runCmd runs the payhost CLI in-process and returns exit code and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCmdEnv(t, nil, args...)
}

// runCmdEnv is runCmd with an environment.
func runCmdEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &cmdEnv{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}, args)
	return code, out.String(), errb.String()
}

func TestVersionAndUsage(t *testing.T) {
	code, out, _ := runCmd(t, "version")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "plugin ABI v1")
	code, out, _ = runCmd(t)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: payhost")
	code, _, errOut := runCmd(t, "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "unknown command")
}

// TestHelpExitsZero: --help prints a command's flags and succeeds; a bad
// flag is a usage error.
func TestHelpExitsZero(t *testing.T) {
	for _, cmd := range [][]string{{"rules", "check"}, {"rules", "test"}, {"rules", "simulate"}, {"reconcile"}, {"sandbox"}, {"demo"}, {"serve"}, {"bench"}} {
		t.Run(strings.Join(cmd, " "), func(t *testing.T) {
			code, _, errOut := runCmd(t, append(cmd, "--help")...)
			assert.Equal(t, 0, code, errOut)
			assert.Contains(t, errOut, "Usage of payhost "+strings.Join(cmd, " "))
			code, _, _ = runCmd(t, append(cmd, "--no-such-flag")...)
			assert.Equal(t, 2, code)
		})
	}
}
