package authz

func (c UpsertRole) apply(tx *txn) error {
	if !validID(c.Role) {
		return ErrInvalidID
	}
	t, err := tx.liveTenant(c.Tenant)
	if err != nil {
		return err
	}
	perms, err := tx.permSet(c.Permissions)
	if err != nil {
		return err
	}
	*t.roles.mut(t.roleSlot(c.Role)) = roleNode{id: c.Role, perms: perms, alive: true}
	return nil
}

func (c DeleteRole) apply(tx *txn) error {
	if !validID(c.Role) {
		return ErrInvalidID
	}
	t, err := tx.liveTenant(c.Tenant)
	if err != nil {
		return err
	}
	if i, ok := t.roleIDs.get(c.Role); ok {
		*t.roles.mut(i) = roleNode{id: c.Role}
	}
	return nil
}

// permSet interns names and returns them as a new bitset.
func (tx *txn) permSet(names []string) (bitset, error) {
	var b bitset
	for _, name := range names {
		if len(name) == 0 || len(name) > MaxPermissionLength {
			return nil, ErrInvalidPermission
		}
		p, err := tx.internPerm(name)
		if err != nil {
			return nil, err
		}
		b = b.with(p)
	}
	return b, nil
}

// roleSlot returns the slot of a role id, creating a dead one when new.
func (t *tenantTxn) roleSlot(id RoleID) uint32 {
	if i, ok := t.roleIDs.get(id); ok {
		return i
	}
	i := t.roles.push(roleNode{id: id})
	t.roleIDs.set(id, i)
	return i
}
