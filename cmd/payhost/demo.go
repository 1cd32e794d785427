package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

func init() {
	register(&command{path: "demo", usage: "[--url URL --api-key KEY] [--wait DURATION]",
		summary: "a scripted tour of the sandbox: payments, refunds, magic amounts, errors", run: runDemo})
}

func runDemo(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("payhost demo", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	url := fs.String("url", "", "`URL` of a running sandbox (default: start one in this process)")
	key := fs.String("api-key", "", "the sandbox's API `KEY` (its ready line prints it)")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for a simulated payer or refund")
	if err := fs.Parse(args); err != nil {
		return flagExit(err, 2)
	}
	if fs.NArg() > 0 || (*url == "") != (*key == "") {
		fmt.Fprintln(env.stderr, "usage: payhost demo", commands["demo"].usage)
		return 2
	}
	if *url == "" {
		dir, err := os.MkdirTemp("", "payhost-demo-")
		if err != nil {
			fmt.Fprintln(env.stderr, "payhost demo:", err)
			return 1
		}
		defer func() { _ = os.RemoveAll(dir) }()
		logf, err := os.Create(filepath.Join(dir, "payhost.log"))
		if err != nil {
			fmt.Fprintln(env.stderr, "payhost demo:", err)
			return 1
		}
		defer logf.Close()
		sctx, stop := context.WithCancel(ctx)
		quiet := &cmdEnv{stdout: io.Discard, stderr: logf, getenv: env.getenv}
		sb, err := startSandbox(sctx, quiet, sandboxOptions{Addr: "127.0.0.1:0", DataDir: dir,
			PluginDir: filepath.Join("bin", "plugins"), Fast: true}, nil)
		if err != nil {
			stop()
			fmt.Fprintln(env.stderr, "payhost demo: start a sandbox:", err)
			return 1
		}
		done := make(chan int, 1)
		go func() { done <- sb.wait(sctx) }()
		defer func() { stop(); <-done }()
		*url, *key = sb.ready.URL, sb.ready.APIKey
		fmt.Fprintf(env.stdout, "started a sandbox at %s (simulated payers pay after 1s)\n\n", *url)
	}
	t := &tour{ctx: ctx, base: strings.TrimRight(*url, "/"), key: *key, wait: *wait, client: &http.Client{Timeout: 20 * time.Second},
		run: time.Now().UTC().Format("150405.000")}
	t.play()
	t.print(env.stdout)
	if t.failed > 0 {
		fmt.Fprintf(env.stdout, "\n%d of %d steps did not go as expected\n", t.failed, len(t.rows))
		return 1
	}
	fmt.Fprintf(env.stdout, "\nall %d steps went as expected\n", len(t.rows))
	return 0
}

// tour is the scripted walk through the sandbox, one row per step.
type tour struct {
	ctx    context.Context
	base   string
	key    string
	wait   time.Duration
	client *http.Client
	run    string // makes idempotency keys and order ids unique per tour

	rows   []tourRow
	failed int
}

type tourRow struct {
	step, got string
	ok        bool
}

// apiObject is what the tour reads of payments, refunds and errors.
type apiObject struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	PendingReason  string `json:"pending_reason"`
	Channel        string `json:"channel"`
	RefundedAmount int64  `json:"refunded_amount"`
	Splits         []struct {
		Status string `json:"status"`
		Amount int64  `json:"amount"`
	} `json:"splits"`
	Ledger *struct {
		Split    int64 `json:"split"`
		Balanced bool  `json:"balanced"`
	} `json:"ledger"`
	Data []struct {
		Available int64 `json:"available"`
	} `json:"data"`
	Refunds []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Amount int64  `json:"amount"`
	} `json:"refunds"`
	Failure *struct {
		Code         string `json:"code"`
		ProviderCode string `json:"provider_code"`
	} `json:"failure"`
	PayInfo *struct {
		Kind string `json:"kind"`
	} `json:"pay_info"`
	Error *struct {
		Code    string `json:"code"`
		Param   string `json:"param"`
		Message string `json:"message"`
	} `json:"error"`
}

func (t *tour) note(step string, ok bool, format string, args ...any) {
	t.rows = append(t.rows, tourRow{step: step, got: fmt.Sprintf(format, args...), ok: ok})
	if !ok {
		t.failed++
	}
}

