package authz

// Snapshot is an immutable view of the whole model at one Version. All its
// methods are safe for concurrent use and never block. A Snapshot obtained
// from Engine.Snapshot stays valid and unchanged however many batches are
// applied later, so several reads on it are mutually consistent.
type Snapshot struct {
	version uint64
	tenants pmap[TenantID, *tenantState]
	perms   *permTable
}

// Version is the number of batches applied before this snapshot; it grows
// by one with every batch Engine.Apply publishes.
func (s *Snapshot) Version() uint64 { return s.version }

// permTable interns permission names to dense indexes shared by all tenants.
type permTable struct {
	ids   map[string]uint32
	names []string
	wild  bool // some name is a wildcard (see wildcard.go)
}

// tenantState is everything one tenant owns. Organizations and roles live in
// dense arrays addressed by an index interned from their id, so references
// between entities are small integers that survive copy-on-write.
type tenantState struct {
	id       TenantID
	deleted  bool
	orgIDs   pmap[OrgID, uint32]
	orgs     pvec[orgNode]
	roleIDs  pmap[RoleID, uint32]
	roles    pvec[roleNode]
	accounts pmap[AccountID, accountNode]
	bindings pmap[BindingID, bindingRec]
}

// noOrg is the parent index of a root organization.
const noOrg = ^uint32(0)

// orgNode is one organization slot; a deleted organization keeps its slot
// (alive false) so bindings that name it stay inert rather than dangling.
type orgNode struct {
	id       OrgID
	parent   uint32
	children int32 // live children
	alive    bool
}

// roleNode is one role slot; perms is empty when the role is not alive.
type roleNode struct {
	id    RoleID
	perms bitset
	alive bool
}

// accountNode is stored by value in the account index (one cache miss
// fewer per Check); its bindings slice is never written once published.
type accountNode struct {
	status   Status
	alive    bool
	bindings []bindingRef
}

// bindingRef is a binding as stored on its account, ready for Check.
type bindingRef struct {
	org  uint32
	role uint32
	id   BindingID
}

// bindingRec is a binding as stored by id: its account, to find the
// bindingRef to remove when the binding is deleted or replaced.
type bindingRec struct {
	account AccountID
}

func (t *tenantState) orgOf(id OrgID) (uint32, bool) {
	i, ok := t.orgIDs.get(id)
	if !ok || !t.orgs.at(i).alive {
		return 0, false
	}
	return i, true
}

// roleHas reports whether role slot r is alive and has permission p.
func (t *tenantState) roleHas(r uint32, p uint32) bool {
	n := t.roles.at(r)
	return n.alive && n.perms.has(p)
}
