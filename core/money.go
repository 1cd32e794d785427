package core

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 alphabetic currency code in upper case, e.g. "CNY".
type Currency string

// currencyExponents is the one table of minor-unit exponents Payhost uses.
// It follows ISO 4217 except where every supported provider documents whole
// units (IDR): the table is the contract between providers and the host.
var currencyExponents = map[Currency]int{
	"AED": 2, "AUD": 2, "BDT": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2,
	"CLP": 0, "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2,
	"GBP": 2, "HKD": 2, "HUF": 2, "IDR": 0, "ILS": 2, "INR": 2, "IQD": 3,
	"JOD": 3, "JPY": 0, "KES": 2, "KRW": 0, "KWD": 3, "LKR": 2, "MOP": 2,
	"MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PEN": 2,
	"PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2, "RUB": 2, "SAR": 2, "SEK": 2,
	"SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UGX": 0, "USD": 2,
	"VND": 0, "XAF": 0, "XOF": 0, "ZAR": 2,
}

// ParseCurrency returns the currency for a code in any letter case, or an
// invalid_request error if the code is not in the exponent table.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(strings.ToUpper(strings.TrimSpace(s)))
	if _, ok := currencyExponents[c]; !ok {
		return "", &Error{Code: CodeInvalidRequest, Param: "currency", Message: fmt.Sprintf("unknown currency %q", s)}
	}
	return c, nil
}

// Exponent returns the number of minor-unit digits of c and whether c is known.
func (c Currency) Exponent() (int, bool) {
	e, ok := currencyExponents[c]
	return e, ok
}

// Valid reports whether c is in the exponent table.
func (c Currency) Valid() bool {
	_, ok := currencyExponents[c]
	return ok
}

// Currencies returns every known currency code.
func Currencies() []Currency {
	out := make([]Currency, 0, len(currencyExponents))
	for c := range currencyExponents {
		out = append(out, c)
	}
	return out
}

// Money is an amount in integer minor units of a currency (fen for CNY).
type Money struct {
	Amount   int64    `json:"amount"`
	Currency Currency `json:"currency"`
}

// String formats m as "12.34 CNY"; an unknown currency prints minor units.
func (m Money) String() string {
	exp, ok := m.Currency.Exponent()
	if !ok {
		return strconv.FormatInt(m.Amount, 10) + " " + string(m.Currency)
	}
	return FormatAmount(m.Amount, exp) + " " + string(m.Currency)
}

// AmountError describes why a provider amount string was refused.
type AmountError struct {
	Input  string
	Reason string
}

func (e *AmountError) Error() string {
	return fmt.Sprintf("invalid amount %q: %s", e.Input, e.Reason)
}

// ParseAmount parses a non-negative decimal amount string such as "0.01",
// "12" or "100.00" into minor units with the given exponent. It refuses
// signs, exponents, spaces, leading zeros ("01"), a bare or trailing dot,
// more fraction digits than the exponent allows ("1.001" for CNY) and values
// that do not fit in int64.
func ParseAmount(s string, exponent int) (int64, error) {
	return parseAmount(s, exponent, false)
}

// ParseAmountExact is ParseAmount for fixed formats such as hfpay's
// "###.00": the fraction must have exactly exponent digits.
func ParseAmountExact(s string, exponent int) (int64, error) {
	return parseAmount(s, exponent, true)
}

func parseAmount(s string, exponent int, exact bool) (int64, error) {
	if exponent < 0 || exponent > 6 {
		return 0, &AmountError{Input: s, Reason: fmt.Sprintf("unsupported exponent %d", exponent)}
	}
	if s == "" {
		return 0, &AmountError{Input: s, Reason: "empty"}
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" {
		return 0, &AmountError{Input: s, Reason: "missing integer part"}
	}
	if hasDot && frac == "" {
		return 0, &AmountError{Input: s, Reason: "trailing decimal point"}
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return 0, &AmountError{Input: s, Reason: "leading zero"}
	}
	for i := 0; i < len(frac); i++ {
		if frac[i] < '0' || frac[i] > '9' {
			return 0, &AmountError{Input: s, Reason: fmt.Sprintf("unexpected character %q", frac[i])}
		}
	}
	if len(frac) > exponent {
		return 0, &AmountError{Input: s, Reason: fmt.Sprintf("more than %d decimal places", exponent)}
	}
	if exact && len(frac) != exponent {
		return 0, &AmountError{Input: s, Reason: fmt.Sprintf("want exactly %d decimal places", exponent)}
	}
	var v uint64
	addDigit := func(c byte) error {
		if c < '0' || c > '9' {
			return &AmountError{Input: s, Reason: fmt.Sprintf("unexpected character %q", c)}
		}
		hi, lo := bits.Mul64(v, 10)
		lo, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 || lo > math.MaxInt64 {
			return &AmountError{Input: s, Reason: "overflows int64 minor units"}
		}
		v = lo
		return nil
	}
	for i := 0; i < len(intPart); i++ {
		if err := addDigit(intPart[i]); err != nil {
			return 0, err
		}
	}
	for i := 0; i < len(frac); i++ {
		if err := addDigit(frac[i]); err != nil {
			return 0, err
		}
	}
	for i := len(frac); i < exponent; i++ {
		if err := addDigit('0'); err != nil {
			return 0, err
		}
	}
	return int64(v), nil
}

