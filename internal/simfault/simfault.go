// Package simfault holds the fault switches the provider simulators share:
// which fault, on which requests or notifications, how many times.
package simfault

import (
	"strings"
	"time"
)

// Fault is one fault switch of kind K (each simulator has its own kinds).
type Fault[K comparable] struct {
	Kind K
	// PathPrefix limits the fault to requests (or notifications) whose key
	// starts with it: the request path, or what the simulator names its
	// notifications by; "" matches everything.
	PathPrefix string
	// Count limits the fault to the next Count matching requests (or
	// notifications); 0 keeps it on until the faults are changed.
	Count int
	// Latency is the delay of a latency fault.
	Latency time.Duration
	// Status is the HTTP status of the 5xx faults; 0 means the simulator's
	// default.
	Status int
}

// StatusOr is f.Status when it is an HTTP status, else def.
func (f Fault[K]) StatusOr(def int) int {
	if f.Status >= 100 && f.Status <= 999 {
		return f.Status
	}
	return def
}

// Take returns the first fault in *faults of kind whose PathPrefix key
// starts with, and uses one of its count (a fault used up is removed). The
// caller holds the lock that guards *faults.
func Take[K comparable](faults *[]Fault[K], kind K, key string) (Fault[K], bool) {
	for i, f := range *faults {
		if f.Kind != kind || !strings.HasPrefix(key, f.PathPrefix) {
			continue
		}
		if f.Count > 0 {
			(*faults)[i].Count--
			if (*faults)[i].Count == 0 {
				*faults = append((*faults)[:i], (*faults)[i+1:]...)
			}
		}
		return f, true
	}
	return Fault[K]{}, false
}
