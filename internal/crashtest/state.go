package crashtest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	adapaysim "github.com/payhost/payhost/plugins/adapay/sim"
	haotiansim "github.com/payhost/payhost/plugins/haotian/sim"
)

// Provider states, common to both simulators.
const (
	StateProcessing = "processing" // not final: the payer or the channel has not finished
	StateSucceeded  = "succeeded"
	StateFailed     = "failed"
	StateClosed     = "closed" // closed, cancelled or expired unpaid
)

// ProviderPayment is a payment at a provider, as its simulator shows it.
type ProviderPayment struct {
	Provider  string // haotian or adapay
	PaymentID string // the Payhost payment id it was created with (mchOrderNo, order_no)
	ID        string // the provider's id
	Amount    int64
	State     string
}

// ProviderRefund is a refund at a provider.
type ProviderRefund struct {
	Provider  string
	RefundID  string // the Payhost refund id it was created with (mchRefundNo, refund_order_no)
	PaymentID string // the Payhost payment it refunds ("" when the simulator has no such payment)
	ID        string
	Amount    int64
	State     string
}

// Providers is what the simulators hold, by Payhost ids.
type Providers struct {
	Payments  map[string][]ProviderPayment // by Payhost payment id
	Refunds   map[string][]ProviderRefund  // by Payhost refund id
	ByPayment map[string][]ProviderRefund  // refunds by Payhost payment id
}

// ReadProviders reads GET /sim/state of the Haotian and Adapay simulators
// (an empty URL skips one).
func ReadProviders(ctx context.Context, client *http.Client, haotianURL, adapayURL string) (*Providers, error) {
	p := &Providers{Payments: map[string][]ProviderPayment{}, Refunds: map[string][]ProviderRefund{}, ByPayment: map[string][]ProviderRefund{}}
	addRefund := func(r ProviderRefund) {
		p.Refunds[r.RefundID] = append(p.Refunds[r.RefundID], r)
		p.ByPayment[r.PaymentID] = append(p.ByPayment[r.PaymentID], r)
	}
	if haotianURL != "" {
		var st haotiansim.State
		if err := getJSON(ctx, client, haotianURL+"/sim/state", &st); err != nil {
			return nil, fmt.Errorf("haotian simulator: %w", err)
		}
		mchOrder := map[string]string{}
		for _, o := range st.Orders {
			mchOrder[o.PayOrderID] = o.MchOrderNo
			p.Payments[o.MchOrderNo] = append(p.Payments[o.MchOrderNo], ProviderPayment{Provider: "haotian",
				PaymentID: o.MchOrderNo, ID: o.PayOrderID, Amount: o.Amount, State: haotianPayState(o.State)})
		}
		for _, r := range st.Refunds {
			addRefund(ProviderRefund{Provider: "haotian", RefundID: r.MchRefundNo, PaymentID: mchOrder[r.PayOrderID],
				ID: r.RefundOrderID, Amount: r.RefundAmount, State: haotianRefundState(r.State)})
		}
	}
	if adapayURL != "" {
		var st adapaysim.State
		if err := getJSON(ctx, client, adapayURL+"/sim/state", &st); err != nil {
			return nil, fmt.Errorf("adapay simulator: %w", err)
		}
		orderNo := map[string]string{}
		for _, x := range st.Payments {
			orderNo[x.ID] = x.OrderNo
			p.Payments[x.OrderNo] = append(p.Payments[x.OrderNo], ProviderPayment{Provider: "adapay",
				PaymentID: x.OrderNo, ID: x.ID, Amount: x.Amount, State: adapayState(x.Status)})
		}
		for _, r := range st.Refunds {
			addRefund(ProviderRefund{Provider: "adapay", RefundID: r.RefundOrderNo, PaymentID: orderNo[r.PaymentID],
				ID: r.ID, Amount: r.Amount, State: adapayState(r.Status)})
		}
	}
	return p, nil
}

func haotianPayState(s int) string {
	switch s {
	case haotiansim.PayStateSuccess, haotiansim.PayStateRefunded:
		return StateSucceeded
	case haotiansim.PayStateFailed:
		return StateFailed
	case haotiansim.PayStateCancelled, haotiansim.PayStateClosed:
		return StateClosed
	}
	return StateProcessing
}

