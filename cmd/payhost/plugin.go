package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/payhost/payhost/host/plugin"
)

func init() {
	register(&command{path: "plugin inspect", usage: "FILE.wasm",
		summary: "load a wasm plugin in the sandbox and print its manifest as JSON", run: runPluginInspect})
}

// runPluginInspect loads the module exactly as the server would (ABI and
// import checks, instantiation, manifest validation) and prints the manifest.
func runPluginInspect(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(env.stderr, "usage: payhost plugin inspect FILE.wasm")
		return 2
	}
	p, err := plugin.LoadWasmFile(ctx, args[0], plugin.WasmConfig{CacheDir: env.getenv("PAYHOST_WASM_CACHE")})
	if err != nil {
		fmt.Fprintf(env.stderr, "payhost: %v\n", err)
		return 1
	}
	defer func() { _ = p.Close(context.WithoutCancel(ctx)) }()
	out, err := json.MarshalIndent(p.Manifest(), "", "  ")
	if err != nil {
		fmt.Fprintf(env.stderr, "payhost: %v\n", err)
		return 1
	}
	fmt.Fprintln(env.stdout, string(out))
	return 0
}
