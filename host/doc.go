// Package host is the Payhost engine a platform embeds: it joins the plugin
// runtime, the routing/split/fee decisions and the durable store. New
// returns a Host whose methods are the canonical operations (create, query
// and close payments, refunds); each call checks its idempotency key, takes
// one decision, calls the plugin of the first channel (failing over to the
// next only when nothing can have happened at the provider), and persists
// every attempt and transition. Inbound notifications are verified by the
// plugin, deduplicated, stored and applied through the state machine; a
// poller settles whatever is left pending, so a lost notification loses
// nothing.
//
// Sub-packages: plugin (loading and calling plugins), caps (the
// capabilities plugins get), store (SQLite and PostgreSQL).
package host
