package sim

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The trade bill (交易对账单): seed 001 documents no statement endpoint, so
// this one is an assumption in the gateway's style, written down in
// plugins/haotian/README.md ("Trade bill"). POST /api/bill/download with
// billDate (yyyyMMdd, a day in China time) answers the signed envelope whose
// data carries the day's CSV (billContent) and its totals.

// Bill types.
const (
	BillTypeTrade = "TRADE" // pay orders and refunds that succeeded in the day
)

// BillHeader is the first line of every trade bill: the column names.
const BillHeader = "tradeType,orderId,payOrderId,mchOrderNo,mchRefundNo,ifCode,wayCode,currency,amount,mchFeeAmount,state,successTime"

// BillTimeLayout is the layout of successTime in a bill, in the bill's time
// zone (China time unless Config.Location says otherwise).
const BillTimeLayout = "2006-01-02 15:04:05"

// BillMismatchKind names a deliberate difference the simulator puts into
// the bills it serves, for reconciliation tests.
type BillMismatchKind int

// The bill mismatch switches. OrderID names the line by its orderId
// (payOrderId or refundOrderId) or by its mchOrderNo / mchRefundNo.
const (
	// BillDropLine leaves the line of OrderID out of the bill.
	BillDropLine BillMismatchKind = iota + 1
	// BillChangeAmount shows Amount on the line of OrderID.
	BillChangeAmount
	// BillChangeFee shows Fee as the mchFeeAmount of the line of OrderID.
	BillChangeFee
	// BillChangeState shows State on the line of OrderID.
	BillChangeState
	// BillExtraOrder adds a successful PAY line, in the middle of the day,
	// for a pay order nobody else knows (made in the merchant portal, say):
	// mchOrderNo MchOrderNo (default "portal-N"), Amount (default 100 fen),
	// the merchant fee of that amount.
	BillExtraOrder
	// BillMalformedLine puts a line that does not parse into the bill: Text
	// (default: the line with its amount written "1O0") replaces the line
	// of OrderID, or is added at the end when OrderID is empty.
	BillMalformedLine
)

var billMismatchNames = map[BillMismatchKind]string{
	BillDropLine:      "drop_line",
	BillChangeAmount:  "change_amount",
	BillChangeFee:     "change_fee",
	BillChangeState:   "change_state",
	BillExtraOrder:    "extra_order",
	BillMalformedLine: "malformed_line",
}

// String returns the mismatch's snake_case name.
func (k BillMismatchKind) String() string {
	if n, ok := billMismatchNames[k]; ok {
		return n
	}
	return "unknown"
}

// BillMismatch is one bill mismatch switch. It applies to every bill served
// until the switches are changed; a line it names that is not in a bill is
// left alone.
type BillMismatch struct {
	Kind       BillMismatchKind
	OrderID    string
	Amount     int64
	Fee        int64
	State      int
	MchOrderNo string
	Text       string
}

// SetBillMismatches replaces every bill mismatch switch; no argument
// clears them.
func (s *Server) SetBillMismatches(ms ...BillMismatch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mismatches = append([]BillMismatch(nil), ms...)
}

// AddBillMismatch adds one bill mismatch switch to those already set.
func (s *Server) AddBillMismatch(m BillMismatch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mismatches = append(s.mismatches, m)
}

// BillMismatches returns the bill mismatch switches set.
func (s *Server) BillMismatches() []BillMismatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BillMismatch(nil), s.mismatches...)
}

// Bill is a trade bill as the gateway serves it.
type Bill struct {
	BillDate string // yyyyMMdd
	BillType string
	MchNo    string
	AppID    string
	// Content is the CSV: BillHeader, then one line per trade, each ended
	// by "\n".
	Content string
	// TotalCount counts the lines after the header, malformed ones included.
	TotalCount int
	// The totals of the lines that parse: PAY lines, REFUND lines, and the
	// fees of the PAY lines.
	PayCount     int
	PayAmount    int64
	RefundCount  int
	RefundAmount int64
	FeeAmount    int64
}

