package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
)

// maxBody caps a request body; the gateway's requests are a few hundred bytes.
const maxBody = 1 << 20

var errNotObject = errors.New("request body is not a JSON object")

// parseParams turns a request body into the flat parameter map the gateway
// signs. A JSON object body (detected by content type or a leading '{') keeps
// strings as they are, numbers as their decimal text, booleans as
// true/false, nested objects and arrays as compact JSON text, and drops
// nulls. Any other body is parsed as application/x-www-form-urlencoded (the
// first value of a repeated key wins). Parameters of the URL query are added
// first, so the body overrides them.
func parseParams(contentType string, query string, body []byte) (map[string]string, error) {
	params := map[string]string{}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("parse query: %w", err)
		}
		for k, vs := range q {
			if len(vs) > 0 {
				params[k] = vs[0]
			}
		}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return params, nil
	}
	if strings.Contains(strings.ToLower(contentType), "json") || trimmed[0] == '{' {
		if err := parseJSONParams(trimmed, params); err != nil {
			return nil, err
		}
		return params, nil
	}
	form, err := url.ParseQuery(string(trimmed))
	if err != nil {
		return nil, fmt.Errorf("parse form body: %w", err)
	}
	for k, vs := range form {
		if len(vs) > 0 {
			params[k] = vs[0]
		}
	}
	return params, nil
}

func parseJSONParams(body []byte, into map[string]string) error {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("parse JSON body: %w", err)
	}
	if raw == nil {
		return errNotObject
	}
	if dec.More() {
		return fmt.Errorf("parse JSON body: %w", errors.New("trailing data after the object"))
	}
	for k, v := range raw {
		s, ok, err := jsonScalarText(v)
		if err != nil {
			return fmt.Errorf("parse JSON field %q: %w", k, err)
		}
		if ok {
			into[k] = s
		}
	}
	return nil
}

// jsonScalarText renders one JSON value as the gateway's plain string; ok is
// false for null.
func jsonScalarText(v json.RawMessage) (string, bool, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", false, nil
	}
	switch v[0] {
	case 'n':
		return "", false, nil
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	case '{', '[':
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			return "", false, err
		}
		return b.String(), true, nil
	default: // number, true, false: the literal text is the value
		return string(v), true, nil
	}
}

// parseJSONObjectText parses a JSON object held in a string parameter (such
// as channelExtra) into flat strings with the same rules as a request body.
func parseJSONObjectText(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	if err := parseJSONParams([]byte(s), out); err != nil {
		return nil, err
	}
	return out, nil
}

// parseAmount parses a positive-or-zero integer amount in fen; "1.0", "1e3",
// signs and overflow are refused.
func parseAmount(s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, fmt.Errorf("amount %q: %w", s, errBadInteger)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q: %w", s, errBadInteger)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	return n, nil
}

var errBadInteger = errors.New("not a non-negative integer")

// parseSmallInt parses an optional small integer field; def is returned for "".
func parseSmallInt(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := parseAmount(s)
	if err != nil || n > 1<<30 {
		return 0, fmt.Errorf("integer %q: %w", s, errBadInteger)
	}
	return int(n), nil
}

// ratio is an exact non-negative decimal num / 10^scale, as a split ratio
// ("0.3" is 3/10). Money computed with it never goes through a float.
type ratio struct {
	num   int64
	scale int
}

var errBadRatio = errors.New("not a decimal ratio between 0 and 1")

// maxRatioScale bounds the decimals of a ratio so num fits an int64.
const maxRatioScale = 18

// parseRatio parses a decimal string such as "0.3", "0.0001", "1", "1.000000"
// into an exact ratio in [0, 1]; exponents, signs and more than 18 decimals
// are refused.
func parseRatio(s string) (ratio, error) {
	if s == "" {
		return ratio{}, errBadRatio
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && !hasDot || hasDot && frac == "" && intPart == "" {
		return ratio{}, fmt.Errorf("ratio %q: %w", s, errBadRatio)
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return ratio{}, fmt.Errorf("ratio %q: %w", s, errBadRatio)
		}
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > maxRatioScale {
		return ratio{}, fmt.Errorf("ratio %q: more than %d decimals: %w", s, maxRatioScale, errBadRatio)
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > 1 || intPart != "" && intPart != "1" {
		return ratio{}, fmt.Errorf("ratio %q: %w", s, errBadRatio)
	}
	if intPart == "1" && frac != "" {
		return ratio{}, fmt.Errorf("ratio %q: %w", s, errBadRatio)
	}
	digits := intPart + frac
	if digits == "" {
		digits = "0"
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return ratio{}, fmt.Errorf("ratio %q: %w", s, err)
	}
	return ratio{num: n, scale: len(frac)}, nil
}

func (r ratio) isZero() bool { return r.num == 0 }

// of returns floor(amount × r) exactly.
func (r ratio) of(amount int64) int64 {
	p := new(big.Int).Mul(big.NewInt(amount), big.NewInt(r.num))
	p.Quo(p, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(r.scale)), nil))
	return p.Int64()
}

// rat returns r as an exact rational.
func (r ratio) rat() *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(r.num), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(r.scale)), nil))
}

// String renders r with its own decimals ("0.3", "1").
func (r ratio) String() string { return r.format(0) }

// format renders r with at least minScale decimals ("0.300000" for 6).
func (r ratio) format(minScale int) string {
	scale := max(r.scale, minScale)
	n := r.num
	for i := r.scale; i < scale; i++ {
		n *= 10
	}
	s := strconv.FormatInt(n, 10)
	if scale == 0 {
		return s
	}
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	return s[:len(s)-scale] + "." + s[len(s)-scale:]
}

// decimal is a JSON number kept as its exact text (a BigDecimal on the Java
// side), such as a divisionProfit of 0.300000.
type decimal string

// MarshalJSON writes the number text unquoted.
func (d decimal) MarshalJSON() ([]byte, error) { return []byte(d), nil }

// fields is a response data object or a notification: values are string,
// int64, int or decimal. Empty strings are left out of the JSON and of the
// signature; keys come out sorted, as fastjson writes them.
type fields map[string]any

func (f fields) set(k string, v any) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return
		}
	case decimal:
		if x == "" {
			return
		}
	}
	f[k] = v
}

// strings renders every value as the plain string that is signed.
func (f fields) strings() map[string]string {
	out := make(map[string]string, len(f))
	for k, v := range f {
		switch x := v.(type) {
		case string:
			out[k] = x
		case int64:
			out[k] = strconv.FormatInt(x, 10)
		case int:
			out[k] = strconv.Itoa(x)
		case decimal:
			out[k] = string(x)
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}
