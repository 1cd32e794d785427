package pdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// These helpers handle the flat JSON objects provider protocols use without
// reflection: encoding/json is an order of magnitude slower inside a wasm
// guest, where a plugin spends most of its time (docs/benchmarks.md).

// AppendJSONString appends s as a JSON string literal: quotes, backslashes
// and control characters escaped, U+2028/U+2029 escaped, invalid UTF-8
// replaced by U+FFFD, no HTML escaping.
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && !special8(s[i:i+8]) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// SWAR constants: a byte of ones, and the high bit of every byte.
const (
	ones8  = 0x0101010101010101
	highs8 = 0x8080808080808080
)

// special8 reports whether the 8 bytes of s may hold a byte a JSON string
// cannot carry as it is: '"', '\\', a control character or a non-ASCII
// byte.
func special8(s string) bool {
	w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	return escapedWord(w) || w&highs8 != 0
}

// escapedWord reports whether the 8 bytes of w (little-endian) may hold
// '"', '\\' or a byte below 0x20 (the classic "has zero byte" and "has byte
// less than" tests, which never miss one and may flag a byte after a real
// one).
func escapedWord(w uint64) bool {
	q := w ^ ('"' * ones8)
	bs := w ^ ('\\' * ones8)
	return ((q-ones8)&^q|(bs-ones8)&^bs|(w-0x20*ones8)&^w)&highs8 != 0
}

// MarshalStrings encodes a flat string map as a compact JSON object with
// keys in ascending order (Fields.JSON does the same for Fields).
func MarshalStrings(m map[string]string) []byte { return FieldsOf(m).JSON() }

// maxJSONDepth bounds nesting, as encoding/json does.
const maxJSONDepth = 10000

var errJSONEnd = errors.New("unexpected end of JSON input")

type jsonScanner struct {
	b []byte
	// src, when set, holds the same bytes as b: keys and values are cut
	// from it instead of being copied one by one.
	src   string
	i     int
	depth int
	ws    int // whitespace bytes skipped so far
}

// newStringScanner scans s without copying it: b is a read-only view of
// s's bytes, and keys and values are substrings of s.
func newStringScanner(s string) *jsonScanner {
	return &jsonScanner{b: unsafe.Slice(unsafe.StringData(s), len(s)), src: s}
}

// cut returns b[i:j] as a string, a substring of src when there is one.
func (s *jsonScanner) cut(i, j int) string {
	if s.src != "" {
		return s.src[i:j]
	}
	return string(s.b[i:j])
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) skipWS() {
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			s.ws += s.i - start
			return
		}
	}
	s.ws += s.i - start
}

// plain scans the run of bytes at s.i that a string literal holds as they
// are (no quote, backslash or control character), eight at a time where it
// can, and reports whether the run is all ASCII.
func (s *jsonScanner) plain() (ascii bool) {
	b, i := s.b, s.i
	var high uint64
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i : i+8])
		if escapedWord(w) {
			break
		}
		high |= w
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
		high |= uint64(c)
	}
	s.i = i
	return high&highs8 == 0
}

// str reads a string literal and returns its value.
func (s *jsonScanner) str() (string, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", s.errorf("expected a string")
	}
	s.i++
	start := s.i
	// fast path: no escapes and valid UTF-8
	ascii := s.plain()
	if s.i < len(s.b) && s.b[s.i] == '"' {
		end := s.i
		s.i++
		if ascii || utf8.Valid(s.b[start:end]) {
			return s.cut(start, end), nil
		}
		return string([]rune(string(s.b[start:end]))), nil // replaces invalid bytes with U+FFFD
	}
	buf := make([]byte, 0, s.i-start+32)
	buf = append(buf, s.b[start:s.i]...)
	if !ascii {
		// the run may hold invalid UTF-8: decode it byte by byte below
		buf = buf[:0]
		s.i = start
	}
	for {
		if s.i >= len(s.b) {
			return "", errJSONEnd
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(buf), nil
		case c < 0x20:
			return "", s.errorf("control character in string")
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return "", errJSONEnd
			}
			e := s.b[s.i+1]
			s.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := s.hex4()
				if !ok {
					return "", s.errorf("bad \\u escape")
				}
				if utf16.IsSurrogate(r) {
					if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						save := s.i
						s.i += 2
						r2, ok := s.hex4()
						if !ok {
							return "", s.errorf("bad \\u escape")
						}
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							continue
						}
						s.i = save
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", s.errorf("bad escape \\%c", e)
			}
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				buf = append(buf, "\uFFFD"...)
			} else {
				buf = append(buf, s.b[s.i:s.i+size]...)
			}
			s.i += size
		}
	}
}

// skipStr checks a string literal without building its value.
func (s *jsonScanner) skipStr() error {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return s.errorf("expected a string")
	}
	open := s.i
	s.i++
	s.plain()
	if s.i < len(s.b) && s.b[s.i] == '"' {
		s.i++
		return nil
	}
	// escapes or a control character: let str judge the literal
	s.i = open
	_, err := s.str()
	return err
}

func (s *jsonScanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	s.i += 4
	return rune(v), true
}

