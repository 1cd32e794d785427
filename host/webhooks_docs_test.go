package host_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/webhook"
)

// docBlock returns the fenced code block of docs/webhooks.md that starts
// with first.
func docBlock(t *testing.T, fence, first string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "webhooks.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "```"+fence+"\n"+first)
	require.True(t, ok, "docs/webhooks.md has no %s block starting %q", fence, first)
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	return first + block
}

// TestWebhookDocsSnippets runs the verification snippets of
// docs/webhooks.md (Go and shell with OpenSSL) on a real delivery: both
// accept it, and refuse it with one byte of the body changed.
func TestWebhookDocsSnippets(t *testing.T) {
	w := newWorld(t, worldOpts{extra: hookConfig})
	rc := newReceiver(t, nil)
	ep := addEndpoint(t, w.host, rc.srv.URL, "*")
	_, err := w.create(host.CreatePaymentInput{IdempotencyKey: "wh-docs"})
	require.NoError(t, err)
	deliverUntil(t, w.host, "a delivery", func() bool { return len(rc.requests()) == 1 })
	got := rc.requests()[0]
	dir := t.TempDir()
	good, tampered := filepath.Join(dir, "body.json"), filepath.Join(dir, "tampered.json")
	require.NoError(t, os.WriteFile(good, got.body, 0o600))
	require.NoError(t, os.WriteFile(tampered, append([]byte(" "), got.body...), 0o600))
	env := append(os.Environ(), "SECRET="+ep.Secret, "SIG="+got.header.Get(webhook.HeaderSignature))

	t.Run("go", func(t *testing.T) {
		goTool, err := exec.LookPath("go")
		if err != nil {
			t.Skip("no go tool on PATH")
		}
		src := `package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

` + docBlock(t, "go", "// verifyPayhost") + `
func main() {
	body, _ := os.ReadFile(os.Args[1])
	if err := verifyPayhost(os.Getenv("SECRET"), os.Getenv("SIG"), body, time.Now()); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("signature valid")
}
`
		main := filepath.Join(dir, "verify.go")
		require.NoError(t, os.WriteFile(main, []byte(src), 0o600))
		bin := filepath.Join(dir, "verify")
		build := exec.Command(goTool, "build", "-o", bin, main)
		build.Dir = dir
		out, err := build.CombinedOutput()
		require.NoError(t, err, "%s", out)
		run := func(body string) (string, error) {
			cmd := exec.Command(bin, body)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			return strings.TrimSpace(string(out)), err
		}
		out2, err := run(good)
		assert.NoError(t, err)
		assert.Equal(t, "signature valid", out2)
		out2, err = run(tampered)
		assert.Error(t, err)
		assert.Equal(t, "Payhost-Signature does not match", out2)
	})
	t.Run("shell", func(t *testing.T) {
		if _, err := exec.LookPath("openssl"); err != nil {
			t.Skip("no openssl on PATH")
		}
		script := docBlock(t, "sh", "t=${SIG#t=}")
		run := func(body string) string {
			cmd := exec.Command("sh", "-c", strings.ReplaceAll(script, "body.json", body))
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			return strings.TrimSpace(string(out))
		}
		assert.Equal(t, "signature valid", run(good))
		assert.Equal(t, "signature INVALID", run(tampered))
	})
}
