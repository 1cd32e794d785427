package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/payhost/payhost/host/store"
)

// sqliteOpenError is the error of opening the SQLite database at path: err,
// with what the file system says is in the way (a missing or read-only
// directory, a read-only file, a directory where the file should be) when
// SQLite's own message ("unable to open database file (14)", "attempt to
// write a readonly database (8)") does not say.
func sqliteOpenError(path string, err error) error {
	if problem := sqliteFileProblem(path, writable); problem != "" {
		return fmt.Errorf("sqlstore: open sqlite %s: %s: %w", path, problem, err)
	}
	if cause, ok := store.UnavailableCause(err); ok {
		return fmt.Errorf("sqlstore: open sqlite %s: %s: %w", path, cause, err)
	}
	return fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
}

// sqliteFileProblem looks at the file system for why the database at path
// (a file name or a file: URI) cannot be opened or written: "" when it sees
// nothing wrong, or for an in-memory database. writable says whether this
// process may write a file or directory.
func sqliteFileProblem(path string, writable func(string) bool) string {
	file, readOnly := sqliteFile(path)
	if file == "" {
		return ""
	}
	if readOnly {
		return "the URI opens the database read-only (mode=ro), and payhost must write it"
	}
	dir := filepath.Dir(file)
	dst, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "the directory " + dir + " does not exist"
	case err != nil:
		return "the directory " + dir + " cannot be read (" + err.Error() + ")"
	case !dst.IsDir():
		return dir + " is not a directory"
	}
	fst, err := os.Stat(file)
	exists := err == nil
	switch {
	case exists && fst.IsDir():
		return file + " is a directory, not a database file"
	case exists && !writable(file):
		return "the database file " + file + " is read-only for this process (mode " + fst.Mode().String() + ")"
	case !writable(dir) && !exists:
		return "the directory " + dir + " is not writable, so the database file cannot be created in it"
	case !writable(dir):
		base := filepath.Base(file)
		for _, side := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(file + side); err != nil {
				return "the directory " + dir + " is not writable, and SQLite must create " + base + side + " beside the database"
			}
		}
	}
	for _, side := range []string{"-wal", "-shm"} {
		if st, err := os.Stat(file + side); err == nil && !writable(file+side) {
			return "the file " + file + side + " is read-only for this process (mode " + st.Mode().String() + ")"
		}
	}
	return ""
}

// sqliteFile is the file of an SQLite path or file: URI ("" for an
// in-memory database) and whether the URI asks for read-only access.
func sqliteFile(path string) (file string, readOnly bool) {
	if path == "" || path == ":memory:" {
		return "", false
	}
	if !strings.HasPrefix(path, "file:") {
		return path, false
	}
	u, err := url.Parse(path)
	if err != nil {
		return "", false
	}
	q := u.Query()
	if q.Get("mode") == "memory" {
		return "", false
	}
	file = u.Path
	if file == "" {
		file = u.Opaque
	}
	if file == "" || file == ":memory:" {
		return "", false
	}
	return file, q.Get("mode") == "ro"
}