// billLine is one trade of a bill.
type billLine struct {
	tradeType   string // PAY or REFUND
	orderID     string
	payOrderID  string
	mchOrderNo  string
	mchRefundNo string
	ifCode      string
	wayCode     string
	currency    string
	amount      int64
	fee         int64
	state       int
	successTime time.Time
	malformed   string // the text served instead, when not ""
}

func (l billLine) named(id string) bool {
	if id == "" {
		return false
	}
	if l.tradeType == "REFUND" {
		return id == l.orderID || id == l.mchRefundNo
	}
	return id == l.orderID || id == l.mchOrderNo
}

// columns are the line's values in the order of BillHeader.
func (l billLine) columns(loc *time.Location) []string {
	return []string{l.tradeType, l.orderID, l.payOrderID, l.mchOrderNo, l.mchRefundNo, l.ifCode, l.wayCode,
		l.currency, strconv.FormatInt(l.amount, 10), strconv.FormatInt(l.fee, 10), strconv.Itoa(l.state),
		l.successTime.In(loc).Format(BillTimeLayout)}
}

// amountColumn is the index of amount in BillHeader.
const amountColumn = 8

func (l billLine) text(loc *time.Location) string {
	if l.malformed != "" {
		return l.malformed
	}
	return strings.Join(l.columns(loc), ",")
}

func handleBillDownload(s *Server, c *call) (fields, error) {
	b, err := s.billLocked(c.mch, c.get("appId"), c.get("billDate"), c.get("billType"))
	if err != nil {
		return nil, err
	}
	out := fields{}
	out.set("billDate", b.BillDate)
	out.set("billType", b.BillType)
	out.set("mchNo", b.MchNo)
	out.set("appId", b.AppID)
	out.set("fileType", "csv")
	out.set("billContent", b.Content)
	out.set("totalCount", b.TotalCount)
	out.set("payCount", b.PayCount)
	out.set("payAmount", b.PayAmount)
	out.set("refundCount", b.RefundCount)
	out.set("refundAmount", b.RefundAmount)
	out.set("feeAmount", b.FeeAmount)
	return out, nil
}

// Bill returns the trade bill of the application appID for billDate
// (yyyyMMdd), exactly as /api/bill/download would serve it now, mismatch
// switches applied.
func (s *Server) Bill(appID, billDate string) (Bill, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.apps[appID]
	if m == nil {
		return Bill{}, fmt.Errorf("bill of %s: %w", appID, ErrNotFound)
	}
	b, err := s.billLocked(m, appID, billDate, "")
	if err != nil {
		return Bill{}, fmt.Errorf("bill of %s for %s: %w", appID, billDate, err)
	}
	return b, nil
}

