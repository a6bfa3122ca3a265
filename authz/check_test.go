package authz

import "testing"

func TestCheck(t *testing.T) {
	e := fixture(t)
	tests := []struct {
		name   string
		tenant TenantID
		acc    AccountID
		org    OrgID
		perm   string
		want   Reason
	}{
		{"binding on the org itself", t1, "alice", muni1, publish, ReasonGranted},
		{"inherited one level down", t1, "alice", dist1a, publish, ReasonGranted},
		{"inherited by every child", t1, "alice", dist1b, "news.edit", ReasonGranted},
		{"inherited two levels down", t1, "alice", dist2a, read, ReasonGranted},
		{"not inherited upward", t1, "alice", county, publish, ReasonNoGrant},
		{"siblings isolated", t1, "alice", muni2, publish, ReasonNoGrant},
		{"sibling subtree isolated", t1, "alice", dist2a, publish, ReasonNoGrant},
		{"locked account", t1, "bob", dist1a, publish, ReasonAccountLocked},
		{"disabled account", t1, "carol", dist1a, publish, ReasonAccountDisabled},
		{"active account without bindings", t1, "dave", county, read, ReasonNoGrant},
		{"deleted tenant", gone, "alice", county, read, ReasonTenantDeleted},
		{"unknown tenant", "nope", "alice", county, read, ReasonUnknownTenant},
		{"unknown account", t1, "nobody", county, read, ReasonUnknownAccount},
		{"unknown org", t1, "alice", "nowhere", read, ReasonUnknownOrg},
		{"unknown permission", t1, "alice", muni1, "news.delete", ReasonUnknownPermission},
		{"empty permission", t1, "alice", muni1, "", ReasonUnknownPermission},
		{"empty everything", "", "", "", "", ReasonUnknownTenant},
		{"cross-tenant: t1 binding does not grant in t2", t2, "alice", muni1, publish, ReasonNoGrant},
		{"cross-tenant: t2 binding does not grant in t1", t1, "erin", county, publish, ReasonUnknownAccount},
		{"cross-tenant: t2 binding grants in t2", t2, "erin", dist1a, publish, ReasonGranted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, e, tt.tenant, tt.acc, tt.org, tt.perm, tt.want)
		})
	}
}

func TestMoveReparentsDescendants(t *testing.T) {
	e := fixture(t)
	mustApply(t, e,
		UpsertAccount{Tenant: t1, Account: "zed", Status: StatusActive},
		UpsertBinding{Tenant: t1, Binding: "bz", Account: "zed", Role: "editor", Org: muni2},
	)
	expect(t, e, t1, "zed", dist1a, publish, ReasonNoGrant)
	mustApply(t, e, UpsertOrg{Tenant: t1, Org: muni1, Parent: muni2})
	expect(t, e, t1, "zed", muni1, publish, ReasonGranted)
	expect(t, e, t1, "zed", dist1a, publish, ReasonGranted)
	expect(t, e, t1, "alice", dist1b, publish, ReasonGranted) // the binding on muni1 moved with it
	ex := e.Explain(t1, "zed", dist1a, publish)
	if len(ex.Grants) != 1 || !equalPath(ex.Grants[0].Path, []OrgID{muni2, muni1, dist1a}) {
		t.Fatalf("Explain after move = %+v", ex)
	}
	mustApply(t, e, UpsertOrg{Tenant: t1, Org: muni1}) // now a root of its own
	expect(t, e, t1, "alice", dist1a, read, ReasonNoGrant)
	expect(t, e, t1, "zed", dist1a, publish, ReasonNoGrant)
}

