package auth

import (
	"hash/maphash"
	"sync"
	"time"
)

// Source-address throttling defaults.
const (
	throttleShards      = 64
	throttleWindow      = 5 * time.Minute
	throttleMaxFailures = 20               // failures per window before back-off
	throttleBaseBackoff = 30 * time.Second // doubles per further failure
	throttleMaxBackoff  = 15 * time.Minute
	throttleMaxEntries  = 100_000 // per shard cap; oldest window entries are swept
)

// sourceThrottle counts failed sign-ins per source address. State is sharded
// by a hash of the address so concurrent logins never contend on one lock.
type sourceThrottle struct {
	seed   maphash.Seed
	shards [throttleShards]throttleShard
	now    func() time.Time
}

type throttleShard struct {
	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	windowStart  time.Time
	failures     int
	blockedUntil time.Time
}

func newSourceThrottle(now func() time.Time) *sourceThrottle {
	t := &sourceThrottle{seed: maphash.MakeSeed(), now: now}
	for i := range t.shards {
		t.shards[i].entries = map[string]*throttleEntry{}
	}
	return t
}

func (t *sourceThrottle) shard(addr string) *throttleShard {
	return &t.shards[maphash.String(t.seed, addr)%throttleShards]
}

// Blocked reports how long addr must still wait (0: not blocked).
func (t *sourceThrottle) Blocked(addr string) time.Duration {
	s := t.shard(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[addr]
	if !ok {
		return 0
	}
	return max(0, e.blockedUntil.Sub(t.now()))
}

// Fail records a failure; past the threshold each further failure doubles
// the block.
func (t *sourceThrottle) Fail(addr string) {
	now := t.now()
	s := t.shard(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[addr]
	if !ok || now.Sub(e.windowStart) > throttleWindow && now.After(e.blockedUntil) {
		if len(s.entries) >= throttleMaxEntries {
			s.sweep(now)
		}
		e = &throttleEntry{windowStart: now}
		s.entries[addr] = e
	}
	e.failures++
	if over := e.failures - throttleMaxFailures; over > 0 {
		backoff := throttleBaseBackoff << min(over-1, 10)
		e.blockedUntil = now.Add(min(backoff, throttleMaxBackoff))
	}
}

// Succeed forgets addr's failures.
func (t *sourceThrottle) Succeed(addr string) {
	s := t.shard(addr)
	s.mu.Lock()
	delete(s.entries, addr)
	s.mu.Unlock()
}

func (s *throttleShard) sweep(now time.Time) {
	for k, e := range s.entries {
		if now.Sub(e.windowStart) > throttleWindow && now.After(e.blockedUntil) {
			delete(s.entries, k)
		}
	}
}
