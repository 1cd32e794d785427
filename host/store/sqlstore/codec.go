package sqlstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidText is returned (wrapped) when a string, a map entry or a JSON
// field holds a NUL byte or invalid UTF-8. PostgreSQL's TEXT cannot store
// either, so both databases refuse them alike rather than let one store a
// value the other would reject or silently change.
var ErrInvalidText = errors.New("sqlstore: text holds a NUL byte or invalid UTF-8")

// micros stores a time as Unix microseconds; the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros reads a time stored by micros, in UTC; 0 is the zero time.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// encodeMap stores a map as JSON; an empty or nil map is "".
func encodeMap(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode map: %w", err)
	}
	return string(b), nil
}

// decodeMap reads a map stored by encodeMap; "" is nil.
func decodeMap(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("sqlstore: decode map: %w", err)
	}
	return m, nil
}

// bytesOrNil turns an empty slice into nil, so every read gives nil for
// "nothing stored" whatever the driver returns.
func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// textChecker collects the first field whose text cannot be stored.
type textChecker struct{ bad string }

func (c *textChecker) str(field, s string) {
	if c.bad == "" && !validText(s) {
		c.bad = field
	}
}

func (c *textChecker) ptr(field string, s *string) {
	if s != nil {
		c.str(field, *s)
	}
}

func (c *textChecker) bytes(field string, b []byte) {
	if c.bad == "" && !validBytes(b) {
		c.bad = field
	}
}

func (c *textChecker) dict(field string, m map[string]string) {
	for k, v := range m {
		if !validText(k) || !validText(v) {
			c.str(field, "\x00")
			return
		}
	}
}

func (c *textChecker) err() error {
	if c.bad == "" {
		return nil
	}
	return fmt.Errorf("%w: field %s", ErrInvalidText, c.bad)
}

func validText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

func validBytes(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}
