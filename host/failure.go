package host

import (
	"fmt"

	"github.com/payhost/payhost/core"
)

// outcomeKind is what an error from a state-changing provider call means
// for the money.
type outcomeKind int

const (
	// nothingHappened: the provider did not take the request (or the
	// channel refused it); another channel may be tried.
	nothingHappened outcomeKind = iota
	// definitelyFailed: the provider answered and refused; the object failed.
	definitelyFailed
	// outcomeUnknown: the provider may have acted; only a query or a
	// notification can settle it.
	outcomeUnknown
)

// classify sorts the error of a state-changing call. Only codes that say
// for certain nothing was done fail over; only codes that are a provider's
// answer fail the object; everything else (unknown_outcome, an internal
// error, a duplicate order number, a conflict, not_found, ...) leaves the
// object processing, to be settled by query. The plugin layer has already
// turned a crash after a request was sent into unknown_outcome, so a
// plugin_failure here happened before anything left the host.
func classify(code core.Code) outcomeKind {
	switch {
	case code.FailoverSafe(), code == core.CodePluginFailure:
		return nothingHappened
	}
	switch code {
	case core.CodeInvalidRequest, core.CodeAuthFailed, core.CodeSignatureInvalid, core.CodeInsufficientFunds, core.CodeForbidden:
		return definitelyFailed
	}
	return outcomeUnknown
}

// classifyOnce is classify for a request the engine sends once and never
// again under the same id (a split, a split return): a conflict (the
// order's state does not allow it, another batch in flight) cannot be the
// provider remembering an earlier copy of this request, so it is the
// provider's refusal, not an uncertain outcome.
func classifyOnce(code core.Code) outcomeKind {
	if code == core.CodeConflict {
		return definitelyFailed
	}
	return classify(code)
}

// IncidentObserver is an optional interface of Config.Observer: it is told
// about events a person must look at, such as a provider reporting success
// for a payment Payhost had already failed (the money moved, the record
// says it did not).
type IncidentObserver interface {
	Incident(kind, objectID, detail string)
}

// Incident kinds.
const (
	IncidentLateSuccess     = "late_success"     // success reported for a failed or closed object
	IncidentAmountMismatch  = "amount_mismatch"  // a report about another amount than was created
	IncidentSplitRefused    = "split_refused"    // the rules' split cannot be made (receiver not registered, provider cannot split)
	IncidentSplitUnsettled  = "split_unsettled"  // a split in flight no query can settle (its answer was lost before the provider gave its id)
	IncidentPayoutUnsettled = "payout_unsettled" // a payout no query can settle (Jeepay's cash-out has none)
)

// unknownOutcomeText says why an object whose provider call failed with ce
// is left processing.
func unknownOutcomeText(ce *core.Error) string {
	if ce.Code == core.CodeUnknownOutcome {
		return ce.Message
	}
	return fmt.Sprintf("%s: %s; the outcome is unknown until the provider is queried", ce.Code, ce.Message)
}
