package sim

import "github.com/payhost/payhost/internal/simfault"

// FaultKind names a fault switch.
type FaultKind int

// The fault switches. Request faults apply to requests whose path starts
// with Fault.PathPrefix; notification faults to notifications whose type
// starts with it (e.g. "payment.", "resident.").
const (
	// FaultLatency delays the request by Fault.Latency before processing.
	FaultLatency FaultKind = iota + 1
	// FaultTimeoutAfterProcessing processes the request, then drops the
	// connection without answering.
	FaultTimeoutAfterProcessing
	// FaultHTTP5xxBefore answers Fault.Status (default 503) without
	// processing the request.
	FaultHTTP5xxBefore
	// FaultHTTP5xxAfter processes the request, then answers Fault.Status
	// (default 502) with an HTML error page instead of the envelope.
	FaultHTTP5xxAfter
	// FaultBadSign processes the request and answers with a signature that
	// does not match the data.
	FaultBadSign
	// FaultMalformed processes the request and answers HTTP 200 with the
	// envelope cut in half (not JSON).
	FaultMalformed
	// FaultDuplicateNotify sends each notification twice: the identical
	// form again, with its own retries, after the first delivery ends.
	FaultDuplicateNotify
	// FaultNotifyBadSign sends notifications whose sign does not match their
	// data (a forgery the merchant must refuse).
	FaultNotifyBadSign
)

var faultNames = map[FaultKind]string{
	FaultLatency:                "latency",
	FaultTimeoutAfterProcessing: "timeout_after_processing",
	FaultHTTP5xxBefore:          "http_5xx_before",
	FaultHTTP5xxAfter:           "http_5xx_after",
	FaultBadSign:                "bad_sign",
	FaultMalformed:              "malformed",
	FaultDuplicateNotify:        "duplicate_notify",
	FaultNotifyBadSign:          "notify_bad_sign",
}

// String returns the fault's snake_case name.
func (k FaultKind) String() string {
	if n, ok := faultNames[k]; ok {
		return n
	}
	return "unknown"
}

// Fault is one fault switch: its Kind, the requests or notifications it
// applies to, how many times, and its latency or HTTP status. PathPrefix matches request paths, and for notification faults the notification type ("payment.", "resident."); 5xx before processing answers 503 and after it 502 unless Status is set.
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
