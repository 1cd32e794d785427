package sqlstore

import (
	"container/list"
	"context"
	"sync"
)

// SQLite statements are prepared once per connection: modernc.org/sqlite
// parses and plans a query's text again at every ExecContext and
// QueryContext of a connection (14–18 % of a server's CPU under load), so
// the guard of an SQLite connection keeps the statements it ran, by query
// text, in a small LRU cache and runs the cached one the next time. A
// statement is used by one call at a time: a query of the same text while
// the Rows of the cached one are still open (a nested query while
// iterating) is prepared afresh, uncached. Errors go through the guard
// exactly as those of an uncached statement.
//
// PostgreSQL needs none of this: pgx's database/sql driver already prepares
// each query text once per connection and caches it (pgx v5's default
// QueryExecModeCacheStatement, 512 statements per connection), so its
// connections have no stmtCache.

// sqliteStmtCacheSize bounds the statements one SQLite connection keeps
// prepared; the store's queries are far fewer.
const sqliteStmtCacheSize = 256

// stmtCache is the prepared statements of one connection, most recently
// used first.
type stmtCache struct {
	mu      sync.Mutex
	max     int
	byQuery map[string]*list.Element // of *cachedStmt
	lru     list.List                // front: most recently used
	closed  bool
}

// cachedStmt is one prepared statement of a stmtCache.
type cachedStmt struct {
	query   string
	st      *guardStmt
	busy    bool // a call, or Rows it returned, is using it
	evicted bool // no longer in the cache: closed once it is not busy
}

func newStmtCache(max int) *stmtCache {
	return &stmtCache{max: max, byQuery: make(map[string]*list.Element)}
}

// acquire returns the cached statement of query, prepared with prepare when
// not cached yet, marked busy until release. It returns nil and no error
// when the cached statement is busy or the connection closed: the caller
// then runs the query uncached.
func (sc *stmtCache) acquire(ctx context.Context, query string, prepare func(context.Context, string) (*guardStmt, error)) (*cachedStmt, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return nil, nil
	}
	if e, ok := sc.byQuery[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		sc.lru.MoveToFront(e)
		cs.busy = true
		return cs, nil
	}
	st, err := prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, st: st, busy: true}
	sc.byQuery[query] = sc.lru.PushFront(cs)
	for sc.lru.Len() > sc.max {
		sc.drop(sc.lru.Back())
	}
	return cs, nil
}

// release ends a use of cs begun by acquire.
func (sc *stmtCache) release(cs *cachedStmt) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	cs.busy = false
	if cs.evicted {
		// as in drop: the error of closing is that of the last run, reported already
		_ = cs.st.Close()
	}
}

// drop removes e from the cache and closes its statement, at once when it
// is not busy and else at its release.
func (sc *stmtCache) drop(e *list.Element) {
	cs := e.Value.(*cachedStmt)
	sc.lru.Remove(e)
	delete(sc.byQuery, cs.query)
	cs.evicted = true
	if !cs.busy {
		// the error of closing a statement is that of its last run,
		// already reported to its caller
		_ = cs.st.Close()
	}
}

// close closes the cached statements, before their connection closes
// (database/sql closes a connection only when no Rows of it are open; a
// statement still busy would be closed at its release), and makes the
// cache prepare no more.
func (sc *stmtCache) close() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.closed = true
	for sc.lru.Len() > 0 {
		sc.drop(sc.lru.Front())
	}
}
