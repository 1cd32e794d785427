package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/payhost/payhost/host/store"
)

// merchantTable is the merchants table; its rows are store.Merchant.
var merchantTable = newTable("merchants", "merchant", []string{"seq"},
	str("id", func(m *store.Merchant) *string { return &m.ID }),
	str("tenant", func(m *store.Merchant) *string { return &m.Tenant }),
	str("idempotency_key", func(m *store.Merchant) *string { return &m.IdempotencyKey }),
	str("account", func(m *store.Merchant) *string { return &m.Account }),
	str("plugin", func(m *store.Merchant) *string { return &m.Plugin }),
	str("kind", func(m *store.Merchant) *string { return &m.Kind }),
	str("name", func(m *store.Merchant) *string { return &m.Name }),
	str("status", func(m *store.Merchant) *string { return &m.Status }),
	str("stage", func(m *store.Merchant) *string { return &m.Stage }),
	textCol("application", func(m *store.Merchant) *[]byte { return &m.Application }),
	textCol("sealed", func(m *store.Merchant) *[]byte { return &m.Sealed }),
	str("provider_id", func(m *store.Merchant) *string { return &m.ProviderID }),
	mapCol("issued", func(m *store.Merchant) *map[string]string { return &m.Issued }),
	mapCol("provider_data", func(m *store.Merchant) *map[string]string { return &m.ProviderData }),
	str("message", func(m *store.Merchant) *string { return &m.Message }),
	str("failure_code", func(m *store.Merchant) *string { return &m.FailureCode }),
	str("failure_message", func(m *store.Merchant) *string { return &m.FailureMessage }),
	str("provider_code", func(m *store.Merchant) *string { return &m.ProviderCode }),
	timeCol("created_at", func(m *store.Merchant) *time.Time { return &m.CreatedAt }),
	timeCol("updated_at", func(m *store.Merchant) *time.Time { return &m.UpdatedAt }),
	timeCol("submitted_at", func(m *store.Merchant) *time.Time { return &m.SubmittedAt }),
	timeCol("next_poll_at", func(m *store.Merchant) *time.Time { return &m.NextPollAt }),
	num("poll_attempts", func(m *store.Merchant) *int { return &m.PollAttempts }),
)

