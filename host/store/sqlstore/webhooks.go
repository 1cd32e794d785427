package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/payhost/payhost/host/store"
)

// eventObject is what an update tells insertEvent about the object it
// changed.
type eventObject struct {
	typ    string // payment, refund, payout, ...
	id     string
	tenant string
	value  any // the object as the update left it (*store.Payment, ...): what EventSpec.Data renders
}

// insertEvent is the outbox: it records spec (nothing when spec is nil)
// about obj through tx, which must be the transaction of the change the
// event describes, and queues one pending delivery for every enabled
// endpoint of the tenant subscribed to the event's type. Any update of any
// object can emit events this way: after its change, inside its
// transaction,
//
//	if err := s.insertEvent(ctx, tx, u.Event, eventObject{"payout", p.ID, p.Tenant, p}); err != nil {
//		return err
//	}
//
// so that the event is committed if and only if the change is.
func (s *Store) insertEvent(ctx context.Context, tx querier, spec *store.EventSpec, obj eventObject) error {
	if spec == nil {
		return nil
	}
	if spec.ID == "" || spec.Type == "" {
		return errors.New("sqlstore: insert event: ID and Type are required")
	}
	var data []byte
	if spec.Data != nil {
		var err error
		if data, err = spec.Data(obj.value); err != nil {
			return fmt.Errorf("sqlstore: insert event %s: data: %w", spec.ID, err)
		}
		if len(data) > 0 && !json.Valid(data) {
			return fmt.Errorf("sqlstore: insert event %s: data is not JSON", spec.ID)
		}
	}
	created := spec.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	args, err := eventTable.args(&store.Event{ID: spec.ID, Tenant: obj.tenant, Type: spec.Type, ObjectType: obj.typ,
		ObjectID: obj.id, Data: data, CreatedAt: created})
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, s.d.q(eventTable.insertNew), args...)
	if err != nil {
		return fmt.Errorf("sqlstore: insert event: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: insert event: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: event %s", store.ErrDuplicate, spec.ID)
	}
	rows, err := tx.QueryContext(ctx, s.d.q(endpointTable.sel+`
		WHERE tenant = ? AND status = ? ORDER BY seq`), obj.tenant, store.EndpointEnabled)
	if err != nil {
		return fmt.Errorf("sqlstore: insert event: endpoints: %w", err)
	}
	endpoints, err := endpointTable.collect(rows, "insert event: endpoints")
	if err != nil {
		return err
	}
	for _, e := range endpoints {
		if !store.EventMatches(e.Events, spec.Type) {
			continue
		}
		args, err := deliveryTable.args(&store.WebhookDelivery{EventID: spec.ID, EndpointID: e.ID, Tenant: obj.tenant,
			Status: store.DeliveryPending, NextAttemptAt: created, CreatedAt: created, UpdatedAt: created})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.q(deliveryTable.insert), args...); err != nil {
			return fmt.Errorf("sqlstore: insert event: delivery: %w", err)
		}
	}
	return nil
}

// inTxIf runs fn in a write transaction when tx is true (an update that
// also writes an event), else directly on the write pool (one statement
// needs none).
func (s *Store) inTxIf(ctx context.Context, tx bool, fn func(q querier) error) error {
	if !tx {
		q, err := s.wq(ctx)
		if err != nil {
			return err
		}
		return fn(q)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return fn(tx) })
}

// endpointTable is the webhook_endpoints table; its rows are
// store.WebhookEndpoint.
var endpointTable = newTable("webhook_endpoints", "webhook endpoint", []string{"seq"},
	str("id", func(e *store.WebhookEndpoint) *string { return &e.ID }),
	str("tenant", func(e *store.WebhookEndpoint) *string { return &e.Tenant }),
	str("url", func(e *store.WebhookEndpoint) *string { return &e.URL }),
	jsonCol("events", func(e *store.WebhookEndpoint) *[]string { return &e.Events }, encodeEvents),
	str("description", func(e *store.WebhookEndpoint) *string { return &e.Description }),
	str("secret", func(e *store.WebhookEndpoint) *string { return &e.Secret }),
	str("status", func(e *store.WebhookEndpoint) *string { return &e.Status }),
	timeCol("created_at", func(e *store.WebhookEndpoint) *time.Time { return &e.CreatedAt }),
	timeCol("updated_at", func(e *store.WebhookEndpoint) *time.Time { return &e.UpdatedAt }),
)

