package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/host/store"
)

// attemptTable is the attempts table; its rows are store.Attempt.
var attemptTable = newTable("attempts", "attempt", nil,
	autoID("id", func(a *store.Attempt) *int64 { return &a.ID }),
	str("object_id", func(a *store.Attempt) *string { return &a.ObjectID }),
	str("operation", func(a *store.Attempt) *string { return &a.Operation }),
	str("channel", func(a *store.Attempt) *string { return &a.Channel }),
	str("outcome", func(a *store.Attempt) *string { return &a.Outcome }),
	str("error_message", func(a *store.Attempt) *string { return &a.Error }),
	num("duration_ms", func(a *store.Attempt) *int64 { return &a.DurationMS }),
	timeCol("created_at", func(a *store.Attempt) *time.Time { return &a.CreatedAt }),
)

var insertAttempt = attemptTable.insert + ` RETURNING id`

// InsertAttempt records a channel call and sets a.ID.
func (s *Store) InsertAttempt(ctx context.Context, a *store.Attempt) error {
	args, err := attemptTable.args(a)
	if err != nil {
		return err
	}
	err = s.queryRowW(ctx, s.d.q(insertAttempt), args...).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: insert attempt: %w", err)
	}
	return nil
}

// ListAttempts lists an object's attempts, oldest first (by CreatedAt,
// then insertion).
func (s *Store) ListAttempts(ctx context.Context, objectID string) ([]*store.Attempt, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(attemptTable.sel+` WHERE object_id = ? ORDER BY created_at, id`), objectID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list attempts: %w", err)
	}
	return attemptTable.collect(rows, "list attempts")
}

// transitionTable is the transitions table; its rows are
// store.Transition.
var transitionTable = newTable("transitions", "transition", nil,
	autoID("id", func(t *store.Transition) *int64 { return &t.ID }),
	str("object_type", func(t *store.Transition) *string { return &t.ObjectType }),
	str("object_id", func(t *store.Transition) *string { return &t.ObjectID }),
	str("from_status", func(t *store.Transition) *string { return &t.From }),
	str("to_status", func(t *store.Transition) *string { return &t.To }),
	str("source", func(t *store.Transition) *string { return &t.Source }),
	boolCol("applied", func(t *store.Transition) *bool { return &t.Applied }),
	str("detail", func(t *store.Transition) *string { return &t.Detail }),
	timeCol("created_at", func(t *store.Transition) *time.Time { return &t.CreatedAt }),
)

var insertTransition = transitionTable.insert + ` RETURNING id`

// InsertTransition records a state change, applied or refused, and sets t.ID.
func (s *Store) InsertTransition(ctx context.Context, t *store.Transition) error {
	args, err := transitionTable.args(t)
	if err != nil {
		return err
	}
	err = s.queryRowW(ctx, s.d.q(insertTransition), args...).Scan(&t.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: insert transition: %w", err)
	}
	return nil
}

// ListTransitions lists an object's transitions, oldest first (by
// CreatedAt, then insertion).
func (s *Store) ListTransitions(ctx context.Context, objectID string) ([]*store.Transition, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(transitionTable.sel+` WHERE object_id = ? ORDER BY created_at, id`), objectID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list transitions: %w", err)
	}
	return transitionTable.collect(rows, "list transitions")
}

// notificationTable is the notifications table; its rows are
// store.Notification.
var notificationTable = newTable("notifications", "notification", nil,
	autoID("id", func(n *store.Notification) *int64 { return &n.ID }),
	str("account", func(n *store.Notification) *string { return &n.Account }),
	str("event_id", func(n *store.Notification) *string { return &n.EventID }),
	str("object_type", func(n *store.Notification) *string { return &n.ObjectType }),
	str("object_id", func(n *store.Notification) *string { return &n.ObjectID }),
	str("status", func(n *store.Notification) *string { return &n.Status }),
	blobCol("body", func(n *store.Notification) *[]byte { return &n.Body }),
	str("result", func(n *store.Notification) *string { return &n.Result }),
	timeCol("received_at", func(n *store.Notification) *time.Time { return &n.ReceivedAt }),
)

var insertNotification = notificationTable.insert + ` ON CONFLICT (account, event_id) DO NOTHING RETURNING id`

// InsertNotification stores n and sets n.ID, or returns inserted=false
// (n.ID untouched) when (Account, EventID) exists: INSERT .. ON CONFLICT DO
// NOTHING, so among concurrent deliveries of one event exactly one is
// inserted.
func (s *Store) InsertNotification(ctx context.Context, n *store.Notification) (bool, error) {
	args, err := notificationTable.args(n)
	if err != nil {
		return false, err
	}
	var id int64
	err = s.queryRowW(ctx, s.d.q(insertNotification), args...).Scan(&id)
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
	n, err := notificationTable.scan(s.rq(ctx).QueryRowContext(ctx, s.d.q(notificationTable.sel+` WHERE account = ? AND event_id = ?`), account, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: notification %s/%s", store.ErrNotFound, account, eventID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get notification: %w", err)
	}
	return n, nil
}