// FormatAmount renders minor units with exactly exponent fraction digits:
// FormatAmount(1, 2) == "0.01", FormatAmount(12300, 2) == "123.00".
func FormatAmount(v int64, exponent int) string {
	neg := v < 0
	var u uint64
	if neg {
		u = uint64(-(v + 1)) + 1 // safe for math.MinInt64
	} else {
		u = uint64(v)
	}
	digits := strconv.FormatUint(u, 10)
	if exponent > 0 {
		if len(digits) <= exponent {
			digits = strings.Repeat("0", exponent-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-exponent] + "." + digits[len(digits)-exponent:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// ParseMoney parses a provider amount string in the given currency.
func ParseMoney(s string, c Currency) (Money, error) {
	exp, ok := c.Exponent()
	if !ok {
		return Money{}, &Error{Code: CodeInvalidRequest, Param: "currency", Message: fmt.Sprintf("unknown currency %q", c)}
	}
	v, err := ParseAmount(s, exp)
	if err != nil {
		return Money{}, err
	}
	return Money{Amount: v, Currency: c}, nil
}

// ErrOverflow is returned by the checked arithmetic helpers.
var ErrOverflow = &Error{Code: CodeInvalidRequest, Message: "amount arithmetic overflows int64"}

// AddAmounts returns a+b or ErrOverflow.
func AddAmounts(a, b int64) (int64, error) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, ErrOverflow
	}
	return s, nil
}

// SumAmounts returns the sum of vs or ErrOverflow.
func SumAmounts(vs ...int64) (int64, error) {
	var total int64
	for _, v := range vs {
		var err error
		if total, err = AddAmounts(total, v); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// Rounding selects how MulDiv rounds an inexact quotient.
type Rounding string

// Rounding modes.
const (
	RoundDown     Rounding = "down"      // toward zero (floor for non-negative values)
	RoundUp       Rounding = "up"        // away from zero (ceiling)
	RoundHalfUp   Rounding = "half_up"   // nearest, ties away from zero
	RoundHalfEven Rounding = "half_even" // nearest, ties to even (banker's)
)

// Valid reports whether r is a known rounding mode.
func (r Rounding) Valid() bool {
	switch r {
	case RoundDown, RoundUp, RoundHalfUp, RoundHalfEven:
		return true
	}
	return false
}

// MulDiv returns x*num/den rounded by mode, computed with 128-bit
// intermediates. x and num must be non-negative and den positive; a result
// that does not fit in int64 is ErrOverflow.
func MulDiv(x, num, den int64, mode Rounding) (int64, error) {
	if x < 0 || num < 0 || den <= 0 {
		return 0, &Error{Code: CodeInvalidRequest, Message: "muldiv needs non-negative operands and a positive divisor"}
	}
	hi, lo := bits.Mul64(uint64(x), uint64(num))
	if hi >= uint64(den) {
		return 0, ErrOverflow
	}
	q, r := bits.Div64(hi, lo, uint64(den))
	if r != 0 {
		switch mode {
		case RoundUp:
			q++
		case RoundHalfUp:
			if r >= uint64(den)-r {
				q++
			}
		case RoundHalfEven:
			twice := r * 2
			if r > uint64(den)-r || (twice == uint64(den) && q%2 == 1) {
				q++
			}
		case RoundDown, "":
		default:
			return 0, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("unknown rounding mode %q", mode)}
		}
	}
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	return int64(q), nil
}

// PPM is one million: ratios and rates are integers in parts per million.
const PPM = 1_000_000

// ParseRatio parses a decimal ratio string such as "0.3" or "0.200000" into
// parts per million, refusing more than six fraction digits and values above 1.
func ParseRatio(s string) (int64, error) {
	v, err := ParseAmount(s, 6)
	if err != nil {
		return 0, fmt.Errorf("ratio: %w", err)
	}
	if v > PPM {
		return 0, &AmountError{Input: s, Reason: "ratio above 1"}
	}
	return v, nil
}

// FormatRatio renders parts per million as a decimal string without
// trailing zeros: 300000 → "0.3", 1000000 → "1".
func FormatRatio(ppm int64) string {
	s := FormatAmount(ppm, 6)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
