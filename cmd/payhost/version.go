package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/payhost/payhost/core"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func init() {
	register(&command{path: "version", summary: "print the version, Go version and plugin ABI version", run: runVersion})
}

func runVersion(_ context.Context, env *cmdEnv, _ []string) int {
	v := version
	if v == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	fmt.Fprintf(env.stdout, "payhost %s (%s, plugin ABI v%d)\n", v, runtime.Version(), core.ABIVersion)
	return 0
}
