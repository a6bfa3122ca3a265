package decide

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
	"unsafe"

	"github.com/melmastoon/iam/authz"
)

// Claims are the verified claims of an access token. AMR is shared with
// the cache: do not modify it.
type Claims struct {
	TenantID  string // tid: the tenant UUID
	Subject   string // sub: the account id
	SessionID string // sid; "" when the token has none
	TokenID   string // jti
	Issuer    string
	AMR       []string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// VerifyToken verifies an access token and returns its claims, or an error
// wrapping one refusal sentinel (see Reason). A token verified before and
// still cached costs one SHA-256 and one map lookup; the signature is not
// checked again.
func (d *Decider) VerifyToken(token string) (Claims, error) {
	if token == "" || len(token) > d.cfg.MaxTokenBytes {
		return Claims{}, ErrMalformed
	}
	now := d.cfg.Now()
	var key [32]byte
	if d.cache != nil {
		// A read-only view of the token's bytes: hashing must not copy the
		// token on the cached path (it is the hot path of every check).
		key = sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token))) //nolint:gosec // G103: read-only, never retained

		if c, ok := d.cache.get(&key, now); ok {
			if d.cachingOn(c.TenantID, c.Subject) {
				d.hits.Add(1)
				return c, nil
			}
		}
	}
	d.misses.Add(1)
	epoch := d.epoch.Load()
	tid, ok := unverifiedTenant(token)
	if !ok {
		return Claims{}, ErrMalformed
	}
	ts := d.tenant(tid)
	if !ts.live() {
		return Claims{}, ErrUnknownTenant
	}
	ac, err := ts.verifier.Verify(token)
	if err != nil {
		return Claims{}, fromKeys(err)
	}
	if ac.TenantID != tid || ac.ExpiresAt == nil {
		return Claims{}, ErrMalformed
	}
	if ac.SessionID != "" && d.isRevoked(tid, ac.SessionID) {
		return Claims{}, ErrRevokedSession
	}
	// An empty organization stops authz's resolution right after the
	// account: unknown_org means the tenant and the account are fine.
	switch d.engine.Check(authz.TenantID(tid), authz.AccountID(ac.Subject), "", "").Reason {
	case authz.ReasonUnknownOrg:
	case authz.ReasonUnknownTenant, authz.ReasonTenantDeleted:
		return Claims{}, ErrUnknownTenant
	default:
		return Claims{}, ErrAccountInactive
	}
	c := Claims{TenantID: tid, Subject: ac.Subject, SessionID: ac.SessionID, TokenID: ac.ID, Issuer: ac.Issuer,
		AMR: ac.AMR, ExpiresAt: ac.ExpiresAt.Time}
	if ac.IssuedAt != nil {
		c.IssuedAt = ac.IssuedAt.Time
	}
	if d.cache != nil && now.Before(c.ExpiresAt) && d.cachingOn(tid, c.Subject) {
		d.cache.put(&key, c, epoch, d.epoch.Load)
	}
	return c, nil
}

// unverifiedTenant reads the tid claim of a compact JWS without verifying
// it: it only selects the key set and issuer the token is verified with.
func unverifiedTenant(token string) (string, bool) {
	_, rest, ok := strings.Cut(token, ".")
	if !ok {
		return "", false
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", false
	}
	var p struct {
		TID string `json:"tid"`
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.TID == "" {
		return "", false
	}
	return p.TID, true
}

// CacheLen returns the number of cached verified tokens.
func (d *Decider) CacheLen() int {
	if d.cache == nil {
		return 0
	}
	return d.cache.len()
}

// cachingOn reports whether account's verified tokens may be cached
// (iam_permission_caching_enabled); one map lookup when the tenant has no
// flag rules.
func (d *Decider) cachingOn(tenant, account string) bool {
	return d.tenant(tenant).flagOn(account, FlagPermissionCaching)
}
