package haotian

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// The trade bill (交易对账单), /api/bill/download: an assumption of
// plugins/haotian/README.md ("Trade bill"), since seed 001 documents no
// statement endpoint.

// billTimeLayout is the layout of a bill's successTime, in the bill's zone.
const billTimeLayout = "2006-01-02 15:04:05"

// defaultTimeZone is the gateway's day: China time.
const defaultTimeZone = "+08:00"

// maxLineText bounds the text of an unparsed line in the response.
const maxLineText = 512

// billColumns are the columns a bill's header must name (in any order;
// other columns are ignored).
var billColumns = []string{"tradeType", "orderId", "mchOrderNo", "mchRefundNo", "amount", "state", "successTime"}

// DownloadStatement implements pdk.StatementDownloader with
// /api/bill/download: the trade bill of one day (China time) of the
// account's application, parsed into canonical lines. Only the trade kind
// exists. The envelope's signature covers the CSV, so a bill that verifies
// is the gateway's; its lines that do not parse are returned in Unparsed,
// never dropped. A bill for another day, one whose header lacks a column,
// or one whose line count differs from its totalCount is an error.
func (*Plugin) DownloadStatement(ctx context.Context, h pdk.Host, req *core.DownloadStatementRequest) (*core.DownloadStatementResponse, error) {
	if req.Kind != "" && req.Kind != core.StatementTrade {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "kind", Provider: Name,
			Message: fmt.Sprintf("haotian offers the trade statement only, not %q", req.Kind)}
	}
	if req.SubMerchantID != "" {
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "sub_merchant_id", Provider: Name,
			Message: "haotian statements are per application; configure the sub-merchant as an account"}
	}
	billDate, err := posDate(req.Date)
	if err != nil {
		return nil, err
	}
	loc, err := billZone(h)
	if err != nil {
		return nil, err
	}
	data, err := call(ctx, h, "/api/bill/download", pdk.Pairs("billDate", billDate, "billType", "TRADE"), false)
	if err != nil {
		return nil, billError(err)
	}
	if got := data.Get("billDate"); got != billDate {
		return nil, unreadableBill("the gateway answered the bill of %q for %s", got, billDate)
	}
	content := data.Get("billContent")
	lines, unparsed, err := ParseBill(content, loc)
	if err != nil {
		return nil, err
	}
	if n, ok := data.Lookup("totalCount"); ok && n != strconv.Itoa(len(lines)+len(unparsed)) {
		return nil, unreadableBill("the bill has %d lines, its totalCount says %s", len(lines)+len(unparsed), n)
	}
	return &core.DownloadStatementResponse{Date: req.Date, Format: firstOf(data.Get("fileType"), "csv"), Raw: []byte(content),
		Lines: lines, Unparsed: unparsed}, nil
}

// billError gives the bill's refusals their canonical codes.
func billError(err error) error {
	ce := core.AsError(err)
	if ce.ProviderCode == strconv.Itoa(codeBusiness) && strings.Contains(ce.ProviderMessage, "不能晚于当前日期") {
		out := *ce
		out.Code, out.Param = core.CodeInvalidRequest, "date"
		return &out
	}
	return err
}

func unreadableBill(format string, args ...any) error {
	return &core.Error{Code: core.CodeProviderUnavailable, Provider: Name, Message: "bill: " + fmt.Sprintf(format, args...)}
}

// billZone is the account's time_zone: a UTC offset, ±HH:MM.
func billZone(h pdk.Host) (*time.Location, error) {
	v, _ := h.Config(cfgTimeZone)
	loc, err := ParseOffset(firstOf(v, defaultTimeZone))
	if err != nil {
		return nil, &core.Error{Code: core.CodeInvalidRequest, Param: cfgTimeZone, Provider: Name, Message: err.Error()}
	}
	return loc, nil
}

// ParseOffset reads a fixed UTC offset: "+08:00", "-05:30", "UTC" or "Z".
func ParseOffset(s string) (*time.Location, error) {
	if s == "UTC" || s == "Z" {
		return time.UTC, nil
	}
	bad := fmt.Errorf("time_zone %q is not a UTC offset like +08:00", s)
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return nil, bad
	}
	hh, ok1 := fen(s[1:3])
	mm, ok2 := fen(s[4:6])
	if !ok1 || !ok2 || hh > 14 || mm > 59 {
		return nil, bad
	}
	secs := int(hh*3600 + mm*60)
	if s[0] == '-' {
		secs = -secs
	}
	return time.FixedZone("UTC"+s, secs), nil
}

