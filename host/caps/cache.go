package caps

import (
	"sync"
	"time"
)

// Cache limits.
const (
	MaxCacheEntries    = 1024
	MaxCacheValueBytes = 64 << 10
	MaxCacheTTL        = 24 * time.Hour
)

// Cache is the small key/value store plugins use (e.g. an OAuth token),
// namespaced per plugin and account, with a TTL and size caps.
type Cache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cacheEntry
}

type cacheEntry struct {
	v       []byte
	expires time.Time
}

// NewCache returns an empty cache using the given clock.
func NewCache(now func() time.Time) *Cache {
	return &Cache{now: now, m: map[string]cacheEntry{}}
}

func (c *Cache) get(ns, k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[ns+"\x00"+k]
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	return append([]byte(nil), e.v...), true
}

func (c *Cache) set(ns, k string, v []byte, ttl time.Duration) {
	if len(v) > MaxCacheValueBytes || ttl <= 0 {
		return
	}
	ttl = min(ttl, MaxCacheTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.m) >= MaxCacheEntries {
		for key, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= MaxCacheEntries {
			return
		}
	}
	c.m[ns+"\x00"+k] = cacheEntry{v: append([]byte(nil), v...), expires: now.Add(ttl)}
}