// number checks a number literal and returns its text.
func (s *jsonScanner) number() ([]byte, error) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return nil, s.errorf("invalid number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, s.errorf("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, s.errorf("invalid number")
		}
	}
	return s.b[start:s.i], nil
}

func (s *jsonScanner) literal(word string) error {
	if s.i+len(word) > len(s.b) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.errorf("invalid literal")
	}
	s.i += len(word)
	return nil
}

// compact validates any value and appends its compact text (strings kept
// verbatim, as json.Compact does).
func (s *jsonScanner) compact(dst []byte) ([]byte, error) { return s.value(dst, true) }

// skip validates any value without keeping its text.
func (s *jsonScanner) skip() error {
	_, err := s.value(nil, false)
	return err
}

// compactString returns the compact text of the value at s.i: the input
// itself when it holds no whitespace to remove, else a compacted copy.
func (s *jsonScanner) compactString() (string, error) {
	start, ws := s.i, s.ws
	if err := s.skip(); err != nil {
		return "", err
	}
	if s.ws == ws {
		return s.cut(start, s.i), nil
	}
	end := s.i
	s.i = start
	b, err := s.compact(make([]byte, 0, end-start))
	return string(b), err
}

// value validates any value and, if emit, appends its compact text.
func (s *jsonScanner) value(dst []byte, emit bool) ([]byte, error) {
	s.skipWS()
	if s.i >= len(s.b) {
		return nil, errJSONEnd
	}
	switch c := s.b[s.i]; {
	case c == '"':
		start := s.i
		if err := s.skipStr(); err != nil {
			return nil, err
		}
		if emit {
			dst = append(dst, s.b[start:s.i]...)
		}
		return dst, nil
	case c == '{' || c == '[':
		s.depth++
		if s.depth > maxJSONDepth {
			return nil, s.errorf("nested too deeply")
		}
		defer func() { s.depth-- }()
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		s.i++
		if emit {
			dst = append(dst, c)
		}
		s.skipWS()
		if s.i < len(s.b) && s.b[s.i] == closing {
			s.i++
			if emit {
				dst = append(dst, closing)
			}
			return dst, nil
		}
		for {
			var err error
			if c == '{' {
				s.skipWS()
				start := s.i
				if err = s.skipStr(); err != nil {
					return nil, err
				}
				if emit {
					dst = append(dst, s.b[start:s.i]...)
				}
				s.skipWS()
				if s.i >= len(s.b) || s.b[s.i] != ':' {
					return nil, s.errorf("expected ':'")
				}
				s.i++
				if emit {
					dst = append(dst, ':')
				}
			}
			if dst, err = s.value(dst, emit); err != nil {
				return nil, err
			}
			s.skipWS()
			if s.i >= len(s.b) {
				return nil, errJSONEnd
			}
			switch s.b[s.i] {
			case ',':
				s.i++
				if emit {
					dst = append(dst, ',')
				}
			case closing:
				s.i++
				if emit {
					dst = append(dst, closing)
				}
				return dst, nil
			default:
				return nil, s.errorf("expected ',' or '%c'", closing)
			}
		}
	case c == 't', c == 'f', c == 'n':
		word := "null"
		switch c {
		case 't':
			word = "true"
		case 'f':
			word = "false"
		}
		if err := s.literal(word); err != nil {
			return nil, err
		}
		if emit {
			dst = append(dst, word...)
		}
		return dst, nil
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := s.number()
		if err != nil {
			return nil, err
		}
		if emit {
			dst = append(dst, n...)
		}
		return dst, nil
	}
	return nil, s.errorf("unexpected character %q", s.b[s.i])
}

// scanObject walks the members of a top-level JSON object, calling fn with
// each key and its value as a signer sees it (null reports null=true).
func scanObject(raw []byte, fn func(k, v string, null bool) error) error {
	return (&jsonScanner{b: raw}).object(fn)
}

// object walks the members of the top-level object at s.i, as scanObject.
func (s *jsonScanner) object(fn func(k, v string, null bool) error) error {
	s.skipWS()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return s.errorf("not an object")
	}
	s.i++
	s.skipWS()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			s.skipWS()
			k, err := s.str()
			if err != nil {
				return err
			}
			s.skipWS()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return s.errorf("expected ':'")
			}
			s.i++
			s.skipWS()
			if s.i >= len(s.b) {
				return errJSONEnd
			}
			var v string
			null := false
			switch c := s.b[s.i]; {
			case c == '"':
				if v, err = s.str(); err != nil {
					return fmt.Errorf("field %s: %w", k, err)
				}
			case c == 'n':
				if err := s.literal("null"); err != nil {
					return fmt.Errorf("field %s: %w", k, err)
				}
				null = true
			default:
				if v, err = s.compactString(); err != nil {
					return fmt.Errorf("field %s: %w", k, err)
				}
			}
			if err := fn(k, v, null); err != nil {
				return err
			}
			s.skipWS()
			if s.i >= len(s.b) {
				return errJSONEnd
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.b[s.i] == '}' {
				s.i++
				break
			}
			return s.errorf("expected ',' or '}'")
		}
	}
	s.skipWS()
	if s.i != len(s.b) {
		return s.errorf("data after the object")
	}
	return nil
}
