package authz

import (
	"fmt"
	"testing"
)

// TestApplyCopiesOnlyWhatChanges checks structural sharing: after a
// one-binding batch, the new snapshot shares every leaf but one of each
// touched index with the old one, and every untouched index whole.
func TestApplyCopiesOnlyWhatChanges(t *testing.T) {
	e := New()
	cs := []Change{UpsertTenant{Tenant: t1}, UpsertOrg{Tenant: t1, Org: county}, UpsertRole{Tenant: t1, Role: "r", Permissions: []string{read}}}
	for i := range 20_000 {
		a := AccountID(fmt.Sprintf("a%d", i))
		cs = append(cs, UpsertAccount{Tenant: t1, Account: a, Status: StatusActive},
			UpsertBinding{Tenant: t1, Binding: BindingID(fmt.Sprintf("b%d", i)), Account: a, Role: "r", Org: county})
	}
	mustApply(t, e, cs...)
	before := tenantOf(t, e)
	mustApply(t, e, UpsertBinding{Tenant: t1, Binding: "new", Account: "a7", Role: "r", Org: county})
	after := tenantOf(t, e)
	if n := changedLeaves(before.bindings, after.bindings); n != 1 {
		t.Errorf("binding index: %d leaves copied, want 1", n)
	}
	if n := changedLeaves(before.accounts, after.accounts); n != 1 {
		t.Errorf("account index: %d leaves copied, want 1", n)
	}
	if before.orgIDs.root != after.orgIDs.root || before.roleIDs.root != after.roleIDs.root ||
		&before.orgs.chunks[0] != &after.orgs.chunks[0] || &before.roles.chunks[0] != &after.roles.chunks[0] {
		t.Error("untouched indexes were copied")
	}
}

func tenantOf(t *testing.T, e *Engine) *tenantState {
	t.Helper()
	ts, ok := e.Snapshot().tenants.get(t1)
	if !ok {
		t.Fatal("tenant missing")
	}
	return ts
}

// changedLeaves counts the leaves of two versions of a pmap that are not the
// same backing array.
func changedLeaves[K ~string, V any](a, b pmap[K, V]) int {
	n := 0
	for i := range fan {
		for j := range fan {
			la, lb := a.root[i][j], b.root[i][j]
			if len(la) != len(lb) || (len(la) > 0 && &la[0] != &lb[0]) {
				n++
			}
		}
	}
	return n
}
