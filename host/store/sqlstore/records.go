package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/payhost/payhost/host/store"
)

const attemptCols = `id, object_id, operation, channel, outcome, error_message, duration_ms, created_at`

func scanAttempt(row interface{ Scan(...any) error }) (*store.Attempt, error) {
	var a store.Attempt
	var created int64
	if err := row.Scan(&a.ID, &a.ObjectID, &a.Operation, &a.Channel, &a.Outcome, &a.Error, &a.DurationMS, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// InsertAttempt records a channel call and sets a.ID.
func (s *Store) InsertAttempt(ctx context.Context, a *store.Attempt) error {
	var c textChecker
	c.str("ObjectID", a.ObjectID)
	c.str("Operation", a.Operation)
	c.str("Channel", a.Channel)
	c.str("Outcome", a.Outcome)
	c.str("Error", a.Error)
	if err := c.err(); err != nil {
		return err
	}
	err := s.queryRowW(ctx, s.d.q(`INSERT INTO attempts (object_id, operation, channel, outcome, error_message, duration_ms, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.ObjectID, a.Operation, a.Channel, a.Outcome, a.Error, a.DurationMS, micros(a.CreatedAt)).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: insert attempt: %w", err)
	}
	return nil
}

// ListAttempts lists an object's attempts, oldest first (by CreatedAt,
// then insertion).
func (s *Store) ListAttempts(ctx context.Context, objectID string) ([]*store.Attempt, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(`SELECT `+attemptCols+` FROM attempts WHERE object_id = ? ORDER BY created_at, id`), objectID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list attempts: %w", err)
	}
	return collect(rows, scanAttempt, "list attempts")
}

const transitionCols = `id, object_type, object_id, from_status, to_status, source, applied, detail, created_at`

func scanTransition(row interface{ Scan(...any) error }) (*store.Transition, error) {
	var t store.Transition
	var applied, created int64
	if err := row.Scan(&t.ID, &t.ObjectType, &t.ObjectID, &t.From, &t.To, &t.Source, &applied, &t.Detail, &created); err != nil {
		return nil, err
	}
	t.Applied = applied != 0
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

// InsertTransition records a state change, applied or refused, and sets t.ID.
func (s *Store) InsertTransition(ctx context.Context, t *store.Transition) error {
	var c textChecker
	c.str("ObjectType", t.ObjectType)
	c.str("ObjectID", t.ObjectID)
	c.str("From", t.From)
	c.str("To", t.To)
	c.str("Source", t.Source)
	c.str("Detail", t.Detail)
	if err := c.err(); err != nil {
		return err
	}
	applied := 0
	if t.Applied {
		applied = 1
	}
	err := s.queryRowW(ctx, s.d.q(`INSERT INTO transitions (object_type, object_id, from_status, to_status, source, applied, detail, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		t.ObjectType, t.ObjectID, t.From, t.To, t.Source, applied, t.Detail, micros(t.CreatedAt)).Scan(&t.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: insert transition: %w", err)
	}
	return nil
}

// ListTransitions lists an object's transitions, oldest first (by
// CreatedAt, then insertion).
func (s *Store) ListTransitions(ctx context.Context, objectID string) ([]*store.Transition, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(`SELECT `+transitionCols+` FROM transitions WHERE object_id = ? ORDER BY created_at, id`), objectID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list transitions: %w", err)
	}
	return collect(rows, scanTransition, "list transitions")
}

const notificationCols = `id, account, event_id, object_type, object_id, status, body, result, received_at`

func scanNotification(row interface{ Scan(...any) error }) (*store.Notification, error) {
	var n store.Notification
	var body []byte
	var received int64
	if err := row.Scan(&n.ID, &n.Account, &n.EventID, &n.ObjectType, &n.ObjectID, &n.Status, &body, &n.Result, &received); err != nil {
		return nil, err
	}
	n.Body = bytesOrNil(body)
	n.ReceivedAt = fromMicros(received)
	return &n, nil
}

// InsertNotification stores n and sets n.ID, or returns inserted=false
// (n.ID untouched) when (Account, EventID) exists: INSERT .. ON CONFLICT DO
// NOTHING, so among concurrent deliveries of one event exactly one is
// inserted.
func (s *Store) InsertNotification(ctx context.Context, n *store.Notification) (bool, error) {
	var c textChecker
	c.str("Account", n.Account)
	c.str("EventID", n.EventID)
	c.str("ObjectType", n.ObjectType)
	c.str("ObjectID", n.ObjectID)
	c.str("Status", n.Status)
	c.str("Result", n.Result)
	if err := c.err(); err != nil {
		return false, err
	}
	var id int64
	err := s.queryRowW(ctx, s.d.q(`INSERT INTO notifications (account, event_id, object_type, object_id, status, body, result, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, event_id) DO NOTHING RETURNING id`),
		n.Account, n.EventID, n.ObjectType, n.ObjectID, n.Status, n.Body, n.Result, micros(n.ReceivedAt)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: insert notification: %w", err)
	}
	n.ID = id
	return true, nil
}

// SetNotificationResult records what applying notification id did;
// ErrNotFound when there is no such notification.
func (s *Store) SetNotificationResult(ctx context.Context, id int64, result string) error {
	var c textChecker
	c.str("result", result)
	if err := c.err(); err != nil {
		return err
	}
	res, err := s.exec(ctx, s.d.q(`UPDATE notifications SET result = ? WHERE id = ?`), result, id)
	if err != nil {
		return fmt.Errorf("sqlstore: set notification result: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: set notification result: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: notification %d", store.ErrNotFound, id)
	}
	return nil
}

// GetNotification reads the notification of account with eventID;
// ErrNotFound when there is none. It is not part of store.Store: it serves
// tests and operators looking at what a duplicate delivery repeated.
func (s *Store) GetNotification(ctx context.Context, account, eventID string) (*store.Notification, error) {
	n, err := scanNotification(s.rq(ctx).QueryRowContext(ctx, s.d.q(`SELECT `+notificationCols+` FROM notifications WHERE account = ? AND event_id = ?`), account, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: notification %s/%s", store.ErrNotFound, account, eventID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get notification: %w", err)
	}
	return n, nil
}