// ParseBill reads the CSV of a trade bill (README, "Trade bill") whose
// successTime values are in loc. Each data line becomes a canonical line
// (a PAY a payment, a REFUND a refund, with its line number), or, when it
// does not parse, an entry of unparsed with its number, text and reason:
// no line is dropped (blank lines carry nothing and are skipped). The error
// is for a bill that cannot be read at all: no header, or a header without
// one of the required columns. A UTF-8 byte order mark is ignored.
func ParseBill(content string, loc *time.Location) (lines []core.StatementLine, unparsed []core.StatementLineError, err error) {
	content = strings.TrimPrefix(content, "\uFEFF")
	n := 0
	var col map[string]int
	var width int
	for raw := range strings.Lines(content) {
		n++
		text := strings.TrimSuffix(strings.TrimSuffix(raw, "\n"), "\r")
		if col == nil {
			if col, width, err = billHeader(text); err != nil {
				return nil, nil, err
			}
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		l, reason := billLine(text, col, width, loc)
		if reason != "" {
			unparsed = append(unparsed, core.StatementLineError{Line: n, Text: clipLine(text), Reason: reason})
			continue
		}
		l.Line = n
		lines = append(lines, l)
	}
	if col == nil {
		return nil, nil, unreadableBill("the bill is empty: no header line")
	}
	return lines, unparsed, nil
}

// billHeader maps the header's column names to their positions.
func billHeader(text string) (map[string]int, int, error) {
	names := strings.Split(text, ",")
	col := make(map[string]int, len(names))
	for i, name := range names {
		name = strings.TrimSpace(name)
		if _, dup := col[name]; dup && name != "" {
			return nil, 0, unreadableBill("the header names column %q twice", clipLine(name))
		}
		col[name] = i
	}
	for _, need := range billColumns {
		if _, ok := col[need]; !ok {
			return nil, 0, unreadableBill("the header has no column %s: %q", need, clipLine(text))
		}
	}
	return col, len(names), nil
}

// billLine parses one data line; a non-empty reason says why it does not.
func billLine(text string, col map[string]int, width int, loc *time.Location) (core.StatementLine, string) {
	if !utf8.ValidString(text) {
		return core.StatementLine{}, "the line is not valid UTF-8"
	}
	vals := strings.Split(text, ",")
	if len(vals) != width {
		return core.StatementLine{}, fmt.Sprintf("the line has %d fields, the header %d", len(vals), width)
	}
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(vals[i])
		}
		return ""
	}
	l := core.StatementLine{ProviderID: get("orderId"), Currency: "CNY"}
	if l.ProviderID == "" {
		return l, "orderId is empty"
	}
	if c := get("currency"); c != "" && !strings.EqualFold(c, "cny") {
		return l, fmt.Sprintf("currency %q is not cny", clip(c))
	}
	amount, ok := fen(get("amount"))
	if !ok || amount == 0 {
		return l, fmt.Sprintf("amount %q is not a positive whole number of fen", clip(get("amount")))
	}
	l.Amount = amount
	if v := get("mchFeeAmount"); v != "" {
		if l.FeeAmount, ok = fen(v); !ok {
			return l, fmt.Sprintf("mchFeeAmount %q is not a whole number of fen", clip(v))
		}
	}
	state, ok := fen(get("state"))
	if !ok || len(get("state")) > 2 {
		return l, fmt.Sprintf("state %q is not a state number", clip(get("state")))
	}
	at, err := time.ParseInLocation(billTimeLayout, get("successTime"), loc)
	if err != nil {
		return l, fmt.Sprintf("successTime %q is not yyyy-MM-dd HH:mm:ss", clip(get("successTime")))
	}
	l.Time = at.UTC()
	switch tt := get("tradeType"); tt {
	case "PAY":
		if state > payClosed {
			return l, fmt.Sprintf("state %d is not a pay order state", state)
		}
		l.Kind, l.ObjectID, l.Status = core.LinePayment, get("mchOrderNo"), string(paymentStatus(state))
		if l.ObjectID == "" {
			return l, "mchOrderNo is empty"
		}
	case "REFUND":
		if state > orderClosed {
			return l, fmt.Sprintf("state %d is not a refund state", state)
		}
		l.Kind, l.ObjectID, l.PaymentID, l.Status = core.LineRefund, get("mchRefundNo"), get("mchOrderNo"), string(refundStatus(state))
		if l.ObjectID == "" {
			return l, "mchRefundNo is empty"
		}
	default:
		return l, fmt.Sprintf("tradeType %q is neither PAY nor REFUND", clip(tt))
	}
	return l, ""
}

// fen reads a whole non-negative number of fen: decimal digits only, at
// most 15 of them (no sign, no point, no exponent).
func fen(s string) (int64, bool) {
	if s == "" || len(s) > 15 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// clip shortens a value quoted in a reason.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return cutUTF8(s, 40) + "…"
}

// clipLine is the text of an unparsed line: valid UTF-8, at most
// maxLineText bytes.
func clipLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxLineText {
		return s
	}
	return cutUTF8(s, maxLineText-len("…")) + "…"
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
