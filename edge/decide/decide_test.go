package decide

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/edge/replica"
)

// fixture: tenant A with a 7-level organization chain, an active account
// holding 12 roles bound at different levels, a locked and a disabled
// account; tenant B with one active account.
type fixture struct {
	*env
	a, b              *producer
	orgs              []string
	acct, locked, dis string
	acctB             string
	binds             []string
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{env: newEnv(t)}
	f.a, f.b = f.tenant(tenantA), f.tenant(tenantB)
	for i := range 7 {
		id := uid(fmt.Sprint("org", i))
		parent := ""
		if i > 0 {
			parent = f.orgs[i-1]
		}
		f.a.org(id, parent, i)
		f.orgs = append(f.orgs, id)
	}
	f.acct, f.locked, f.dis, f.acctB = uid("acct"), uid("locked"), uid("disabled"), uid("acct-b")
	f.a.account(f.acct, "active")
	f.a.account(f.locked, "locked")
	f.a.account(f.dis, "disabled")
	for i := range 12 {
		role := uid(fmt.Sprint("role", i))
		f.a.role(role, fmt.Sprintf("perm.%d", i), "perm.shared")
		b := uid(fmt.Sprint("bind", i))
		f.a.bind(b, f.acct, role, f.orgs[i%7])
		f.binds = append(f.binds, b)
	}
	f.b.org(uid("org-b"), "", 0)
	f.b.account(f.acctB, "active")
	return f
}

func wantReason(t *testing.T, err error, want string) {
	t.Helper()
	if got := Reason(err); got != want {
		t.Fatalf("reason %q (%v), want %q", got, err, want)
	}
}

func TestVerifyAndCheck(t *testing.T) {
	f := newFixture(t)
	d := f.decider(Config{})
	tok := f.a.token(f.acct, "sess-1")
	c, err := d.VerifyToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.TenantID != tenantA || c.Subject != f.acct || c.SessionID != "sess-1" || c.Issuer != issuerBase+"/t/"+f.a.slug {
		t.Fatalf("claims %+v", c)
	}
	if d.CacheLen() != 1 {
		t.Fatalf("cache len %d", d.CacheLen())
	}
	if _, err := d.VerifyToken(tok); err != nil {
		t.Fatal("cached:", err)
	}
	leaf := f.orgs[6]
	// Inheritance down 7 levels: every one of the 12 roles reaches the leaf.
	for i := range 12 {
		dec, _, err := d.CheckToken(tok, fmt.Sprintf("perm.%d", i), leaf)
		if err != nil || !dec.Allowed || dec.Reason != "granted" {
			t.Fatalf("perm.%d at leaf: %+v %v", i, dec, err)
		}
	}
	// Nothing flows upward: perm.6 is bound at level 6 only.
	if dec := d.Check(tenantA, f.acct, "perm.6", f.orgs[5]); dec.Allowed || dec.Reason != "no_grant" {
		t.Fatalf("perm.6 at level 5: %+v", dec)
	}
	ex := d.Explain(tenantA, f.acct, "perm.0", leaf)
	if !ex.Allowed || len(ex.Grants) != 1 || len(ex.Grants[0].Path) != 7 {
		t.Fatalf("explain %+v", ex)
	}
	ex = d.Explain(tenantA, f.acct, "perm.shared", leaf)
	if len(ex.Grants) != 12 {
		t.Fatalf("shared grants %d, want 12", len(ex.Grants))
	}
	if dec := d.Check(tenantA, f.acct, "perm.nope", leaf); dec.Allowed || dec.Reason != "unknown_permission" {
		t.Fatalf("unknown perm %+v", dec)
	}
	if dec := d.Check(tenantA, f.locked, "perm.0", leaf); dec.Allowed || dec.Reason != "account_locked" {
		t.Fatalf("locked %+v", dec)
	}
	if dec := d.Check("nope", f.acct, "perm.0", leaf); dec.Allowed || dec.Reason != "unknown_tenant" {
		t.Fatalf("unknown tenant %+v", dec)
	}
	// Cross tenant: A's account and organization mean nothing in B.
	if dec := d.Check(tenantB, f.acct, "perm.0", leaf); dec.Allowed {
		t.Fatalf("cross-tenant check %+v", dec)
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	d := f.decider(Config{})
	other, err := keys.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other.State, other.NotBefore = keys.StateActive, baseTime.Add(-time.Hour)
	good := f.a.token(f.acct, "s")
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + parts[1] + "." + flip(parts[2])
	cases := []struct {
		name, token, want string
	}{
		{"empty", "", "malformed"},
		{"garbage", "a.b.c", "malformed"},
		{"too large", strings.Repeat("a", keys.MaxTokenBytes+1), "malformed"},
		{"bad signature", tampered, "bad_signature"},
		{"unknown key", f.a.token(f.acct, "s", func(c *keys.IssuerConfig, _ *keys.AccessTokenRequest) {
			c.Keys = keys.KeySet{Keys: []keys.SigningKey{other}}
		}), "unknown_key"},
		{"wrong issuer", f.a.token(f.acct, "s", func(c *keys.IssuerConfig, _ *keys.AccessTokenRequest) {
			c.Issuer = issuerBase + "/t/" + f.b.slug
		}), "wrong_issuer"},
		{"wrong audience", f.a.token(f.acct, "s", func(_ *keys.IssuerConfig, r *keys.AccessTokenRequest) {
			r.Audience = []string{"other"}
		}), "wrong_audience"},
		{"expired", f.a.token(f.acct, "s", func(c *keys.IssuerConfig, _ *keys.AccessTokenRequest) {
			c.Now = func() time.Time { return baseTime.Add(-time.Hour) }
		}), "expired"},
		{"not yet valid", f.a.token(f.acct, "s", func(c *keys.IssuerConfig, _ *keys.AccessTokenRequest) {
			c.Now = func() time.Time { return baseTime.Add(5 * time.Minute) }
		}), "not_yet_valid"},
		{"locked account", f.a.token(f.locked, "s"), "account_inactive"},
		{"disabled account", f.a.token(f.dis, "s"), "account_inactive"},
		{"unknown account", f.a.token(uid("ghost"), "s"), "account_inactive"},
		{"unknown tenant", f.a.token(f.acct, "s", func(_ *keys.IssuerConfig, r *keys.AccessTokenRequest) {
			r.TenantID = uid("no-such-tenant")
		}), "unknown_tenant"},
		// Cross tenant: signed by A, claims B: B's keys do not know A's kid.
		{"cross tenant", f.a.token(f.acct, "s", func(_ *keys.IssuerConfig, r *keys.AccessTokenRequest) {
			r.TenantID = tenantB
		}), "unknown_key"},
		{"alg none", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, f.a, f.acct), "bad_signature"},
		{"HS256 with the public key", forge(t, jwt.SigningMethodHS256, []byte(f.a.jwt.Public), f.a, f.acct), "bad_signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.VerifyToken(tc.token)
			wantReason(t, err, tc.want)
			dec, _, err2 := d.CheckToken(tc.token, "perm.0", f.orgs[0])
			if err2 == nil || dec.Allowed || dec.Reason != tc.want {
				t.Fatalf("CheckToken %+v %v", dec, err2)
			}
		})
	}
	if d.CacheLen() != 0 {
		t.Fatalf("refused tokens cached: %d", d.CacheLen())
	}
	// A token of B verifies against B, never against A.
	if _, err := d.VerifyToken(f.b.token(f.acctB, "s")); err != nil {
		t.Fatal(err)
	}
	// Tenant deleted: its tokens are refused as unknown_tenant.
	tokB := f.b.token(f.acctB, "s2")
	if _, err := d.VerifyToken(tokB); err != nil {
		t.Fatal(err)
	}
	f.b.delta(replica.TypeTenantDeleted, map[string]any{"id": tenantB})
	_, err = d.VerifyToken(tokB)
	wantReason(t, err, "unknown_tenant")
}

