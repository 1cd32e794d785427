package store

import "errors"

// ErrUnavailable is matched (errors.Is) by every error of a store that
// cannot serve at the moment: the database is unreachable (connection
// refused, lost or timed out, shutting down or starting up), its disk is
// full, it is read-only, it cannot be opened, or it stayed locked past the
// busy timeout. Such a failure says nothing about the request: the same
// request may succeed once the database is back. Errors matching it are
// *UnavailableError.
var ErrUnavailable = errors.New("store: unavailable")

// UnavailableError is the error of a store that cannot serve at the
// moment. It unwraps to the driver's error and matches ErrUnavailable.
type UnavailableError struct {
	// Cause says what is wrong in a few words that name no host, file or
	// credential, so it may be shown to an API client: "database disk is
	// full", "database is read-only", "connection refused", ...
	Cause string
	// Write reports a failure of writing while reads may still work (disk
	// full, read-only, an I/O error): the store is not ready until a write
	// succeeds again.
	Write bool
	// Err is the driver's error.
	Err error
}

// Error implements error.
func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return "store: unavailable: " + e.Cause
	}
	return "store: unavailable: " + e.Cause + ": " + e.Err.Error()
}

// Unwrap returns the driver's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) hold.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// UnavailableCause returns the Cause of the UnavailableError in err's
// chain, and false when there is none.
func UnavailableCause(err error) (string, bool) {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return ue.Cause, true
	}
	return "", false
}
