package authz

func (c UpsertOrg) apply(tx *txn) error {
	if !validID(c.Org) || (c.Parent != "" && !validID(c.Parent)) {
		return ErrInvalidID
	}
	t, err := tx.liveTenant(c.Tenant)
	if err != nil {
		return err
	}
	return t.upsertOrg(c.Org, c.Parent)
}

func (c DeleteOrg) apply(tx *txn) error {
	if !validID(c.Org) {
		return ErrInvalidID
	}
	t, err := tx.liveTenant(c.Tenant)
	if err != nil {
		return err
	}
	return t.deleteOrg(c.Org)
}

func (t *tenantTxn) upsertOrg(id, parentID OrgID) error {
	if parentID == id {
		return ErrOrgCycle
	}
	parent := noOrg
	if parentID != "" {
		p, ok := t.liveOrg(parentID)
		if !ok {
			return ErrUnknownParent
		}
		parent = p
	}
	i := t.orgSlot(id)
	n := t.orgs.at(i)
	if n.alive && n.parent == parent {
		return nil
	}
	if n.alive && t.isAncestorOrSelf(i, parent) {
		return ErrOrgCycle
	}
	if n.alive {
		t.addChildren(n.parent, -1)
	}
	m := t.orgs.mut(i)
	m.parent, m.alive = parent, true
	t.addChildren(parent, 1)
	return nil
}

func (t *tenantTxn) deleteOrg(id OrgID) error {
	i, ok := t.liveOrg(id)
	if !ok {
		return nil
	}
	n := t.orgs.at(i)
	if n.children > 0 {
		return ErrOrgHasChildren
	}
	t.addChildren(n.parent, -1)
	m := t.orgs.mut(i)
	m.parent, m.alive = noOrg, false
	return nil
}

// liveOrg returns the slot of a live organization.
func (t *tenantTxn) liveOrg(id OrgID) (uint32, bool) {
	i, ok := t.orgIDs.get(id)
	if !ok || !t.orgs.at(i).alive {
		return 0, false
	}
	return i, true
}

// orgSlot returns the slot of an organization id, creating a dead one when
// the id is new.
func (t *tenantTxn) orgSlot(id OrgID) uint32 {
	if i, ok := t.orgIDs.get(id); ok {
		return i
	}
	i := t.orgs.push(orgNode{id: id, parent: noOrg})
	t.orgIDs.set(id, i)
	return i
}

// isAncestorOrSelf reports whether a is x or one of x's ancestors.
func (t *tenantTxn) isAncestorOrSelf(a, x uint32) bool {
	for cur := x; cur != noOrg; cur = t.orgs.at(cur).parent {
		if cur == a {
			return true
		}
	}
	return false
}

func (t *tenantTxn) addChildren(parent uint32, delta int32) {
	if parent != noOrg {
		t.orgs.mut(parent).children += delta
	}
}