func flip(sig string) string {
	b, _ := base64.RawURLEncoding.DecodeString(sig)
	b[0] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}

// forge signs A's claims with another algorithm and A's kid.
func forge(t *testing.T, m jwt.SigningMethod, key any, p *producer, account string) string {
	t.Helper()
	now := jwt.NewNumericDate(baseTime)
	claims := keys.AccessClaims{RegisteredClaims: jwt.RegisteredClaims{Issuer: issuerBase + "/t/" + p.slug,
		Subject: account, Audience: jwt.ClaimStrings{"iam"}, ExpiresAt: jwt.NewNumericDate(baseTime.Add(time.Hour)),
		NotBefore: now, IssuedAt: now, ID: "jti"}, TenantID: p.id, SessionID: "s"}
	tok := jwt.NewWithClaims(m, claims)
	tok.Header["kid"], tok.Header["typ"] = p.jwt.KID, keys.TokenType
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRevocationDropsCachedToken(t *testing.T) {
	f := newFixture(t)
	d := f.decider(Config{})
	tok, other := f.a.token(f.acct, "sess-r"), f.a.token(f.acct, "sess-keep")
	for _, x := range []string{tok, other} {
		if _, err := d.VerifyToken(x); err != nil {
			t.Fatal(err)
		}
	}
	f.a.revoke("sess-r", f.acct)
	_, err := d.VerifyToken(tok)
	wantReason(t, err, "revoked_session")
	if _, err := d.VerifyToken(other); err != nil {
		t.Fatal("other session:", err)
	}
	// Account locked: every cached token of the account goes.
	f.a.account(f.acct, "locked")
	_, err = d.VerifyToken(other)
	wantReason(t, err, "account_inactive")
	if d.CacheLen() != 0 {
		t.Fatalf("cache len %d", d.CacheLen())
	}
}

func TestBindingRemovalDenies(t *testing.T) {
	f := newFixture(t)
	d := f.decider(Config{})
	leaf := f.orgs[6]
	if dec := d.Check(tenantA, f.acct, "perm.3", leaf); !dec.Allowed {
		t.Fatalf("before: %+v", dec)
	}
	f.a.unbind(f.binds[3])
	if dec := d.Check(tenantA, f.acct, "perm.3", leaf); dec.Allowed || dec.Reason != "no_grant" {
		t.Fatalf("after unbind: %+v", dec)
	}
	// A binding added after New grants at once, down the tree.
	f.a.bind(uid("late"), f.acct, uid("role3"), f.orgs[2])
	if dec := d.Check(tenantA, f.acct, "perm.3", leaf); !dec.Allowed {
		t.Fatalf("rebound: %+v", dec)
	}
}

func TestKeyRetiredDropsCache(t *testing.T) {
	f := newFixture(t)
	d := f.decider(Config{})
	tok := f.a.token(f.acct, "s")
	if _, err := d.VerifyToken(tok); err != nil {
		t.Fatal(err)
	}
	f.a.delta(replica.TypeSigningKeyUpdated, map[string]any{"kid": f.a.jwt.KID,
		"public_key": base64.StdEncoding.EncodeToString(f.a.jwt.Public), "state": "retired", "alg": "EdDSA",
		"published_at": "2026-11-22T11:00:00Z", "not_before": "2026-11-22T11:00:00Z", "retire_at": "2026-11-22T12:00:00Z"})
	_, err := d.VerifyToken(tok)
	wantReason(t, err, "unknown_key")
}

func TestCacheExpiresWithToken(t *testing.T) {
	f := newFixture(t)
	d := f.decider(Config{ClockSkew: -1})
	tok := f.a.token(f.acct, "s")
	if _, err := d.VerifyToken(tok); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(keys.DefaultAccessTokenTTL + time.Second)
	_, err := d.VerifyToken(tok)
	wantReason(t, err, "expired")
}

func TestSnapshotAppliedReloadsAndNewSeesState(t *testing.T) {
	f := newFixture(t)
	d := f.decider(Config{})
	f.a.unbind(f.binds[0])
	// A fresh Decider loaded from the DB agrees with the incremental one.
	d2, err := New(t.Context(), Config{Replica: f.rep, IssuerBase: issuerBase, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		p := fmt.Sprintf("perm.%d", i)
		for _, o := range f.orgs {
			x, y := d.Check(tenantA, f.acct, p, o), d2.Check(tenantA, f.acct, p, o)
			if x.Allowed != y.Allowed || x.Reason != y.Reason {
				t.Fatalf("%s at %s: incremental %+v, loaded %+v", p, o, x, y)
			}
		}
	}
	// A snapshot notification reloads the tenant from the DB.
	d.Apply(replica.Applied{Tenant: tenantA, Snapshot: true})
	if dec := d.Check(tenantA, f.acct, "perm.1", f.orgs[6]); !dec.Allowed {
		t.Fatalf("after reload %+v", dec)
	}
	if _, err := d.VerifyToken(f.a.token(f.acct, "s")); err != nil {
		t.Fatal(err)
	}
}

func TestCacheBoundedAndEpoch(t *testing.T) {
	c := newTokenCache(cacheShards * 2)
	var epoch uint64
	cur := func() uint64 { return epoch }
	exp := baseTime.Add(time.Hour)
	for i := range 1000 {
		var k [32]byte
		k[0], k[1] = byte(i), byte(i>>8)
		c.put(&k, Claims{TenantID: "t", Subject: "a", SessionID: fmt.Sprint(i), ExpiresAt: exp}, 0, cur)
	}
	if n := c.len(); n > cacheShards*2 {
		t.Fatalf("cache holds %d", n)
	}
	epoch = 1
	var k [32]byte
	k[5] = 9
	c.put(&k, Claims{TenantID: "t", ExpiresAt: exp}, 0, cur)
	if _, ok := c.get(&k, baseTime); ok {
		t.Fatal("entry cached across an epoch change")
	}
	for i := range c.shards {
		s := &c.shards[i]
		if len(s.bySession) != s.lru.Len() || len(s.entries) != s.lru.Len() {
			t.Fatalf("index leak in shard %d", i)
		}
	}
	c.drop(indexKey("t", "a"), false)
	if c.len() != 0 {
		t.Fatal("drop by account left entries")
	}
}

func TestErrorsWrapSentinels(t *testing.T) {
	err := fromKeys(fmt.Errorf("%w: x", keys.ErrAlgorithm))
	if !errors.Is(err, ErrBadSignature) || !errors.Is(err, keys.ErrAlgorithm) {
		t.Fatal(err)
	}
}
