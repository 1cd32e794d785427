package pdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flattenRef is FlattenJSON written with encoding/json: the reference the
// hand-written scanner must agree with.
func flattenRef(raw []byte) (map[string]string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, errors.New("not an object")
	}
	out := map[string]string{}
	for k, v := range obj {
		switch {
		case string(v) == "null":
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, err
			}
			out[k] = s
		case v[0] == '{' || v[0] == '[':
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				return nil, err
			}
			out[k] = c.String()
		default:
			out[k] = string(v)
		}
	}
	return out, nil
}

// flatten is scanObject with encoding/json's semantics for repeated keys
// (the last wins), to compare with the reference.
func flatten(raw []byte) (map[string]string, error) {
	out := map[string]string{}
	err := scanObject(raw, func(k, v string, null bool) error {
		if null {
			delete(out, k)
		} else {
			out[k] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func TestScanObject(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
		err  bool
	}{
		{"scalars", `{"accType":0,"divisionProfit":0.200000,"accName":"张三","ok":true,"no":false,"gone":null}`,
			map[string]string{"accType": "0", "divisionProfit": "0.200000", "accName": "张三", "ok": "true", "no": "false"}, false},
		{"nested compacted", `{ "nested" : { "b" : 1 , "a" : [ 1 , 2 , "x y" ] } }`, map[string]string{"nested": `{"b":1,"a":[1,2,"x y"]}`}, false},
		{"escapes", `{"s":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00"}`, map[string]string{"s": "a\"b\\c/d\n\té😀"}, false},
		{"lone surrogate", `{"s":"\ud83dx"}`, map[string]string{"s": "\uFFFDx"}, false},
		{"records string", `{"records":"[{\"a\":1}]"}`, map[string]string{"records": `[{"a":1}]`}, false},
		{"empty", ` {} `, map[string]string{}, false},
		{"last duplicate wins", `{"a":1,"a":2}`, map[string]string{"a": "2"}, false},
		{"duplicate then null", `{"a":1,"a":null}`, map[string]string{}, false},
		{"negative exponent", `{"n":-1.5e-3}`, map[string]string{"n": "-1.5e-3"}, false},
		{"array", `[1]`, nil, true},
		{"trailing data", `{}x`, nil, true},
		{"truncated", `{"a":`, nil, true},
		{"leading zero", `{"a":01}`, nil, true},
		{"control char", "{\"a\":\"x\ny\"}", nil, true},
		{"bad escape", `{"a":"\q"}`, nil, true},
		{"missing colon", `{"a" 1}`, nil, true},
		{"trailing comma", `{"a":1,}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := flatten([]byte(tt.in))
			if tt.err {
				assert.Error(t, err)
				_, refErr := flattenRef([]byte(tt.in))
				assert.Error(t, refErr, "the reference refuses it too")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			ref, err := flattenRef([]byte(tt.in))
			require.NoError(t, err)
			assert.Equal(t, ref, got)
		})
	}
}

func TestParseFields(t *testing.T) {
	f, err := ParseFields([]byte(`{"b":"2","a":1,"n":null,"o":{"x":[1, 2]}}`))
	require.NoError(t, err)
	assert.Equal(t, Fields{{"b", "2"}, {"a", "1"}, {"o", `{"x":[1,2]}`}}, f)
	assert.Equal(t, "a=1&b=2&o={\"x\":[1,2]}", f.SigningString())
	assert.Equal(t, `{"a":"1","b":"2","o":"{\"x\":[1,2]}"}`, string(f.JSON()))
	_, err = ParseFields([]byte(`{"amount":"1","amount":"100"}`))
	assert.ErrorContains(t, err, "duplicate key")
	var p Fields
	p.Set("k", "1")
	p.Set("k", "2")
	p.Set("e", "")
	assert.Equal(t, "2", p.Get("k"))
	assert.Equal(t, "k=2", p.SigningString(), "empty values are left out")
	p.Delete("k")
	_, ok := p.Lookup("k")
	assert.False(t, ok)
}

func TestParseObjects(t *testing.T) {
	got, err := ParseObjects([]byte(` [{"a":1,"b":"x"}, {"a":2}] `))
	require.NoError(t, err)
	assert.Equal(t, []Fields{{{"a", "1"}, {"b", "x"}}, {{"a", "2"}}}, got)
	empty, err := ParseObjects([]byte(`[]`))
	require.NoError(t, err)
	assert.Empty(t, empty)
	for _, bad := range []string{`{}`, `[1]`, `[{"a":1}`, `[{"a":1},]`, `[{}] x`, `[{"a":1,"a":2}]`} {
		_, err := ParseObjects([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func FuzzParseObjects(f *testing.F) {
	f.Add([]byte(`[{"recordId":1007,"state":1,"calDivisionAmount":1980}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := ParseObjects(b)
		if err != nil {
			return
		}
		var ref []map[string]json.RawMessage
		if json.Unmarshal(b, &ref) != nil || len(ref) != len(objs) {
			t.Fatalf("ParseObjects accepted %q that encoding/json reads differently", b)
		}
	})
}

func TestMarshalStrings(t *testing.T) {
	m := map[string]string{"b": "x<y>&z", "a": "引号\"\\\n\u2028", "c": "", "bad": "\xff"}
	got := MarshalStrings(m)
	assert.Equal(t, `{"a":"引号\"\\\n\u2028","b":"x<y>&z","bad":"\ufffd","c":""}`, string(got))
	var back map[string]string
	require.NoError(t, json.Unmarshal(got, &back))
	assert.Equal(t, "x<y>&z", back["b"])
	assert.Equal(t, "\uFFFD", back["bad"])
	assert.Equal(t, `{}`, string(MarshalStrings(nil)))
}

// FuzzScanObject: the scanner must never panic and must agree with the
// encoding/json reference on every input, accepted or not.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":"x","c":{"d":null}}`, `{"a":`, `{"s":"\ud83d\ude00\u0041"}`, `{"n":-0.0e+1,"t":[true,false,null,{}]}`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := flatten(b)
		ref, refErr := flattenRef(b)
		if fields, perr := ParseFields(b); perr == nil && !mapsEqual(fields.Map(), got) {
			t.Fatalf("ParseFields(%q) = %v, scanner %v", b, fields, got)
		}
		if (err == nil) != (refErr == nil) {
			t.Fatalf("input %q: scanner err %v, reference err %v", b, err, refErr)
		}
		if err == nil && !mapsEqual(got, ref) {
			t.Fatalf("input %q: scanner %q, reference %q", b, got, ref)
		}
	})
}

// FuzzMarshalStrings: the output is byte for byte what encoding/json
// writes with HTML escaping off.
func FuzzMarshalStrings(f *testing.F) {
	f.Add("k", "v\u2028\x00\"\b\f<&>")
	f.Add("\xff", "\xc3")
	f.Fuzz(func(t *testing.T, k, v string) {
		m := map[string]string{k: v, "z" + k: v + "z"}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			t.Fatal(err)
		}
		if got := MarshalStrings(m); string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Fatalf("MarshalStrings(%q) = %s, encoding/json %s", m, got, want.String())
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestEightByteScanBoundaries puts every kind of special byte at every
// position of strings around the eight-byte blocks the scanner and the
// encoder skip at once, and compares with encoding/json.
func TestEightByteScanBoundaries(t *testing.T) {
	specials := []string{`"`, `\`, "\n", "\x00", "\x1f", "é", "\u2028", "\xff", "😀", "\x7f", " "}
	for n := 0; n <= 20; n++ {
		for pos := 0; pos <= n; pos++ {
			for _, sp := range specials {
				s := strings.Repeat("a", pos) + sp + strings.Repeat("b", n-pos)
				// encoder: byte for byte what encoding/json writes
				var want bytes.Buffer
				enc := json.NewEncoder(&want)
				enc.SetEscapeHTML(false)
				require.NoError(t, enc.Encode(s))
				got := AppendJSONString(nil, s)
				require.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(got), "%q", s)
				// scanner: the encoded literal reads back as encoding/json reads it
				obj := []byte(`{"k":` + string(got) + `,"r":{"x":` + string(got) + `}}`)
				f, err := ParseFields(obj)
				require.NoError(t, err, "%s", obj)
				ref, err := flattenRef(obj)
				require.NoError(t, err)
				require.Equal(t, ref, f.Map(), "%s", obj)
				// and a raw (unescaped) literal is judged as encoding/json judges it
				raw := []byte(`{"k":"` + s + `"}`)
				f, err = ParseFields(raw)
				ref, refErr := flattenRef(raw)
				require.Equal(t, refErr == nil, err == nil, "%q: %v / %v", raw, err, refErr)
				if err == nil {
					require.Equal(t, ref, f.Map(), "%q", raw)
				}
			}
		}
	}
}

func TestParseFieldsString(t *testing.T) {
	raw := `{"b":"2","a":1,"n":null,"o":{"x":[1, 2]},"p":{"y":"z"}}`
	f, err := ParseFieldsString(raw)
	require.NoError(t, err)
	assert.Equal(t, Fields{{"b", "2"}, {"a", "1"}, {"o", `{"x":[1,2]}`}, {"p", `{"y":"z"}`}}, f)
	g, err := ParseFields([]byte(raw))
	require.NoError(t, err)
	assert.Equal(t, f, g)
	_, err = ParseFieldsString(`{"a":1,"a":2}`)
	assert.ErrorContains(t, err, "duplicate key")
	_, err = ParseFieldsString(``)
	assert.Error(t, err)
}

func TestSortIsStableAndMatchesSlicesSort(t *testing.T) {
	f := Fields{{"b", "1"}, {"a", "1"}, {"b", "2"}, {"", "e"}, {"ab", "1"}, {"a", "2"}, {"B", "1"}, {"aa", ""}, {"é", "1"}}
	f.Sort()
	assert.Equal(t, Fields{{"", "e"}, {"B", "1"}, {"a", "1"}, {"a", "2"}, {"aa", ""}, {"ab", "1"}, {"b", "1"}, {"b", "2"}, {"é", "1"}}, f)
	// above the insertion sort's size, the same order
	var big, ref Fields
	for i := 0; i < 3*insertionSortMax; i++ {
		k := string(rune('a' + (i*7)%26))
		if i%3 == 0 {
			k += k
		}
		big = append(big, Field{k, strconv.Itoa(i)})
	}
	ref = append(ref, big...)
	big.Sort()
	slices.SortStableFunc(ref, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
	assert.Equal(t, ref, big)
	small := append(Fields(nil), ref[:insertionSortMax]...)
	slices.Reverse(small)
	want := append(Fields(nil), small...)
	slices.SortStableFunc(want, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
	small.Sort()
	assert.Equal(t, want, small)
}

func TestAppendSigningString(t *testing.T) {
	f := Fields{{"sign", "x"}, {"b", "2"}, {"a", "1"}, {"e", ""}}
	assert.Equal(t, "pre:a=1&b=2", string(f.AppendSigningString([]byte("pre:"), "sign")))
	assert.Equal(t, "a=1&b=2&sign=x", f.SigningString())
	assert.Equal(t, "", Fields{}.SigningString())
}