// encodeEvents stores an endpoint's event patterns as JSON; none is "".
func encodeEvents(events []string) (string, error) {
	if len(events) == 0 {
		return "", nil
	}
	for _, ev := range events {
		if !validText(ev) {
			return "", invalidText("events")
		}
	}
	b, err := json.Marshal(events)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode endpoint events: %w", err)
	}
	return string(b), nil
}

// InsertWebhookEndpoint stores e; ErrDuplicate when its ID exists.
func (s *Store) InsertWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	args, err := endpointTable.args(e)
	if err != nil {
		return err
	}
	if e.ID == "" || e.Status == "" {
		return errors.New("sqlstore: insert webhook endpoint: ID and Status are required")
	}
	res, err := s.exec(ctx, s.d.q(endpointTable.insertNew), args...)
	if err != nil {
		return fmt.Errorf("sqlstore: insert webhook endpoint: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: insert webhook endpoint: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: webhook endpoint %s", store.ErrDuplicate, e.ID)
	}
	return nil
}

// GetWebhookEndpoint reads an endpoint, deleted or not; ErrNotFound when
// there is none.
func (s *Store) GetWebhookEndpoint(ctx context.Context, id string) (*store.WebhookEndpoint, error) {
	return getByID(ctx, s, s.rq(ctx), endpointTable, id, "")
}

// ListWebhookEndpoints lists the tenant's enabled endpoints, oldest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context, tenant string) ([]*store.WebhookEndpoint, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(endpointTable.sel+`
		WHERE tenant = ? AND status = ? ORDER BY seq`), tenant, store.EndpointEnabled)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list webhook endpoints: %w", err)
	}
	return endpointTable.collect(rows, "list webhook endpoints")
}

// DeleteWebhookEndpoint marks the endpoint deleted and wipes its secret,
// and cancels its pending deliveries, in one transaction.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string, now time.Time) (*store.WebhookEndpoint, error) {
	var out *store.WebhookEndpoint
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		e, err := endpointTable.scan(tx.QueryRowContext(ctx, s.d.q(`UPDATE webhook_endpoints SET status = ?, secret = '', updated_at = ?
			WHERE id = ? AND status = ? RETURNING `+endpointTable.list), store.EndpointDeleted, micros(now), id, store.EndpointEnabled))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: webhook endpoint %s", store.ErrNotFound, id)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: delete webhook endpoint: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE webhook_deliveries
			SET status = ?, next_attempt_at = 0, claim_token = '', last_error = ?, updated_at = ?
			WHERE endpoint_id = ? AND status = ?`),
			store.DeliveryCanceled, "the endpoint was deleted", micros(now), id, store.DeliveryPending); err != nil {
			return fmt.Errorf("sqlstore: delete webhook endpoint: cancel deliveries: %w", err)
		}
		out = e
		return nil
	})
	return out, err
}

// eventTable is the events table (the outbox); its rows are store.Event.
var eventTable = newTable("events", "event", nil,
	autoID("seq", func(e *store.Event) *int64 { return &e.Seq }),
	str("id", func(e *store.Event) *string { return &e.ID }),
	str("tenant", func(e *store.Event) *string { return &e.Tenant }),
	str("type", func(e *store.Event) *string { return &e.Type }),
	str("object_type", func(e *store.Event) *string { return &e.ObjectType }),
	str("object_id", func(e *store.Event) *string { return &e.ObjectID }),
	textCol("data", func(e *store.Event) *[]byte { return &e.Data }),
	timeCol("created_at", func(e *store.Event) *time.Time { return &e.CreatedAt }),
)

// GetEvent reads an event; ErrNotFound when there is none.
func (s *Store) GetEvent(ctx context.Context, id string) (*store.Event, error) {
	return getByID(ctx, s, s.rq(ctx), eventTable, id, "")
}

