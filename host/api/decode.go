package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// readBody reads the request body up to limit bytes; a larger body is 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, withStatus(http.StatusRequestEntityTooLarge, invalid("body",
				fmt.Sprintf("the request body is larger than %d bytes", limit)))
		}
		return nil, invalid("body", "the request body could not be read")
	}
	return body, nil
}

// checkContentType requires one of the media types (parameters other than
// charset=utf-8 are refused); a wrong one is 415.
func checkContentType(r *http.Request, want ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil {
		for k, v := range params {
			if k != "charset" || !strings.EqualFold(v, "utf-8") {
				err = errors.New("parameter")
			}
		}
	}
	if err == nil {
		for _, w := range want {
			if mt == w {
				return nil
			}
		}
	}
	got := ct
	if got == "" {
		got = "none"
	}
	return withStatus(http.StatusUnsupportedMediaType, invalid("Content-Type",
		fmt.Sprintf("Content-Type must be %s, got %s", strings.Join(want, " or "), got)))
}

// decodeJSON reads a JSON object into v strictly: the body must be
// application/json, one object, with exactly the field names of v (no
// unknown, differently cased or repeated names, nested objects included),
// values of the fields' types, strings of valid UTF-8 (encoding/json would
// silently turn invalid bytes and lone surrogate escapes into U+FFFD) and
// no NUL characters in strings.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if err := checkContentType(r, "application/json"); err != nil {
		return err
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}

// decodeStrict is decodeJSON for a body already read.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("body", "the request body is empty: send a JSON object")
	}
	if !json.Valid(body) {
		var x any
		err := json.Unmarshal(body, &x)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return invalid("body", fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: ")))
		}
		return invalid("body", "malformed JSON")
	}
	if param, bad := badText(body); bad {
		return invalid(param, param+" must be valid UTF-8: it holds bytes or a \\u escape that are not Unicode text")
	}
	t := reflect.TypeOf(v).Elem()
	if err := checkFields(body, t, ""); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("body", "unexpected data after the JSON object")
	}
	if param := findNUL(reflect.ValueOf(v).Elem(), ""); param != "" {
		return invalid(param, param+" must not contain NUL characters")
	}
	return nil
}

// decodeError explains an encoding/json error on a syntactically valid body.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return invalid("body", "the request body must be a JSON object")
		}
		return invalid(te.Field, fmt.Sprintf("%s must be %s, not a JSON %s", te.Field, typeName(te.Type), te.Value))
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ := strconv.Unquote(msg)
		return invalid(name, "unknown field "+msg)
	}
	return invalid("body", strings.TrimPrefix(err.Error(), "json: "))
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "a " + t.Kind().String()
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// fieldSet is the JSON field names of a struct type and their types.
type fieldSet map[string]reflect.Type

var fieldSets sync.Map // reflect.Type → fieldSet

func fieldsOf(t reflect.Type) fieldSet {
	if fs, ok := fieldSets.Load(t); ok {
		return fs.(fieldSet)
	}
	fs := fieldSet{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs[name] = f.Type
	}
	fieldSets.Store(t, fs)
	return fs
}

