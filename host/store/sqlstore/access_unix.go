//go:build unix

package sqlstore

import "syscall"

// writable reports whether this process may write path.
func writable(path string) bool {
	const wOK = 2 // W_OK
	return syscall.Access(path, wOK) == nil
}
