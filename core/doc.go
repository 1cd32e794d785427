// Package core is Payhost's canonical payment model: money in integer minor
// units, canonical payment methods, the request and response types of every
// canonical operation, the status state machines, the canonical error, and
// the manifest and capability types shared by the host and by plugins.
//
// core uses the standard library only and builds for GOOS=wasip1, because
// plugins compiled to WebAssembly import it through the pdk.
package core
