package caps

import (
	"sync"
	"time"
)

// Cache limits.
const (
	// MaxCacheEntries is the most entries one plugin account may keep: one
	// account cannot fill the cache and evict the others' entries.
	MaxCacheEntries    = 64
	MaxCacheValueBytes = 64 << 10
	MaxCacheKeyBytes   = 256
	MaxCacheTTL        = 24 * time.Hour
)

// Cache is the small key/value store plugins use (e.g. an OAuth token),
// namespaced per plugin and account, with a TTL and size caps per
// namespace.
type Cache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]map[string]cacheEntry // namespace → key → entry
}

type cacheEntry struct {
	v       []byte
	expires time.Time
}

// NewCache returns an empty cache using the given clock.
func NewCache(now func() time.Time) *Cache {
	return &Cache{now: now, m: map[string]map[string]cacheEntry{}}
}

func (c *Cache) get(ns, k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[ns][k]
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	return append([]byte(nil), e.v...), true
}

// set stores a value; when the namespace is full, expired entries go
// first, then the one closest to expiry: a plugin evicts only its own.
func (c *Cache) set(ns, k string, v []byte, ttl time.Duration) {
	if len(v) > MaxCacheValueBytes || len(k) > MaxCacheKeyBytes || ttl <= 0 {
		return
	}
	ttl = min(ttl, MaxCacheTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	entries := c.m[ns]
	if entries == nil {
		entries = map[string]cacheEntry{}
		c.m[ns] = entries
	}
	if _, ok := entries[k]; !ok && len(entries) >= MaxCacheEntries {
		var soonest string
		for key, e := range entries {
			if !now.Before(e.expires) {
				delete(entries, key)
			} else if soonest == "" || e.expires.Before(entries[soonest].expires) {
				soonest = key
			}
		}
		if len(entries) >= MaxCacheEntries {
			delete(entries, soonest)
		}
	}
	entries[k] = cacheEntry{v: append([]byte(nil), v...), expires: now.Add(ttl)}
}
