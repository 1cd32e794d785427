package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/host/store"
)

const merchantCols = `id, tenant, idempotency_key, account, plugin, kind, name, status, stage, application, sealed,
	provider_id, issued, provider_data, message, failure_code, failure_message, provider_code,
	created_at, updated_at, submitted_at, next_poll_at, poll_attempts`

func scanMerchant(row interface{ Scan(...any) error }) (*store.Merchant, error) {
	var m store.Merchant
	var application, sealed, issued, providerData string
	var created, updated, submitted, nextPoll int64
	if err := row.Scan(&m.ID, &m.Tenant, &m.IdempotencyKey, &m.Account, &m.Plugin, &m.Kind, &m.Name, &m.Status,
		&m.Stage, &application, &sealed, &m.ProviderID, &issued, &providerData, &m.Message, &m.FailureCode,
		&m.FailureMessage, &m.ProviderCode, &created, &updated, &submitted, &nextPoll, &m.PollAttempts); err != nil {
		return nil, err
	}
	var err error
	if m.Issued, err = decodeMap(issued); err != nil {
		return nil, err
	}
	if m.ProviderData, err = decodeMap(providerData); err != nil {
		return nil, err
	}
	m.Application, m.Sealed = bytesOrNil([]byte(application)), bytesOrNil([]byte(sealed))
	m.CreatedAt, m.UpdatedAt, m.SubmittedAt, m.NextPollAt = fromMicros(created), fromMicros(updated), fromMicros(submitted), fromMicros(nextPoll)
	return &m, nil
}

func checkMerchant(m *store.Merchant) error {
	var c textChecker
	c.str("ID", m.ID)
	c.str("Tenant", m.Tenant)
	c.str("IdempotencyKey", m.IdempotencyKey)
	c.str("Account", m.Account)
	c.str("Plugin", m.Plugin)
	c.str("Kind", m.Kind)
	c.str("Name", m.Name)
	c.str("Status", m.Status)
	c.str("Stage", m.Stage)
	c.bytes("Application", m.Application)
	c.bytes("Sealed", m.Sealed)
	c.str("ProviderID", m.ProviderID)
	c.dict("Issued", m.Issued)
	c.dict("ProviderData", m.ProviderData)
	c.str("Message", m.Message)
	c.str("FailureCode", m.FailureCode)
	c.str("FailureMessage", m.FailureMessage)
	c.str("ProviderCode", m.ProviderCode)
	return c.err()
}

