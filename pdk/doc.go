// Package pdk is the plugin development kit: what a provider adapter is
// written against. A provider implements Plugin plus one small interface per
// canonical operation it supports (PaymentCreator, RefundCreator, ...);
// operations it does not implement are absent from its manifest, never
// stubbed. It reaches the outside world only through Host: HTTP to a named
// manifest endpoint, signing by key reference, clock, log, configuration and
// a small cache.
//
// The same plugin package runs in-process (the host calls Invoke) or as a
// WebAssembly module built with GOOS=wasip1; its main is then:
//
//	func init() { pdk.Serve(myprovider.New()) }
//	func main() {}
//
// pdk imports core and the standard library only.
package pdk
