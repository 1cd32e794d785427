package plugin

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Limits caps what one call of a plugin may produce. A response over a
// cap is refused as plugin_failure (unknown_outcome once a request that
// changes state may have been sent), so nothing of it is stored; log lines
// over the budget are dropped and counted. Zero values take the defaults.
type Limits struct {
	// MaxOutputBytes bounds a wasm call's encoded response; default 4 MiB.
	MaxOutputBytes int `json:"max_output_bytes,omitempty"`
	// MaxProviderData bounds one provider_data map: its keys and values
	// together, in bytes; default 8 KiB.
	MaxProviderData int `json:"max_provider_data,omitempty"`
	// MaxField bounds any other string of a response, in bytes; default
	// 64 KiB (a hosted-checkout form or a QR payload fits).
	MaxField int `json:"max_field,omitempty"`
	// MaxLogLines and MaxLogBytes are a call's log budget; default 100
	// lines and 64 KiB.
	MaxLogLines int `json:"max_log_lines,omitempty"`
	MaxLogBytes int `json:"max_log_bytes,omitempty"`
}

// Default limits.
const (
	DefaultMaxOutputBytes  = 4 << 20
	DefaultMaxProviderData = 8 << 10
	DefaultMaxField        = 64 << 10
	DefaultMaxLogLines     = 100
	DefaultMaxLogBytes     = 64 << 10
)

func (l *Limits) defaults() {
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if l.MaxProviderData <= 0 {
		l.MaxProviderData = DefaultMaxProviderData
	}
	if l.MaxField <= 0 {
		l.MaxField = DefaultMaxField
	}
	if l.MaxLogLines <= 0 {
		l.MaxLogLines = DefaultMaxLogLines
	}
	if l.MaxLogBytes <= 0 {
		l.MaxLogBytes = DefaultMaxLogBytes
	}
}

// checkResponse walks a decoded response and refuses a string that is not
// UTF-8 or is over MaxField, and a provider_data map over MaxProviderData.
// The error names the field by its JSON path.
func (l *Limits) checkResponse(resp any) error {
	if e := l.check(reflect.ValueOf(resp)); e != nil {
		return e
	}
	return nil
}

// limitError is a refused field; its path is built on the way out of the
// walk, so a response within the limits costs no string building.
type limitError struct {
	path []string // innermost first
	msg  string
}

func (e *limitError) Error() string {
	var b strings.Builder
	for i := len(e.path) - 1; i >= 0; i-- {
		seg := e.path[i]
		if b.Len() > 0 && !strings.HasPrefix(seg, "[") {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String() + " " + e.msg
}

func (e *limitError) in(seg string) *limitError {
	e.path = append(e.path, seg)
	return e
}

func (l *Limits) check(v reflect.Value) *limitError {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return l.check(v.Elem())
	case reflect.String:
		return l.checkString(v.String())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			var e *limitError
			if f.Type.Kind() == reflect.Map && f.Type.Key().Kind() == reflect.String && f.Type.Elem().Kind() == reflect.String &&
				f.Tag.Get("json") == "provider_data,omitempty" || f.Tag.Get("json") == "provider_data" {
				e = l.checkProviderData(v.Field(i))
			} else {
				e = l.check(v.Field(i))
			}
			if e != nil {
				return e.in(jsonName(f))
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes: bounded by the output cap
		}
		for i := range v.Len() {
			if e := l.check(v.Index(i)); e != nil {
				return e.in(fmt.Sprintf("[%d]", i))
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if it.Key().Kind() == reflect.String {
				if e := l.checkString(it.Key().String()); e != nil {
					return e.in("(key)")
				}
			}
			if e := l.check(it.Value()); e != nil {
				return e.in(fmt.Sprint(it.Key().Interface()))
			}
		}
	}
	return nil
}

func (l *Limits) checkString(s string) *limitError {
	if len(s) > l.MaxField {
		return &limitError{msg: fmt.Sprintf("is %d bytes, over the %d-byte limit", len(s), l.MaxField)}
	}
	if !utf8.ValidString(s) {
		return &limitError{msg: "is not valid UTF-8"}
	}
	return nil
}

// checkProviderData checks a map[string]string provider_data: every key
// and value, and their total size.
func (l *Limits) checkProviderData(v reflect.Value) *limitError {
	total := 0
	it := v.MapRange()
	for it.Next() {
		k, val := it.Key().String(), it.Value().String()
		total += len(k) + len(val)
		if e := l.checkString(k); e != nil {
			return e.in("(key)")
		}
		if e := l.checkString(val); e != nil {
			return e.in(k)
		}
	}
	if total > l.MaxProviderData {
		return &limitError{msg: fmt.Sprintf("is %d bytes, over the %d-byte limit", total, l.MaxProviderData)}
	}
	return nil
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}
