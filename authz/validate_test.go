package authz

import (
	"fmt"
	"strings"
	"testing"
)

func TestApplyRejects(t *testing.T) {
	long := strings.Repeat("x", MaxIDLength+1)
	tests := []struct {
		name  string
		want  error
		batch []Change
	}{
		{"move under own child", ErrOrgCycle, []Change{UpsertOrg{Tenant: t1, Org: muni1, Parent: dist1a}}},
		{"move under own grandchild", ErrOrgCycle, []Change{UpsertOrg{Tenant: t1, Org: county, Parent: dist2a}}},
		{"own parent", ErrOrgCycle, []Change{UpsertOrg{Tenant: t1, Org: muni1, Parent: muni1}}},
		{"cycle built inside the batch", ErrOrgCycle, []Change{
			UpsertOrg{Tenant: t1, Org: "x", Parent: county},
			UpsertOrg{Tenant: t1, Org: "y", Parent: "x"},
			UpsertOrg{Tenant: t1, Org: "x", Parent: "y"},
		}},
		{"unknown parent", ErrUnknownParent, []Change{UpsertOrg{Tenant: t1, Org: "x", Parent: "nowhere"}}},
		{"deleted parent", ErrUnknownParent, []Change{
			DeleteOrg{Tenant: t1, Org: dist2a},
			UpsertOrg{Tenant: t1, Org: "x", Parent: dist2a},
		}},
		{"parent in another tenant", ErrUnknownParent, []Change{
			UpsertOrg{Tenant: t2, Org: "only-t2", Parent: county},
			UpsertOrg{Tenant: t1, Org: "x", Parent: "only-t2"},
		}},
		{"delete org with children", ErrOrgHasChildren, []Change{DeleteOrg{Tenant: t1, Org: muni1}}},
		{"unknown tenant", ErrUnknownTenant, []Change{UpsertOrg{Tenant: "nope", Org: county}}},
		{"deleted tenant", ErrUnknownTenant, []Change{UpsertAccount{Tenant: gone, Account: "a", Status: StatusActive}}},
		{"invalid status", ErrInvalidStatus, []Change{UpsertAccount{Tenant: t1, Account: "a"}}},
		{"empty id", ErrInvalidID, []Change{UpsertBinding{Tenant: t1, Binding: "b9", Account: "alice", Role: "", Org: county}}},
		{"long id", ErrInvalidID, []Change{UpsertRole{Tenant: t1, Role: RoleID(long)}}},
		{"empty tenant", ErrInvalidID, []Change{UpsertTenant{}}},
		{"empty tenant to delete", ErrInvalidID, []Change{DeleteTenant{}}},
		{"empty permission", ErrInvalidPermission, []Change{UpsertRole{Tenant: t1, Role: "r", Permissions: []string{""}}}},
		{"nil change", ErrNilChange, []Change{nil}},
		{"valid changes before an invalid one are discarded", ErrOrgCycle, []Change{
			DeleteBinding{Tenant: t1, Binding: "b1"},
			UpsertRole{Tenant: t1, Role: "new", Permissions: []string{"brand.new"}},
			UpsertOrg{Tenant: t1, Org: muni1, Parent: dist1b},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fixture(t)
			mustReject(t, e, tt.want, tt.batch...)
			expect(t, e, t1, "alice", dist1a, publish, ReasonGranted)
			expect(t, e, t1, "alice", county, "brand.new", ReasonUnknownPermission)
		})
	}
}

func TestChangeErrorNamesTheChange(t *testing.T) {
	e := fixture(t)
	_, err := e.Apply(UpsertTenant{Tenant: "ok"}, DeleteOrg{Tenant: t1, Org: county})
	if err == nil || !strings.HasPrefix(err.Error(), "authz: change 1 (authz.DeleteOrg)") {
		t.Fatalf("error %q does not name change 1", err)
	}
}

func TestVersionGrowsByOnePerBatch(t *testing.T) {
	e := New()
	if e.Version() != 0 {
		t.Fatalf("new engine at version %d", e.Version())
	}
	v1 := mustApply(t, e, UpsertTenant{Tenant: t1}, UpsertOrg{Tenant: t1, Org: county})
	v2 := mustApply(t, e, UpsertTenant{Tenant: t1})
	v3 := mustApply(t, e)
	if v1 != 1 || v2 != 2 || v3 != 2 || e.Version() != 2 {
		t.Fatalf("versions %d %d %d, engine %d", v1, v2, v3, e.Version())
	}
}

func TestOldSnapshotUnchanged(t *testing.T) {
	e := fixture(t)
	old := e.Snapshot()
	mustApply(t, e, DeleteBinding{Tenant: t1, Binding: "b1"}, UpsertOrg{Tenant: t1, Org: muni1, Parent: muni2},
		UpsertRole{Tenant: t1, Role: "viewer", Permissions: []string{"x.y"}}, DeleteTenant{Tenant: t2})
	if d := old.Check(t1, "alice", dist1a, publish); !d.Allowed || d.Version != old.Version() {
		t.Fatalf("old snapshot changed: %+v", d)
	}
	if d := old.Check(t2, "erin", county, publish); !d.Allowed {
		t.Fatalf("old snapshot lost t2: %+v", d)
	}
	if d := old.Check(t1, "alice", county, read); !d.Allowed {
		t.Fatalf("old snapshot lost viewer: %+v", d)
	}
	expect(t, e, t1, "alice", dist1a, publish, ReasonNoGrant)
}

func TestZeroEngineIsEmpty(t *testing.T) {
	var e Engine
	if d := e.Check(t1, "alice", county, read); d.Reason != ReasonUnknownTenant || d.Version != 0 {
		t.Fatalf("zero engine: %+v", d)
	}
	mustApply(t, &e, UpsertTenant{Tenant: t1})
	if d := e.Check(t1, "alice", county, read); d.Reason != ReasonUnknownAccount || d.Version != 1 {
		t.Fatalf("zero engine after apply: %+v", d)
	}
	if New().Version() != 0 {
		t.Fatal("new engine not at version 0")
	}
}

func TestTooManyPermissions(t *testing.T) {
	e := New()
	perms := make([]string, MaxPermissions+1)
	for i := range perms {
		perms[i] = fmt.Sprintf("p.%d", i)
	}
	mustApply(t, e, UpsertTenant{Tenant: t1})
	mustReject(t, e, ErrTooManyPermissions, UpsertRole{Tenant: t1, Role: "huge", Permissions: perms})
	mustApply(t, e, UpsertRole{Tenant: t1, Role: "max", Permissions: perms[:MaxPermissions]})
}
