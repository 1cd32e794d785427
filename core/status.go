package core

import (
	"errors"
	"fmt"
)

// Machine names a status state machine.
type Machine string

// State machines.
const (
	MachinePayment     Machine = "payment"
	MachineRefund      Machine = "refund"
	MachinePayout      Machine = "payout"
	MachineSplit       Machine = "split"
	MachineOnboarding  Machine = "onboarding"
	MachineToken       Machine = "token"
	MachineSplitReturn Machine = "split_return"
)

// PaymentStatus is the state of a payment.
type PaymentStatus string

// Payment states: created → processing → succeeded | failed | closed;
// succeeded → reversed (void or reversal after success).
const (
	PaymentCreated    PaymentStatus = "created"
	PaymentProcessing PaymentStatus = "processing"
	PaymentSucceeded  PaymentStatus = "succeeded"
	PaymentFailed     PaymentStatus = "failed"
	PaymentClosed     PaymentStatus = "closed"
	PaymentReversed   PaymentStatus = "reversed"
)

// RefundStatus is the state of a refund.
type RefundStatus string

// Refund states: created → processing → succeeded | failed.
const (
	RefundCreated    RefundStatus = "created"
	RefundProcessing RefundStatus = "processing"
	RefundSucceeded  RefundStatus = "succeeded"
	RefundFailed     RefundStatus = "failed"
)

// PayoutStatus is the state of a payout (transfer, withdrawal, disbursement).
type PayoutStatus string

// Payout states: created → processing → succeeded | failed | canceled;
// succeeded → returned (bounced back by the bank).
const (
	PayoutCreated    PayoutStatus = "created"
	PayoutProcessing PayoutStatus = "processing"
	PayoutSucceeded  PayoutStatus = "succeeded"
	PayoutFailed     PayoutStatus = "failed"
	PayoutCanceled   PayoutStatus = "canceled"
	PayoutReturned   PayoutStatus = "returned"
)

// SplitStatus is the state of a split batch or of one split record.
type SplitStatus string

// Split states: pending → accepted → processing → succeeded | failed;
// succeeded → returned (split return).
const (
	SplitPending    SplitStatus = "pending"
	SplitAccepted   SplitStatus = "accepted"
	SplitProcessing SplitStatus = "processing"
	SplitSucceeded  SplitStatus = "succeeded"
	SplitFailed     SplitStatus = "failed"
	SplitReturned   SplitStatus = "returned"
)

// OnboardingStatus is the state of a merchant application.
type OnboardingStatus string

// Onboarding states: draft → submitted → reviewing → approved | rejected |
// needs_info; needs_info and rejected go back to submitted when fixed;
// needs_info ends approved or rejected when what was missing is given
// without a new submission (a contact scanning a real-name QR code);
// approved goes back to reviewing when a change is submitted.
const (
	OnboardingDraft     OnboardingStatus = "draft"
	OnboardingSubmitted OnboardingStatus = "submitted"
	OnboardingReviewing OnboardingStatus = "reviewing"
	OnboardingNeedsInfo OnboardingStatus = "needs_info"
	OnboardingApproved  OnboardingStatus = "approved"
	OnboardingRejected  OnboardingStatus = "rejected"
)

// TokenStatus is the state of an authorised-debit token.
type TokenStatus string

// Token states: pending → active → canceled | expired; pending → failed.
const (
	TokenPending  TokenStatus = "pending"
	TokenActive   TokenStatus = "active"
	TokenFailed   TokenStatus = "failed"
	TokenCanceled TokenStatus = "canceled"
	TokenExpired  TokenStatus = "expired"
)

// SplitReturnStatus is the state of a split return.
type SplitReturnStatus string

// Split-return states: processing → succeeded | failed.
const (
	SplitReturnProcessing SplitReturnStatus = "processing"
	SplitReturnSucceeded  SplitReturnStatus = "succeeded"
	SplitReturnFailed     SplitReturnStatus = "failed"
)