// ListEvents lists the events q selects, newest (highest Seq) first.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) ([]*store.Event, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query := eventTable.sel + ` WHERE tenant = ?`
	args := []any{q.Tenant}
	if obj, ok := strings.CutSuffix(q.Type, ".*"); ok {
		prefix := obj + "."
		query += ` AND substr(type, 1, ?) = ?`
		args = append(args, len(prefix), prefix)
	} else if q.Type != "" {
		query += ` AND type = ?`
		args = append(args, q.Type)
	}
	if q.ObjectID != "" {
		query += ` AND object_id = ?`
		args = append(args, q.ObjectID)
	}
	if q.BeforeSeq > 0 {
		query += ` AND seq < ?`
		args = append(args, q.BeforeSeq)
	}
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(query+` ORDER BY seq DESC LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list events: %w", err)
	}
	return eventTable.collect(rows, "list events")
}

// deliveryTable is the webhook_deliveries table; its rows are
// store.WebhookDelivery.
var deliveryTable = newTable("webhook_deliveries", "webhook delivery", nil,
	autoID("id", func(d *store.WebhookDelivery) *int64 { return &d.ID }),
	str("event_id", func(d *store.WebhookDelivery) *string { return &d.EventID }),
	str("endpoint_id", func(d *store.WebhookDelivery) *string { return &d.EndpointID }),
	str("tenant", func(d *store.WebhookDelivery) *string { return &d.Tenant }),
	str("status", func(d *store.WebhookDelivery) *string { return &d.Status }),
	num("attempts", func(d *store.WebhookDelivery) *int { return &d.Attempts }),
	timeCol("next_attempt_at", func(d *store.WebhookDelivery) *time.Time { return &d.NextAttemptAt }),
	num("last_status_code", func(d *store.WebhookDelivery) *int { return &d.LastStatusCode }),
	str("last_error", func(d *store.WebhookDelivery) *string { return &d.LastError }),
	str("claim_token", func(d *store.WebhookDelivery) *string { return &d.ClaimToken }),
	timeCol("created_at", func(d *store.WebhookDelivery) *time.Time { return &d.CreatedAt }),
	timeCol("updated_at", func(d *store.WebhookDelivery) *time.Time { return &d.UpdatedAt }),
	timeCol("delivered_at", func(d *store.WebhookDelivery) *time.Time { return &d.DeliveredAt }),
)

// HasWebhookEndpoints reports whether any tenant has an enabled endpoint.
func (s *Store) HasWebhookEndpoints(ctx context.Context) (bool, error) {
	return s.exists(ctx, "webhook endpoints", `SELECT 1 FROM webhook_endpoints WHERE status = ? LIMIT 1`, store.EndpointEnabled)
}

// WebhookDeliveriesDue reports whether a pending delivery is due at now:
// one read of the index ClaimWebhookDeliveries uses, so that a worker
// writes a claim only when there is something to claim.
func (s *Store) WebhookDeliveriesDue(ctx context.Context, now time.Time) (bool, error) {
	return s.exists(ctx, "webhook deliveries due", // 'pending' literal: the partial index's predicate
		`SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1`, micros(now))
}

// exists reports whether query, a SELECT 1 ... LIMIT 1 on the read pool,
// finds a row; what names it in errors.
func (s *Store) exists(ctx context.Context, what, query string, args ...any) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, s.d.q(query), args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	return true, nil
}

// ClaimWebhookDeliveries moves the due pending deliveries' next attempt to
// now+lease under a new claim token, in one statement, and returns them
// by id. On PostgreSQL rows another claimant holds are skipped (FOR UPDATE
// SKIP LOCKED); SQLite has one writer, so the conditional UPDATE is the
// claim.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("sqlstore: claim webhook deliveries: %w", err)
	}
	token := hex.EncodeToString(b[:])
	rows, err := s.queryW(ctx, s.d.q(`UPDATE webhook_deliveries SET next_attempt_at = ?, claim_token = ?
		WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?
		             ORDER BY next_attempt_at, id LIMIT ?`+s.skipLocked()+`)
		RETURNING `+deliveryTable.list), micros(now.Add(lease)), token, micros(now), limit) // 'pending' literal: the partial index's predicate
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim webhook deliveries: %w", err)
	}
	out, err := deliveryTable.collect(rows, "claim webhook deliveries")
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// FinishWebhookDelivery records r.Attempt (when set) and moves the claimed
// delivery to r.Status, in one transaction. A lost claim is ErrConflict
// with the attempt recorded all the same (the request was made).
func (s *Store) FinishWebhookDelivery(ctx context.Context, r store.WebhookResult) error {
	var c textChecker
	c.str("Status", r.Status)
	if err := c.err(); err != nil {
		return err
	}
	var attempt []any
	if a := r.Attempt; a != nil {
		a.DeliveryID = r.DeliveryID
		var err error
		if attempt, err = webhookAttemptTable.args(a); err != nil {
			return err
		}
	}
	lost := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var set setList
		set.add("status", r.Status)
		set.add("claim_token", "")
		set.add("updated_at", micros(r.Now))
		if r.Status == store.DeliveryPending {
			set.add("next_attempt_at", micros(r.NextAttemptAt))
		} else {
			set.add("next_attempt_at", 0)
		}
		if r.Status == store.DeliveryDelivered {
			set.add("delivered_at", micros(r.Now))
		}
		if a := r.Attempt; a != nil {
			if err := tx.QueryRowContext(ctx, s.d.q(insertWebhookAttempt), attempt...).Scan(&a.ID); err != nil {
				return fmt.Errorf("sqlstore: finish webhook delivery: attempt: %w", err)
			}
			set.cols = append(set.cols, "attempts = attempts + 1")
			set.add("last_status_code", a.StatusCode)
			set.add("last_error", a.Error)
		}
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE webhook_deliveries SET `+set.sql()+`
			WHERE id = ? AND claim_token = ? AND status = ?`), append(set.args, r.DeliveryID, r.ClaimToken, store.DeliveryPending)...)
		if err != nil {
			return fmt.Errorf("sqlstore: finish webhook delivery: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlstore: finish webhook delivery: %w", err)
		}
		if n > 0 {
			return nil
		}
		var one int
		switch err := tx.QueryRowContext(ctx, s.d.q(`SELECT 1 FROM webhook_deliveries WHERE id = ?`), r.DeliveryID).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: webhook delivery %d", store.ErrNotFound, r.DeliveryID)
		case err != nil:
			return fmt.Errorf("sqlstore: finish webhook delivery: %w", err)
		}
		lost = true // keep the attempt: it was made
		return nil
	})
	if err == nil && lost {
		return fmt.Errorf("%w: webhook delivery %d is no longer claimed by this token", store.ErrConflict, r.DeliveryID)
	}
	return err
}

