// Command wasm is the Haotian plugin as a WebAssembly module:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o haotian.wasm ./plugins/haotian/wasm
package main

import (
	"github.com/payhost/payhost/pdk"
	"github.com/payhost/payhost/plugins/haotian"
)

func init() { pdk.Serve(haotian.New()) }

func main() {}
