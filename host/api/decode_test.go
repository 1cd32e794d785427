package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
)

// TestBadText: the path of the first string that is not Unicode text.
func TestBadText(t *testing.T) {
	tests := []struct {
		body string
		path string // "" = all text is valid
	}{
		{`{"a":"b","c":[1,"d",{"e":"f"}],"g":null,"h":true,"i":-1.5e3}`, ""},
		{`{"a":"绿茶 \ud83c\udf75 \u00e9\"\\\/\n"}`, ""},
		{`{"a":"\ufffd"}`, ""}, // U+FFFD itself is a character
		{"{\"a\":\"\xef\xbf\xbd\"}", ""},
		{"{\"a\":\"caf\xe9\"}", "a"},
		{"{\"a\":{\"b\":[\"ok\",\"\xff\"]}}", "a.b[1]"},
		{"{\"a\":[{\"x\":1},{\"y\":\"\xc0\xaf\"}]}", "a[1].y"},
		{"{\"a\":{\"k\xfe\":\"v\"}}", "a"},
		{"{\"k\xfe\":\"v\"}", "body"},
		{"\"\xff\"", "body"},
		{"{\"a\":\"\xed\xa0\x80\"}", "a"}, // a surrogate encoded in UTF-8
		{`{"a":"\ud800"}`, "a"},
		{`{"a":"\udc00x"}`, "a"},
		{`{"a":"\ud800\u0041"}`, "a"},
		{`{"a":"\ud800\\ud800"}`, "a"},
		{`{"a":"\\ud800"}`, ""}, // an escaped backslash, then text
		{`{"a":"x\ud83c"}`, "a"},
		{`{"a" : [ "ok" , "\uDBFF\uDFFF" ] , "b" : "\uD800" }`, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			if !json.Valid([]byte(tt.body)) {
				t.Fatalf("test body is not valid JSON")
			}
			path, bad := badText([]byte(tt.body))
			if bad != (tt.path != "") || path != tt.path {
				t.Errorf("badText = %q, %v; want %q", path, bad, tt.path)
			}
		})
	}
}

// loneSurrogate is an oracle for FuzzDecodeText written apart from badText:
// it reads every string with its own escape handling.
func loneSurrogate(body []byte) bool {
	var pending bool // a high surrogate waits for its low half
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			if pending {
				return true
			}
			inString = false
		case '\\':
			if i+1 < len(body) && body[i+1] == 'u' && i+6 <= len(body)-1 {
				var r rune
				for _, h := range body[i+2 : i+6] {
					r <<= 4
					switch {
					case h >= '0' && h <= '9':
						r |= rune(h - '0')
					case h >= 'a' && h <= 'f':
						r |= rune(h-'a') + 10
					case h >= 'A' && h <= 'F':
						r |= rune(h-'A') + 10
					}
				}
				switch {
				case r >= 0xD800 && r < 0xDC00:
					if pending {
						return true
					}
					pending = true
				case r >= 0xDC00 && r < 0xE000:
					if !pending {
						return true
					}
					pending = false
				default:
					if pending {
						return true
					}
				}
				i += 5
				continue
			}
			if pending {
				return true
			}
			i++
		default:
			if pending {
				return true
			}
		}
	}
	return false
}

// FuzzDecodeText: an API body whose strings are not Unicode text (invalid
// UTF-8 bytes, lone surrogate escapes) is refused with a param, never
// decoded into U+FFFD; a body that decodes holds exactly the text sent.
func FuzzDecodeText(f *testing.F) {
	for _, seed := range []string{
		`{"amount":1000,"currency":"CNY","method":"alipay.qr","description":"tea","metadata":{"k":"v"}}`,
		"{\"amount\":1000,\"description\":\"caf\xe9\"}",
		`{"description":"\ud800"}`, `{"description":"\ud83c\udf75"}`, `{"metadata":{"\udc00":"v"}}`,
		"{\"payer\":{\"open_id\":\"\xed\xa0\x80\"}}", `{"description":"\\ud800"}`, "\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var b CreatePaymentBody
		err := decodeStrict(body, &b)
		if !json.Valid(body) {
			if err == nil {
				t.Fatalf("invalid JSON %q accepted", body)
			}
			return
		}
		bad := !utf8.Valid(body) || loneSurrogate(body)
		if bad {
			ce := core.AsError(err)
			if err == nil || ce.Param == "" {
				t.Fatalf("%q: not Unicode text, got %v", body, err)
			}
			return
		}
		if err != nil {
			return // refused for another reason
		}
		// accepted: what was decoded re-encodes to strings equal to the
		// ones sent (no replacement characters were made up)
		var direct map[string]any
		if json.Unmarshal(body, &direct) == nil {
			if d, ok := direct["description"].(string); ok && d != b.Description {
				t.Fatalf("description %q decoded as %q", d, b.Description)
			}
		}
		if bytes.Count(body, []byte("\xef\xbf\xbd")) == 0 && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
			for _, s := range append([]string{b.Currency, b.Method, b.MerchantOrderID, b.Description, b.ReturnURL, b.Country, b.TerminalID}, mapStrings(b.Metadata)...) {
				if bytes.ContainsRune([]byte(s), utf8.RuneError) {
					t.Fatalf("%q decoded with a replacement character: %q", body, s)
				}
			}
		}
	})
}

func mapStrings(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}
