package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/host/store"
)

// idemTable is the idempotency_keys table; its rows are store.IdemRecord.
var idemTable = newTable("idempotency_keys", "idempotency key", nil,
	str("tenant", func(r *store.IdemRecord) *string { return &r.Tenant }),
	str("idem_key", func(r *store.IdemRecord) *string { return &r.Key }),
	str("operation", func(r *store.IdemRecord) *string { return &r.Operation }),
	str("request_hash", func(r *store.IdemRecord) *string { return &r.RequestHash }),
	str("state", func(r *store.IdemRecord) *string { return &r.State }),
	str("owner", func(r *store.IdemRecord) *string { return &r.Owner }),
	str("resource_id", func(r *store.IdemRecord) *string { return &r.ResourceID }),
	num("response_status", func(r *store.IdemRecord) *int { return &r.ResponseStatus }),
	// NULL until a response is stored
	nullBlobCol("response_body", func(r *store.IdemRecord) *[]byte { return &r.ResponseBody }),
	timeCol("locked_until", func(r *store.IdemRecord) *time.Time { return &r.LockedUntil }),
	timeCol("created_at", func(r *store.IdemRecord) *time.Time { return &r.CreatedAt }),
	timeCol("updated_at", func(r *store.IdemRecord) *time.Time { return &r.UpdatedAt }),
	str("node", func(r *store.IdemRecord) *string { return &r.Node }),
)

// scanIdem reads a row of idemTable.list.
func scanIdem(row rowScanner) (store.IdemRecord, error) {
	r, err := idemTable.scan(row)
	if err != nil {
		return store.IdemRecord{}, err
	}
	return *r, nil
}

// claimIdem inserts a key as in progress, unless it exists.
var claimIdem = idemTable.insert + ` ON CONFLICT (tenant, idem_key) DO NOTHING RETURNING ` + idemTable.list

// ClaimIdempotencyKey inserts the key as in progress (INSERT .. ON CONFLICT
// DO NOTHING: one claimant wins), or takes over an existing in-progress key
// whose lease ran out with a conditional UPDATE (WHERE locked_until < now:
// again one claimant wins). Only a claim of the same operation and request
// hash takes over; any other gets the stored record and owned=false.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, c store.IdemClaim) (store.IdemRecord, bool, error) {
	now := micros(c.Now)
	until := micros(c.Now.Add(c.Lease))
	args, err := idemTable.args(&store.IdemRecord{Tenant: c.Tenant, Key: c.Key, Operation: c.Operation, RequestHash: c.RequestHash,
		State: store.IdemInProgress, Owner: c.Owner, LockedUntil: c.Now.Add(c.Lease), CreatedAt: c.Now, UpdatedAt: c.Now, Node: c.Node})
	if err != nil {
		return store.IdemRecord{}, false, err
	}
	// A key released between our INSERT and SELECT is claimed again; a few
	// rounds are plenty (each needs another client to release it meanwhile).
	for range 5 {
		rec, err := scanIdem(s.queryRowW(ctx, s.d.q(claimIdem), args...))
		if err == nil {
			return rec, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return store.IdemRecord{}, false, fmt.Errorf("sqlstore: claim idempotency key: %w", err)
		}
		// the lease ran out, or the owner's node stopped beating (crashed)
		seenSince := int64(-1) // with no node timeout, no node counts as gone
		if c.NodeTimeout > 0 {
			seenSince = micros(c.Now.Add(-c.NodeTimeout))
		}
		rec, err = scanIdem(s.queryRowW(ctx, s.d.q(`UPDATE idempotency_keys
			SET locked_until = ?, updated_at = ?, owner = ?, node = ?
			WHERE tenant = ? AND idem_key = ? AND state = ?
			  AND (locked_until < ? OR (CAST(? AS BIGINT) >= 0 AND node <> '' AND NOT EXISTS
			      (SELECT 1 FROM nodes WHERE nodes.id = idempotency_keys.node AND nodes.seen_at >= ?)))
			  AND operation = ? AND request_hash = ?
			RETURNING `+idemTable.list),
			until, now, c.Owner, c.Node, c.Tenant, c.Key, store.IdemInProgress, now, seenSince, seenSince, c.Operation, c.RequestHash))
		if err == nil {
			return rec, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return store.IdemRecord{}, false, fmt.Errorf("sqlstore: take over idempotency key: %w", err)
		}
		rec, err = s.getIdem(ctx, s.rw(ctx), c.Tenant, c.Key)
		if err == nil {
			return rec, false, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.IdemRecord{}, false, err
		}
	}
	return store.IdemRecord{}, false, fmt.Errorf("sqlstore: claim idempotency key: %w: released and re-created repeatedly", store.ErrConflict)
}

// FinishIdempotencyKey stores the response of an in-progress key of owner
// and marks it done: ErrNotFound when the key does not exist, ErrConflict
// when it is already done (the response first stored stays) or owned by
// another claimant.
func (s *Store) FinishIdempotencyKey(ctx context.Context, tenant, key, owner string, status int, body []byte, now time.Time) error {
	if body == nil {
		body = []byte{}
	}
	res, err := s.exec(ctx, s.d.q(`UPDATE idempotency_keys
		SET state = ?, response_status = ?, response_body = ?, updated_at = ?
		WHERE tenant = ? AND idem_key = ? AND state = ? AND owner = ?`),
		store.IdemDone, status, body, micros(now), tenant, key, store.IdemInProgress, owner)
	if err != nil {
		return fmt.Errorf("sqlstore: finish idempotency key: %w", err)
	}
	return s.idemChanged(ctx, res, tenant, key, owner, "finish")
}

