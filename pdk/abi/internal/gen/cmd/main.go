// Command gen writes pdk/abi/codec_gen.go: go generate ./pdk/abi
package main

import (
	"fmt"
	"os"

	"github.com/payhost/payhost/pdk/abi/internal/gen"
)

func main() {
	out := "codec_gen.go"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	src, err := gen.Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
