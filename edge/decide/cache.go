package decide

import (
	"container/list"
	"encoding/binary"
	"sync"
	"time"
)

const cacheShards = 64

// tokenCache is a sharded LRU of verified tokens keyed by SHA-256, with a
// per-shard index by session and by account for targeted drops.
type tokenCache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu        sync.Mutex
	entries   map[[32]byte]*list.Element
	lru       list.List // of *cacheEntry, most recent first
	bySession map[string]map[*cacheEntry]struct{}
	byAccount map[string]map[*cacheEntry]struct{}
}

type cacheEntry struct {
	key        [32]byte
	claims     Claims
	exp        time.Time
	sessionKey string // "" when the token has no sid
	accountKey string
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{perShard: max(1, size/cacheShards)}
	for i := range c.shards {
		s := &c.shards[i]
		s.entries = map[[32]byte]*list.Element{}
		s.bySession = map[string]map[*cacheEntry]struct{}{}
		s.byAccount = map[string]map[*cacheEntry]struct{}{}
	}
	return c
}

func indexKey(tenant, id string) string { return tenant + "\x00" + id }

func (c *tokenCache) shard(key *[32]byte) *cacheShard {
	return &c.shards[binary.LittleEndian.Uint64(key[:8])%cacheShards]
}

// get returns the claims of a cached token still valid at now.
func (c *tokenCache) get(key *[32]byte, now time.Time) (Claims, bool) {
	s := c.shard(key)
	s.mu.Lock()
	el, ok := s.entries[*key]
	if !ok {
		s.mu.Unlock()
		return Claims{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.exp) {
		s.remove(el)
		s.mu.Unlock()
		return Claims{}, false
	}
	s.lru.MoveToFront(el)
	claims := e.claims
	s.mu.Unlock()
	return claims, true
}

// put caches claims unless the epoch moved since the verify started
// (an invalidation may have missed this entry).
func (c *tokenCache) put(key *[32]byte, claims Claims, epoch uint64, current func() uint64) {
	e := &cacheEntry{key: *key, claims: claims, exp: claims.ExpiresAt,
		accountKey: indexKey(claims.TenantID, claims.Subject)}
	if claims.SessionID != "" {
		e.sessionKey = indexKey(claims.TenantID, claims.SessionID)
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if current() != epoch {
		return
	}
	if old, ok := s.entries[*key]; ok {
		s.remove(old)
	}
	for s.lru.Len() >= c.perShard {
		s.remove(s.lru.Back())
	}
	s.entries[*key] = s.lru.PushFront(e)
	addIndex(s.byAccount, e.accountKey, e)
	if e.sessionKey != "" {
		addIndex(s.bySession, e.sessionKey, e)
	}
}

func addIndex(m map[string]map[*cacheEntry]struct{}, k string, e *cacheEntry) {
	set := m[k]
	if set == nil {
		set = map[*cacheEntry]struct{}{}
		m[k] = set
	}
	set[e] = struct{}{}
}

func delIndex(m map[string]map[*cacheEntry]struct{}, k string, e *cacheEntry) {
	if set := m[k]; set != nil {
		delete(set, e)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// remove drops one entry (under s.mu).
func (s *cacheShard) remove(el *list.Element) {
	e := s.lru.Remove(el).(*cacheEntry)
	delete(s.entries, e.key)
	delIndex(s.byAccount, e.accountKey, e)
	if e.sessionKey != "" {
		delIndex(s.bySession, e.sessionKey, e)
	}
}

// drop removes every entry of a session (session true) or an account.
func (c *tokenCache) drop(key string, session bool) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		idx := s.byAccount
		if session {
			idx = s.bySession
		}
		for e := range idx[key] {
			s.remove(s.entries[e.key])
		}
		s.mu.Unlock()
	}
}

// dropTenant removes every entry of a tenant (a scan: rare events only).
func (c *tokenCache) dropTenant(tenant string) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for el := s.lru.Front(); el != nil; {
			next := el.Next()
			if el.Value.(*cacheEntry).claims.TenantID == tenant {
				s.remove(el)
			}
			el = next
		}
		s.mu.Unlock()
	}
}

// len returns the number of cached tokens.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}