// ReleaseIdempotencyKey deletes an in-progress key with no linked
// resource: ErrNotFound when it does not exist, ErrConflict (and nothing
// deleted) when it is done or a resource is linked — then something was
// stored, and a retry must take the key over after its lease to resume that
// resource rather than start a second one.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, tenant, key, owner string) error {
	res, err := s.exec(ctx, s.d.q(`DELETE FROM idempotency_keys
		WHERE tenant = ? AND idem_key = ? AND state = ? AND resource_id = '' AND owner = ?`),
		tenant, key, store.IdemInProgress, owner)
	if err != nil {
		return fmt.Errorf("sqlstore: release idempotency key: %w", err)
	}
	return s.idemChanged(ctx, res, tenant, key, owner, "release")
}

// idemChanged turns "no row changed" of a conditional statement on an
// in-progress key into ErrNotFound or ErrConflict.
func (s *Store) idemChanged(ctx context.Context, res sql.Result, tenant, key, owner, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: %s idempotency key: %w", what, err)
	}
	if n > 0 {
		return nil
	}
	rec, err := s.getIdem(ctx, s.rw(ctx), tenant, key)
	if err != nil {
		return fmt.Errorf("sqlstore: %s idempotency key: %w", what, err)
	}
	if rec.State == store.IdemInProgress && rec.Owner != owner {
		return fmt.Errorf("sqlstore: %s idempotency key: %w: another claimant owns it now", what, store.ErrConflict)
	}
	if rec.State == store.IdemInProgress && rec.ResourceID != "" {
		return fmt.Errorf("sqlstore: %s idempotency key: %w: %s is linked to it", what, store.ErrConflict, rec.ResourceID)
	}
	return fmt.Errorf("sqlstore: %s idempotency key: %w: it is %s", what, store.ErrConflict, rec.State)
}

// GetIdempotencyKey reads a key; ErrNotFound when it does not exist.
func (s *Store) GetIdempotencyKey(ctx context.Context, tenant, key string) (store.IdemRecord, error) {
	return s.getIdem(ctx, s.rq(ctx), tenant, key)
}

func (s *Store) getIdem(ctx context.Context, q querier, tenant, key string) (store.IdemRecord, error) {
	rec, err := scanIdem(q.QueryRowContext(ctx, s.d.q(idemTable.sel+` WHERE tenant = ? AND idem_key = ?`), tenant, key))
	if errors.Is(err, sql.ErrNoRows) {
		return rec, fmt.Errorf("%w: idempotency key", store.ErrNotFound)
	}
	if err != nil {
		return rec, fmt.Errorf("sqlstore: get idempotency key: %w", err)
	}
	return rec, nil
}

// linkInTx links a new object to its idempotency key inside the
// transaction that inserts it (store.IdemLink); a nil link does nothing.
// ErrTakenOver when the key's owner is no longer link.Owner, so the caller
// rolls the insert back.
func (s *Store) linkInTx(ctx context.Context, q querier, link *store.IdemLink, resourceID string) error {
	if link == nil {
		return nil
	}
	res, err := q.ExecContext(ctx, s.d.q(`UPDATE idempotency_keys SET resource_id = ?, updated_at = ?
		WHERE tenant = ? AND idem_key = ? AND state = ? AND owner = ?`),
		resourceID, micros(link.Now), link.Tenant, link.Key, store.IdemInProgress, link.Owner)
	if err != nil {
		return fmt.Errorf("sqlstore: link idempotency key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: link idempotency key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: link %s to idempotency key: %w", resourceID, store.ErrTakenOver)
	}
	return nil
}

// insertLinked runs a single-statement insert, in a transaction with the
// link to its idempotency key when there is one.
func (s *Store) insertLinked(ctx context.Context, link *store.IdemLink, resourceID string, insert func(q querier) error) error {
	if link == nil {
		q, err := s.wq(ctx)
		if err != nil {
			return err
		}
		return insert(q)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.linkInTx(ctx, tx, link, resourceID); err != nil {
			return err
		}
		return insert(tx)
	})
}

// nodeRow is a row of the nodes table: when a node was last seen.
type nodeRow struct {
	id     string
	seenAt time.Time
}

// nodeTable is the nodes table.
var nodeTable = newTable("nodes", "node", nil,
	str("id", func(n *nodeRow) *string { return &n.id }),
	timeCol("seen_at", func(n *nodeRow) *time.Time { return &n.seenAt }),
)

var heartbeat = nodeTable.insert + ` ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`

// Heartbeat records that node is alive at now.
func (s *Store) Heartbeat(ctx context.Context, node string, now time.Time) error {
	args, err := nodeTable.args(&nodeRow{id: node, seenAt: now})
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, s.d.q(heartbeat), args...); err != nil {
		return fmt.Errorf("sqlstore: heartbeat: %w", err)
	}
	return nil
}

// NodeSeen returns when node was last seen; ErrNotFound when it never was.
func (s *Store) NodeSeen(ctx context.Context, node string) (time.Time, error) {
	n, err := nodeTable.scan(s.rq(ctx).QueryRowContext(ctx, s.d.q(nodeTable.sel+` WHERE id = ?`), node))
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("sqlstore: node %s: %w", node, store.ErrNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlstore: node %s: %w", node, err)
	}
	return n.seenAt, nil
}

// RemoveNode forgets node, and every node not seen since before.
func (s *Store) RemoveNode(ctx context.Context, node string, before time.Time) error {
	if _, err := s.exec(ctx, s.d.q(`DELETE FROM nodes WHERE id = ? OR seen_at < ?`), node, micros(before)); err != nil {
		return fmt.Errorf("sqlstore: remove node: %w", err)
	}
	return nil
}