// checkFields walks a JSON object against a struct type: every name must be
// one of the struct's JSON names exactly (encoding/json alone would accept
// "AMOUNT" for "amount") and appear once; nested objects of struct fields
// are checked the same way.
func checkFields(data []byte, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == rawMessageType {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil {
		return invalid("body", "malformed JSON")
	} else if tok != json.Delim('{') {
		return nil // not an object: the decoder reports the type
	}
	fields := fieldsOf(t)
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return invalid("body", "malformed JSON")
		}
		name, _ := tok.(string)
		param := join(path, name)
		ft, ok := fields[name]
		if !ok {
			return invalid(param, fmt.Sprintf("unknown field %q", param))
		}
		if seen[name] {
			return invalid(param, fmt.Sprintf("field %q appears twice", param))
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return invalid("body", "malformed JSON")
		}
		if err := checkFields(raw, ft, param); err != nil {
			return err
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// findNUL returns the path of the first string (or map key) holding a NUL
// character; stores refuse them.
func findNUL(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return path
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return findNUL(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if p := findNUL(v.Field(i), join(path, name)); p != "" {
				return p
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			if k.Kind() == reflect.String && strings.IndexByte(k.String(), 0) >= 0 {
				return path
			}
			if p := findNUL(iter.Value(), join(path, k.String())); p != "" {
				return p
			}
		}
	case reflect.Slice:
		if v.Type() == rawMessageType {
			return ""
		}
		for i := range v.Len() {
			if p := findNUL(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

var integerLiteral = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// intField reads a JSON integer field that was decoded as raw JSON: a
// string, a fraction, an exponent (1e3) or a value beyond int64 is refused
// here, while decoding, with the field as param. A missing or null field is
// 0, or an error when required.
func intField(name string, raw json.RawMessage, required bool) (int64, error) {
	s := string(raw)
	if s == "" || s == "null" {
		if required {
			return 0, invalid(name, name+" is required")
		}
		return 0, nil
	}
	if !integerLiteral.MatchString(s) {
		if s[0] == '"' {
			return 0, invalid(name, name+" must be a JSON integer, not a string")
		}
		return 0, invalid(name, name+" must be an integer (minor units: 1000 is 10.00 CNY), without a fraction or an exponent")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalid(name, name+" is out of range")
	}
	return n, nil
}

// boolQuery reads an optional boolean query parameter.
func boolQuery(r *http.Request, name string) (bool, error) {
	v, ok := r.URL.Query()[name]
	if !ok {
		return false, nil
	}
	if len(v) != 1 {
		return false, invalid(name, name+" is given more than once")
	}
	b, err := strconv.ParseBool(v[0])
	if err != nil {
		return false, invalid(name, fmt.Sprintf("%s must be true or false, got %q", name, v[0]))
	}
	return b, nil
}

// requireString reports a missing required string field.
func requireString(name, v string) error {
	if v == "" {
		return invalid(name, name+" is required")
	}
	return nil
}

// badText returns the path of the first string (or object key) in a valid
// JSON document that is not Unicode text: invalid UTF-8 bytes, or a \u
// escape of a lone surrogate. The path is as findNUL's ("metadata.note",
// "items[2].name"); a bad key names the object holding it ("body" at the
// top).
func badText(data []byte) (string, bool) {
	s := &textScan{b: data}
	s.space()
	path, bad := s.value("")
	if bad && path == "" {
		path = "body"
	}
	return path, bad
}

// textScan walks a document json.Valid accepted.
type textScan struct {
	b []byte
	i int
}

func (s *textScan) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *textScan) value(path string) (string, bool) {
	if s.i >= len(s.b) {
		return "", false
	}
	switch s.b[s.i] {
	case '{':
		s.i++
		s.space()
		for s.i < len(s.b) && s.b[s.i] != '}' {
			key, ok := s.str()
			if !ok {
				return path, true
			}
			s.space()
			s.i++ // ':'
			s.space()
			if p, bad := s.value(join(path, key)); bad {
				return p, true
			}
			s.space()
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
				s.space()
			}
		}
		s.i++
	case '[':
		s.i++
		s.space()
		for n := 0; s.i < len(s.b) && s.b[s.i] != ']'; n++ {
			if p, bad := s.value(fmt.Sprintf("%s[%d]", path, n)); bad {
				return p, true
			}
			s.space()
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
				s.space()
			}
		}
		s.i++
	case '"':
		if _, ok := s.str(); !ok {
			return path, true
		}
	default: // a number, true, false or null
		for s.i < len(s.b) && !strings.ContainsRune(",]} \t\r\n", rune(s.b[s.i])) {
			s.i++
		}
	}
	return "", false
}

// str reads the string at s.i (its opening quote) and returns its text
// for a path, and whether it is Unicode text.
func (s *textScan) str() (string, bool) {
	start := s.i
	s.i++
	ok := true
	for s.i < len(s.b) && s.b[s.i] != '"' {
		c := s.b[s.i]
		switch {
		case c == '\\':
			if s.i+1 < len(s.b) && s.b[s.i+1] == 'u' {
				r := s.hex4(s.i + 2)
				s.i += 6
				switch {
				case r >= 0xD800 && r < 0xDC00:
					// a high surrogate must be followed by a low one
					if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						if lo := s.hex4(s.i + 2); lo >= 0xDC00 && lo < 0xE000 {
							s.i += 6
							continue
						}
					}
					ok = false
				case r >= 0xDC00 && r < 0xE000:
					ok = false
				}
				continue
			}
			s.i += 2
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size <= 1 {
				ok = false
				size = 1
			}
			s.i += size
		}
	}
	s.i++ // the closing quote
	var text string
	if end := min(s.i, len(s.b)); json.Unmarshal(s.b[start:end], &text) != nil {
		text = ""
	}
	return text, ok
}

// hex4 reads the four hex digits of a \u escape at i (-1 when cut off).
func (s *textScan) hex4(i int) rune {
	if i+4 > len(s.b) {
		return -1
	}
	n, err := strconv.ParseUint(string(s.b[i:i+4]), 16, 16)
	if err != nil {
		return -1
	}
	return rune(n)
}
