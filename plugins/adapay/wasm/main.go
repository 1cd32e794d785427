// Command wasm is the Adapay plugin as a WebAssembly module:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o adapay.wasm ./plugins/adapay/wasm
package main

import (
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/adapay"
)

func init() { pdk.Serve(adapay.New()) }

func main() {}
