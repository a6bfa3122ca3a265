package decide

import (
	"crypto/sha256"
	"encoding/binary"
)

// Feature flag names (docs/feature-flags.md).
const (
	FlagAuthentication    = "iam_authentication_enabled"
	FlagAuthorization     = "iam_authorization_enabled"
	FlagPermissionCaching = "iam_permission_caching_enabled"
)

// flagRule is a replicated feature flag rule.
type flagRule struct {
	enabled bool
	rollout int // percent, 0-100
}

// Bucket is the stable rollout bucket (0-99) of an account: the first
// eight bytes of SHA-256(account) as a big-endian integer, modulo 100. It
// is the same for every flag, so a rollout cohort only grows as the
// percentage rises, and core, edge and clients compute it alike.
func Bucket(account string) int {
	h := sha256.Sum256([]byte(account))
	return int(binary.BigEndian.Uint64(h[:8]) % 100)
}

// Flag reports whether flag name is on for account in tenant. A flag
// without a rule is on (secure by default); an unknown or deleted tenant
// has every flag on, since its decisions are denied anyway.
func (d *Decider) Flag(tenant, account, name string) bool {
	return d.tenant(tenant).flagOn(account, name)
}

// Flags evaluates every flag of names for account with one tenant lookup
// and at most one bucket computation.
func (d *Decider) Flags(tenant, account string, names []string) map[string]bool {
	t := d.tenant(tenant)
	out := make(map[string]bool, len(names))
	bucket := -1
	for _, name := range names {
		r, ok := t.rule(name)
		if ok && bucket < 0 {
			bucket = Bucket(account)
		}
		out[name] = !ok || r.enabled && bucket < r.rollout
	}
	return out
}

// rule returns the tenant's rule for a flag; false means no rule (on).
func (t *tenantState) rule(name string) (flagRule, bool) {
	if t == nil || t.flags == nil {
		return flagRule{}, false
	}
	r, ok := t.flags[name]
	return r, ok
}

// flagOn evaluates one flag for account.
func (t *tenantState) flagOn(account, name string) bool {
	r, ok := t.rule(name)
	return !ok || r.enabled && Bucket(account) < r.rollout
}

// ResolveTenant maps a tenant id or slug to the id of a tenant the replica
// holds (live or not).
func (d *Decider) ResolveTenant(idOrSlug string) (string, bool) {
	if t := d.tenant(idOrSlug); t != nil {
		return idOrSlug, true
	}
	id, ok := (*d.slugs.Load())[idOrSlug]
	return id, ok
}

// TenantSlug returns the slug of a tenant the replica holds.
func (d *Decider) TenantSlug(id string) string {
	if t := d.tenant(id); t != nil {
		return t.slug
	}
	return ""
}

// CacheStats reports the verified-token cache's hits and misses since New
// (a miss is a full verification; tokens of accounts with
// iam_permission_caching_enabled off count as misses).
func (d *Decider) CacheStats() (hits, misses uint64) {
	return d.hits.Load(), d.misses.Load()
}
