package authz

// Change is one mutation of the model. The concrete types are the Upsert*
// and Delete* structs of this package; Engine.Apply applies a batch of them
// atomically. The interface is sealed: other packages cannot implement it.
type Change interface {
	apply(tx *txn) error
}

// UpsertTenant creates a tenant, or restarts a deleted one empty. Upserting
// a live tenant changes nothing.
type UpsertTenant struct {
	Tenant TenantID
}

// DeleteTenant drops all data of a tenant and leaves a tombstone, so checks
// answer ReasonTenantDeleted. Deleting an unknown tenant leaves a tombstone
// too.
type DeleteTenant struct {
	Tenant TenantID
}

// UpsertOrg creates an organization under Parent (empty for a root), or
// moves an existing one, with all its descendants, under Parent. It fails
// with ErrUnknownParent or ErrOrgCycle.
type UpsertOrg struct {
	Tenant TenantID
	Org    OrgID
	Parent OrgID
}

// DeleteOrg deletes an organization that has no live children (else
// ErrOrgHasChildren). Bindings on it become inert.
type DeleteOrg struct {
	Tenant TenantID
	Org    OrgID
}

// UpsertAccount creates an account or sets its status.
type UpsertAccount struct {
	Tenant  TenantID
	Account AccountID
	Status  Status
}

// DeleteAccount deletes an account. Its bindings are kept but inert.
type DeleteAccount struct {
	Tenant  TenantID
	Account AccountID
}

// UpsertRole creates a role or replaces its permission set.
type UpsertRole struct {
	Tenant      TenantID
	Role        RoleID
	Permissions []string
}

// DeleteRole deletes a role. Bindings of it are kept but inert.
type DeleteRole struct {
	Tenant TenantID
	Role   RoleID
}

// UpsertBinding creates or replaces a role binding. Referents that do not
// exist make it inert, not invalid (see the package documentation).
type UpsertBinding struct {
	Tenant  TenantID
	Binding BindingID
	Account AccountID
	Role    RoleID
	Org     OrgID
}

// DeleteBinding deletes a role binding, revoking what it granted.
type DeleteBinding struct {
	Tenant  TenantID
	Binding BindingID
}
