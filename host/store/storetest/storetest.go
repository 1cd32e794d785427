// Package storetest is the behaviour every store.Store must show, as one
// test suite that each implementation runs:
//
//	func TestSQLite(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... a fresh, empty store ... })
//	}
//
// It covers round trips of every stored type, every error of the interface,
// conditional transitions, the idempotency-key life cycle, the refund
// ledger (also as a randomized property), and the races the database must
// settle: one owner among 50 claimants of a key, one winner among 50
// movers of a payment, never more refunded than paid among 20 concurrent
// refunds, one insert among 50 deliveries of a notification. Run it through
// Alternate to have several Stores (nodes) on one database race.
//
// Times are compared with time.Time.Equal at microsecond precision; empty
// and nil maps and byte slices count as equal.
package storetest

import (
	"testing"

	"github.com/payhost/payhost/host/store"
)

// Run runs the suite. open must return a fresh, empty store for each
// subtest and arrange, with t.Cleanup, to close it (and drop whatever it
// created).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.fn(t, s)
		})
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

func cases() []testCase {
	var all []testCase
	all = append(all, idemCases()...)
	all = append(all, idemLinkCases()...)
	all = append(all, unitCases()...)
	all = append(all, nodeCases()...)
	all = append(all, paymentCases()...)
	all = append(all, refundCases()...)
	all = append(all, recordCases()...)
	all = append(all, concurrencyCases()...)
	all = append(all, webhookCases()...)
	all = append(all, splitCases()...)
	all = append(all, splitReturnCases()...)
	all = append(all, payoutCases()...)
	all = append(all, merchantCases()...)
	all = append(all, reconcileCases()...)
	return all
}