func haotianRefundState(s int) string {
	switch s {
	case haotiansim.OrderStateSuccess:
		return StateSucceeded
	case haotiansim.OrderStateFailed, haotiansim.OrderStateClosed:
		return StateFailed
	}
	return StateProcessing
}

func adapayState(s string) string {
	switch s {
	case adapaysim.StatusSucceeded:
		return StateSucceeded
	case adapaysim.StatusFailed:
		return StateFailed
	case adapaysim.StatusClosed:
		return StateClosed
	}
	return StateProcessing
}

func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 256<<20)).Decode(v)
}

// DBPayment is a payment row.
type DBPayment struct {
	ID, Key, Status, Plugin, ProviderID, FailureCode string
	Amount, Refunded, Reserved                       int64
	PayInfo                                          bool
	CreatedAt                                        time.Time
}

// DBRefund is a refund row.
type DBRefund struct {
	ID, PaymentID, Key, Status, ProviderID, FailureCode string
	Amount                                              int64
	CreatedAt                                           time.Time
}

// DB is what the database holds (every row of the run's schema).
type DB struct {
	Payments      map[string]*DBPayment
	Refunds       map[string]*DBRefund
	PaymentsByKey map[string][]*DBPayment // by idempotency key
	RefundsByKey  map[string][]*DBRefund
	// KeysInProgress counts idempotency keys still in progress.
	KeysInProgress int
	// Events counts webhook events; Deliveries counts deliveries by status.
	Events     int
	Deliveries map[string]int
}

// ReadDB reads the payments, refunds, idempotency keys and webhook
// deliveries of db (whose search_path is the run's schema).
func ReadDB(ctx context.Context, db *sql.DB) (*DB, error) {
	out := &DB{Payments: map[string]*DBPayment{}, Refunds: map[string]*DBRefund{}, PaymentsByKey: map[string][]*DBPayment{},
		RefundsByKey: map[string][]*DBRefund{}, Deliveries: map[string]int{}}
	rows, err := db.QueryContext(ctx, `SELECT id, idempotency_key, status, plugin, provider_id, failure_code, amount,
		refunded_amount, refund_reserved, pay_info <> '', created_at FROM payments`)
	if err != nil {
		return nil, fmt.Errorf("read payments: %w", err)
	}
	for rows.Next() {
		p := &DBPayment{}
		var created int64
		if err := rows.Scan(&p.ID, &p.Key, &p.Status, &p.Plugin, &p.ProviderID, &p.FailureCode, &p.Amount, &p.Refunded,
			&p.Reserved, &p.PayInfo, &created); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("read payments: %w", err)
		}
		p.CreatedAt = time.UnixMicro(created)
		out.Payments[p.ID] = p
		out.PaymentsByKey[p.Key] = append(out.PaymentsByKey[p.Key], p)
	}
	if err := closeRows(rows, "payments"); err != nil {
		return nil, err
	}
	rows, err = db.QueryContext(ctx, `SELECT id, payment_id, idempotency_key, status, provider_id, failure_code, amount, created_at FROM refunds`)
	if err != nil {
		return nil, fmt.Errorf("read refunds: %w", err)
	}
	for rows.Next() {
		r := &DBRefund{}
		var created int64
		if err := rows.Scan(&r.ID, &r.PaymentID, &r.Key, &r.Status, &r.ProviderID, &r.FailureCode, &r.Amount, &created); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("read refunds: %w", err)
		}
		r.CreatedAt = time.UnixMicro(created)
		out.Refunds[r.ID] = r
		out.RefundsByKey[r.Key] = append(out.RefundsByKey[r.Key], r)
	}
	if err := closeRows(rows, "refunds"); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM idempotency_keys WHERE state <> 'done'`).Scan(&out.KeysInProgress); err != nil {
		return nil, fmt.Errorf("read idempotency keys: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&out.Events); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	rows, err = db.QueryContext(ctx, `SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("read webhook deliveries: %w", err)
	}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("read webhook deliveries: %w", err)
		}
		out.Deliveries[status] = n
	}
	if err := closeRows(rows, "webhook deliveries"); err != nil {
		return nil, err
	}
	return out, nil
}

func closeRows(rows *sql.Rows, what string) error {
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return fmt.Errorf("read %s: %w", what, err)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}