// InsertMerchant stores m; ErrDuplicate when its ID exists.
func (s *Store) InsertMerchant(ctx context.Context, m *store.Merchant) error {
	if err := checkMerchant(m); err != nil {
		return err
	}
	if m.ID == "" || m.Status == "" || m.Account == "" {
		return errors.New("sqlstore: insert merchant: ID, Account and Status are required")
	}
	issued, err := encodeMap(m.Issued)
	if err != nil {
		return err
	}
	providerData, err := encodeMap(m.ProviderData)
	if err != nil {
		return err
	}
	return s.insertLinked(ctx, m.Link, m.ID, func(q querier) error {
		res, err := q.ExecContext(ctx, s.d.q(`INSERT INTO merchants (`+merchantCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`),
			m.ID, m.Tenant, m.IdempotencyKey, m.Account, m.Plugin, m.Kind, m.Name, m.Status, m.Stage,
			string(m.Application), string(m.Sealed), m.ProviderID, issued, providerData, m.Message, m.FailureCode,
			m.FailureMessage, m.ProviderCode, micros(m.CreatedAt), micros(m.UpdatedAt), micros(m.SubmittedAt),
			micros(m.NextPollAt), m.PollAttempts)
		if err != nil {
			return fmt.Errorf("sqlstore: insert merchant: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert merchant: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: merchant %s", store.ErrDuplicate, m.ID)
		}
		return nil
	})
}

// GetMerchant reads a merchant; ErrNotFound when it does not exist.
func (s *Store) GetMerchant(ctx context.Context, id string) (*store.Merchant, error) {
	return s.getMerchant(ctx, s.rq(ctx), id)
}

func (s *Store) getMerchant(ctx context.Context, q querier, id string) (*store.Merchant, error) {
	return getByID(ctx, s, q, "merchants", merchantCols, scanMerchant, "merchant", id, "")
}

// UpdateMerchant applies u with one conditional UPDATE .. RETURNING: when
// u.From (or u.FromStage) is set the row changes only while its status (and
// stage) are those; ErrConflict otherwise, ErrNotFound when the merchant
// does not exist.
func (s *Store) UpdateMerchant(ctx context.Context, u store.MerchantUpdate) (*store.Merchant, error) {
	var c textChecker
	c.str("To", u.To)
	c.ptr("Stage", u.Stage)
	c.ptr("ProviderID", u.ProviderID)
	c.dict("Issued", u.Issued)
	c.dict("ProviderData", u.ProviderData)
	c.ptr("Message", u.Message)
	c.ptr("FailureCode", u.FailureCode)
	c.ptr("FailureMessage", u.FailureMessage)
	c.ptr("ProviderCode", u.ProviderCode)
	c.bytes("Sealed", u.Sealed)
	if err := c.err(); err != nil {
		return nil, err
	}
	var l setList
	if u.To != "" {
		l.add("status", u.To)
	}
	l.str("stage", u.Stage)
	l.str("provider_id", u.ProviderID)
	if err := l.dict("issued", u.Issued); err != nil {
		return nil, err
	}
	if err := l.dict("provider_data", u.ProviderData); err != nil {
		return nil, err
	}
	l.str("message", u.Message)
	l.str("failure_code", u.FailureCode)
	l.str("failure_message", u.FailureMessage)
	l.str("provider_code", u.ProviderCode)
	switch {
	case u.ClearSealed:
		l.add("sealed", "")
	case u.Sealed != nil:
		l.add("sealed", string(u.Sealed))
	}
	l.time("submitted_at", u.SubmittedAt)
	l.time("next_poll_at", u.NextPollAt)
	l.int("poll_attempts", u.PollAttempts)
	if !u.Now.IsZero() {
		l.add("updated_at", micros(u.Now))
	}
	query := `UPDATE merchants SET ` + l.sql() + ` WHERE id = ?`
	args := append(l.args, u.ID)
	if u.From != "" {
		query += ` AND status = ?`
		args = append(args, u.From)
	}
	if u.FromStage != "" {
		query += ` AND stage = ?`
		args = append(args, u.FromStage)
	}
	var m *store.Merchant
	err := s.inTxIf(ctx, u.Event != nil, func(q querier) error {
		var err error
		m, err = scanMerchant(q.QueryRowContext(ctx, s.d.q(query+` RETURNING `+merchantCols), args...))
		if errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err != nil {
			return fmt.Errorf("sqlstore: update merchant: %w", err)
		}
		return s.insertEvent(ctx, q, u.Event, eventObject{"merchant", m.ID, m.Tenant, m})
	})
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	cur, err := s.getMerchant(ctx, s.rw(ctx), u.ID)
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: merchant %s is %s in stage %s, not %s in stage %s", store.ErrConflict, u.ID,
		cur.Status, cur.Stage, u.From, u.FromStage)
}

// ClaimMerchantsToPoll moves the due merchants' next_poll_at to now+lease
// in one statement and returns them.
func (s *Store) ClaimMerchantsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Merchant, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.queryW(ctx, s.d.q(`UPDATE merchants SET next_poll_at = ?
		WHERE seq IN (SELECT seq FROM merchants WHERE next_poll_at <> 0 AND next_poll_at <= ?
		              ORDER BY next_poll_at, seq LIMIT ?`+s.skipLocked()+`)
		RETURNING `+merchantCols), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim merchants to poll: %w", err)
	}
	return collect(rows, scanMerchant, "claim merchants to poll")
}

const documentCols = `id, merchant_id, doc_type, file_name, content_type, size, sha256, description, provider_document_id, created_at`

func scanDocument(row interface{ Scan(...any) error }) (*store.MerchantDocument, error) {
	var d store.MerchantDocument
	var created int64
	if err := row.Scan(&d.ID, &d.MerchantID, &d.Type, &d.FileName, &d.ContentType, &d.Size, &d.SHA256,
		&d.Description, &d.ProviderDocumentID, &created); err != nil {
		return nil, err
	}
	d.CreatedAt = fromMicros(created)
	return &d, nil
}

// InsertMerchantDocument stores d; ErrDuplicate when its ID exists,
// ErrNotFound when its merchant does not.
func (s *Store) InsertMerchantDocument(ctx context.Context, d *store.MerchantDocument) error {
	var c textChecker
	c.str("ID", d.ID)
	c.str("MerchantID", d.MerchantID)
	c.str("Type", d.Type)
	c.str("FileName", d.FileName)
	c.str("ContentType", d.ContentType)
	c.str("SHA256", d.SHA256)
	c.str("Description", d.Description)
	c.str("ProviderDocumentID", d.ProviderDocumentID)
	if err := c.err(); err != nil {
		return err
	}
	if d.ID == "" || d.Type == "" {
		return errors.New("sqlstore: insert merchant document: ID and Type are required")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.merchantExists(ctx, tx, d.MerchantID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO merchant_documents (`+documentCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			d.ID, d.MerchantID, d.Type, d.FileName, d.ContentType, d.Size, d.SHA256, d.Description,
			d.ProviderDocumentID, micros(d.CreatedAt))
		if err != nil {
			return fmt.Errorf("sqlstore: insert merchant document: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert merchant document: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: merchant document %s", store.ErrDuplicate, d.ID)
		}
		return nil
	})
}

func (s *Store) merchantExists(ctx context.Context, tx *sql.Tx, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, s.d.q(`SELECT 1 FROM merchants WHERE id = ?`), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: merchant %s", store.ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: read merchant: %w", err)
	}
	return nil
}

