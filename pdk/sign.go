package pdk

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// SortedPairs builds the common signing string "k1=v1&k2=v2" from a map:
// keys in ascending byte order, parameters with an empty value or named in
// skip left out, values written as they are (no URL encoding). Jeepay,
// Adapay GET requests and callback verification of several providers use
// it. Fields.SigningString does the same for Fields.
func SortedPairs(params map[string]string, skip ...string) string {
	return FieldsOf(params).SigningString(skip...)
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
