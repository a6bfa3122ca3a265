package auth

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/store"
)

// keyCache holds each tenant's key set (private halves opened) for a few
// seconds, so issuing a token costs no database round trip and no unseal.
// Staleness is harmless: a new key is published long before it signs.
type keyCache struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[store.TenantID]cachedKeys
}

type cachedKeys struct {
	set     keys.KeySet
	expires time.Time
}

func newKeyCache(now func() time.Time) *keyCache {
	return &keyCache{now: now, entries: map[store.TenantID]cachedKeys{}}
}

func (c *keyCache) get(t store.TenantID) (keys.KeySet, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[t]
	if !ok || c.now().After(e.expires) {
		return keys.KeySet{}, false
	}
	return e.set, true
}

func (c *keyCache) put(t store.TenantID, set keys.KeySet) {
	c.mu.Lock()
	c.entries[t] = cachedKeys{set: set, expires: c.now().Add(keyCacheTTL)}
	c.mu.Unlock()
}

func (c *keyCache) drop(t store.TenantID) {
	c.mu.Lock()
	delete(c.entries, t)
	c.mu.Unlock()
}

var stateNames = map[keys.KeyState]string{keys.StateNext: "next", keys.StateActive: "active",
	keys.StateRetiring: "retiring", keys.StateRetired: "retired"}

func stateOf(name string) keys.KeyState {
	for k, v := range stateNames {
		if v == name {
			return k
		}
	}
	return keys.StateRetired
}

// keySet returns the tenant's key set in tx, from the cache when fresh.
func (s *Service) keySet(ctx context.Context, tx *store.Tx) (keys.KeySet, error) {
	if set, ok := s.keys.get(tx.Tenant()); ok {
		return set, nil
	}
	stored, err := tx.SigningKeys(ctx)
	if err != nil {
		return keys.KeySet{}, err
	}
	set := keys.KeySet{Policy: s.cfg.KeyPolicy}
	for _, sk := range stored {
		k := keys.SigningKey{KID: sk.KID, Public: ed25519.PublicKey(sk.PublicKey), State: stateOf(sk.State),
			PublishedAt: sk.PublishedAt, NotBefore: sk.NotBefore}
		if sk.RetireAt != nil {
			k.RetireAt = *sk.RetireAt
		}
		if k.State == keys.StateActive || k.State == keys.StateNext {
			if k.Private, err = keys.OpenPrivateKey(ctx, s.cfg.KEK, tx.Tenant().String(), sk.KID, sk.PrivateSealed); err != nil {
				return keys.KeySet{}, fmt.Errorf("auth: open signing key %s: %w", sk.KID, err)
			}
		}
		set.Keys = append(set.Keys, k)
	}
	s.keys.put(tx.Tenant(), set)
	return set, nil
}

// BootstrapKeys gives a new tenant its first, active signing key. tx must
// be scoped to the tenant.
func (s *Service) BootstrapKeys(ctx context.Context, tx *store.Tx, actor store.Actor) error {
	set, tr, err := keys.Bootstrap(keys.KeySet{Policy: s.cfg.KeyPolicy}, s.cfg.Now(), s.cfg.Rand)
	if err != nil {
		return err
	}
	return s.persistTransitions(ctx, tx, actor, set, tr)
}

// RotateKeys advances the tenant's key rotation to now. With force, a next
// key is published now even when the schedule would wait (it still signs
// only after the publish lead). It returns the transitions made.
func (s *Service) RotateKeys(ctx context.Context, tx *store.Tx, actor store.Actor, force bool) ([]keys.Transition, error) {
	if err := tx.LockSigningKeys(ctx); err != nil {
		return nil, err
	}
	s.keys.drop(tx.Tenant())
	set, err := s.keySet(ctx, tx)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	next, tr, err := keys.Rotate(set, now, s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	if force && !hasState(next, keys.StateNext) {
		k, err := keys.GenerateSigningKey(s.cfg.Rand)
		if err != nil {
			return nil, err
		}
		k.State, k.PublishedAt, k.NotBefore = keys.StateNext, now, now.Add(s.cfg.KeyPolicy.PublishLead)
		next.Keys = append(next.Keys, k)
		tr = append(tr, keys.Transition{KID: k.KID, To: keys.StateNext, At: now})
	}
	if err := s.persistTransitions(ctx, tx, actor, next, tr); err != nil {
		return nil, err
	}
	s.keys.drop(tx.Tenant())
	return tr, nil
}

func hasState(set keys.KeySet, st keys.KeyState) bool {
	for _, k := range set.Keys {
		if k.State == st {
			return true
		}
	}
	return false
}

// persistTransitions writes each changed key with its audit and outbox row.
// Retirements are written before promotions so at most one key is active.
func (s *Service) persistTransitions(ctx context.Context, tx *store.Tx, actor store.Actor, set keys.KeySet, tr []keys.Transition) error {
	byKID := map[string]keys.SigningKey{}
	for _, k := range set.Keys {
		byKID[k.KID] = k
	}
	ordered := make([]keys.Transition, 0, len(tr))
	for _, pass := range []func(keys.Transition) bool{
		func(t keys.Transition) bool { return t.To != keys.StateActive },
		func(t keys.Transition) bool { return t.To == keys.StateActive },
	} {
		for _, t := range tr {
			if pass(t) {
				ordered = append(ordered, t)
			}
		}
	}
	for _, t := range ordered {
		k := byKID[t.KID]
		sk := store.StoredKey{KID: k.KID, PublicKey: k.Public, State: stateNames[k.State], PublishedAt: k.PublishedAt,
			NotBefore: k.NotBefore, KEKID: s.cfg.KEK.KeyID()}
		if !k.RetireAt.IsZero() {
			at := k.RetireAt
			sk.RetireAt = &at
		}
		isNew := t.From == 0 && k.Private != nil
		if isNew {
			sealed, err := keys.SealPrivateKey(ctx, s.cfg.KEK, tx.Tenant().String(), k)
			if err != nil {
				return err
			}
			sk.PrivateSealed = sealed
		}
		if err := tx.PutSigningKey(ctx, actor, sk, isNew); err != nil {
			return err
		}
	}
	return nil
}

// JWKS returns the tenant's published public keys.
func (s *Service) JWKS(ctx context.Context, slug string) (keys.JWKS, error) {
	var out keys.JWKS
	err := s.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		set, err := s.keySet(ctx, tx)
		out = set.JWKS(s.cfg.Now())
		return err
	})
	return out, err
}
