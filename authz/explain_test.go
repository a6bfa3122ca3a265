package authz

import (
	"reflect"
	"testing"
)

func TestExplain(t *testing.T) {
	e := fixture(t)
	mustApply(t, e,
		UpsertBinding{Tenant: t1, Binding: "b0", Account: "alice", Role: "editor", Org: dist1a},
		UpsertBinding{Tenant: t1, Binding: "b5", Account: "alice", Role: "editor", Org: county},
	)
	got := e.Explain(t1, "alice", dist1a, publish)
	want := []Grant{
		{Binding: "b0", Role: "editor", BoundOrg: dist1a, Path: []OrgID{dist1a}},
		{Binding: "b1", Role: "editor", BoundOrg: muni1, Path: []OrgID{muni1, dist1a}},
		{Binding: "b5", Role: "editor", BoundOrg: county, Path: []OrgID{county, muni1, dist1a}},
	}
	if !got.Allowed || !reflect.DeepEqual(got.Grants, want) {
		t.Fatalf("Explain = %+v\nwant grants %+v", got, want)
	}
	if d := e.Explain(t1, "alice", county, "news.edit"); !d.Allowed || len(d.Grants) != 1 {
		t.Fatalf("Explain at county = %+v", d)
	}
	if d := e.Explain(t1, "dave", muni2, publish); d.Allowed || d.Reason != ReasonNoGrant || d.Grants != nil {
		t.Fatalf("denied Explain = %+v", d)
	}
}

func TestEffectivePermissions(t *testing.T) {
	e := fixture(t)
	got, r := e.EffectivePermissions(t1, "alice", dist1a)
	want := []EffectivePermission{
		{Permission: "news.edit", Grants: []Grant{{Binding: "b1", Role: "editor", BoundOrg: muni1, Path: []OrgID{muni1, dist1a}}}},
		{Permission: publish, Grants: []Grant{{Binding: "b1", Role: "editor", BoundOrg: muni1, Path: []OrgID{muni1, dist1a}}}},
		{Permission: read, Grants: []Grant{{Binding: "b2", Role: "viewer", BoundOrg: county, Path: []OrgID{county, muni1, dist1a}}}},
	}
	if r != ReasonGranted || !reflect.DeepEqual(got, want) {
		t.Fatalf("EffectivePermissions = %v %+v\nwant %+v", r, got, want)
	}
	tests := []struct {
		tenant TenantID
		acc    AccountID
		org    OrgID
		want   Reason
	}{
		{t1, "dave", county, ReasonNoGrant},
		{t1, "bob", county, ReasonAccountLocked},
		{gone, "alice", county, ReasonTenantDeleted},
		{t1, "alice", "nowhere", ReasonUnknownOrg},
	}
	for _, tt := range tests {
		if got, r := e.EffectivePermissions(tt.tenant, tt.acc, tt.org); r != tt.want || got != nil {
			t.Errorf("EffectivePermissions(%s, %s, %s) = %v %v, want %v", tt.tenant, tt.acc, tt.org, got, r, tt.want)
		}
	}
}
