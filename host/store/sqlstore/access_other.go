//go:build !unix

package sqlstore

// writable reports whether this process may write path; without access(2)
// it assumes so, and SQLite's own error stands.
func writable(string) bool { return true }
