package authz

// TenantID identifies a tenant.
type TenantID string

// OrgID identifies an organization within its tenant.
type OrgID string

// AccountID identifies an account within its tenant.
type AccountID string

// RoleID identifies a role within its tenant.
type RoleID string

// BindingID identifies a role binding within its tenant.
type BindingID string

// Limits on input, enforced by Apply.
const (
	// MaxIDLength is the longest identifier accepted, in bytes.
	MaxIDLength = 256
	// MaxPermissionLength is the longest permission name accepted, in bytes.
	MaxPermissionLength = 256
	// MaxPermissions is how many distinct permission names an Engine interns
	// over its lifetime (names are never forgotten).
	MaxPermissions = 1 << 16
)

// Status is the state of an account. Only StatusActive accounts are granted
// anything.
type Status uint8

// Account statuses.
const (
	StatusActive Status = iota + 1
	StatusLocked
	StatusDisabled
)

// String returns the status name.
func (s Status) String() string {
	switch s {
	case StatusActive:
		return "active"
	case StatusLocked:
		return "locked"
	case StatusDisabled:
		return "disabled"
	}
	return "invalid"
}

func (s Status) valid() bool { return s >= StatusActive && s <= StatusDisabled }

// Query is one permission question, used by CheckBatch.
type Query struct {
	Tenant     TenantID
	Account    AccountID
	Org        OrgID
	Permission string
}

// Decision is the answer to a Query. Version is the Snapshot that decided it.
type Decision struct {
	Allowed bool
	Reason  Reason
	Version uint64
}

// Grant is one way a permission reaches an organization: a binding of a role
// on BoundOrg, inherited down Path. Path runs from BoundOrg (first) to the
// queried organization (last); it has one element when the binding sits on
// the queried organization itself.
type Grant struct {
	Binding  BindingID
	Role     RoleID
	BoundOrg OrgID
	Path     []OrgID
}

// Explanation is a Decision with every Grant that supports it, nearest
// binding first.
type Explanation struct {
	Decision
	Grants []Grant
}

// EffectivePermission is one permission an account holds in an
// organization, with every Grant that gives it, nearest binding first.
type EffectivePermission struct {
	Permission string
	Grants     []Grant
}
