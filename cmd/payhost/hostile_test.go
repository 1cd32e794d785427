package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileConfig is the serve tests' configuration plus a hostile plugin
// (host/plugin/testdata/wat/call_loop.wasm: loads cleanly, then loops
// forever in every call) with an account of its own, "evil".
func hostileConfig(t *testing.T, simURL string) string {
	t.Helper()
	path := serveConfig(t, simURL)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	wat, err := filepath.Abs("../../host/plugin/testdata/wat/call_loop.wasm")
	require.NoError(t, err)
	cfg := string(b)
	for old, repl := range map[string]string{
		"plugins:\n":         "plugins:\n  - path: " + wat + "\n",
		"accounts:\n":        "accounts:\n  - name: evil\n    plugin: wathostile\n",
		"call_timeout: 10s":  "call_timeout: 3s",
		"max_instances: 2\n": "max_instances: 1\n",
	} {
		require.Contains(t, cfg, old)
		cfg = strings.Replace(cfg, old, repl, 1)
	}
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o644))
	return path
}

// TestServeContainsHostilePlugin: one unauthenticated notification to a
// plugin that never returns pins its only instance at 100% CPU; while it
// runs, with the garbage collector running back to back, /healthz answers,
// another plugin takes a payment, and SIGTERM still shuts the server down
// gracefully once the hostile call ends at its deadline.
func TestServeContainsHostilePlugin(t *testing.T) {
	gw := newGateway(t)
	srv := startServe(t, hostileConfig(t, gw.srv.URL), serveEnv)

	// hostile sends the notification and waits until the plugin's only
	// instance is busy with it.
	hostile := func() chan answer {
		notified := make(chan answer, 1)
		go func() { notified <- call(t, "POST", srv.url+"/v1/notify/evil", "", "", `{"pay":"me"}`) }()
		eventually(t, "the hostile call to be running", func() bool {
			return strings.Contains(string(call(t, "GET", srv.url+"/metrics", "", "", "").body), `payhost_plugin_instances{plugin="wathostile",state="in_use"} 1`)
		})
		return notified
	}
	first := hostile()

	var gcs atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				gcs.Add(1)
			}
		}
	}()
	for i := 0; i < 5; i++ {
		assert.Equal(t, 200, call(t, "GET", srv.url+"/healthz", "", "", "").status)
	}
	created := call(t, "POST", srv.url+"/v1/payments", serveEnv["ACME_API_KEY"], "during-hostile-1",
		`{"amount":1000,"currency":"CNY","method":"wechat.native"}`)
	assert.Equal(t, 201, created.status, "%s", created.body)
	close(stop)
	wg.Wait()
	assert.Positive(t, gcs.Load())

	a := <-first
	assert.Equal(t, 502, a.status, "the hostile call ended at its deadline: %s", a.body)

	// SIGTERM with a hostile call running: the server waits for it (it ends
	// at its deadline) and exits cleanly.
	second := hostile()
	start := time.Now()
	srv.cancel()
	a = <-second
	assert.Equal(t, 502, a.status, "%s", a.body)
	assert.Equal(t, 0, srv.stop(t))
	t.Logf("shut down %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	assert.Contains(t, srv.stderr.String(), "plugin instance discarded")
}
