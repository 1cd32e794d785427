package adapay

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// request is one Adapay call: a GET with query parameters, a POST with a
// JSON body, or a multipart POST (a file and form fields).
type request struct {
	method   string // GET or POST
	path     string
	query    pdk.Fields // GET parameters (empty values are dropped)
	body     *jsonBody  // POST JSON body
	form     pdk.Fields // multipart fields
	file     *filePart  // multipart file
	mutating bool       // a call that changes state: a lost answer is unknown_outcome
}

// filePart is the file of a multipart request.
type filePart struct {
	field, name, contentType string
	content                  []byte
}

// baseURL is the configured base URL the signature covers.
func baseURL(h pdk.Host) string {
	b, ok := h.Config(cfgBaseURL)
	if !ok || b == "" {
		b = defaultBaseURL
	}
	return strings.TrimRight(b, "/")
}

// signedText is what the Signature header covers: the full URL (base URL +
// path, no query) followed by the raw JSON body of a POST, or by the sorted
// "k=v&k=v" (not URL-encoded) of a GET's query or of a multipart request's
// non-file fields. Empty values are left out.
func signedText(h pdk.Host, r *request, body []byte) string {
	full := baseURL(h) + r.path
	switch {
	case r.method == "GET":
		return full + r.query.SigningString()
	case r.file != nil:
		return full + r.form.SigningString()
	}
	return full + string(body)
}

// encodeQuery renders the non-empty parameters sorted and URL-encoded.
func encodeQuery(f pdk.Fields) string {
	f.Sort()
	var b strings.Builder
	for _, x := range f {
		if x.Value == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(x.Key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(x.Value))
	}
	return b.String()
}

// call signs and sends r, verifies the answer with Adapay's public key and
// returns the fields of its data. An answer that is not HTTP 200, or that
// reports an invalid request, is returned as a canonical error. An
// unanswered, unreadable or badly signed answer is unknown_outcome for a call
// that changes state (query to learn the truth) and provider_unavailable
// (or signature_invalid) for a read.
func call(ctx context.Context, h pdk.Host, r *request) (pdk.Fields, error) {
	apiKey, _ := h.Config(cfgAPIKey)
	var body []byte
	header := map[string][]string{"Authorization": {apiKey}}
	path := r.path
	switch {
	case r.method == "GET":
		if q := encodeQuery(r.query); q != "" {
			path += "?" + q
		}
		header["Content-Type"] = []string{"application/json"}
	case r.file != nil:
		var ctype string
		body, ctype = multipartBody(r.form, r.file)
		header["Content-Type"] = []string{ctype}
	default:
		body = r.body.bytes()
		header["Content-Type"] = []string{"application/json"}
	}
	sig, err := h.Sign(ctx, keyPrivate, core.SignRSASHA1, []byte(signedText(h, r, body)))
	if err != nil {
		return nil, err
	}
	header["Signature"] = []string{base64.StdEncoding.EncodeToString(sig)}
	resp, err := h.HTTP(ctx, &core.HTTPRequest{Endpoint: endpointAPI, Method: r.method, Path: path, Header: header, Body: body})
	if err != nil {
		if ce := core.AsError(err); !r.mutating && ce.Code == core.CodeUnknownOutcome {
			// a read that got no answer changed nothing: it is simply unavailable
			return nil, &core.Error{Code: core.CodeProviderUnavailable, Provider: Name, Retryable: true, Message: ce.Message, Err: err}
		}
		return nil, err
	}
	unreadable := func(format string, args ...any) error {
		code := core.CodeProviderUnavailable
		if r.mutating {
			code = core.CodeUnknownOutcome
		}
		return &core.Error{Code: code, Provider: Name, Retryable: !r.mutating, Message: r.path + ": " + fmt.Sprintf(format, args...)}
	}
	env, err := pdk.ParseFields(resp.Body)
	if err != nil {
		return nil, unreadable("HTTP %d with a body that is not an Adapay envelope", resp.Status)
	}
	dataText, signature := env.Get("data"), env.Get("signature")
	if signature == "" {
		if resp.Status == 401 {
			// refused before processing (API key or request signature): nothing happened
			data, _ := pdk.ParseFields([]byte(dataText))
			return nil, &core.Error{Code: core.CodeAuthFailed, Provider: Name, ProviderCode: data.Get("error_code"),
				ProviderMessage: data.Get("error_msg"), Message: r.path + ": Adapay refused the API key or the request signature"}
		}
		return nil, unreadable("HTTP %d with an unsigned answer", resp.Status)
	}
	if err := verify(ctx, h, dataText, signature); err != nil {
		if r.mutating {
			return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name,
				Message: r.path + ": answer signature does not verify; the request may have been processed", Err: err}
		}
		return nil, err
	}
	data, err := pdk.ParseFields([]byte(dataText))
	if err != nil {
		return nil, unreadable("data is not a JSON object")
	}
	data = unwrap(data)
	if resp.Status != 200 || (data.Get("status") == "failed" && data.Get("error_type") == "invalid_request_error") {
		if data.Get("error_code") == "" && data.Get("error_msg") == "" {
			return nil, unreadable("HTTP %d without an error", resp.Status)
		}
		return nil, apiError(data, r.mutating, r.path)
	}
	return data, nil
}

