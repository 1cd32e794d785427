package rules

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/payhost/payhost/core"
)

// Decide evaluates the ruleset for one transaction: the ordered channel
// list (first choice, then fallbacks), the fee, and the split of the rest.
// Σ splits + fee == amount is checked before it returns. The transaction
// needs a payment id, a positive amount, a known currency and a valid
// method; otherwise the error is a core.Error with code invalid_request.
// When no channel can take the transaction the code is unsupported.
func (r *Ruleset) Decide(ctx context.Context, tx core.Transaction) (core.Decision, error) {
	hs := r.health
	if hs == nil {
		hs = healthyAll{}
	}
	return r.decide(ctx, &tx, hs)
}

func checkTx(tx *core.Transaction) error {
	switch {
	case tx.PaymentID == "":
		return &core.Error{Code: core.CodeInvalidRequest, Param: "payment_id", Message: "rules: payment id is required"}
	case tx.Amount <= 0:
		return &core.Error{Code: core.CodeInvalidRequest, Param: "amount", Message: fmt.Sprintf("rules: amount %d must be positive", tx.Amount)}
	case !tx.Currency.Valid():
		return &core.Error{Code: core.CodeInvalidRequest, Param: "currency", Message: fmt.Sprintf("rules: unknown currency %q", tx.Currency)}
	case !tx.Method.Valid():
		return &core.Error{Code: core.CodeInvalidRequest, Param: "method", Message: fmt.Sprintf("rules: unknown method %q", tx.Method)}
	}
	return nil
}

// firstMatch returns the index of the first rule whose condition holds,
// or -1. Only the index's candidates are evaluated, in rule order.
func firstMatch(ix *index, conds []*cond, e *evalEnv) (int, error) {
	if len(conds) == 0 {
		return -1, nil
	}
	set := ix.candidates(e, e.scratch)
	e.scratch = set
	for i := nextBit(set, 0); i >= 0; i = nextBit(set, i+1) {
		ok, err := conds[i].eval(e)
		if err != nil {
			return i, err
		}
		if ok {
			return i, nil
		}
	}
	return -1, nil
}

func (r *Ruleset) decide(ctx context.Context, tx *core.Transaction, hs HealthSource) (core.Decision, error) {
	if err := ctx.Err(); err != nil {
		return core.Decision{}, fmt.Errorf("rules: %w", err)
	}
	if err := checkTx(tx); err != nil {
		return core.Decision{}, err
	}
	e := r.envPool.Get().(*evalEnv)
	defer func() {
		e.clear()
		r.envPool.Put(e)
	}()
	e.set(tx, r.loc, hs)

	// Routing: the first routing rule that matches, else the default.
	i, err := firstMatch(r.routeIdx, r.routeConds, e)
	if err != nil {
		return core.Decision{}, ruleErr("routing", r.routes[i].id, err)
	}
	tg, routeID, routeCond := &r.def, defaultRouteID, (*cond)(nil)
	if i >= 0 {
		tg, routeID, routeCond = &r.routes[i].target, r.routes[i].id, r.routes[i].cond
	}
	channels, routeDetail := tg.order(tx.PaymentID, routeID, tx.Method)
	routeMatch := core.RuleMatch{Kind: "routing", RuleID: routeID, Detail: routeDetail}
	if routeCond != nil {
		routeMatch.Inputs = routeCond.inputValues(e)
	}

	// Fee first, on the whole amount.
	var fee int64
	var feeMatch *core.RuleMatch
	if i, err = firstMatch(r.feeIdx, r.feeConds, e); err != nil {
		return core.Decision{}, ruleErr("fee", r.fees[i].id, err)
	}
	if i >= 0 {
		f := &r.fees[i]
		var detail string
		if fee, detail, err = f.compute(tx.Amount); err != nil {
			return core.Decision{}, err
		}
		feeMatch = &core.RuleMatch{Kind: "fee", RuleID: f.id, Inputs: f.cond.inputValues(e), Detail: detail}
	}

	// Then the split of the rest.
	base := tx.Amount - fee
	d := core.Decision{RulesetHash: r.hash, Amount: tx.Amount, Fee: fee, SplitMode: core.SplitNone}
	var splitMatch *core.RuleMatch
	others := 0
	if i, err = firstMatch(r.splitIdx, r.splitConds, e); err != nil {
		return core.Decision{}, ruleErr("split", r.splits[i].id, err)
	}
	if i >= 0 {
		s := &r.splits[i]
		shares, err := allocate(base, s.receivers, s.residue, s.ratioMode)
		if err != nil {
			return core.Decision{}, ruleErr("split", s.id, err)
		}
		d.SplitMode = s.mode
		others = s.others
		for j, rc := range s.receivers {
			if shares[j] > 0 {
				d.Splits = append(d.Splits, core.Share{Receiver: rc.name, Amount: shares[j]})
			}
		}
		if len(d.Splits) == 0 {
			d.Splits = []core.Share{{Receiver: s.receivers[s.residue].name, Amount: 0}}
		}
		splitMatch = &core.RuleMatch{Kind: "split", RuleID: s.id, Inputs: s.cond.inputValues(e), Detail: splitDetail(s, base, fee, shares)}
	} else {
		d.Splits = []core.Share{{Receiver: core.MerchantReceiver, Amount: base}}
	}

	// Drop channels that cannot take this transaction.
	var skipped []string
	channels, skipped = r.eligible(channels, tx, others)
	if len(skipped) > 0 {
		routeMatch.Detail += "; skipped " + strings.Join(skipped, ", ")
	}
	if len(channels) == 0 {
		return core.Decision{}, &core.Error{Code: core.CodeUnsupported, Message: fmt.Sprintf("rules: no eligible channel (routing rule %q; skipped %s)", routeID, strings.Join(skipped, ", "))}
	}
	d.Channels = channels
	d.Matched = append(d.Matched, routeMatch)
	if feeMatch != nil {
		d.Matched = append(d.Matched, *feeMatch)
	}
	if splitMatch != nil {
		d.Matched = append(d.Matched, *splitMatch)
	}
	if err := d.Check(); err != nil {
		return core.Decision{}, fmt.Errorf("rules: %w", err)
	}
	return d, nil
}

