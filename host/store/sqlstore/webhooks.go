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
	var c textChecker
	c.str("ID", spec.ID)
	c.str("Type", spec.Type)
	c.str("ObjectType", obj.typ)
	c.str("ObjectID", obj.id)
	c.str("Tenant", obj.tenant)
	c.bytes("Data", data)
	if err := c.err(); err != nil {
		return err
	}
	created := spec.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	res, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO events (id, tenant, type, object_type, object_id, data, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		spec.ID, obj.tenant, spec.Type, obj.typ, obj.id, string(data), micros(created))
	if err != nil {
		return fmt.Errorf("sqlstore: insert event: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: insert event: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: event %s", store.ErrDuplicate, spec.ID)
	}
	rows, err := tx.QueryContext(ctx, s.d.q(`SELECT `+endpointCols+` FROM webhook_endpoints
		WHERE tenant = ? AND status = ? ORDER BY seq`), obj.tenant, store.EndpointEnabled)
	if err != nil {
		return fmt.Errorf("sqlstore: insert event: endpoints: %w", err)
	}
	endpoints, err := collect(rows, scanEndpoint, "insert event: endpoints")
	if err != nil {
		return err
	}
	for _, e := range endpoints {
		if !store.EventMatches(e.Events, spec.Type) {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO webhook_deliveries
			(event_id, endpoint_id, tenant, status, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			spec.ID, e.ID, obj.tenant, store.DeliveryPending, micros(created), micros(created), micros(created)); err != nil {
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

const endpointCols = `id, tenant, url, events, description, secret, status, created_at, updated_at`

func scanEndpoint(row interface{ Scan(...any) error }) (*store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var events string
	var created, updated int64
	if err := row.Scan(&e.ID, &e.Tenant, &e.URL, &events, &e.Description, &e.Secret, &e.Status, &created, &updated); err != nil {
		return nil, err
	}
	if events != "" {
		if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
			return nil, fmt.Errorf("sqlstore: decode endpoint events: %w", err)
		}
	}
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &e, nil
}

// InsertWebhookEndpoint stores e; ErrDuplicate when its ID exists.
func (s *Store) InsertWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	var c textChecker
	c.str("ID", e.ID)
	c.str("Tenant", e.Tenant)
	c.str("URL", e.URL)
	c.str("Description", e.Description)
	c.str("Secret", e.Secret)
	c.str("Status", e.Status)
	for _, ev := range e.Events {
		c.str("Events", ev)
	}
	if err := c.err(); err != nil {
		return err
	}
	if e.ID == "" || e.Status == "" {
		return errors.New("sqlstore: insert webhook endpoint: ID and Status are required")
	}
	events := ""
	if len(e.Events) > 0 {
		b, err := json.Marshal(e.Events)
		if err != nil {
			return fmt.Errorf("sqlstore: insert webhook endpoint: %w", err)
		}
		events = string(b)
	}
	res, err := s.exec(ctx, s.d.q(`INSERT INTO webhook_endpoints (`+endpointCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		e.ID, e.Tenant, e.URL, events, e.Description, e.Secret, e.Status, micros(e.CreatedAt), micros(e.UpdatedAt))
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
	return getByID(ctx, s, s.rq(ctx), "webhook_endpoints", endpointCols, scanEndpoint, "webhook endpoint", id, "")
}

// ListWebhookEndpoints lists the tenant's enabled endpoints, oldest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context, tenant string) ([]*store.WebhookEndpoint, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(`SELECT `+endpointCols+` FROM webhook_endpoints
		WHERE tenant = ? AND status = ? ORDER BY seq`), tenant, store.EndpointEnabled)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list webhook endpoints: %w", err)
	}
	return collect(rows, scanEndpoint, "list webhook endpoints")
}

// DeleteWebhookEndpoint marks the endpoint deleted and wipes its secret,
// and cancels its pending deliveries, in one transaction.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string, now time.Time) (*store.WebhookEndpoint, error) {
	var out *store.WebhookEndpoint
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		e, err := scanEndpoint(tx.QueryRowContext(ctx, s.d.q(`UPDATE webhook_endpoints SET status = ?, secret = '', updated_at = ?
			WHERE id = ? AND status = ? RETURNING `+endpointCols), store.EndpointDeleted, micros(now), id, store.EndpointEnabled))
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

const eventCols = `seq, id, tenant, type, object_type, object_id, data, created_at`

func scanEvent(row interface{ Scan(...any) error }) (*store.Event, error) {
	var e store.Event
	var data string
	var created int64
	if err := row.Scan(&e.Seq, &e.ID, &e.Tenant, &e.Type, &e.ObjectType, &e.ObjectID, &data, &created); err != nil {
		return nil, err
	}
	e.Data = bytesOrNil([]byte(data))
	e.CreatedAt = fromMicros(created)
	return &e, nil
}

// GetEvent reads an event; ErrNotFound when there is none.
func (s *Store) GetEvent(ctx context.Context, id string) (*store.Event, error) {
	return getByID(ctx, s, s.rq(ctx), "events", eventCols, scanEvent, "event", id, "")
}

// ListEvents lists the events q selects, newest (highest Seq) first.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) ([]*store.Event, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT ` + eventCols + ` FROM events WHERE tenant = ?`
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
	return collect(rows, scanEvent, "list events")
}

const deliveryCols = `id, event_id, endpoint_id, tenant, status, attempts, next_attempt_at, last_status_code, last_error,
	claim_token, created_at, updated_at, delivered_at`

func scanDelivery(row interface{ Scan(...any) error }) (*store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var next, created, updated, delivered int64
	if err := row.Scan(&d.ID, &d.EventID, &d.EndpointID, &d.Tenant, &d.Status, &d.Attempts, &next, &d.LastStatusCode,
		&d.LastError, &d.ClaimToken, &created, &updated, &delivered); err != nil {
		return nil, err
	}
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt, d.DeliveredAt = fromMicros(next), fromMicros(created), fromMicros(updated), fromMicros(delivered)
	return &d, nil
}

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
		RETURNING `+deliveryCols), micros(now.Add(lease)), token, micros(now), limit) // 'pending' literal: the partial index's predicate
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim webhook deliveries: %w", err)
	}
	out, err := collect(rows, scanDelivery, "claim webhook deliveries")
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
	if a := r.Attempt; a != nil {
		c.str("Attempt.Error", a.Error)
	}
	if err := c.err(); err != nil {
		return err
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
			a.DeliveryID = r.DeliveryID
			if err := tx.QueryRowContext(ctx, s.d.q(`INSERT INTO webhook_attempts
				(delivery_id, attempt, status_code, error_message, duration_ms, created_at)
				VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
				r.DeliveryID, a.Attempt, a.StatusCode, a.Error, a.DurationMS, micros(a.CreatedAt)).Scan(&a.ID); err != nil {
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
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE event_id = ? ORDER BY id`), eventID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list webhook deliveries: %w", err)
	}
	return collect(rows, scanDelivery, "list webhook deliveries")
}

// webhookAttemptCols leaves out response_body: it is no longer written
// (migration 0010) and never read.
const webhookAttemptCols = `id, delivery_id, attempt, status_code, error_message, duration_ms, created_at`

func scanWebhookAttempt(row interface{ Scan(...any) error }) (*store.WebhookAttempt, error) {
	var a store.WebhookAttempt
	var created int64
	if err := row.Scan(&a.ID, &a.DeliveryID, &a.Attempt, &a.StatusCode, &a.Error, &a.DurationMS, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// ListWebhookAttempts lists a delivery's attempts in the order they were made.
func (s *Store) ListWebhookAttempts(ctx context.Context, deliveryID int64) ([]*store.WebhookAttempt, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(`SELECT `+webhookAttemptCols+` FROM webhook_attempts WHERE delivery_id = ? ORDER BY id`), deliveryID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list webhook attempts: %w", err)
	}
	return collect(rows, scanWebhookAttempt, "list webhook attempts")
}
