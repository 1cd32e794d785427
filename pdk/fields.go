package pdk

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"
)

// Field is one named string value of a flat provider message.
type Field struct {
	Key, Value string
}

// Fields is a small set of named values, e.g. the parameters of a request
// or the data object of a response. It is a slice, not a map: provider
// messages have tens of fields, a linear scan is fast at that size, and maps
// cost ten to twenty times more inside a wasm guest than natively.
type Fields []Field

// Get returns the value of key, or "".
func (f Fields) Get(key string) string {
	v, _ := f.Lookup(key)
	return v
}

// Lookup returns the value of key and whether it is present.
func (f Fields) Lookup(key string) (string, bool) {
	for i := range f {
		if f[i].Key == key {
			return f[i].Value, true
		}
	}
	return "", false
}

// Set replaces the value of key or appends it.
func (f *Fields) Set(key, value string) {
	for i := range *f {
		if (*f)[i].Key == key {
			(*f)[i].Value = value
			return
		}
	}
	*f = append(*f, Field{key, value})
}

// Delete removes key.
func (f *Fields) Delete(key string) {
	*f = slices.DeleteFunc(*f, func(x Field) bool { return x.Key == key })
}

// insertionSortMax is the size up to which Sort uses an insertion sort:
// provider messages have tens of fields, often already in order (a sorted
// message is sorted again before it is encoded), and inside a wasm guest
// the generic sort's calls through a comparison function cost more than
// the moves they save.
const insertionSortMax = 64

// Sort orders the fields by key (byte order). Fields with equal keys keep
// their order.
func (f Fields) Sort() {
	if len(f) > insertionSortMax {
		slices.SortStableFunc(f, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
		return
	}
	for i := 1; i < len(f); i++ {
		if !keyLess(f[i].Key, f[i-1].Key) {
			continue
		}
		x := f[i]
		j := i
		for j > 0 && keyLess(x.Key, f[j-1].Key) {
			f[j] = f[j-1]
			j--
		}
		f[j] = x
	}
}

// keyLess is a < b, inlined: keys are short and differ early, and a call
// to the runtime's comparison costs more than the loop inside a guest.
func keyLess(a, b string) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// SigningString sorts f and returns "k1=v1&k2=v2" over the fields with a
// non-empty value that are not named in skip, values as they are (no URL
// encoding): the string Jeepay-style providers sign.
func (f Fields) SigningString(skip ...string) string {
	b := f.AppendSigningString(nil, skip...)
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is not used again, as in strings.Builder
}

// AppendSigningString is SigningString appended to dst, for a caller that
// signs bytes: it saves a copy of the string.
func (f Fields) AppendSigningString(dst []byte, skip ...string) []byte {
	f.Sort()
	n := 0
	for i := range f {
		n += len(f[i].Key) + len(f[i].Value) + 2
	}
	dst = slices.Grow(dst, n)
	first := true
	for i := range f {
		x := &f[i]
		if x.Value == "" || (len(skip) > 0 && slices.Contains(skip, x.Key)) {
			continue
		}
		if !first {
			dst = append(dst, '&')
		}
		first = false
		dst = append(dst, x.Key...)
		dst = append(dst, '=')
		dst = append(dst, x.Value...)
	}
	return dst
}

// JSON sorts f and encodes it as a compact JSON object of strings.
func (f Fields) JSON() []byte {
	f.Sort()
	n := 2
	for _, x := range f {
		n += len(x.Key) + len(x.Value) + 6
	}
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, x := range f {
		if i > 0 {
			out = append(out, ',')
		}
		out = AppendJSONString(out, x.Key)
		out = append(out, ':')
		out = AppendJSONString(out, x.Value)
	}
	return append(out, '}')
}

// Map returns the fields as a map.
func (f Fields) Map() map[string]string {
	m := make(map[string]string, len(f))
	for _, x := range f {
		m[x.Key] = x.Value
	}
	return m
}

// Pairs builds Fields from alternating keys and values:
// Pairs("mchOrderNo", id, "amount", "100"). A trailing key without a value
// gets "".
func Pairs(kv ...string) Fields {
	f := make(Fields, 0, (len(kv)+1)/2+6)
	for i := 0; i < len(kv); i += 2 {
		v := ""
		if i+1 < len(kv) {
			v = kv[i+1]
		}
		f = append(f, Field{Key: kv[i], Value: v})
	}
	return f
}

// FieldsOf builds Fields from a map (any order).
func FieldsOf(m map[string]string) Fields {
	f := make(Fields, 0, len(m))
	for k, v := range m {
		f = append(f, Field{k, v})
	}
	return f
}

// ParseFields reads a JSON object into fields, as a signer sees them:
// strings unquoted, numbers as their exact text, booleans as true/false,
// nested objects and arrays as compact JSON text, nulls left out. A key that
// appears twice is refused: two parsers that disagree on which copy counts
// could verify one value and act on another.
func ParseFields(raw []byte) (Fields, error) {
	// one copy of the message: keys and values are cut from it
	return parseFields(newStringScanner(string(raw)))
}

// ParseFieldsString is ParseFields over a string (e.g. a nested object
// that arrived as a field's value); keys and values share its memory.
func ParseFieldsString(raw string) (Fields, error) {
	return parseFields(newStringScanner(raw))
}

func parseFields(s *jsonScanner) (Fields, error) {
	out := make(Fields, 0, 8)
	err := s.object(func(k, v string, null bool) error {
		if _, dup := out.Lookup(k); dup {
			return fmt.Errorf("duplicate key %q", k)
		}
		if !null {
			out = append(out, Field{k, v})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parse fields: %w", err)
	}
	return out, nil
}

// ParseObjects reads a JSON array of objects (e.g. the records of a split
// query, which providers often send as a JSON string) into one Fields per
// object, with the rules of ParseFields.
func ParseObjects(raw []byte) ([]Fields, error) {
	s := newStringScanner(string(raw))
	s.skipWS()
	if s.i >= len(s.b) || s.b[s.i] != '[' {
		return nil, fmt.Errorf("parse objects: %w", s.errorf("not an array"))
	}
	s.i++
	var out []Fields
	s.skipWS()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
	} else {
		for {
			s.skipWS()
			start := s.i
			if err := s.skip(); err != nil { // validates and finds the end
				return nil, fmt.Errorf("parse objects: %w", err)
			}
			f, err := ParseFieldsString(s.src[start:s.i])
			if err != nil {
				return nil, fmt.Errorf("parse objects: element %d: %w", len(out), err)
			}
			out = append(out, f)
			s.skipWS()
			if s.i >= len(s.b) {
				return nil, fmt.Errorf("parse objects: %w", errJSONEnd)
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.b[s.i] == ']' {
				s.i++
				break
			}
			return nil, fmt.Errorf("parse objects: %w", s.errorf("expected ',' or ']'"))
		}
	}
	s.skipWS()
	if s.i != len(s.b) {
		return nil, fmt.Errorf("parse objects: %w", s.errorf("data after the array"))
	}
	return out, nil
}
