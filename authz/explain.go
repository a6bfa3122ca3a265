package authz

import (
	"cmp"
	"slices"
)

// Explain decides like Check and also returns every Grant that supports
// an allowed decision (none when denied). Unlike Check it allocates.
func (s *Snapshot) Explain(tenant TenantID, account AccountID, org OrgID, permission string) Explanation {
	d := s.Check(tenant, account, org, permission)
	if !d.Allowed {
		return Explanation{Decision: d}
	}
	sub, _ := s.resolve(tenant, account, org)
	var buf [maxCandidates]uint32
	ps := s.perms.candidates(permission, &buf)
	var gs []Grant
	sub.eachGrant(func(b *bindingRef, path []OrgID) {
		for _, p := range ps {
			if sub.t.roleHas(b.role, p) {
				gs = append(gs, sub.grant(b, path))
				return
			}
		}
	})
	sortGrants(gs)
	return Explanation{Decision: d, Grants: gs}
}

// EffectivePermissions returns every permission the account holds in org,
// sorted by name, each with its grants. The Reason is ReasonGranted when
// the list is not empty, ReasonNoGrant when it is, or why the subject was
// denied outright (then the list is nil).
func (s *Snapshot) EffectivePermissions(tenant TenantID, account AccountID, org OrgID) ([]EffectivePermission, Reason) {
	sub, r := s.resolve(tenant, account, org)
	if r != ReasonGranted {
		return nil, r
	}
	byPerm := map[uint32][]Grant{}
	sub.eachGrant(func(b *bindingRef, path []OrgID) {
		role := sub.t.roles.at(b.role)
		if !role.alive {
			return
		}
		g := sub.grant(b, path)
		role.perms.each(func(p uint32) { byPerm[p] = append(byPerm[p], g) })
	})
	if len(byPerm) == 0 {
		return nil, ReasonNoGrant
	}
	out := make([]EffectivePermission, 0, len(byPerm))
	for p, gs := range byPerm {
		sortGrants(gs)
		out = append(out, EffectivePermission{Permission: s.perms.names[p], Grants: gs})
	}
	slices.SortFunc(out, func(a, b EffectivePermission) int { return cmp.Compare(a.Permission, b.Permission) })
	return out, ReasonGranted
}

// eachGrant calls fn for every binding of the account that sits on the
// subject's organization or an ancestor, with the path from the binding's
// organization down to the subject's (fn must copy path to keep it).
func (sub subject) eachGrant(fn func(b *bindingRef, path []OrgID)) {
	chain := sub.chain()
	for i, o := range chain {
		for j := range sub.acc.bindings {
			b := &sub.acc.bindings[j]
			if b.org == o {
				fn(b, sub.pathFrom(chain[:i+1]))
			}
		}
	}
}

// chain lists the subject's organization and its ancestors, nearest first.
func (sub subject) chain() []uint32 {
	var c []uint32
	for cur := sub.org; cur != noOrg && len(c) <= sub.t.orgs.len(); cur = sub.t.orgs.at(cur).parent {
		c = append(c, cur)
	}
	return c
}

// pathFrom turns a nearest-first chain prefix into ids from its last
// element (the bound organization) down to the subject's organization.
func (sub subject) pathFrom(up []uint32) []OrgID {
	path := make([]OrgID, len(up))
	for i, o := range up {
		path[len(up)-1-i] = sub.t.orgs.at(o).id
	}
	return path
}

func (sub subject) grant(b *bindingRef, path []OrgID) Grant {
	return Grant{Binding: b.id, Role: sub.t.roles.at(b.role).id, BoundOrg: path[0], Path: path}
}

// sortGrants orders grants nearest binding first, then by binding id.
func sortGrants(gs []Grant) {
	slices.SortFunc(gs, func(a, b Grant) int {
		if c := cmp.Compare(len(a.Path), len(b.Path)); c != 0 {
			return c
		}
		return cmp.Compare(a.Binding, b.Binding)
	})
}