func equalPath(a, b []OrgID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDeleteRevokes(t *testing.T) {
	tests := []struct {
		name   string
		change Change
		want   Reason
	}{
		{"delete binding", DeleteBinding{Tenant: t1, Binding: "b1"}, ReasonNoGrant},
		{"rebind elsewhere", UpsertBinding{Tenant: t1, Binding: "b1", Account: "alice", Role: "editor", Org: muni2}, ReasonNoGrant},
		{"delete role", DeleteRole{Tenant: t1, Role: "editor"}, ReasonNoGrant},
		{"shrink role", UpsertRole{Tenant: t1, Role: "editor", Permissions: []string{"news.edit"}}, ReasonNoGrant},
		{"lock account", UpsertAccount{Tenant: t1, Account: "alice", Status: StatusLocked}, ReasonAccountLocked},
		{"delete account", DeleteAccount{Tenant: t1, Account: "alice"}, ReasonUnknownAccount},
		{"delete tenant", DeleteTenant{Tenant: t1}, ReasonTenantDeleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fixture(t)
			expect(t, e, t1, "alice", dist1a, publish, ReasonGranted)
			mustApply(t, e, tt.change)
			expect(t, e, t1, "alice", dist1a, publish, tt.want)
		})
	}
}

func TestDeleteOrg(t *testing.T) {
	e := fixture(t)
	mustApply(t, e, DeleteOrg{Tenant: t1, Org: dist1a})
	expect(t, e, t1, "alice", dist1a, publish, ReasonUnknownOrg)
	expect(t, e, t1, "alice", dist1b, publish, ReasonGranted)
	mustApply(t, e, DeleteOrg{Tenant: t1, Org: dist1b}, DeleteOrg{Tenant: t1, Org: muni1}, DeleteOrg{Tenant: t1, Org: muni1})
	expect(t, e, t1, "alice", muni1, publish, ReasonUnknownOrg)
	mustApply(t, e, UpsertOrg{Tenant: t1, Org: muni1, Parent: muni2}) // same id again: b1 is live again
	expect(t, e, t1, "alice", muni1, publish, ReasonGranted)
}

func TestRecreatedTenantStartsEmpty(t *testing.T) {
	e := fixture(t)
	mustApply(t, e, DeleteTenant{Tenant: t1}, UpsertTenant{Tenant: t1}, UpsertOrg{Tenant: t1, Org: county},
		UpsertAccount{Tenant: t1, Account: "alice", Status: StatusActive})
	expect(t, e, t1, "alice", county, read, ReasonNoGrant)
	expect(t, e, t2, "erin", county, publish, ReasonGranted)
}

func TestInertBindingBecomesLive(t *testing.T) {
	e := fixture(t)
	mustApply(t, e,
		UpsertBinding{Tenant: t1, Binding: "early", Account: "newbie", Role: "auditor", Org: "annex"},
		UpsertRole{Tenant: t1, Role: "other", Permissions: []string{"audit.read"}},
	)
	expect(t, e, t1, "newbie", county, "audit.read", ReasonUnknownAccount)
	mustApply(t, e, UpsertAccount{Tenant: t1, Account: "newbie", Status: StatusActive})
	expect(t, e, t1, "newbie", county, "audit.read", ReasonNoGrant)
	mustApply(t, e, UpsertRole{Tenant: t1, Role: "auditor", Permissions: []string{"audit.read"}})
	expect(t, e, t1, "newbie", "annex", "audit.read", ReasonUnknownOrg)
	mustApply(t, e, UpsertOrg{Tenant: t1, Org: "annex", Parent: county}, UpsertOrg{Tenant: t1, Org: "wing", Parent: "annex"})
	expect(t, e, t1, "newbie", "wing", "audit.read", ReasonGranted)
	expect(t, e, t1, "newbie", county, "audit.read", ReasonNoGrant)
}

