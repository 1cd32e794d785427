package store

// Stats counts the work a Store has asked of its database since it opened:
// what the throughput of a payment path costs in durable writes and round
// trips.
type Stats struct {
	// Commits are the durable commits: transactions committed after a
	// statement in them changed a row, and statements outside a
	// transaction that changed one (each is its own transaction).
	Commits uint64
	// Transactions are the transactions begun, whatever their end.
	Transactions uint64
	// Rollbacks are the transactions rolled back.
	Rollbacks uint64
	// Statements are the SQL statements executed, in and outside
	// transactions: the round trips to the database.
	Statements uint64
}

// StatsReporter is a Store that counts its work; sqlstore's stores do.
type StatsReporter interface {
	Stats() Stats
}
