package authz

// Check decides whether account may use permission in org of tenant. It
// never allocates and never blocks. Deny reasons are evaluated in the order
// of the Reason constants: tenant, account, organization, permission, grant.
func (s *Snapshot) Check(tenant TenantID, account AccountID, org OrgID, permission string) Decision {
	r := s.decide(tenant, account, org, permission)
	return Decision{Allowed: r == ReasonGranted, Reason: r, Version: s.version}
}

// CheckBatch appends to dst one Decision per query, all taken from this
// snapshot, and returns the extended slice. It allocates only when dst lacks
// capacity.
func (s *Snapshot) CheckBatch(dst []Decision, queries []Query) []Decision {
	for _, q := range queries {
		dst = append(dst, s.Check(q.Tenant, q.Account, q.Org, q.Permission))
	}
	return dst
}

// subject is a resolved (tenant, account, org) triple.
type subject struct {
	t   *tenantState
	acc accountNode
	org uint32
}

// resolve finds the subject of a question, or the reason to deny it.
func (s *Snapshot) resolve(tenant TenantID, account AccountID, org OrgID) (subject, Reason) {
	t, ok := s.tenants.get(tenant)
	if !ok {
		return subject{}, ReasonUnknownTenant
	}
	if t.deleted {
		return subject{}, ReasonTenantDeleted
	}
	acc, ok := t.accounts.get(account)
	if !ok || !acc.alive {
		return subject{}, ReasonUnknownAccount
	}
	switch acc.status {
	case StatusLocked:
		return subject{}, ReasonAccountLocked
	case StatusDisabled:
		return subject{}, ReasonAccountDisabled
	}
	o, ok := t.orgOf(org)
	if !ok {
		return subject{}, ReasonUnknownOrg
	}
	return subject{t: t, acc: acc, org: o}, ReasonGranted
}

func (s *Snapshot) decide(tenant TenantID, account AccountID, org OrgID, permission string) Reason {
	sub, r := s.resolve(tenant, account, org)
	if r != ReasonGranted {
		return r
	}
	var buf [maxCandidates]uint32
	ps := s.perms.candidates(permission, &buf)
	if len(ps) == 0 {
		return ReasonUnknownPermission
	}
	for _, p := range ps {
		if sub.grants(p) {
			return ReasonGranted
		}
	}
	return ReasonNoGrant
}

// grants walks from the subject's organization up to its root and reports
// whether any binding of the account on the way has a role with p. The walk
// is bounded by the number of organization slots, a guard that the
// no-cycle invariant of Apply makes unreachable.
func (sub subject) grants(p uint32) bool {
	bs := sub.acc.bindings
	if len(bs) == 0 {
		return false
	}
	orgs := sub.t.orgs
	for cur, n := sub.org, 0; cur != noOrg && n <= orgs.len(); n++ {
		for i := range bs {
			if bs[i].org == cur && sub.t.roleHas(bs[i].role, p) {
				return true
			}
		}
		cur = orgs.at(cur).parent
	}
	return false
}