// billLocked builds a bill: the application's pay orders whose successTime
// falls in the day and that are successful (2) or since refunded (5), and
// its refunds that succeeded (2) in the day, ordered by successTime then
// orderId; then the mismatch switches.
func (s *Server) billLocked(m *merchant, appID, billDate, billType string) (Bill, error) {
	if billDate == "" {
		return Bill{}, bizErr("账单日期不能为空")
	}
	if billType == "" {
		billType = BillTypeTrade
	}
	if billType != BillTypeTrade {
		return Bill{}, bizErr("不支持的账单类型[" + billType + "]")
	}
	day, err := time.ParseInLocation("20060102", billDate, s.location)
	if err != nil || day.Format("20060102") != billDate {
		return Bill{}, paramErr("billDate")
	}
	if day.After(s.now()) {
		return Bill{}, bizErr("账单日期[" + billDate + "]不能晚于当前日期")
	}
	next := day.AddDate(0, 0, 1)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(day) && t.Before(next) }
	var lines []billLine
	for _, o := range s.orders {
		s.expireLocked(o)
		if o.MchNo != m.MchNo || o.AppID != appID || (o.State != PayStateSuccess && o.State != PayStateRefunded) || !in(o.SuccessTime) {
			continue
		}
		lines = append(lines, billLine{tradeType: "PAY", orderID: o.PayOrderID, payOrderID: o.PayOrderID, mchOrderNo: o.MchOrderNo,
			ifCode: o.IfCode, wayCode: o.WayCode, currency: o.Currency, amount: o.Amount, fee: o.MchFeeAmount,
			state: o.State, successTime: o.SuccessTime})
	}
	for _, r := range s.refunds {
		if r.MchNo != m.MchNo || r.AppID != appID || r.State != OrderStateSuccess || !in(r.SuccessTime) {
			continue
		}
		l := billLine{tradeType: "REFUND", orderID: r.RefundOrderID, payOrderID: r.PayOrderID, mchRefundNo: r.MchRefundNo,
			currency: r.Currency, amount: r.RefundAmount, state: r.State, successTime: r.SuccessTime}
		if o := s.orders[r.PayOrderID]; o != nil {
			l.mchOrderNo, l.ifCode, l.wayCode = o.MchOrderNo, o.IfCode, o.WayCode
		}
		lines = append(lines, l)
	}
	sort.Slice(lines, func(i, j int) bool {
		if !lines[i].successTime.Equal(lines[j].successTime) {
			return lines[i].successTime.Before(lines[j].successTime)
		}
		return lines[i].orderID < lines[j].orderID
	})
	lines = s.mismatchLocked(lines, day)

	b := Bill{BillDate: billDate, BillType: billType, MchNo: m.MchNo, AppID: appID, TotalCount: len(lines)}
	var sb strings.Builder
	sb.WriteString(BillHeader)
	sb.WriteByte('\n')
	for _, l := range lines {
		sb.WriteString(l.text(s.location))
		sb.WriteByte('\n')
		if l.malformed != "" {
			continue
		}
		if l.tradeType == "PAY" {
			b.PayCount++
			b.PayAmount += l.amount
			b.FeeAmount += l.fee
		} else {
			b.RefundCount++
			b.RefundAmount += l.amount
		}
	}
	b.Content = sb.String()
	return b, nil
}

// mismatchLocked applies the bill mismatch switches to lines.
func (s *Server) mismatchLocked(lines []billLine, day time.Time) []billLine {
	for i, mm := range s.mismatches {
		switch mm.Kind {
		case BillDropLine:
			lines = slices.DeleteFunc(lines, func(l billLine) bool { return l.named(mm.OrderID) })
		case BillChangeAmount, BillChangeFee, BillChangeState:
			for j := range lines {
				if !lines[j].named(mm.OrderID) {
					continue
				}
				switch mm.Kind {
				case BillChangeAmount:
					lines[j].amount = mm.Amount
				case BillChangeFee:
					lines[j].fee = mm.Fee
				default:
					lines[j].state = mm.State
				}
			}
		case BillExtraOrder:
			amount := mm.Amount
			if amount <= 0 {
				amount = 100
			}
			mchOrderNo := mm.MchOrderNo
			if mchOrderNo == "" {
				mchOrderNo = fmt.Sprintf("portal-%d", i+1)
			}
			id := fmt.Sprintf("P%019d", extraOrderBase+int64(i+1)) // outside the ids of real orders
			lines = append(lines, billLine{tradeType: "PAY", orderID: id, payOrderID: id, mchOrderNo: mchOrderNo,
				ifCode: ifAlipay, wayCode: "ALI_QR", currency: "cny", amount: amount, fee: amount * s.feePPM / 1_000_000,
				state: PayStateSuccess, successTime: day.Add(12 * time.Hour)})
		case BillMalformedLine:
			if mm.OrderID == "" {
				text := mm.Text
				if text == "" {
					text = "PAY,P-broken"
				}
				lines = append(lines, billLine{malformed: text})
				continue
			}
			for j := range lines {
				if !lines[j].named(mm.OrderID) {
					continue
				}
				text := mm.Text
				if text == "" {
					cols := lines[j].columns(s.location)
					cols[amountColumn] = "1O0"
					text = strings.Join(cols, ",")
				}
				lines[j].malformed = text
			}
		}
	}
	return lines
}

// extraOrderBase numbers the pay orders of BillExtraOrder lines
// (P9000000000000000001, ...), far from the ids of real orders.
const extraOrderBase = 9_000_000_000_000_000_000