// transitions is the one table of allowed moves; a state missing from a
// machine's map is terminal.
var transitions = map[Machine]map[string][]string{
	MachinePayment: {
		"created":    {"processing", "succeeded", "failed", "closed"},
		"processing": {"succeeded", "failed", "closed"},
		"succeeded":  {"reversed"},
	},
	MachineRefund: {
		"created":    {"processing", "succeeded", "failed"},
		"processing": {"succeeded", "failed"},
	},
	MachinePayout: {
		"created":    {"processing", "succeeded", "failed", "canceled"},
		"processing": {"succeeded", "failed", "canceled"},
		"succeeded":  {"returned"},
	},
	MachineSplit: {
		"pending":    {"accepted", "processing", "succeeded", "failed"},
		"accepted":   {"processing", "succeeded", "failed"},
		"processing": {"succeeded", "failed"},
		"succeeded":  {"returned"},
	},
	MachineOnboarding: {
		"draft":      {"submitted", "reviewing", "approved", "rejected", "needs_info"},
		"submitted":  {"reviewing", "approved", "rejected", "needs_info"},
		"reviewing":  {"approved", "rejected", "needs_info"},
		"needs_info": {"submitted", "reviewing", "approved", "rejected"},
		"rejected":   {"submitted", "reviewing"},
		"approved":   {"reviewing"},
	},
	MachineToken: {
		"pending": {"active", "failed", "canceled", "expired"},
		"active":  {"canceled", "expired"},
	},
	MachineSplitReturn: {
		"processing": {"succeeded", "failed"},
	},
}

var initialStates = map[Machine]string{
	MachinePayment: "created", MachineRefund: "created", MachinePayout: "created",
	MachineSplit: "pending", MachineOnboarding: "draft", MachineToken: "pending",
	MachineSplitReturn: "processing",
}

// ErrNoTransition reports that a status update repeats the current state.
// Callers treat it as "nothing to do", not as a failure.
var ErrNoTransition = errors.New("status unchanged")

// CheckTransition is the one transition check of Payhost. It returns nil when
// from → to is allowed, ErrNoTransition when from == to, and a conflict
// *Error when the move is backwards, out of a terminal state, or unknown.
// A notification or query that would move a state backwards is recorded by
// the caller and ignored.
func CheckTransition(m Machine, from, to string) error {
	table, ok := transitions[m]
	if !ok {
		return Errorf(CodeInternal, "unknown state machine %q", m)
	}
	if !ValidStatus(m, to) {
		return Errorf(CodeInvalidRequest, "unknown %s status %q", m, to)
	}
	if from == to {
		return ErrNoTransition
	}
	for _, next := range table[from] {
		if next == to {
			return nil
		}
	}
	return &Error{Code: CodeConflict, Message: fmt.Sprintf("%s cannot move from %s to %s", m, from, to)}
}

// ValidStatus reports whether s is a state of machine m.
func ValidStatus(m Machine, s string) bool {
	table := transitions[m]
	if _, ok := table[s]; ok {
		return true
	}
	for _, nexts := range table {
		for _, n := range nexts {
			if n == s {
				return true
			}
		}
	}
	return false
}

// IsTerminal reports whether s has no way out in machine m.
func IsTerminal(m Machine, s string) bool {
	return ValidStatus(m, s) && len(transitions[m][s]) == 0
}

// InitialStatus is the state a new object of machine m starts in.
func InitialStatus(m Machine) string { return initialStates[m] }

// Machines returns the state machines and their transitions, for docs.
func Machines() map[Machine]map[string][]string {
	out := make(map[Machine]map[string][]string, len(transitions))
	for m, t := range transitions {
		c := make(map[string][]string, len(t))
		for k, v := range t {
			c[k] = append([]string(nil), v...)
		}
		out[m] = c
	}
	return out
}

// Terminal reports whether the payment status is final.
func (s PaymentStatus) Terminal() bool { return IsTerminal(MachinePayment, string(s)) }

// Terminal reports whether the refund status is final.
func (s RefundStatus) Terminal() bool { return IsTerminal(MachineRefund, string(s)) }

// Terminal reports whether the payout status is final.
func (s PayoutStatus) Terminal() bool { return IsTerminal(MachinePayout, string(s)) }

// Terminal reports whether the split status is final.
func (s SplitStatus) Terminal() bool { return IsTerminal(MachineSplit, string(s)) }