// ListWebhookDeliveries lists an event's deliveries in the order they
// were queued.
func (s *Store) ListWebhookDeliveries(ctx context.Context, eventID string) ([]*store.WebhookDelivery, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(deliveryTable.sel+` WHERE event_id = ? ORDER BY id`), eventID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list webhook deliveries: %w", err)
	}
	return deliveryTable.collect(rows, "list webhook deliveries")
}

// webhookAttemptTable is the webhook_attempts table; its rows are
// store.WebhookAttempt. It leaves out response_body: it is no longer
// written (migration 0010) and never read.
var webhookAttemptTable = newTable("webhook_attempts", "webhook attempt", []string{"response_body"},
	autoID("id", func(a *store.WebhookAttempt) *int64 { return &a.ID }),
	num("delivery_id", func(a *store.WebhookAttempt) *int64 { return &a.DeliveryID }),
	num("attempt", func(a *store.WebhookAttempt) *int { return &a.Attempt }),
	num("status_code", func(a *store.WebhookAttempt) *int { return &a.StatusCode }),
	str("error_message", func(a *store.WebhookAttempt) *string { return &a.Error }),
	num("duration_ms", func(a *store.WebhookAttempt) *int64 { return &a.DurationMS }),
	timeCol("created_at", func(a *store.WebhookAttempt) *time.Time { return &a.CreatedAt }),
)

var insertWebhookAttempt = webhookAttemptTable.insert + ` RETURNING id`

// ListWebhookAttempts lists a delivery's attempts in the order they were made.
func (s *Store) ListWebhookAttempts(ctx context.Context, deliveryID int64) ([]*store.WebhookAttempt, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(webhookAttemptTable.sel+` WHERE delivery_id = ? ORDER BY id`), deliveryID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list webhook attempts: %w", err)
	}
	return webhookAttemptTable.collect(rows, "list webhook attempts")
}
