package pdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// SortedPairs builds the common signing string "k1=v1&k2=v2": keys in
// ascending byte order, parameters with an empty value or named in skip
// left out, values written as they are (no URL encoding). Jeepay, Adapay GET
// requests and callback verification of several providers use it.
func SortedPairs(params map[string]string, skip ...string) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if v == "" || contains(skip, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SortedJSON serialises m as compact JSON with keys sorted (top level and
// nested maps), nil values dropped at the top level, and no HTML escaping
// ('<', '>', '&' stay raw, '/' is never escaped): the string Huifu dougong
// signs.
func SortedJSON(m map[string]any) ([]byte, error) {
	clean := make(map[string]any, len(m))
	for k, v := range m {
		if v != nil {
			clean[k] = v
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(clean); err != nil {
		return nil, fmt.Errorf("sorted json: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// FlattenJSON turns a JSON object into string values as a signer sees them:
// strings unquoted, numbers as their exact text, booleans as true/false,
// nested objects and arrays as compact JSON text, and nulls left out. It is
// how a response's data object is turned back into the parameters whose
// signature must be verified.
func FlattenJSON(raw []byte) (map[string]string, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("flatten json: %w", err)
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
			continue
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("flatten json: field %s: %w", k, err)
			}
			out[k] = s
		case v[0] == '{' || v[0] == '[':
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				return nil, fmt.Errorf("flatten json: field %s: %w", k, err)
			}
			out[k] = c.String()
		default:
			out[k] = string(v)
		}
	}
	return out, nil
}
