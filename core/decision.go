package core

import (
	"fmt"
	"strings"
	"time"
)

// Channel is where a transaction goes: a plugin, an account configured for
// it (credentials and endpoints), and a canonical method. Written
// "plugin/account/method", e.g. "haotian/main/alipay.qr".
type Channel struct {
	Plugin  string `json:"plugin"`
	Account string `json:"account"`
	Method  Method `json:"method"`
}

// String renders the channel as "plugin/account/method".
func (c Channel) String() string {
	return c.Plugin + "/" + c.Account + "/" + string(c.Method)
}

// ParseChannel parses "plugin/account/method".
func ParseChannel(s string) (Channel, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return Channel{}, fmt.Errorf("channel %q: want plugin/account/method", s)
	}
	c := Channel{Plugin: parts[0], Account: parts[1], Method: Method(parts[2])}
	if !c.Method.Valid() {
		return Channel{}, fmt.Errorf("channel %q: unknown method %q", s, parts[2])
	}
	return c, nil
}

// ChannelInfo is what the host knows about a channel it can serve: the
// plugin's limits and currencies. The rules engine validates rule files
// against a catalogue of these.
type ChannelInfo struct {
	Channel    Channel    `json:"channel"`
	Currencies []Currency `json:"currencies,omitempty"` // empty = any
	Limits     Limits     `json:"limits"`
}

// CircuitState is a channel's circuit-breaker state.
type CircuitState string

// Circuit states.
const (
	CircuitClosed   CircuitState = "closed" // healthy, calls flow
	CircuitOpen     CircuitState = "open"   // switched off after failures
	CircuitHalfOpen CircuitState = "half_open"
)

// ChannelHealth is the live health of a channel.
type ChannelHealth struct {
	SuccessRatePPM int64        `json:"success_rate_ppm"` // recent success rate in parts per million
	Circuit        CircuitState `json:"circuit"`
	Samples        int64        `json:"samples"` // calls the rate is based on
}

// Transaction is the input of a routing, split and fee decision.
type Transaction struct {
	PaymentID    string            `json:"payment_id"`
	Amount       int64             `json:"amount"`
	Currency     Currency          `json:"currency"`
	Method       Method            `json:"method"`
	MerchantID   string            `json:"merchant_id,omitempty"`
	MerchantTags []string          `json:"merchant_tags,omitempty"`
	Country      string            `json:"country,omitempty"`
	TerminalID   string            `json:"terminal_id,omitempty"`
	Time         time.Time         `json:"time,omitzero"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// MerchantReceiver is the receiver name of the merchant's own share in a
// split: what the merchant keeps after the other receivers and the fee.
const MerchantReceiver = "merchant"

// Share is one receiver's amount in a decision.
type Share struct {
	Receiver string `json:"receiver"`
	Amount   int64  `json:"amount"`
}

// RuleMatch explains one rule that decided part of a decision.
type RuleMatch struct {
	Kind   string            `json:"kind"` // routing, split or fee
	RuleID string            `json:"rule_id"`
	Inputs map[string]string `json:"inputs,omitempty"` // the input values the rule read
	Detail string            `json:"detail,omitempty"`
}

// Decision is the outcome of evaluating one ruleset for one transaction.
// Σ Splits + Fee == Amount always holds.
type Decision struct {
	RulesetHash string      `json:"ruleset_hash"`
	Channels    []Channel   `json:"channels"` // first choice, then fallbacks
	Amount      int64       `json:"amount"`
	Fee         int64       `json:"fee"`
	Splits      []Share     `json:"splits,omitempty"`
	SplitMode   SplitMode   `json:"split_mode,omitempty"`
	Matched     []RuleMatch `json:"matched,omitempty"`
}

// Check verifies the money invariant of the decision.
func (d *Decision) Check() error {
	if d.Fee < 0 {
		return Errorf(CodeInternal, "decision: negative fee %d", d.Fee)
	}
	total := d.Fee
	for _, s := range d.Splits {
		if s.Amount < 0 {
			return Errorf(CodeInternal, "decision: negative share %d for %s", s.Amount, s.Receiver)
		}
		var err error
		if total, err = AddAmounts(total, s.Amount); err != nil {
			return err
		}
	}
	if len(d.Splits) > 0 && total != d.Amount {
		return Errorf(CodeInternal, "decision: splits %d + fee %d != amount %d", total-d.Fee, d.Fee, d.Amount)
	}
	if len(d.Splits) == 0 && d.Fee > d.Amount {
		return Errorf(CodeInternal, "decision: fee %d above amount %d", d.Fee, d.Amount)
	}
	return nil
}
