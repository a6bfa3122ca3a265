package decide

import (
	"fmt"
	"testing"

	"github.com/melmastoon/iam/edge/replica"
)

func TestBucketIsStableAndSpread(t *testing.T) {
	if a, b := Bucket("account-1"), Bucket("account-"+"1"); a != b {
		t.Fatal("bucket not stable")
	}
	var hist [100]int
	for i := range 10_000 {
		hist[Bucket(fmt.Sprint("account-", i))]++
	}
	for b, n := range hist {
		if n < 50 || n > 160 { // ~100 each
			t.Fatalf("bucket %d holds %d of 10,000 accounts", b, n)
		}
	}
}

func TestFlagsFollowTheReplica(t *testing.T) {
	e := newEnv(t)
	p := e.tenant(tenantA)
	d := e.decider(Config{})
	acc := uid("alice")
	p.account(acc, "active")
	setFlag := func(name string, enabled bool, pct int) {
		p.delta(replica.TypeFeatureFlagSet, map[string]any{"name": name, "enabled": enabled, "rollout_percent": pct,
			"version": 1, "updated_at": "2026-11-22T12:00:00Z"})
	}
	if !d.Flag(tenantA, acc, FlagAuthorization) || !d.Flag("unknown-tenant", acc, FlagAuthorization) {
		t.Fatal("an unset flag must be on")
	}
	setFlag(FlagAuthorization, true, 0)
	if d.Flag(tenantA, acc, FlagAuthorization) {
		t.Fatal("0 % rollout left the flag on")
	}
	if !d.Flag(tenantA, acc, FlagAuthentication) {
		t.Fatal("another flag changed")
	}
	setFlag(FlagAuthorization, true, Bucket(acc)+1)
	if !d.Flag(tenantA, acc, FlagAuthorization) {
		t.Fatal("account inside the rollout is off")
	}
	setFlag(FlagAuthorization, true, Bucket(acc))
	if d.Flag(tenantA, acc, FlagAuthorization) {
		t.Fatal("account just outside the rollout is on")
	}
	setFlag(FlagAuthorization, false, 100)
	if d.Flag(tenantA, acc, FlagAuthorization) {
		t.Fatal("disabled flag is on")
	}
	all := d.Flags(tenantA, acc, []string{FlagAuthentication, FlagAuthorization, FlagPermissionCaching})
	if len(all) != 3 || !all[FlagAuthentication] || all[FlagAuthorization] || !all[FlagPermissionCaching] {
		t.Fatalf("Flags = %v", all)
	}

	// A fresh Decider loads the same rules from the database.
	fresh := e.decider(Config{})
	if fresh.Flag(tenantA, acc, FlagAuthorization) || !fresh.Flag(tenantA, acc, FlagAuthentication) {
		t.Fatal("reloaded flags differ")
	}
}

func TestCachingFlagBypassesTheTokenCache(t *testing.T) {
	e := newEnv(t)
	p := e.tenant(tenantA)
	d := e.decider(Config{})
	acc := uid("alice")
	p.account(acc, "active")
	tok := p.token(acc, uid("s1"))
	for range 3 {
		if _, err := d.VerifyToken(tok); err != nil {
			t.Fatal(err)
		}
	}
	if h, m := d.CacheStats(); h != 2 || m != 1 {
		t.Fatalf("hits %d misses %d, want 2 and 1", h, m)
	}
	p.delta(replica.TypeFeatureFlagSet, map[string]any{"name": FlagPermissionCaching, "enabled": false, "rollout_percent": 100,
		"version": 1, "updated_at": "2026-11-22T12:00:00Z"})
	for range 3 {
		if _, err := d.VerifyToken(tok); err != nil {
			t.Fatal(err)
		}
	}
	if h, m := d.CacheStats(); h != 2 || m != 4 {
		t.Fatalf("with caching off: hits %d misses %d, want 2 and 4", h, m)
	}
}

func TestResolveTenantBySlugOrID(t *testing.T) {
	e := newEnv(t)
	p := e.tenant(tenantA)
	d := e.decider(Config{})
	for _, in := range []string{tenantA, p.slug} {
		if id, ok := d.ResolveTenant(in); !ok || id != tenantA {
			t.Fatalf("ResolveTenant(%q) = %q %v", in, id, ok)
		}
	}
	if _, ok := d.ResolveTenant("nope"); ok {
		t.Fatal("unknown slug resolved")
	}
	if d.TenantSlug(tenantA) != p.slug {
		t.Fatal("TenantSlug")
	}
}

func TestRevokedDeviceRefusesItsTokens(t *testing.T) {
	e := newEnv(t)
	p := e.tenant(tenantA)
	d := e.decider(Config{})
	acc, dev := uid("alice"), uid("phone")
	p.account(acc, "active")
	device := func(typ, status string, version int) {
		p.delta(typ, map[string]any{"id": dev, "account_id": acc, "name": "phone", "platform": "ios", "status": status,
			"cert_serial": "0123456789abcdef0123456789abcdef", "not_after": "2026-11-29T12:00:00Z", "version": version})
	}
	device("melmastoon.iam.device.enrolled.v1", "active", 1)
	tok := p.token(acc, dev) // device tokens carry sid = the device id
	if _, err := d.VerifyToken(tok); err != nil {
		t.Fatal(err)
	}
	device("melmastoon.iam.device.revoked.v1", "revoked", 2)
	if _, err := d.VerifyToken(tok); Reason(err) != "revoked_session" {
		t.Fatalf("token of a revoked device: %v", err)
	}
	if _, err := e.decider(Config{}).VerifyToken(tok); Reason(err) != "revoked_session" {
		t.Fatalf("after a reload: %v", err)
	}
}
