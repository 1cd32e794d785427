package sim

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
	"strings"
	"unicode"
)

// SignString returns the exact string the gateway hashes for params: every
// entry except "sign" whose value is non-empty, rendered "k=v&", sorted with
// Java's String.CASE_INSENSITIVE_ORDER (as Jeepay sorts its "k=v&" entries),
// concatenated, followed by "key=" and the merchant's secret.
func SignString(params map[string]string, secret string) string {
	entries := make([]string, 0, len(params))
	for k, v := range params {
		if k == "sign" || v == "" {
			continue
		}
		entries = append(entries, k+"="+v+"&")
	}
	sort.Slice(entries, func(i, j int) bool {
		c := compareFold(entries[i], entries[j])
		if c != 0 {
			return c < 0
		}
		return entries[i] < entries[j]
	})
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e)
	}
	b.WriteString("key=")
	b.WriteString(secret)
	return b.String()
}

// Sign returns the MD5 signature of params with secret: the upper-case hex
// MD5 of the UTF-8 bytes of SignString(params, secret).
func Sign(params map[string]string, secret string) string {
	sum := md5.Sum([]byte(SignString(params, secret)))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Verify reports whether params["sign"] is the signature of params with
// secret; the comparison ignores case, as the gateway's does.
func Verify(params map[string]string, secret string) bool {
	got := params["sign"]
	if got == "" {
		return false
	}
	return strings.EqualFold(got, Sign(params, secret))
}

// compareFold compares a and b the way Java's String.CASE_INSENSITIVE_ORDER
// does: character by character, first upper-cased, then lower-cased, and the
// shorter string first when one is a prefix of the other.
func compareFold(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	n := min(len(ra), len(rb))
	for i := 0; i < n; i++ {
		c1, c2 := ra[i], rb[i]
		if c1 == c2 {
			continue
		}
		c1, c2 = unicode.ToUpper(c1), unicode.ToUpper(c2)
		if c1 == c2 {
			continue
		}
		c1, c2 = unicode.ToLower(c1), unicode.ToLower(c2)
		if c1 != c2 {
			return int(c1) - int(c2)
		}
	}
	return len(ra) - len(rb)
}
