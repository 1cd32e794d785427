package rules

import (
	"encoding/json"
	"fmt"

	"github.com/payhost/payhost/core"
)

// Explanation is a decision as people read it: the transaction, the route
// as "plugin/account/method" strings, and the decision with the rules that
// matched and the input values they read.
type Explanation struct {
	Transaction core.Transaction `json:"transaction"`
	Route       []string         `json:"route"`
	Decision    core.Decision    `json:"decision"`
}

// Explain builds the explanation of a decision.
func Explain(tx core.Transaction, d core.Decision) Explanation {
	route := make([]string, len(d.Channels))
	for i, c := range d.Channels {
		route[i] = c.String()
	}
	return Explanation{Transaction: tx, Route: route, Decision: d}
}

// JSON renders the explanation as indented JSON ending with a newline:
// the output of `payhost rules simulate`.
func (e Explanation) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("rules: explanation: %w", err)
	}
	return append(b, '\n'), nil
}
