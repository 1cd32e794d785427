package rules

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/payhost/payhost/core"
	"github.com/stretchr/testify/require"
)

// testCatalogue is a small catalogue for the tests.
func testCatalogue(t testing.TB) *StaticCatalogue {
	t.Helper()
	var infos []core.ChannelInfo
	add := func(plugin, account string, curs []core.Currency, lim core.Limits, methods ...core.Method) {
		for _, m := range methods {
			infos = append(infos, core.ChannelInfo{Channel: core.Channel{Plugin: plugin, Account: account, Method: m}, Currencies: curs, Limits: lim})
		}
	}
	cny := []core.Currency{"CNY"}
	add("hfpay", "dougong", cny, core.Limits{MaxSplitReceivers: 7}, "wechat.jsapi", "wechat.mini", "alipay.qr", "unionpay.qr")
	add("adapay", "main", cny, core.Limits{}, "alipay.qr", "wechat.mini", "wechat.jsapi")
	add("haotian", "main", cny, core.Limits{}, "wechat.jsapi", "wechat.mini", "alipay.qr", "alipay.wap", "cashier")
	add("big", "main", cny, core.Limits{MinAmount: 100, MaxAmount: 1_000_000}, "alipay.qr")
	add("intl", "main", []core.Currency{"PHP"}, core.Limits{}, "intl.gcash")
	add("intl", "main", []core.Currency{"PHP", "USD"}, core.Limits{}, "cashier")
	cat, err := NewStaticCatalogue(infos...)
	require.NoError(t, err)
	return cat
}

func mustLoad(t testing.TB, src string, opts Options) *Ruleset {
	t.Helper()
	rs, err := Load("test.yaml", []byte(src), opts)
	require.NoError(t, err)
	return rs
}

// loadIssues loads src and returns its issues (failing if it loads).
func loadIssues(t testing.TB, src string, opts Options) []Issue {
	t.Helper()
	_, err := Load("test.yaml", []byte(src), opts)
	require.Error(t, err, "file should be refused")
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "want *ValidationError, got %T: %v", err, err)
	return ve.Issues
}

func tx(id string, amount int64, cur core.Currency, m core.Method) core.Transaction {
	return core.Transaction{PaymentID: id, Amount: amount, Currency: cur, Method: m}
}

func decide(t testing.TB, rs *Ruleset, x core.Transaction) core.Decision {
	t.Helper()
	d, err := rs.Decide(context.Background(), x)
	require.NoError(t, err)
	require.NoError(t, d.Check())
	return d
}

func route(d core.Decision) string {
	s := make([]string, len(d.Channels))
	for i, c := range d.Channels {
		s[i] = c.String()
	}
	return strings.Join(s, " ")
}

func matchedIDs(d core.Decision) []string {
	var ids []string
	for _, m := range d.Matched {
		ids = append(ids, m.Kind+":"+m.RuleID)
	}
	return ids
}

// staticHealth is a HealthSource for tests.
type staticHealth map[string]core.ChannelHealth

func (s staticHealth) ChannelHealth(ch core.Channel) core.ChannelHealth {
	if h, ok := s[ch.String()]; ok {
		return h
	}
	return core.ChannelHealth{SuccessRatePPM: core.PPM, Circuit: core.CircuitClosed}
}

func mustChannel(t testing.TB, s string) core.Channel {
	t.Helper()
	ch, err := core.ParseChannel(s)
	require.NoError(t, err)
	return ch
}
