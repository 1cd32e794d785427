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
	return l.check(reflect.ValueOf(resp), "")
}

func (l *Limits) check(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return l.check(v.Elem(), path)
	case reflect.String:
		return l.checkString(v.String(), path)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := jsonName(f)
			if name == "-" {
				continue
			}
			fp := join(path, name)
			if name == "provider_data" && f.Type.Kind() == reflect.Map {
				if err := l.checkProviderData(v.Field(i), fp); err != nil {
					return err
				}
				continue
			}
			if err := l.check(v.Field(i), fp); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes: bounded by the output cap
		}
		for i := range v.Len() {
			if err := l.check(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := fmt.Sprint(it.Key().Interface())
			if err := l.checkString(k, path+" key"); err != nil {
				return err
			}
			if err := l.check(it.Value(), join(path, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *Limits) checkString(s, path string) error {
	if len(s) > l.MaxField {
		return fmt.Errorf("%s is %d bytes, over the %d-byte limit", path, len(s), l.MaxField)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", path)
	}
	return nil
}

func (l *Limits) checkProviderData(v reflect.Value, path string) error {
	total := 0
	it := v.MapRange()
	for it.Next() {
		k, val := it.Key(), it.Value()
		if k.Kind() != reflect.String {
			return l.check(v, path)
		}
		total += k.Len()
		if val.Kind() == reflect.String {
			total += val.Len()
			if err := l.checkString(val.String(), join(path, k.String())); err != nil {
				return err
			}
		} else if err := l.check(val, join(path, k.String())); err != nil {
			return err
		}
		if err := l.checkString(k.String(), path+" key"); err != nil {
			return err
		}
	}
	if total > l.MaxProviderData {
		return fmt.Errorf("%s is %d bytes, over the %d-byte limit", path, total, l.MaxProviderData)
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

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
