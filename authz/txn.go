package authz

import "maps"

// txn is the private working copy of a Snapshot that one Apply builds. It is
// never visible to readers; commit freezes it into a new Snapshot.
type txn struct {
	base       *Snapshot
	tenants    *pmapTxn[TenantID, *tenantState]
	perms      *permTable
	permsOwned bool
	open       map[TenantID]*tenantTxn
}

// tenantTxn is the working copy of one tenant.
type tenantTxn struct {
	id       TenantID
	deleted  bool
	orgIDs   *pmapTxn[OrgID, uint32]
	orgs     *pvecTxn[orgNode]
	roleIDs  *pmapTxn[RoleID, uint32]
	roles    *pvecTxn[roleNode]
	accounts *pmapTxn[AccountID, accountNode]
	bindings *pmapTxn[BindingID, bindingRec]
}

func newTxn(base *Snapshot) *txn {
	return &txn{
		base:    base,
		tenants: newPmapTxn(base.tenants),
		perms:   base.perms,
		open:    map[TenantID]*tenantTxn{},
	}
}

func openTenant(s *tenantState) *tenantTxn {
	return &tenantTxn{
		id:       s.id,
		deleted:  s.deleted,
		orgIDs:   newPmapTxn(s.orgIDs),
		orgs:     newPvecTxn(s.orgs),
		roleIDs:  newPmapTxn(s.roleIDs),
		roles:    newPvecTxn(s.roles),
		accounts: newPmapTxn(s.accounts),
		bindings: newPmapTxn(s.bindings),
	}
}

func (t *tenantTxn) freeze() *tenantState {
	return &tenantState{
		id:       t.id,
		deleted:  t.deleted,
		orgIDs:   t.orgIDs.freeze(),
		orgs:     t.orgs.freeze(),
		roleIDs:  t.roleIDs.freeze(),
		roles:    t.roles.freeze(),
		accounts: t.accounts.freeze(),
		bindings: t.bindings.freeze(),
	}
}

// lookupTenant returns the working copy of a tenant, opening it on first
// use; ok is false when the tenant has never existed.
func (tx *txn) lookupTenant(id TenantID) (*tenantTxn, bool) {
	if t, ok := tx.open[id]; ok {
		return t, true
	}
	s, ok := tx.tenants.get(id)
	if !ok {
		return nil, false
	}
	t := openTenant(s)
	tx.open[id] = t
	return t, true
}

// liveTenant returns the working copy of a live tenant or ErrUnknownTenant.
func (tx *txn) liveTenant(id TenantID) (*tenantTxn, error) {
	t, ok := tx.lookupTenant(id)
	if !ok || t.deleted {
		return nil, ErrUnknownTenant
	}
	return t, nil
}

// resetTenant replaces a tenant with an empty one, live or tombstoned.
func (tx *txn) resetTenant(id TenantID, deleted bool) {
	t := openTenant(&tenantState{id: id})
	t.deleted = deleted
	tx.open[id] = t
}

// internPerm returns the index of a permission name, interning it (on a
// private copy of the table) when new.
func (tx *txn) internPerm(name string) (uint32, error) {
	if i, ok := tx.perms.ids[name]; ok {
		return i, nil
	}
	if len(tx.perms.names) >= MaxPermissions {
		return 0, ErrTooManyPermissions
	}
	if !tx.permsOwned {
		tx.perms = &permTable{ids: maps.Clone(tx.perms.ids), names: append([]string(nil), tx.perms.names...), wild: tx.perms.wild}
		tx.permsOwned = true
	}
	i := uint32(len(tx.perms.names))
	tx.perms.ids[name] = i
	tx.perms.names = append(tx.perms.names, name)
	tx.perms.wild = tx.perms.wild || isWildcard(name)
	return i, nil
}

// commit freezes the working copy into the next Snapshot.
func (tx *txn) commit() *Snapshot {
	for id, t := range tx.open {
		tx.tenants.set(id, t.freeze())
	}
	return &Snapshot{version: tx.base.version + 1, tenants: tx.tenants.freeze(), perms: tx.perms}
}