// ListMerchantDocuments lists a merchant's documents, oldest first.
func (s *Store) ListMerchantDocuments(ctx context.Context, merchantID string) ([]*store.MerchantDocument, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(`SELECT `+documentCols+` FROM merchant_documents WHERE merchant_id = ? ORDER BY seq`), merchantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list merchant documents: %w", err)
	}
	return collect(rows, scanDocument, "list merchant documents")
}

const requestCols = `id, tenant, merchant_id, kind, idempotency_key, status, params, account_id, message,
	failure_code, failure_message, provider_code, provider_data, created_at, updated_at, next_poll_at, poll_attempts`

func scanRequest(row interface{ Scan(...any) error }) (*store.MerchantRequest, error) {
	var r store.MerchantRequest
	var params, providerData string
	var created, updated, nextPoll int64
	if err := row.Scan(&r.ID, &r.Tenant, &r.MerchantID, &r.Kind, &r.IdempotencyKey, &r.Status, &params, &r.AccountID,
		&r.Message, &r.FailureCode, &r.FailureMessage, &r.ProviderCode, &providerData, &created, &updated,
		&nextPoll, &r.PollAttempts); err != nil {
		return nil, err
	}
	var err error
	if r.ProviderData, err = decodeMap(providerData); err != nil {
		return nil, err
	}
	r.Params = bytesOrNil([]byte(params))
	r.CreatedAt, r.UpdatedAt, r.NextPollAt = fromMicros(created), fromMicros(updated), fromMicros(nextPoll)
	return &r, nil
}

const itemCols = `request_id, name, status, message, sub_merchant_code, qr_code, apply_state, authorize_state, updated_at`

