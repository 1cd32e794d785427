//go:build !wasip1

package pdk

// Serve registers the plugin a WebAssembly module exports. Outside a wasip1
// build it does nothing, so a plugin's wasm main package also compiles (and
// vets) natively; native hosts use the plugin value directly.
func Serve(Plugin) {}