func ruleErr(kind, id string, err error) error {
	return core.WrapError(core.CodeInternal, err, "rules: %s rule %q failed", kind, id)
}

// eligible keeps the channels the catalogue says can take the transaction:
// known, in its currency, within the amount limits, and with room for the
// split's receivers. Without a catalogue every channel is kept.
func (r *Ruleset) eligible(chs []core.Channel, tx *core.Transaction, others int) ([]core.Channel, []string) {
	if r.catalogue == nil {
		return chs, nil
	}
	var skipped []string
	out := chs[:0]
	for _, ch := range chs {
		info, ok := r.catalogue.LookupChannel(ch)
		reason := ""
		switch {
		case !ok:
			reason = "not in catalogue"
		case len(info.Currencies) > 0 && !slices.Contains(info.Currencies, tx.Currency):
			reason = "does not take " + string(tx.Currency)
		case tx.Amount < info.Limits.MinAmount:
			reason = fmt.Sprintf("amount below its min %d", info.Limits.MinAmount)
		case info.Limits.MaxAmount > 0 && tx.Amount > info.Limits.MaxAmount:
			reason = fmt.Sprintf("amount above its max %d", info.Limits.MaxAmount)
		case info.Limits.MaxSplitReceivers > 0 && others > info.Limits.MaxSplitReceivers:
			reason = fmt.Sprintf("%d split receivers, it takes %d", others, info.Limits.MaxSplitReceivers)
		}
		if reason != "" {
			skipped = append(skipped, ch.String()+" ("+reason+")")
			continue
		}
		out = append(out, ch)
	}
	return out, skipped
}

func splitDetail(s *splitRule, base, fee int64, shares []int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode %s; %d after fee %d:", s.mode, base, fee)
	for j, rc := range s.receivers {
		if j > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s %d", rc.name, shares[j])
		var how []string
		switch rc.kind {
		case recvFixed:
			how = append(how, fmt.Sprintf("fixed %d", rc.value))
		case recvRatio:
			how = append(how, "ratio "+core.FormatRatio(rc.value))
		case recvWeight:
			how = append(how, fmt.Sprintf("weight %d", rc.value))
		}
		if rc.min > 0 {
			how = append(how, fmt.Sprintf("min %d", rc.min))
		}
		if rc.max > 0 {
			how = append(how, fmt.Sprintf("max %d", rc.max))
		}
		if j == s.residue {
			how = append(how, "residue")
		}
		if len(how) > 0 {
			b.WriteString(" (" + strings.Join(how, ", ") + ")")
		}
	}
	return b.String()
}
