package sim

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSignVector is the published vector of PROVIDERS.md (seed 001).
func TestSignVector(t *testing.T) {
	params := map[string]string{
		"amount":     "1",
		"appId":      "60cc09bce4b0f1c0b83761c9",
		"body":       "商品描述",
		"currency":   "cny",
		"mchNo":      "M1621873433953",
		"mchOrderNo": "mho1624005107281",
		"notifyUrl":  "https://www.jeequan.com",
		"reqTime":    "1622016572190",
		"signType":   "MD5",
		"subject":    "商品标题",
		"version":    "1.0",
		"wayCode":    "ALI_QR",
	}
	const secret = "EWEFD123RGSRETYDFNGFGFGSHDFGH"
	require.Equal(t, "amount=1&appId=60cc09bce4b0f1c0b83761c9&body=商品描述&currency=cny&mchNo=M1621873433953&mchOrderNo=mho1624005107281&notifyUrl=https://www.jeequan.com&reqTime=1622016572190&signType=MD5&subject=商品标题&version=1.0&wayCode=ALI_QR&key=EWEFD123RGSRETYDFNGFGFGSHDFGH",
		SignString(params, secret))
	require.Equal(t, "732608933837D19D1CBEA5D0871C075E", Sign(params, secret))

	t.Run("sign and empty values are left out", func(t *testing.T) {
		p := maps.Clone(params)
		p["sign"] = "anything"
		p["extParam"] = ""
		assert.Equal(t, "732608933837D19D1CBEA5D0871C075E", Sign(p, secret))
	})
	t.Run("verify ignores case", func(t *testing.T) {
		p := maps.Clone(params)
		p["sign"] = "732608933837d19d1cbea5d0871c075e"
		assert.True(t, Verify(p, secret))
		p["sign"] = "732608933837D19D1CBEA5D0871C075F"
		assert.False(t, Verify(p, secret))
		delete(p, "sign")
		assert.False(t, Verify(p, secret))
	})
}

// TestSignOrder checks Java's case-insensitive ordering of "k=v&" entries.
func TestSignOrder(t *testing.T) {
	cases := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"camelCase keys sort ascending", map[string]string{"mchOrderNo": "1", "mchNo": "2", "amount": "3"}, "amount=3&mchNo=2&mchOrderNo=1&key=k"},
		{"case is ignored", map[string]string{"B": "1", "a": "2", "C": "3"}, "a=2&B=1&C=3&key=k"},
		{"entries, not keys, are sorted: a digit sorts before '='", map[string]string{"a": "1", "a1": "2"}, "a1=2&a=1&key=k"},
		{"underscore sorts after '=' and before letters", map[string]string{"a_b": "1", "a": "2", "ab": "3"}, "a=2&a_b=1&ab=3&key=k"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, SignString(c.params, "k"))
		})
	}
}
