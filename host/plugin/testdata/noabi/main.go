// Command noabi is a wasm reactor without the Payhost ABI exports.
package main

//go:wasmexport add
func add(a, b int32) int32 { return a + b }

func main() {}