func scanItem(row interface{ Scan(...any) error }) (itemRow, error) {
	var it itemRow
	var updated int64
	if err := row.Scan(&it.requestID, &it.Name, &it.Status, &it.Message, &it.SubMerchantCode, &it.QRCode,
		&it.ApplyState, &it.AuthorizeState, &updated); err != nil {
		return it, err
	}
	it.UpdatedAt = fromMicros(updated)
	return it, nil
}

type itemRow struct {
	requestID string
	store.MerchantRequestItem
}

func checkItem(c *textChecker, it *store.MerchantRequestItem) {
	c.str("Items.Name", it.Name)
	c.str("Items.Status", it.Status)
	c.str("Items.Message", it.Message)
	c.str("Items.SubMerchantCode", it.SubMerchantCode)
	c.str("Items.QRCode", it.QRCode)
	c.str("Items.ApplyState", it.ApplyState)
	c.str("Items.AuthorizeState", it.AuthorizeState)
}

// InsertMerchantRequest stores r and its items in one transaction;
// ErrDuplicate when its ID (or an item name) repeats, ErrNotFound when its
// merchant does not exist.
func (s *Store) InsertMerchantRequest(ctx context.Context, r *store.MerchantRequest) error {
	var c textChecker
	c.str("ID", r.ID)
	c.str("Tenant", r.Tenant)
	c.str("MerchantID", r.MerchantID)
	c.str("Kind", r.Kind)
	c.str("IdempotencyKey", r.IdempotencyKey)
	c.str("Status", r.Status)
	c.bytes("Params", r.Params)
	c.str("AccountID", r.AccountID)
	c.str("Message", r.Message)
	c.str("FailureCode", r.FailureCode)
	c.str("FailureMessage", r.FailureMessage)
	c.str("ProviderCode", r.ProviderCode)
	c.dict("ProviderData", r.ProviderData)
	for i := range r.Items {
		checkItem(&c, &r.Items[i])
	}
	if err := c.err(); err != nil {
		return err
	}
	if r.ID == "" || r.Status == "" || r.Kind == "" {
		return errors.New("sqlstore: insert merchant request: ID, Kind and Status are required")
	}
	providerData, err := encodeMap(r.ProviderData)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.linkInTx(ctx, tx, r.Link, r.ID); err != nil {
			return err
		}
		if err := s.merchantExists(ctx, tx, r.MerchantID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO merchant_requests (`+requestCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			r.ID, r.Tenant, r.MerchantID, r.Kind, r.IdempotencyKey, r.Status, string(r.Params), r.AccountID, r.Message,
			r.FailureCode, r.FailureMessage, r.ProviderCode, providerData, micros(r.CreatedAt), micros(r.UpdatedAt),
			micros(r.NextPollAt), r.PollAttempts)
		if err != nil {
			return fmt.Errorf("sqlstore: insert merchant request: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert merchant request: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: merchant request %s", store.ErrDuplicate, r.ID)
		}
		for i, it := range r.Items {
			if err := s.insertItem(ctx, tx, r.ID, i+1, &it); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) insertItem(ctx context.Context, tx *sql.Tx, requestID string, seq int, it *store.MerchantRequestItem) error {
	if it.Name == "" || it.Status == "" {
		return errors.New("sqlstore: merchant request item: Name and Status are required")
	}
	res, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO merchant_request_items (`+itemCols+`, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		requestID, it.Name, it.Status, it.Message, it.SubMerchantCode, it.QRCode, it.ApplyState, it.AuthorizeState,
		micros(it.UpdatedAt), seq)
	if err != nil {
		return fmt.Errorf("sqlstore: insert merchant request item: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: insert merchant request item: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: item %s of merchant request %s", store.ErrDuplicate, it.Name, requestID)
	}
	return nil
}

// GetMerchantRequest reads a request with its items; ErrNotFound when it
// does not exist.
func (s *Store) GetMerchantRequest(ctx context.Context, id string) (*store.MerchantRequest, error) {
	return s.getRequest(ctx, s.rq(ctx), id)
}

func (s *Store) getRequest(ctx context.Context, q querier, id string) (*store.MerchantRequest, error) {
	r, err := getByID(ctx, s, q, "merchant_requests", requestCols, scanRequest, "merchant request", id, "")
	if err != nil {
		return nil, err
	}
	if err := s.loadItems(ctx, q, []*store.MerchantRequest{r},
		`SELECT `+itemCols+` FROM merchant_request_items WHERE request_id = ? ORDER BY seq, name`, id); err != nil {
		return nil, err
	}
	return r, nil
}

// loadItems reads the items a query selects into their requests.
func (s *Store) loadItems(ctx context.Context, q querier, rs []*store.MerchantRequest, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return fmt.Errorf("sqlstore: read merchant request items: %w", err)
	}
	items, err := collect(rows, scanItem, "read merchant request items")
	if err != nil {
		return err
	}
	byID := make(map[string]*store.MerchantRequest, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	for _, it := range items {
		if r := byID[it.requestID]; r != nil {
			r.Items = append(r.Items, it.MerchantRequestItem)
		}
	}
	return nil
}

// ListMerchantRequests lists a merchant's requests with their items, oldest first.
func (s *Store) ListMerchantRequests(ctx context.Context, merchantID string) ([]*store.MerchantRequest, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(`SELECT `+requestCols+` FROM merchant_requests WHERE merchant_id = ? ORDER BY seq`), merchantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list merchant requests: %w", err)
	}
	rs, err := collect(rows, scanRequest, "list merchant requests")
	if err != nil || len(rs) == 0 {
		return rs, err
	}
	err = s.loadItems(ctx, s.rq(ctx), rs, `SELECT i.request_id, i.name, i.status, i.message, i.sub_merchant_code, i.qr_code,
		i.apply_state, i.authorize_state, i.updated_at FROM merchant_request_items i
		JOIN merchant_requests r ON r.id = i.request_id WHERE r.merchant_id = ? ORDER BY i.seq, i.name`, merchantID)
	return rs, err
}

// UpdateMerchantRequest applies u with one conditional UPDATE (status =
// u.From when set) and returns the request with its items; ErrConflict
// when the status differs, ErrNotFound when there is no such request.
func (s *Store) UpdateMerchantRequest(ctx context.Context, u store.MerchantRequestUpdate) (*store.MerchantRequest, error) {
	var c textChecker
	var l setList
	if err := (statusSet{To: u.To, FailureCode: u.FailureCode, FailureMessage: u.FailureMessage, ProviderCode: u.ProviderCode,
		ProviderData: u.ProviderData, NextPollAt: u.NextPollAt, PollAttempts: u.PollAttempts, Now: u.Now}).add(&c, &l); err != nil {
		return nil, err
	}
	c.ptr("AccountID", u.AccountID)
	c.ptr("Message", u.Message)
	if err := c.err(); err != nil {
		return nil, err
	}
	l.str("account_id", u.AccountID)
	l.str("message", u.Message)
	query := `UPDATE merchant_requests SET ` + l.sql() + ` WHERE id = ?`
	args := append(l.args, u.ID)
	if u.From != "" {
		query += ` AND status = ?`
		args = append(args, u.From)
	}
	var cur *store.MerchantRequest
	var n int64
	err := s.inTxIf(ctx, u.Event != nil, func(q querier) error {
		res, err := q.ExecContext(ctx, s.d.q(query), args...)
		if err != nil {
			return fmt.Errorf("sqlstore: update merchant request: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: update merchant request: %w", err)
		}
		if cur, err = s.getRequest(ctx, q, u.ID); err != nil || n == 0 {
			return err
		}
		return s.insertEvent(ctx, q, u.Event, eventObject{"merchant", cur.MerchantID, cur.Tenant, cur})
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: merchant request %s is %s, not %s", store.ErrConflict, u.ID, cur.Status, u.From)
	}
	return cur, nil
}

// SetMerchantRequestItem adds an item (u.From empty) or changes one
// conditionally on its status (u.From), and returns the request after it.
func (s *Store) SetMerchantRequestItem(ctx context.Context, u store.MerchantItemUpdate) (*store.MerchantRequest, error) {
	var c textChecker
	c.str("Name", u.Name)
	c.str("To", u.To)
	c.ptr("Message", u.Message)
	c.ptr("SubMerchantCode", u.SubMerchantCode)
	c.ptr("QRCode", u.QRCode)
	c.ptr("ApplyState", u.ApplyState)
	c.ptr("AuthorizeState", u.AuthorizeState)
	if err := c.err(); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if u.From == "" {
			var seq int
			if err := tx.QueryRowContext(ctx, s.d.q(`SELECT COUNT(*) FROM merchant_request_items WHERE request_id = ?`),
				u.RequestID).Scan(&seq); err != nil {
				return fmt.Errorf("sqlstore: merchant request item: %w", err)
			}
			var one int
			err := tx.QueryRowContext(ctx, s.d.q(`SELECT 1 FROM merchant_requests WHERE id = ?`), u.RequestID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: merchant request %s", store.ErrNotFound, u.RequestID)
			}
			if err != nil {
				return fmt.Errorf("sqlstore: merchant request item: %w", err)
			}
			it := store.MerchantRequestItem{Name: u.Name, Status: u.To, Message: deref(u.Message),
				SubMerchantCode: deref(u.SubMerchantCode), QRCode: deref(u.QRCode), ApplyState: deref(u.ApplyState),
				AuthorizeState: deref(u.AuthorizeState), UpdatedAt: u.Now}
			return s.insertItem(ctx, tx, u.RequestID, seq+1, &it)
		}
		var l setList
		if u.To != "" {
			l.add("status", u.To)
		}
		l.str("message", u.Message)
		l.str("sub_merchant_code", u.SubMerchantCode)
		l.str("qr_code", u.QRCode)
		l.str("apply_state", u.ApplyState)
		l.str("authorize_state", u.AuthorizeState)
		if !u.Now.IsZero() {
			l.add("updated_at", micros(u.Now))
		}
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE merchant_request_items SET `+l.sql()+`
			WHERE request_id = ? AND name = ? AND status = ?`), append(l.args, u.RequestID, u.Name, u.From)...)
		if err != nil {
			return fmt.Errorf("sqlstore: update merchant request item: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: update merchant request item: %w", err)
		} else if n > 0 {
			return nil
		}
		var status string
		err = tx.QueryRowContext(ctx, s.d.q(`SELECT status FROM merchant_request_items WHERE request_id = ? AND name = ?`),
			u.RequestID, u.Name).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: item %s of merchant request %s", store.ErrNotFound, u.Name, u.RequestID)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: update merchant request item: %w", err)
		}
		return fmt.Errorf("%w: item %s of merchant request %s is %s, not %s", store.ErrConflict, u.Name, u.RequestID, status, u.From)
	})
	if err != nil {
		return nil, err
	}
	return s.getRequest(ctx, s.rw(ctx), u.RequestID)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ClaimMerchantRequestsToPoll moves the due requests' next_poll_at to
// now+lease in one statement and returns them with their items.
func (s *Store) ClaimMerchantRequestsToPoll(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.MerchantRequest, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.queryW(ctx, s.d.q(`UPDATE merchant_requests SET next_poll_at = ?
		WHERE seq IN (SELECT seq FROM merchant_requests WHERE next_poll_at <> 0 AND next_poll_at <= ?
		              ORDER BY next_poll_at, seq LIMIT ?`+s.skipLocked()+`)
		RETURNING `+requestCols), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim merchant requests to poll: %w", err)
	}
	rs, err := collect(rows, scanRequest, "claim merchant requests to poll")
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if err := s.loadItems(ctx, s.rw(ctx), []*store.MerchantRequest{r},
			`SELECT `+itemCols+` FROM merchant_request_items WHERE request_id = ? ORDER BY seq, name`, r.ID); err != nil {
			return nil, err
		}
	}
	return rs, nil
}
