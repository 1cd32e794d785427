package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/internal/testwasm"
)

// startSandboxCmd runs `payhost sandbox ARGS` in-process and waits for its
// ready line.
func startSandboxCmd(t *testing.T, args ...string) (*running, sandboxReady) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		r.done <- run(ctx, &cmdEnv{stdout: r.stdout, stderr: r.stderr, getenv: func(string) string { return "" }},
			append([]string{"sandbox"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("payhost sandbox did not stop")
		}
	})
	var rd sandboxReady
	deadline := time.After(2 * time.Minute)
	for rd.URL == "" {
		select {
		case code := <-r.done:
			r.done <- code
			t.Fatalf("payhost sandbox exited with %d:\n%s", code, r.stderr.String())
		case <-deadline:
			t.Fatalf("payhost sandbox did not start:\n%s", r.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if line, _, ok := strings.Cut(r.stdout.String(), "\n"); ok {
			require.NoError(t, json.Unmarshal([]byte(line), &rd), "the first line is JSON: %q", line)
		}
	}
	r.url = rd.URL
	return r, rd
}

// TestSandboxQuickstart follows the README: the ready line, then the
// printed curl commands — a payment the simulator completes, a refund, and
// a query showing both — with both plugins loaded from wasm.
func TestSandboxQuickstart(t *testing.T) {
	plugins := t.TempDir()
	for _, name := range []string{"haotian", "adapay"} {
		data, err := os.ReadFile(testwasm.Build(t, "plugins/"+name+"/wasm"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(plugins, name+".wasm"), data, 0o644))
	}
	data := t.TempDir()
	srv, rd := startSandboxCmd(t, "--addr", "127.0.0.1:0", "--data", data, "--plugins", plugins, "--fast",
		"--rules", "../../examples/rules.yaml")
	assert.True(t, rd.Ready)
	assert.True(t, strings.HasPrefix(rd.APIKey, "sk_sandbox_"))
	assert.NotEmpty(t, rd.AdminToken)
	out := srv.stdout.String()
	assert.Contains(t, out, "URL="+rd.URL+" KEY="+rd.APIKey+"\n", "the curl examples are ready to paste")
	assert.Contains(t, out, "Magic amounts")
	assert.NotContains(t, srv.stderr.String(), "runs natively", "both plugins came from wasm")

	// the generated configuration is a real serve configuration, without secrets
	cfg, err := os.ReadFile(filepath.Join(data, "payhost.yaml"))
	require.NoError(t, err)
	assert.NotContains(t, string(cfg), rd.APIKey)
	assert.NotContains(t, string(cfg), rd.AdminToken)
	assert.Contains(t, string(cfg), "env:"+envSandboxAPIKey)

	r := call(t, "POST", rd.URL+"/v1/payments", rd.APIKey, "order-1001",
		`{"amount":1000,"currency":"CNY","method":"wechat.native","merchant_order_id":"order-1001","description":"coffee"}`)
	require.Equal(t, 201, r.status, "%s", r.body)
	p := r.obj(t)
	assert.Equal(t, "processing", p["status"])
	assert.Equal(t, "haotian/main/wechat.native", p["channel"])
	id := p["id"].(string)
	eventually(t, "the simulated payer to pay", func() bool {
		return call(t, "GET", rd.URL+"/v1/payments/"+id, rd.APIKey, "", "").obj(t)["status"] == "succeeded"
	})
	r = call(t, "POST", rd.URL+"/v1/payments/"+id+"/refunds", rd.APIKey, "refund-1001-1", `{"amount":300,"reason":"one cup returned"}`)
	require.Equal(t, 201, r.status, "%s", r.body)
	eventually(t, "the refund to settle", func() bool {
		got := call(t, "GET", rd.URL+"/v1/payments/"+id, rd.APIKey, "", "").obj(t)
		refunds, _ := got["refunds"].([]any)
		return got["status"] == "succeeded" && got["refunded_amount"] == float64(300) && len(refunds) == 1 &&
			refunds[0].(map[string]any)["status"] == "succeeded"
	})

	// Adapay behind the rules, and the admin API with the printed token
	r = call(t, "POST", rd.URL+"/v1/payments", rd.APIKey, "order-1002", `{"amount":1000,"currency":"CNY","method":"alipay.qr"}`)
	require.Equal(t, 201, r.status, "%s", r.body)
	assert.Equal(t, "adapay/app/alipay.qr", r.obj(t)["channel"])
	r = call(t, "GET", rd.URL+"/admin/plugins", rd.AdminToken, "", "")
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), `"haotian"`)
	assert.Contains(t, string(r.body), `"adapay"`)

	// payhost demo against the running sandbox
	var demoOut syncBuffer
	code := run(context.Background(), &cmdEnv{stdout: &demoOut, stderr: &demoOut, getenv: func(string) string { return "" }},
		[]string{"demo", "--url", rd.URL, "--api-key", rd.APIKey, "--wait", "15s"})
	assert.Equal(t, 0, code, "%s", demoOut.String())
	assert.Contains(t, demoOut.String(), "all 18 steps went as expected")

	assert.Equal(t, 0, srv.stop(t), "Ctrl-C stops it cleanly")
}

