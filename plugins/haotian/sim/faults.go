package sim

import "github.com/payhost/payhost/internal/simfault"

// FaultKind names a fault switch.
type FaultKind int

// The fault switches. Request faults apply to requests whose path starts
// with Fault.PathPrefix; notification faults apply to notifications whose
// object path ("/api/pay", "/api/refund", "/api/transfer") starts with it.
const (
	// FaultLatency delays the request by Fault.Latency before processing.
	FaultLatency FaultKind = iota + 1
	// FaultTimeoutAfterProcessing processes the request, then drops the
	// connection without answering (as MagicTimeout does).
	FaultTimeoutAfterProcessing
	// FaultHTTP5xxBefore answers Fault.Status (default 503) without
	// processing the request.
	FaultHTTP5xxBefore
	// FaultHTTP5xxAfter processes the request, then answers Fault.Status
	// (default 503) instead of the envelope.
	FaultHTTP5xxAfter
	// FaultBadSign processes the request and answers with a response whose
	// sign does not match its data.
	FaultBadSign
	// FaultMalformed processes the request and answers HTTP 200 with a body
	// that is not JSON (the envelope cut in half).
	FaultMalformed
	// FaultDuplicateNotify sends each notification twice: the same payload
	// again, with its own retries, after the first delivery ends.
	FaultDuplicateNotify
	// FaultOutOfOrderNotify follows each terminal notification with a stale
	// one: the same object in its previous state (1, paying or processing),
	// freshly signed, sent after the terminal one is acknowledged.
	FaultOutOfOrderNotify
)

var faultNames = map[FaultKind]string{
	FaultLatency:                "latency",
	FaultTimeoutAfterProcessing: "timeout_after_processing",
	FaultHTTP5xxBefore:          "http_5xx_before",
	FaultHTTP5xxAfter:           "http_5xx_after",
	FaultBadSign:                "bad_sign",
	FaultMalformed:              "malformed",
	FaultDuplicateNotify:        "duplicate_notify",
	FaultOutOfOrderNotify:       "out_of_order_notify",
}

// String returns the fault's snake_case name.
func (k FaultKind) String() string {
	if n, ok := faultNames[k]; ok {
		return n
	}
	return "unknown"
}

// Fault is one fault switch: its Kind, the requests or notifications it
// applies to, how many times, and its latency or HTTP status. PathPrefix matches request paths, and for notification faults the notified object's path ("/api/pay", "/api/refund", "/api/transfer"); the 5xx faults answer 503 unless Status is set.
type Fault = simfault.Fault[FaultKind]

// SetFaults replaces every fault switch with faults; no argument clears them.
func (s *Server) SetFaults(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append([]Fault(nil), faults...)
}

// AddFault adds one fault switch to those already set.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Faults returns the fault switches still active, with their remaining
// counts.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fault(nil), s.faults...)
}

// takeFaultLocked returns the first active fault of kind matching key and
// uses one of its count.
func (s *Server) takeFaultLocked(kind FaultKind, key string) (Fault, bool) {
	return simfault.Take(&s.faults, kind, key)
}
