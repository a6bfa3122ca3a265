package authz

import (
	"errors"
	"maps"
	"slices"
	"strings"
)

// oracle is a deliberately naive model of the engine: plain maps, copied
// whole for every batch, and checks that walk parent pointers and scan every
// binding of the tenant.
type oracle struct {
	tenants map[TenantID]*oTenant
}

type oTenant struct {
	deleted  bool
	orgs     map[OrgID]OrgID // org -> parent ("" for a root)
	accounts map[AccountID]Status
	roles    map[RoleID][]string
	bindings map[BindingID]UpsertBinding
}

func newOracle() *oracle { return &oracle{tenants: map[TenantID]*oTenant{}} }

func newOTenant(deleted bool) *oTenant {
	return &oTenant{deleted: deleted, orgs: map[OrgID]OrgID{}, accounts: map[AccountID]Status{},
		roles: map[RoleID][]string{}, bindings: map[BindingID]UpsertBinding{}}
}

func (o *oracle) clone() *oracle {
	c := newOracle()
	for id, t := range o.tenants {
		c.tenants[id] = &oTenant{deleted: t.deleted, orgs: maps.Clone(t.orgs), accounts: maps.Clone(t.accounts),
			roles: maps.Clone(t.roles), bindings: maps.Clone(t.bindings)}
	}
	return c
}

// apply applies a batch all or nothing and returns the first error.
func (o *oracle) apply(changes []Change) error {
	next := o.clone()
	for _, c := range changes {
		if err := next.applyOne(c); err != nil {
			return err
		}
	}
	*o = *next
	return nil
}

func (o *oracle) live(id TenantID) (*oTenant, error) {
	t, ok := o.tenants[id]
	if !ok || t.deleted {
		return nil, ErrUnknownTenant
	}
	return t, nil
}

func (o *oracle) applyOne(c Change) error {
	switch c := c.(type) {
	case UpsertTenant:
		if t, ok := o.tenants[c.Tenant]; !ok || t.deleted {
			o.tenants[c.Tenant] = newOTenant(false)
		}
		return nil
	case DeleteTenant:
		o.tenants[c.Tenant] = newOTenant(true)
		return nil
	}
	return o.applyScoped(c)
}

func (o *oracle) applyScoped(c Change) error {
	switch c := c.(type) {
	case UpsertOrg:
		t, err := o.live(c.Tenant)
		if err != nil {
			return err
		}
		return t.upsertOrg(c)
	case DeleteOrg:
		t, err := o.live(c.Tenant)
		if err != nil {
			return err
		}
		return t.deleteOrg(c.Org)
	}
	return o.applyOther(c)
}

func (o *oracle) applyOther(c Change) error {
	var tid TenantID
	switch c := c.(type) {
	case UpsertAccount:
		tid = c.Tenant
	case DeleteAccount:
		tid = c.Tenant
	case UpsertRole:
		tid = c.Tenant
	case DeleteRole:
		tid = c.Tenant
	case UpsertBinding:
		tid = c.Tenant
	case DeleteBinding:
		tid = c.Tenant
	}
	t, err := o.live(tid)
	if err != nil {
		return err
	}
	switch c := c.(type) {
	case UpsertAccount:
		t.accounts[c.Account] = c.Status
	case DeleteAccount:
		delete(t.accounts, c.Account)
	case UpsertRole:
		t.roles[c.Role] = slices.Clone(c.Permissions)
	case DeleteRole:
		delete(t.roles, c.Role)
	case UpsertBinding:
		t.bindings[c.Binding] = c
	case DeleteBinding:
		delete(t.bindings, c.Binding)
	}
	return nil
}

func (t *oTenant) upsertOrg(c UpsertOrg) error {
	if c.Parent == c.Org {
		return ErrOrgCycle
	}
	if _, ok := t.orgs[c.Parent]; c.Parent != "" && !ok {
		return ErrUnknownParent
	}
	if _, ok := t.orgs[c.Org]; ok {
		for cur := c.Parent; cur != ""; cur = t.orgs[cur] {
			if cur == c.Org {
				return ErrOrgCycle
			}
		}
	}
	t.orgs[c.Org] = c.Parent
	return nil
}

func (t *oTenant) deleteOrg(id OrgID) error {
	for _, p := range t.orgs {
		if p == id {
			return ErrOrgHasChildren
		}
	}
	delete(t.orgs, id)
	return nil
}

// subject mirrors Snapshot.resolve.
func (o *oracle) subject(tid TenantID, a AccountID, org OrgID) (*oTenant, Reason) {
	t, ok := o.tenants[tid]
	switch {
	case !ok:
		return nil, ReasonUnknownTenant
	case t.deleted:
		return nil, ReasonTenantDeleted
	}
	st, ok := t.accounts[a]
	switch {
	case !ok:
		return nil, ReasonUnknownAccount
	case st == StatusLocked:
		return nil, ReasonAccountLocked
	case st == StatusDisabled:
		return nil, ReasonAccountDisabled
	}
	if _, ok := t.orgs[org]; !ok {
		return nil, ReasonUnknownOrg
	}
	return t, ReasonGranted
}

// effective maps each permission held to the set of granting binding ids.
func (t *oTenant) effective(a AccountID, org OrgID) map[string]map[BindingID]bool {
	out := map[string]map[BindingID]bool{}
	for cur := org; cur != ""; cur = t.orgs[cur] {
		for id, b := range t.bindings {
			perms, roleOK := t.roles[b.Role]
			if b.Account != a || b.Org != cur || !roleOK {
				continue
			}
			for _, p := range perms {
				if out[p] == nil {
					out[p] = map[BindingID]bool{}
				}
				out[p][id] = true
			}
		}
	}
	return out
}

// knownPerm reports whether any role of any tenant ever named p.
type permLog map[string]bool

func (o *oracle) check(known permLog, q Query) Reason {
	t, r := o.subject(q.Tenant, q.Account, q.Org)
	if r != ReasonGranted {
		return r
	}
	if !knownCovering(known, q.Permission) {
		return ReasonUnknownPermission
	}
	if len(t.grantsFor(q.Account, q.Org, q.Permission)) > 0 {
		return ReasonGranted
	}
	return ReasonNoGrant
}

// grantsFor is the set of bindings granting p, directly or by wildcard.
func (t *oTenant) grantsFor(a AccountID, org OrgID, p string) map[BindingID]bool {
	out := map[BindingID]bool{}
	for w, bs := range t.effective(a, org) {
		if covers(w, p) {
			for b := range bs {
				out[b] = true
			}
		}
	}
	return out
}

// covers is core's SQL rule, written out literally: w grants p when equal,
// or when w ends in ".*" and p starts with w minus the "*".
func covers(w, p string) bool {
	return w == p || (strings.HasSuffix(w, ".*") && strings.HasPrefix(p, w[:len(w)-1]))
}

func knownCovering(known permLog, p string) bool {
	for w := range known {
		if known[w] && covers(w, p) {
			return true
		}
	}
	return false
}

// sameError reports whether two Apply results agree on the sentinel.
func sameError(got, want error) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	return errors.Is(got, want)
}