// unwrap returns the inner object of an answer shaped {"data":{...},
// "message":"成功"} (the seed's 实名认证 examples), else data itself.
func unwrap(data pdk.Fields) pdk.Fields {
	inner := data.Get("data")
	if data.Get("status") != "" || !strings.HasPrefix(inner, "{") {
		return data
	}
	f, err := pdk.ParseFields([]byte(inner))
	if err != nil {
		return data
	}
	return f
}

// verify checks Adapay's SHA1withRSA signature (base64) over data.
func verify(ctx context.Context, h pdk.Host, data, signature string) error {
	raw, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(raw) == 0 {
		return &core.Error{Code: core.CodeSignatureInvalid, Provider: Name, Message: "signature is not base64"}
	}
	if err := h.Verify(ctx, keyPublic, core.SignRSASHA1, []byte(data), raw); err != nil {
		ce := core.AsError(err)
		ce.Provider = Name
		return ce
	}
	return nil
}

// apiError maps an error answer (error_code, error_type, error_msg,
// invalid_param) to the canonical error.
func apiError(data pdk.Fields, mutating bool, path string) error {
	code, typ, msg := data.Get("error_code"), data.Get("error_type"), data.Get("error_msg")
	e := &core.Error{Provider: Name, ProviderCode: code, ProviderMessage: msg, Message: path + ": " + firstOf(msg, code, typ)}
	e.Code = classify(code, typ)
	switch e.Code {
	case core.CodeInvalidRequest:
		e.Param = data.Get("invalid_param")
	case core.CodeProviderUnavailable:
		if mutating {
			e.Code = core.CodeUnknownOutcome
		} else {
			e.Retryable = true
		}
	case core.CodeRateLimited:
		e.Retryable = true
	}
	return e
}

// classify maps Adapay's error_code (and, failing that, error_type) to a
// canonical code. README "Errors" lists the table.
func classify(code, typ string) core.Code {
	switch {
	case code == "request_param_error" || code == "request_parameter_error":
		return core.CodeInvalidRequest
	case code == "security_exception" || code == "config_exception" || code == "app_id_not_exist":
		return core.CodeAuthFailed
	case strings.HasSuffix(code, "_repeat") || strings.HasSuffix(code, "_used"):
		return core.CodeDuplicate
	case strings.HasSuffix(code, "_not_exist") || strings.HasSuffix(code, "_not_found"):
		return core.CodeNotFound
	case strings.HasSuffix(code, "status_error"):
		return core.CodeConflict
	case strings.HasSuffix(code, "_amt_over") || strings.Contains(code, "balance_not_enough"):
		return core.CodeInsufficientFunds
	case strings.HasSuffix(code, "_not_support"):
		return core.CodeUnsupported
	case code == "too_many_requests" || code == "frequency_limited":
		return core.CodeRateLimited
	case code == "system_exception" || typ == "api_error":
		return core.CodeProviderUnavailable
	case typ == "channel_error":
		return core.CodeDeclined
	case typ == "invalid_request_error":
		return core.CodeInvalidRequest
	}
	return core.CodeDeclined
}

// jsonBody builds a JSON object without reflection, dropping empty values
// (as Adapay's SDKs do before signing).
type jsonBody struct {
	b []byte
}

func (j *jsonBody) key(k string) {
	if len(j.b) == 0 {
		j.b = append(j.b, '{')
	} else {
		j.b = append(j.b, ',')
	}
	j.b = pdk.AppendJSONString(j.b, k)
	j.b = append(j.b, ':')
}

// str adds a string member unless v is empty.
func (j *jsonBody) str(k, v string) *jsonBody {
	if v != "" {
		j.key(k)
		j.b = pdk.AppendJSONString(j.b, v)
	}
	return j
}

// raw adds a member whose value is JSON text unless v is empty.
func (j *jsonBody) raw(k string, v []byte) *jsonBody {
	if len(v) > 0 {
		j.key(k)
		j.b = append(j.b, v...)
	}
	return j
}

func (j *jsonBody) bytes() []byte {
	if j == nil || len(j.b) == 0 {
		return []byte("{}")
	}
	return append(j.b, '}')
}

// jsonArray joins JSON objects into an array.
func jsonArray(items [][]byte) []byte {
	out := []byte{'['}
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, it...)
	}
	return append(out, ']')
}

// multipartBody builds a multipart/form-data body of the fields and the file.
func multipartBody(fields pdk.Fields, file *filePart) ([]byte, string) {
	boundary := "payhostAdapayFormBoundary7MA4YWxk"
	for i := 0; bytes.Contains(file.content, []byte(boundary)); i++ {
		boundary = fmt.Sprintf("payhostAdapayFormBoundary%dx%d", i, len(file.content))
	}
	var b bytes.Buffer
	fields.Sort()
	for _, f := range fields {
		if f.Value == "" {
			continue
		}
		fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", boundary, f.Key, f.Value)
	}
	ctype := firstOf(file.contentType, "application/octet-stream")
	fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=%q; filename=%q\r\nContent-Type: %s\r\n\r\n",
		boundary, file.field, file.name, ctype)
	b.Write(file.content)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes(), "multipart/form-data; boundary=" + boundary
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
