package authz

import (
	"errors"
	"testing"
)

// The fixture tenant t1:
//
//	county ─┬─ muni1 ─┬─ dist1a
//	        │         └─ dist1b
//	        └─ muni2 ─── dist2a
//
// t2 reuses the same organization and account ids; "gone" is deleted.
const (
	t1, t2, gone TenantID = "t1", "t2", "gone"
	county       OrgID    = "county"
	muni1        OrgID    = "muni1"
	muni2        OrgID    = "muni2"
	dist1a       OrgID    = "dist1a"
	dist1b       OrgID    = "dist1b"
	dist2a       OrgID    = "dist2a"
	publish               = "news.publish"
	read                  = "news.read"
)

func tree(t TenantID) []Change {
	return []Change{
		UpsertTenant{Tenant: t},
		UpsertOrg{Tenant: t, Org: county},
		UpsertOrg{Tenant: t, Org: muni1, Parent: county},
		UpsertOrg{Tenant: t, Org: muni2, Parent: county},
		UpsertOrg{Tenant: t, Org: dist1a, Parent: muni1},
		UpsertOrg{Tenant: t, Org: dist1b, Parent: muni1},
		UpsertOrg{Tenant: t, Org: dist2a, Parent: muni2},
		UpsertRole{Tenant: t, Role: "editor", Permissions: []string{publish, "news.edit"}},
		UpsertRole{Tenant: t, Role: "viewer", Permissions: []string{read}},
	}
}

func fixture(t *testing.T) *Engine { return smallFixture(t) }

func smallFixture(t testing.TB) *Engine {
	t.Helper()
	e := New()
	cs := append(tree(t1), tree(t2)...)
	cs = append(cs,
		UpsertAccount{Tenant: t1, Account: "alice", Status: StatusActive},
		UpsertAccount{Tenant: t1, Account: "bob", Status: StatusLocked},
		UpsertAccount{Tenant: t1, Account: "carol", Status: StatusDisabled},
		UpsertAccount{Tenant: t1, Account: "dave", Status: StatusActive},
		UpsertBinding{Tenant: t1, Binding: "b1", Account: "alice", Role: "editor", Org: muni1},
		UpsertBinding{Tenant: t1, Binding: "b2", Account: "alice", Role: "viewer", Org: county},
		UpsertBinding{Tenant: t1, Binding: "b3", Account: "bob", Role: "editor", Org: county},
		UpsertBinding{Tenant: t1, Binding: "b4", Account: "carol", Role: "editor", Org: county},
		UpsertAccount{Tenant: t2, Account: "alice", Status: StatusActive},
		UpsertAccount{Tenant: t2, Account: "erin", Status: StatusActive},
		UpsertBinding{Tenant: t2, Binding: "b1", Account: "erin", Role: "editor", Org: county},
		UpsertTenant{Tenant: gone},
		UpsertOrg{Tenant: gone, Org: county},
		UpsertAccount{Tenant: gone, Account: "alice", Status: StatusActive},
	)
	mustApply(t, e, cs...)
	mustApply(t, e, DeleteTenant{Tenant: gone})
	return e
}

func mustApply(t testing.TB, e *Engine, cs ...Change) uint64 {
	t.Helper()
	v, err := e.Apply(cs...)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return v
}

// mustReject applies a batch that must fail with want and change nothing.
func mustReject(t *testing.T, e *Engine, want error, cs ...Change) {
	t.Helper()
	before := e.Snapshot()
	v, err := e.Apply(cs...)
	if !errors.Is(err, want) {
		t.Fatalf("Apply: err %v, want %v", err, want)
	}
	var ce *ChangeError
	if !errors.As(err, &ce) || ce.Index < 0 || ce.Index >= len(cs) {
		t.Fatalf("Apply: err %v is not a *ChangeError with a valid index", err)
	}
	if v != before.Version() || e.Snapshot() != before {
		t.Fatalf("rejected batch published a snapshot: version %d, was %d", v, before.Version())
	}
}

func expect(t *testing.T, e *Engine, tenant TenantID, a AccountID, o OrgID, p string, want Reason) {
	t.Helper()
	if d := e.Check(tenant, a, o, p); d.Reason != want || d.Allowed != (want == ReasonGranted) {
		t.Fatalf("Check(%s, %s, %s, %s) = %+v, want %v", tenant, a, o, p, d, want)
	}
}
