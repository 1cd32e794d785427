// Package sim is an in-process simulator of Adapay (seed 003 of the
// project): the agent (渠道商) API that opens sub-merchants (开户进件), reviews
// their documents, registers them with WeChat and Alipay (商户入驻),
// authenticates them by real name (实名认证), changes their settlement card,
// and the payment API (payments, closes, refunds).
//
// A Server is a native http.Handler speaking Adapay's protocol: requests
// authenticated by the Authorization header (the API key) and a Signature
// header (RSA-SHA1 of the full URL plus the body or the sorted query, checked
// with the merchant's public key); answers {"data":"<JSON string>",
// "signature":".."} signed with the simulator's own RSA key; onboarding
// applications that move asynchronously (entry, document audit, channel
// registration, real-name with a QR code, settlement card change) and send
// the seed's events as signed form notifications, retried until HTTP 200.
//
// The simulator depends on the standard library only (and the fault
// switches all simulators share, internal/simfault) and implements
// signing itself, so the adapay plugin and the simulator cannot share a
// signing bug. Magic values, fault switches and Go methods (Pay, Fail,
// Advance, SetFaults, snapshots, the request log) let tests drive every
// path; its assumptions where the seed is silent are written in
// plugins/adapay/README.md.
package sim
