// Package rules is Payhost's rules engine: it decides, for each
// transaction, which channels to try (routing), what fee applies and how
// the rest of the money is split among receivers.
//
// Rules live in a YAML rule file (see docs/rules.md) with three rule lists
// (routing, split, fee), a default route and test cases. Conditions are
// boolean expressions (github.com/expr-lang/expr) over a typed
// environment, [Env]; money is never computed inside an expression but in
// Go with checked integer arithmetic, so Σ splits + fee == amount holds for
// every [core.Decision].
//
// [Load] compiles and validates a rule file into an immutable [Ruleset]:
// every expression type-checks, channels exist in the host's [Catalogue],
// split receivers fit the channels' limits, and the file's own tests pass.
// A [Holder] serves the current ruleset to concurrent callers, swaps in a
// new one atomically (from a watched file or through [Holder.Activate]),
// keeps the previous ones for [Holder.Rollback] and records every change in
// an [AuditSink].
//
// The package imports core and never the host, the PDK or plugins; no expr
// or koanf type appears in its exported API.
package rules
