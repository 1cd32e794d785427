// Package sim is an in-process simulator of the Haotian payment gateway, a
// Jeepay-protocol gateway (seed 001 of the project).
//
// A Server is a native http.Handler that speaks the gateway's protocol: MD5
// signed requests and responses, pay orders, refunds, transfers, split
// (分账) receivers and batches, receiver channel balances and cash-outs, the
// scan-code POS interface, the daily trade bill (an assumption: the seed
// has no statement endpoint) with switches for deliberate mismatches, and
// asynchronous merchant notifications retried until acknowledged with
// SUCCESS. Tests, the `payhost sandbox` playground and
// the benchmarks run it so that a plugin that passes against it really speaks
// the protocol.
//
// The simulator deliberately depends on the standard library only (and
// the fault switches all simulators share, internal/simfault) and
// implements signing itself, so the haotian plugin and the simulator cannot
// share a signing bug. Magic amounts, fault switches and Go methods (Pay,
// Fail, SetFaults, snapshots, the request log) let tests drive every path;
// the assumptions it makes where the seed is silent are written in
// plugins/haotian/README.md, section "Simulator and POS protocol
// assumptions".
package sim
