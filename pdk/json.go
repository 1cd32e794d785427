package pdk

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
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

// MarshalStrings encodes a flat string map as a compact JSON object with
// keys in ascending order (Fields.JSON does the same for Fields).
func MarshalStrings(m map[string]string) []byte { return FieldsOf(m).JSON() }

// maxJSONDepth bounds nesting, as encoding/json does.
const maxJSONDepth = 10000

var errJSONEnd = errors.New("unexpected end of JSON input")

type jsonScanner struct {
	b     []byte
	i     int
	depth int
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str reads a string literal and returns its value.
func (s *jsonScanner) str() (string, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", s.errorf("expected a string")
	}
	s.i++
	start := s.i
	// fast path: no escapes and valid UTF-8
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			v := s.b[start:s.i]
			s.i++
			if utf8.Valid(v) {
				return string(v), nil
			}
			return string([]rune(string(v))), nil // replaces invalid bytes with U+FFFD
		}
		if c == '\\' || c < 0x20 {
			break
		}
		s.i++
	}
	s.i = start
	buf := make([]byte, 0, 32)
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
func (s *jsonScanner) compact(dst []byte) ([]byte, error) {
	s.ws()
	if s.i >= len(s.b) {
		return nil, errJSONEnd
	}
	switch c := s.b[s.i]; {
	case c == '"':
		start := s.i
		if _, err := s.str(); err != nil {
			return nil, err
		}
		return append(dst, s.b[start:s.i]...), nil
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
		dst = append(dst, c)
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == closing {
			s.i++
			return append(dst, closing), nil
		}
		for {
			var err error
			if c == '{' {
				s.ws()
				start := s.i
				if _, err = s.str(); err != nil {
					return nil, err
				}
				dst = append(dst, s.b[start:s.i]...)
				s.ws()
				if s.i >= len(s.b) || s.b[s.i] != ':' {
					return nil, s.errorf("expected ':'")
				}
				s.i++
				dst = append(dst, ':')
			}
			if dst, err = s.compact(dst); err != nil {
				return nil, err
			}
			s.ws()
			if s.i >= len(s.b) {
				return nil, errJSONEnd
			}
			switch s.b[s.i] {
			case ',':
				s.i++
				dst = append(dst, ',')
			case closing:
				s.i++
				return append(dst, closing), nil
			default:
				return nil, s.errorf("expected ',' or '%c'", closing)
			}
		}
	case c == 't':
		return append(dst, "true"...), s.literal("true")
	case c == 'f':
		return append(dst, "false"...), s.literal("false")
	case c == 'n':
		return append(dst, "null"...), s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := s.number()
		return append(dst, n...), err
	}
	return nil, s.errorf("unexpected character %q", s.b[s.i])
}

// scanObject walks the members of a top-level JSON object, calling fn with
// each key and its value as a signer sees it (null reports null=true).
func scanObject(raw []byte, fn func(k, v string, null bool) error) error {
	s := &jsonScanner{b: raw}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return s.errorf("not an object")
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			s.ws()
			k, err := s.str()
			if err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return s.errorf("expected ':'")
			}
			s.i++
			s.ws()
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
				b, err := s.compact(nil)
				if err != nil {
					return fmt.Errorf("field %s: %w", k, err)
				}
				v = string(b)
			}
			if err := fn(k, v, null); err != nil {
				return err
			}
			s.ws()
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
	s.ws()
	if s.i != len(s.b) {
		return s.errorf("data after the object")
	}
	return nil
}
