package core

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		exp     int
		want    int64
		wantErr string
	}{
		{"0.01", 2, 1, ""},
		{"0", 2, 0, ""},
		{"12", 2, 1200, ""},
		{"12.3", 2, 1230, ""},
		{"100.00", 2, 10000, ""},
		{"1000", 0, 1000, ""},
		{"1.234", 3, 1234, ""},
		{"92233720368547758.07", 2, math.MaxInt64, ""},
		{"92233720368547758.08", 2, 0, "overflows"},
		{"9223372036854775807", 0, math.MaxInt64, ""},
		{"9223372036854775808", 0, 0, "overflows"},
		{"99999999999999999999999", 2, 0, "overflows"},
		{"1.001", 2, 0, "more than 2 decimal places"},
		{"1.5", 0, 0, "more than 0 decimal places"},
		{"-1", 2, 0, "unexpected character"},
		{"+1", 2, 0, "unexpected character"},
		{"1e3", 2, 0, "unexpected character"},
		{" 1", 2, 0, "unexpected character"},
		{"1 ", 2, 0, "unexpected character"},
		{"1,000.00", 2, 0, "unexpected character"},
		{"", 2, 0, "empty"},
		{".5", 2, 0, "missing integer part"},
		{"5.", 2, 0, "trailing decimal point"},
		{"01", 2, 0, "leading zero"},
		{"00.10", 2, 0, "leading zero"},
		{"1.2.3", 2, 0, "unexpected character"},
		{"NaN", 2, 0, "unexpected character"},
		{"１", 2, 0, "unexpected character"},
	}
	for _, tt := range tests {
		t.Run(tt.in+"/"+strconv.Itoa(tt.exp), func(t *testing.T) {
			got, err := ParseAmount(tt.in, tt.exp)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				var ae *AmountError
				assert.True(t, errors.As(err, &ae))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseAmountExact(t *testing.T) {
	v, err := ParseAmountExact("100.00", 2)
	require.NoError(t, err)
	assert.Equal(t, int64(10000), v)
	for _, bad := range []string{"100", "100.0", "100.000"} {
		_, err := ParseAmountExact(bad, 2)
		assert.Error(t, err, bad)
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		v    int64
		exp  int
		want string
	}{
		{1, 2, "0.01"}, {0, 2, "0.00"}, {10, 2, "0.10"}, {12300, 2, "123.00"}, {5, 0, "5"},
		{1234, 3, "1.234"}, {-1, 2, "-0.01"}, {math.MaxInt64, 2, "92233720368547758.07"},
		{math.MinInt64, 0, "-9223372036854775808"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, FormatAmount(tt.v, tt.exp))
		})
	}
}

func TestCurrency(t *testing.T) {
	c, err := ParseCurrency("cny")
	require.NoError(t, err)
	assert.Equal(t, Currency("CNY"), c)
	for cur, want := range map[Currency]int{"CNY": 2, "JPY": 0, "KWD": 3, "IDR": 0} {
		got, ok := cur.Exponent()
		assert.True(t, ok)
		assert.Equal(t, want, got, cur)
	}
	_, err = ParseCurrency("XXX")
	assert.Equal(t, CodeInvalidRequest, CodeOf(err))
	m, err := ParseMoney("0.01", "CNY")
	require.NoError(t, err)
	assert.Equal(t, "0.01 CNY", m.String())
}

func TestMulDiv(t *testing.T) {
	tests := []struct {
		name         string
		x, num, den  int64
		mode         Rounding
		want         int64
		wantOverflow bool
	}{
		{"exact", 1000, 6000, PPM, RoundDown, 6, false},
		{"down", 999, 6000, PPM, RoundDown, 5, false},
		{"up", 999, 6000, PPM, RoundUp, 6, false},
		{"half up below", 1, 1, 3, RoundHalfUp, 0, false},
		{"half up tie", 1, 1, 2, RoundHalfUp, 1, false},
		{"half even tie to even", 5, 1, 2, RoundHalfEven, 2, false},
		{"half even tie to odd up", 7, 1, 2, RoundHalfEven, 4, false},
		{"half even above", 2, 2, 3, RoundHalfEven, 1, false},
		{"large intermediate", math.MaxInt64, PPM, PPM, RoundDown, math.MaxInt64, false},
		{"overflow", math.MaxInt64, 2, 1, RoundDown, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MulDiv(tt.x, tt.num, tt.den, tt.mode)
			if tt.wantOverflow {
				assert.ErrorIs(t, err, ErrOverflow)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := MulDiv(-1, 1, 1, RoundDown)
	assert.Error(t, err)
	_, err = MulDiv(1, 1, 3, "sideways")
	assert.Error(t, err)
}

func TestAddAmounts(t *testing.T) {
	_, err := AddAmounts(math.MaxInt64, 1)
	assert.ErrorIs(t, err, ErrOverflow)
	_, err = AddAmounts(math.MinInt64, -1)
	assert.ErrorIs(t, err, ErrOverflow)
	s, err := SumAmounts(1, 2, 3)
	require.NoError(t, err)
	assert.Equal(t, int64(6), s)
}

func TestRatio(t *testing.T) {
	v, err := ParseRatio("0.3")
	require.NoError(t, err)
	assert.Equal(t, int64(300000), v)
	v, err = ParseRatio("0.200000")
	require.NoError(t, err)
	assert.Equal(t, int64(200000), v)
	_, err = ParseRatio("1.5")
	assert.Error(t, err)
	_, err = ParseRatio("0.0000001")
	assert.Error(t, err)
	assert.Equal(t, "0.3", FormatRatio(300000))
	assert.Equal(t, "1", FormatRatio(PPM))
	assert.Equal(t, "0.0001", FormatRatio(100))
}

// FuzzAmount checks that parsing never panics, that every accepted string
// formats back to itself once padded to the exponent, and that every
// formatted value parses back to the same number.
func FuzzAmount(f *testing.F) {
	for _, s := range []string{"0.01", "100.00", "1.001", "-1", "1e3", "92233720368547758.07", "92233720368547758.08", "", "."} {
		f.Add(s, uint8(2))
	}
	f.Add("7", uint8(0))
	f.Add("1.234", uint8(3))
	f.Fuzz(func(t *testing.T, s string, e uint8) {
		exp := int(e % 4)
		v, err := ParseAmount(s, exp)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseAmount(%q) = %d, negative", s, v)
		}
		formatted := FormatAmount(v, exp)
		back, err := ParseAmountExact(formatted, exp)
		if err != nil || back != v {
			t.Fatalf("round trip %q → %d → %q → %d, %v", s, v, formatted, back, err)
		}
		// the accepted input equals the canonical form once zero-padded
		padded := s
		if exp > 0 {
			if _, frac, ok := cutDot(s); !ok {
				padded = s + "." + zeros(exp)
			} else {
				padded = s + zeros(exp-len(frac))
			}
		}
		if padded != formatted {
			t.Fatalf("accepted %q but canonical form is %q", s, formatted)
		}
	})
}

func cutDot(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}