func TestCheckBatch(t *testing.T) {
	e := fixture(t)
	qs := []Query{
		{t1, "alice", dist1a, publish},
		{t1, "alice", county, publish},
		{t2, "erin", muni2, publish},
		{"nope", "alice", county, read},
	}
	want := []Reason{ReasonGranted, ReasonNoGrant, ReasonGranted, ReasonUnknownTenant}
	got := e.CheckBatch(make([]Decision, 0, len(qs)), qs)
	if len(got) != len(want) {
		t.Fatalf("CheckBatch returned %d decisions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Reason != want[i] || got[i].Version != e.Version() {
			t.Errorf("query %d: %+v, want %v at version %d", i, got[i], want[i], e.Version())
		}
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	e := fixture(t)
	s := e.Snapshot()
	qs := []Query{{t1, "alice", dist1a, publish}, {t1, "alice", county, publish}, {t1, "bob", county, publish}}
	dst := make([]Decision, 0, len(qs))
	allocs := testing.AllocsPerRun(1000, func() {
		_ = s.Check(t1, "alice", dist1a, publish)
		_ = s.Check(t1, "alice", muni2, publish)
		_ = e.Check("nope", "x", "y", "z")
		dst = s.CheckBatch(dst[:0], qs)
	})
	if allocs != 0 {
		t.Fatalf("Check allocates %v times per run", allocs)
	}
}

func TestStrings(t *testing.T) {
	for r := ReasonGranted; r <= ReasonNoGrant; r++ {
		if r.String() == "invalid" || r.String() == "" {
			t.Errorf("Reason %d has no name", r)
		}
	}
	if Reason(0).String() != "invalid" || Reason(200).String() != "invalid" || Status(9).String() != "invalid" {
		t.Error("out-of-range values must print as invalid")
	}
	if StatusActive.String() != "active" || StatusLocked.String() != "locked" || StatusDisabled.String() != "disabled" {
		t.Error("status names")
	}
}

func TestDeletedAccountForgetsNothingButGrantsNothing(t *testing.T) {
	e := fixture(t)
	mustApply(t, e, DeleteAccount{Tenant: t1, Account: "dave"}, DeleteAccount{Tenant: t1, Account: "ghost"})
	expect(t, e, t1, "dave", county, read, ReasonUnknownAccount)
	mustApply(t, e, DeleteAccount{Tenant: t1, Account: "alice"})
	expect(t, e, t1, "alice", dist1a, publish, ReasonUnknownAccount)
	mustApply(t, e, DeleteBinding{Tenant: t1, Binding: "b1"}, DeleteBinding{Tenant: t1, Binding: "b2"},
		UpsertAccount{Tenant: t1, Account: "alice", Status: StatusActive})
	expect(t, e, t1, "alice", dist1a, publish, ReasonNoGrant)
	if _, ok := e.Snapshot().tenants.get(t1); !ok {
		t.Fatal("tenant lost")
	}
}

func TestWildcardPermissions(t *testing.T) {
	e := fixture(t)
	mustApply(t, e,
		UpsertRole{Tenant: t1, Role: "wild", Permissions: []string{"news.*", "*", "iam.accounts.*"}},
		UpsertAccount{Tenant: t1, Account: "wendy", Status: StatusActive},
		UpsertBinding{Tenant: t1, Binding: "bw", Account: "wendy", Role: "wild", Org: muni1},
	)
	tests := []struct {
		name string
		org  OrgID
		perm string
		want Reason
	}{
		{"covers a name below it", muni1, "news.publish", ReasonGranted},
		{"covers any depth", dist1a, "news.archive.read", ReasonGranted},
		{"covers a name never named by a role", muni1, "news.brand.new", ReasonGranted},
		{"the wildcard itself", muni1, "news.*", ReasonGranted},
		{"inner wildcard", muni1, "iam.accounts.write", ReasonGranted},
		{"not its parent segment", muni1, "iam.roles.write", ReasonUnknownPermission},
		{"not the bare prefix", muni1, "news", ReasonUnknownPermission},
		{"prefix must end at a dot", muni1, "newsroom.edit", ReasonUnknownPermission},
		{"a bare * is an ordinary name", muni1, "billing.pay", ReasonUnknownPermission},
		{"still scoped to the subtree", county, "news.publish", ReasonNoGrant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, e, t1, "wendy", tt.org, tt.perm, tt.want)
		})
	}
	ex := e.Explain(t1, "wendy", dist1a, "news.archive.read")
	if !ex.Allowed || len(ex.Grants) != 1 || ex.Grants[0].Binding != "bw" {
		t.Fatalf("Explain = %+v, want the wildcard binding", ex)
	}
}
