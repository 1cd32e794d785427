package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// readMultipart reads the fields and the "file" part of a multipart body.
func readMultipart(body []byte, boundary string, c *call) error {
	if boundary == "" {
		return errors.New("no boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return err
		}
		if part.FormName() == "file" && part.FileName() != "" {
			c.file, c.fname = b, part.FileName()
			continue
		}
		if part.FormName() != "" {
			c.params[part.FormName()] = string(b)
		}
	}
}

var (
	yuanRe   = regexp.MustCompile(`^(0|[1-9][0-9]{0,11})\.[0-9]{2}$`)
	orderRe  = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	digitsRe = regexp.MustCompile(`^[0-9]+$`)
	rateRe   = regexp.MustCompile(`^0(\.[0-9]{1,10})?$`)
)

// parseYuan parses Adapay's amount format: yuan with exactly two decimals
// ("0.01", "100.05"), into fen.
func parseYuan(s string) (int64, bool) {
	if !yuanRe.MatchString(s) {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.Replace(s, ".", "", 1), 10, 64)
	return v, err == nil
}

// formatYuan renders fen as yuan with two decimals.
func formatYuan(fen int64) string {
	return strconv.FormatInt(fen/100, 10) + "." + strconv.FormatInt(fen%100/10, 10) + strconv.FormatInt(fen%10, 10)
}

// validDate checks YYYYMMDD.
func validDate(s string) bool {
	if len(s) != 8 || !digitsRe.MatchString(s) {
		return false
	}
	_, err := time.Parse("20060102", s)
	return err == nil
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// required returns the first of names whose value is empty, as a parameter error.
func required(c *call, names ...string) error {
	for _, n := range names {
		if strings.TrimSpace(c.get(n)) == "" {
			return paramErr(n, n+"不能为空")
		}
	}
	return nil
}

// maxLen refuses a value longer than n characters.
func maxLen(c *call, name string, n int) error {
	if runes(c.get(name)) > n {
		return paramErr(name, name+"长度不能超过"+strconv.Itoa(n))
	}
	return nil
}

// decodeObject reads a JSON object given as a string parameter (or as a
// nested object) into flat strings: nested values as compact JSON.
func decodeObject(text string) (map[string]string, bool) {
	var m map[string]any
	if err := jsonUnmarshal(text, &m); err != nil || m == nil {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		case nil:
		default:
			out[k] = marshal(x)
		}
	}
	return out, true
}

// chinaTime is Adapay's time zone for end_time and time_expire.
var chinaTime = time.FixedZone("CST", 8*3600)

func jsonUnmarshal(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}
