// Package crashtest is the crash test of Payhost's money flows, as a
// library the test in this package drives: Load sends payments and refunds
// to a `payhost serve`, each with an Idempotency-Key, retrying with the same
// key after a connection error, a 5xx or a 409 in_progress until it gets a
// definite answer, and records every answer; Check compares those answers
// with the database (read directly) and with the provider simulators'
// state (GET /sim/state of `payhost simulators`), and counts what must never
// happen: acknowledged requests lost, payments or refunds made twice,
// refunds beyond what was asked, dead `created` payments, false failures,
// objects stuck after settling.
//
// TestCrash (PAYHOST_CRASH_TEST=1, `make test-crash`) runs the simulators
// and a real server in their own processes on PostgreSQL and kills the
// server with SIGKILL at random moments under the load; docs/crash-test.md
// says what it measures and how to run it.
package crashtest