// call sends one request; key is the API key (the tour's when "").
func (t *tour) call(method, path, idemKey, body, key string) (int, apiObject, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.ctx, method, t.base+path, rd)
	if err != nil {
		return 0, apiObject{}, err
	}
	if key == "" {
		key = t.key
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, apiObject{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, apiObject{}, err
	}
	var obj apiObject
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&obj); err != nil {
		return resp.StatusCode, apiObject{}, fmt.Errorf("%s %s: answer is not JSON: %w", method, path, err)
	}
	return resp.StatusCode, obj, nil
}

func (t *tour) payment(idem, body string) (int, apiObject, error) {
	return t.call(http.MethodPost, "/v1/payments", idem, body, "")
}

// until re-reads a payment until cond holds or the tour's wait runs out.
func (t *tour) until(id string, cond func(apiObject) bool) (apiObject, bool) {
	deadline := time.Now().Add(t.wait)
	var last apiObject
	for {
		_, obj, err := t.call(http.MethodGet, "/v1/payments/"+id, "", "", "")
		if err == nil {
			last = obj
			if cond(obj) {
				return obj, true
			}
		}
		if time.Now().After(deadline) || t.ctx.Err() != nil {
			return last, false
		}
		select {
		case <-t.ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func describe(code int, o apiObject) string {
	switch {
	case o.Error != nil:
		s := fmt.Sprintf("%d %s", code, o.Error.Code)
		if o.Error.Param != "" {
			s += " (" + o.Error.Param + ")"
		}
		return s
	case o.Failure != nil:
		return fmt.Sprintf("%d %s: %s [%s]", code, o.Status, o.Failure.Code, o.Failure.ProviderCode)
	case o.PendingReason != "":
		return fmt.Sprintf("%d %s (%s) via %s", code, o.Status, o.PendingReason, o.Channel)
	}
	return fmt.Sprintf("%d %s via %s", code, o.Status, o.Channel)
}

func (t *tour) play() {
	order := "demo-" + t.run
	body := `{"amount":1000,"currency":"CNY","method":"wechat.native","merchant_order_id":"` + order + `","description":"coffee"}`
	code, p, err := t.payment(order, body)
	if err != nil {
		t.note("create a 10.00 CNY wechat.native payment", false, "%v", err)
		return // the sandbox is not there: nothing else can work
	}
	t.note("create a 10.00 CNY wechat.native payment", code == 201 && p.Status == "processing" && p.PayInfo != nil,
		"%s, pay_info %s", describe(code, p), payInfoKind(p))

	code, again, err := t.payment(order, body)
	t.note("the same request again (same Idempotency-Key)", err == nil && code == 201 && again.ID == p.ID,
		"%d, same payment: %t", code, again.ID == p.ID)
	code, other, err := t.payment(order, strings.Replace(body, "1000", "2000", 1))
	t.note("the same key with another amount", err == nil && code == 422 && other.Error != nil && other.Error.Code == "idempotency_mismatch",
		"%s", describe(code, other))

	paid, ok := t.until(p.ID, func(o apiObject) bool { return o.Status == "succeeded" })
	t.note("the simulated payer pays; the notification settles it", ok, "%s", paid.Status)

	code, r, err := t.call(http.MethodPost, "/v1/payments/"+p.ID+"/refunds", order+"-refund", `{"amount":300,"reason":"one cup returned"}`, "")
	t.note("refund 3.00", err == nil && code == 201, "%d %s", code, r.Status)
	got, ok := t.until(p.ID, func(o apiObject) bool {
		return o.RefundedAmount == 300 && len(o.Refunds) == 1 && o.Refunds[0].Status == "succeeded"
	})
	t.note("query: the payment shows the refund", ok, "%s, refunded_amount %d, %d refund(s)", got.Status, got.RefundedAmount, len(got.Refunds))

	split, ok := t.until(p.ID, func(o apiObject) bool { return len(o.Splits) == 1 && o.Splits[0].Status == "succeeded" })
	t.note("the marketplace rule splits 5% (at least 1.00) to platform", ok && split.Ledger != nil && split.Ledger.Balanced,
		"%s", splitText(split))
	code, bal, err := t.call(http.MethodGet, "/v1/balances?account=main&receiver=platform", "", "", "")
	t.note("the platform's balance at Haotian", err == nil && code == 200 && len(bal.Data) == 1 && bal.Data[0].Available > 0,
		"%d, %s", code, balanceText(bal))

	code, ali, err := t.payment(order+"-ali", `{"amount":1000,"currency":"CNY","method":"alipay.qr"}`)
	t.note("alipay.qr: the rules pick Adapay", err == nil && code == 201 && strings.HasPrefix(ali.Channel, "adapay/"), "%s", describe(code, ali))
	if err == nil && ali.ID != "" {
		aliSplit, ok := t.until(ali.ID, func(o apiObject) bool { return len(o.Splits) == 1 && o.Splits[0].Status == "succeeded" })
		t.note("paid, then split by Adapay's confirmation", ok, "%s, %s", aliSplit.Status, splitText(aliSplit))
	}

	code, po, err := t.call(http.MethodPost, "/v1/payouts", order+"-payout", `{"account":"main","kind":"transfer","amount":500,"currency":"CNY",`+
		`"destination":{"kind":"alipay","account_no":"2088102175953034","account_name":"李四"},"description":"bonus"}`, "")
	t.note("a transfer of 5.00 to an Alipay account", err == nil && code == 201 && po.Status != "failed", "%d %s", code, po.Status)

	code, dec, err := t.payment(order+"-declined", `{"amount":66601,"currency":"CNY","method":"wechat.native"}`)
	t.note("magic amount 666.01: declined", err == nil && code == 201 && dec.Status == "failed" && dec.Failure != nil && dec.Failure.Code == "declined",
		"%s", describe(code, dec))

	code, lost, err := t.payment(order+"-lost", `{"amount":66603,"currency":"CNY","method":"wechat.native"}`)
	t.note("magic amount 666.03: processed, answer lost", err == nil && code == 201 && lost.PendingReason == "unknown_outcome",
		"%s", describe(code, lost))
	if err == nil && lost.ID != "" {
		found, ok := t.until(lost.ID, func(o apiObject) bool { return o.PendingReason != "unknown_outcome" })
		t.note("the poller asks the provider and learns the payment", ok, "%s", describe(200, found))
	}

	code, neg, err := t.payment(order+"-bad", `{"amount":-5,"currency":"CNY","method":"wechat.native"}`)
	t.note("bad input: a negative amount", err == nil && code == 400 && neg.Error != nil && neg.Error.Param == "amount", "%s", describe(code, neg))
	code, unk, err := t.payment(order+"-none", `{"amount":100,"currency":"CNY","method":"intl.gcash"}`)
	t.note("a method no installed channel takes", err == nil && code == 422, "%s", describe(code, unk))
	code, wrong, err := t.call(http.MethodGet, "/v1/payments/"+p.ID, "", "", "sk_wrong")
	t.note("a wrong API key", err == nil && code == 401, "%s", describe(code, wrong))
	code, missing, err := t.call(http.MethodGet, "/v1/payments/pay_doesnotexist", "", "", "")
	t.note("a payment that does not exist", err == nil && code == 404, "%s", describe(code, missing))
}

func splitText(o apiObject) string {
	if len(o.Splits) == 0 {
		return "no split"
	}
	s := fmt.Sprintf("split %d %s", o.Splits[0].Amount, o.Splits[0].Status)
	if o.Ledger != nil {
		s += fmt.Sprintf(", ledger balanced: %t", o.Ledger.Balanced)
	}
	return s
}

func balanceText(o apiObject) string {
	if len(o.Data) == 0 {
		return "no balance"
	}
	return fmt.Sprintf("available %d", o.Data[0].Available)
}

func payInfoKind(o apiObject) string {
	if o.PayInfo == nil {
		return "none"
	}
	return o.PayInfo.Kind
}

func (t *tour) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tstep\twhat happened\t")
	for i, r := range t.rows {
		mark := "ok"
		if !r.ok {
			mark = "UNEXPECTED"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i+1, r.step, r.got, mark)
	}
	if err := tw.Flush(); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		fmt.Fprintln(w, "payhost demo:", err)
	}
}