// InsertMerchant stores m; ErrDuplicate when its ID exists.
func (s *Store) InsertMerchant(ctx context.Context, m *store.Merchant) error {
	args, err := merchantTable.args(m)
	if err != nil {
		return err
	}
	if m.ID == "" || m.Status == "" || m.Account == "" {
		return errors.New("sqlstore: insert merchant: ID, Account and Status are required")
	}
	return s.insertLinked(ctx, m.Link, m.ID, func(q querier) error {
		res, err := q.ExecContext(ctx, s.d.q(merchantTable.insertNew), args...)
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
	return getByID(ctx, s, q, merchantTable, id, "")
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
		m, err = merchantTable.scan(q.QueryRowContext(ctx, s.d.q(query+` RETURNING `+merchantTable.list), args...))
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
		RETURNING `+merchantTable.list), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim merchants to poll: %w", err)
	}
	return merchantTable.collect(rows, "claim merchants to poll")
}

// documentTable is the merchant_documents table; its rows are
// store.MerchantDocument.
var documentTable = newTable("merchant_documents", "merchant document", []string{"seq"},
	str("id", func(d *store.MerchantDocument) *string { return &d.ID }),
	str("merchant_id", func(d *store.MerchantDocument) *string { return &d.MerchantID }),
	str("doc_type", func(d *store.MerchantDocument) *string { return &d.Type }),
	str("file_name", func(d *store.MerchantDocument) *string { return &d.FileName }),
	str("content_type", func(d *store.MerchantDocument) *string { return &d.ContentType }),
	num("size", func(d *store.MerchantDocument) *int64 { return &d.Size }),
	str("sha256", func(d *store.MerchantDocument) *string { return &d.SHA256 }),
	str("description", func(d *store.MerchantDocument) *string { return &d.Description }),
	str("provider_document_id", func(d *store.MerchantDocument) *string { return &d.ProviderDocumentID }),
	timeCol("created_at", func(d *store.MerchantDocument) *time.Time { return &d.CreatedAt }),
)

// InsertMerchantDocument stores d; ErrDuplicate when its ID exists,
// ErrNotFound when its merchant does not.
func (s *Store) InsertMerchantDocument(ctx context.Context, d *store.MerchantDocument) error {
	args, err := documentTable.args(d)
	if err != nil {
		return err
	}
	if d.ID == "" || d.Type == "" {
		return errors.New("sqlstore: insert merchant document: ID and Type are required")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.merchantExists(ctx, tx, d.MerchantID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.d.q(documentTable.insertNew), args...)
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
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(documentTable.sel+` WHERE merchant_id = ? ORDER BY seq`), merchantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list merchant documents: %w", err)
	}
	return documentTable.collect(rows, "list merchant documents")
}

// requestTable is the merchant_requests table; its rows are
// store.MerchantRequest, without their items.
var requestTable = newTable("merchant_requests", "merchant request", []string{"seq"},
	str("id", func(r *store.MerchantRequest) *string { return &r.ID }),
	str("tenant", func(r *store.MerchantRequest) *string { return &r.Tenant }),
	str("merchant_id", func(r *store.MerchantRequest) *string { return &r.MerchantID }),
	str("kind", func(r *store.MerchantRequest) *string { return &r.Kind }),
	str("idempotency_key", func(r *store.MerchantRequest) *string { return &r.IdempotencyKey }),
	str("status", func(r *store.MerchantRequest) *string { return &r.Status }),
	textCol("params", func(r *store.MerchantRequest) *[]byte { return &r.Params }),
	str("account_id", func(r *store.MerchantRequest) *string { return &r.AccountID }),
	str("message", func(r *store.MerchantRequest) *string { return &r.Message }),
	str("failure_code", func(r *store.MerchantRequest) *string { return &r.FailureCode }),
	str("failure_message", func(r *store.MerchantRequest) *string { return &r.FailureMessage }),
	str("provider_code", func(r *store.MerchantRequest) *string { return &r.ProviderCode }),
	mapCol("provider_data", func(r *store.MerchantRequest) *map[string]string { return &r.ProviderData }),
	timeCol("created_at", func(r *store.MerchantRequest) *time.Time { return &r.CreatedAt }),
	timeCol("updated_at", func(r *store.MerchantRequest) *time.Time { return &r.UpdatedAt }),
	timeCol("next_poll_at", func(r *store.MerchantRequest) *time.Time { return &r.NextPollAt }),
	num("poll_attempts", func(r *store.MerchantRequest) *int { return &r.PollAttempts }),
)

// itemRow is a row of merchant_request_items: an item of a request, at its
// place among the request's items.
type itemRow struct {
	requestID string
	seq       int
	store.MerchantRequestItem
}

// itemTable is the merchant_request_items table.
var itemTable = newTable("merchant_request_items", "merchant request item", nil,
	str("request_id", func(it *itemRow) *string { return &it.requestID }),
	str("name", func(it *itemRow) *string { return &it.Name }),
	num("seq", func(it *itemRow) *int { return &it.seq }),
	str("status", func(it *itemRow) *string { return &it.Status }),
	str("message", func(it *itemRow) *string { return &it.Message }),
	str("sub_merchant_code", func(it *itemRow) *string { return &it.SubMerchantCode }),
	str("qr_code", func(it *itemRow) *string { return &it.QRCode }),
	str("apply_state", func(it *itemRow) *string { return &it.ApplyState }),
	str("authorize_state", func(it *itemRow) *string { return &it.AuthorizeState }),
	timeCol("updated_at", func(it *itemRow) *time.Time { return &it.UpdatedAt }),
)

// itemsOfRequest reads the items of one request, in their order.
var itemsOfRequest = itemTable.sel + ` WHERE request_id = ? ORDER BY seq, name`

// InsertMerchantRequest stores r and its items in one transaction;
// ErrDuplicate when its ID (or an item name) repeats, ErrNotFound when its
// merchant does not exist.
func (s *Store) InsertMerchantRequest(ctx context.Context, r *store.MerchantRequest) error {
	args, err := requestTable.args(r)
	if err != nil {
		return err
	}
	items := make([]itemRow, len(r.Items))
	for i := range r.Items {
		items[i] = itemRow{requestID: r.ID, seq: i + 1, MerchantRequestItem: r.Items[i]}
		if _, err := itemTable.args(&items[i]); err != nil { // its text, checked before anything is stored
			return err
		}
	}
	if r.ID == "" || r.Status == "" || r.Kind == "" {
		return errors.New("sqlstore: insert merchant request: ID, Kind and Status are required")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.linkInTx(ctx, tx, r.Link, r.ID); err != nil {
			return err
		}
		if err := s.merchantExists(ctx, tx, r.MerchantID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.d.q(requestTable.insertNew), args...)
		if err != nil {
			return fmt.Errorf("sqlstore: insert merchant request: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: insert merchant request: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: merchant request %s", store.ErrDuplicate, r.ID)
		}
		for i := range items {
			if err := s.insertItem(ctx, tx, &items[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertItem stores an item of a request.
func (s *Store) insertItem(ctx context.Context, tx *sql.Tx, it *itemRow) error {
	if it.Name == "" || it.Status == "" {
		return errors.New("sqlstore: merchant request item: Name and Status are required")
	}
	args, err := itemTable.args(it)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, s.d.q(itemTable.insertNew), args...)
	if err != nil {
		return fmt.Errorf("sqlstore: insert merchant request item: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: insert merchant request item: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: item %s of merchant request %s", store.ErrDuplicate, it.Name, it.requestID)
	}
	return nil
}

// GetMerchantRequest reads a request with its items; ErrNotFound when it
// does not exist.
func (s *Store) GetMerchantRequest(ctx context.Context, id string) (*store.MerchantRequest, error) {
	return s.getRequest(ctx, s.rq(ctx), id)
}

func (s *Store) getRequest(ctx context.Context, q querier, id string) (*store.MerchantRequest, error) {
	r, err := getByID(ctx, s, q, requestTable, id, "")
	if err != nil {
		return nil, err
	}
	if err := s.loadItems(ctx, q, []*store.MerchantRequest{r}, itemsOfRequest, id); err != nil {
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
	items, err := itemTable.collect(rows, "read merchant request items")
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

// itemsOfMerchant reads the items of a merchant's requests, in their order.
var itemsOfMerchant = `SELECT ` + itemTable.listAs("i") + ` FROM merchant_request_items i
	JOIN merchant_requests r ON r.id = i.request_id WHERE r.merchant_id = ? ORDER BY i.seq, i.name`

// ListMerchantRequests lists a merchant's requests with their items, oldest first.
func (s *Store) ListMerchantRequests(ctx context.Context, merchantID string) ([]*store.MerchantRequest, error) {
	rows, err := s.rq(ctx).QueryContext(ctx, s.d.q(requestTable.sel+` WHERE merchant_id = ? ORDER BY seq`), merchantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list merchant requests: %w", err)
	}
	rs, err := requestTable.collect(rows, "list merchant requests")
	if err != nil || len(rs) == 0 {
		return rs, err
	}
	err = s.loadItems(ctx, s.rq(ctx), rs, itemsOfMerchant, merchantID)
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
			return s.insertItem(ctx, tx, &itemRow{requestID: u.RequestID, seq: seq + 1, MerchantRequestItem: store.MerchantRequestItem{
				Name: u.Name, Status: u.To, Message: deref(u.Message), SubMerchantCode: deref(u.SubMerchantCode),
				QRCode: deref(u.QRCode), ApplyState: deref(u.ApplyState), AuthorizeState: deref(u.AuthorizeState), UpdatedAt: u.Now}})
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
		RETURNING `+requestTable.list), micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim merchant requests to poll: %w", err)
	}
	rs, err := requestTable.collect(rows, "claim merchant requests to poll")
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if err := s.loadItems(ctx, s.rw(ctx), []*store.MerchantRequest{r}, itemsOfRequest, r.ID); err != nil {
			return nil, err
		}
	}
	return rs, nil
}