// TestSandboxStartsEmpty: each start has a fresh database unless --keep.
func TestSandboxStartsEmpty(t *testing.T) {
	data := t.TempDir()
	srv, rd := startSandboxCmd(t, "--addr", "127.0.0.1:0", "--data", data, "--plugins", t.TempDir(), "--fast")
	r := call(t, "POST", rd.URL+"/v1/payments", rd.APIKey, "k1", `{"amount":1000,"currency":"CNY","method":"wechat.native"}`)
	require.Equal(t, 201, r.status, "%s", r.body)
	id := r.obj(t)["id"].(string)
	assert.Contains(t, srv.stderr.String(), "runs natively", "no wasm build: the plugins are linked in, and it says so")
	require.Equal(t, 0, srv.stop(t))

	kept, rd := startSandboxCmd(t, "--addr", "127.0.0.1:0", "--data", data, "--plugins", t.TempDir(), "--keep")
	assert.Equal(t, 200, call(t, "GET", rd.URL+"/v1/payments/"+id, rd.APIKey, "", "").status, "--keep keeps it")
	require.Equal(t, 0, kept.stop(t), kept.stderr.String())

	_, rd = startSandboxCmd(t, "--addr", "127.0.0.1:0", "--data", data, "--plugins", t.TempDir())
	assert.Equal(t, 404, call(t, "GET", rd.URL+"/v1/payments/"+id, rd.APIKey, "", "").status, "a fresh start forgets it")
}

// TestSandboxRefusesAMissingKey: a key of an account that does not
// resolve stops the sandbox before its ready line, naming the account and
// the key.
func TestSandboxRefusesAMissingKey(t *testing.T) {
	var out syncBuffer
	env := &cmdEnv{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	announced := false
	_, err := startSandbox(context.Background(), env, sandboxOptions{Addr: "127.0.0.1:0", DataDir: t.TempDir(), PluginDir: t.TempDir(),
		editSecrets: func(s map[string]string) { delete(s, envSandboxAdapayPK) }},
		func(io.Writer, *sandbox) { announced = true })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "account app: key merchant_private: env:"+envSandboxAdapayPK+": the environment variable is empty or unset")
	assert.False(t, announced, "no ready line")
	assert.NotContains(t, out.String(), `"ready":true`)
}

// TestDemoEmbedded: `payhost demo` without --url starts its own sandbox.
func TestDemoEmbedded(t *testing.T) {
	var out syncBuffer
	code := run(context.Background(), &cmdEnv{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}, []string{"demo"})
	require.Equal(t, 0, code, "%s", out.String())
	s := out.String()
	assert.Contains(t, s, "all 18 steps went as expected")
	assert.Contains(t, s, "magic amount 666.01: declined")
	assert.NotContains(t, s, "UNEXPECTED")
}

func TestSandboxBadFlags(t *testing.T) {
	var out syncBuffer
	env := &cmdEnv{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	assert.Equal(t, 2, run(context.Background(), env, []string{"sandbox", "extra"}))
	assert.Equal(t, 2, run(context.Background(), env, []string{"demo", "--url", "http://x"}), "--url needs --api-key")
	assert.Equal(t, 1, run(context.Background(), env, []string{"sandbox", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--rules", "/does/not/exist.yaml"}))
	assert.Contains(t, out.String(), "--rules")
}

// TestSandboxPrintedCommands runs the commands the sandbox prints, as a
// newcomer pastes them (a pause between paragraphs, for the payer).
func TestSandboxPrintedCommands(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed", "tee"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the printed commands need it", tool)
		}
	}
	srv, _ := startSandboxCmd(t, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--plugins", t.TempDir(), "--fast")
	out := srv.stdout.String()
	start := strings.Index(out, "Paste these into another shell:\n")
	end := strings.Index(out, "\nMagic amounts")
	require.True(t, start > 0 && end > start, "the commands block:\n%s", out)
	paragraphs := strings.Split(strings.TrimSpace(out[start+len("Paste these into another shell:\n"):end]), "\n\n")
	require.Len(t, paragraphs, 5)
	script := "set -e\n" + strings.Join(paragraphs, "\nsleep 2\n") + "\n"
	cmd := exec.Command("bash", "-c", script)
	got, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", got)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	require.GreaterOrEqual(t, len(lines), 4, "%s", got)
	last := lines[len(lines)-1]
	assert.Contains(t, lines[0], `"status":"processing"`, "the created payment")
	assert.Contains(t, string(got), `"object":"refund"`, "the refund")
	assert.Contains(t, last, `"status":"succeeded"`, "the paid payment")
	assert.Contains(t, last, `"refunded_amount":300`, "with its refund")
	assert.Contains(t, last, `"refunds":[{`, "listed")
}
