package replica

// Change is one decoded entity change of a delta, as written to the
// replica and passed to Config.OnApplied. The concrete types are the
// entity records (an upsert) and the tombstones (a removal) below; the set
// is closed.
type Change interface {
	// write applies the change to the replica inside tx.
	write(tx execer, tenant string) error
}

// Tenant is a tenant.created / tenant.updated upsert.
type Tenant struct {
	ID, Slug, Name, Status string
	Version                int64
}

// Organization is an organization.created / organization.moved upsert.
// ParentID is empty for a root organization.
type Organization struct {
	ID, ParentID, Name string
	Depth, Version     int64
}

// Account is an account.created / account.updated upsert (no PII).
type Account struct {
	ID, Status string
	Version    int64
}

// Role is a role.created / role.updated upsert; Permissions replaces the
// role's permission set.
type Role struct {
	ID, Name    string
	Permissions []string
	Version     int64
}

// RoleBinding is a role_binding.created upsert.
type RoleBinding struct {
	ID, AccountID, RoleID, OrganizationID string
}

// SessionRevoked is a session.revoked upsert into revoked_sessions.
type SessionRevoked struct {
	ID, AccountID, RevokedAt string
}

// JWTKey is a signing_key.published / signing_key.updated upsert: the
// public half of one of the tenant's JWT signing keys. NotBefore and
// RetireAt are RFC 3339 text or empty.
type JWTKey struct {
	Kid       string
	PublicKey []byte // Ed25519, 32 bytes
	Alg       string
	State     string // next, active, retiring, retired
	NotBefore string
	RetireAt  string
}

// FeatureFlag is a feature_flag.set upsert: the rule of one of the
// tenant's feature flags (docs/feature-flags.md). RolloutPercent is 0-100;
// the flag is on for an account when Enabled and the account's stable
// bucket is below RolloutPercent.
type FeatureFlag struct {
	Name           string
	Enabled        bool
	RolloutPercent int
	Version        int64
}

// TenantDeleted is the tenant.deleted tombstone: every row of the tenant
// goes; its chain stays so later deltas still verify.
type TenantDeleted struct{ ID string }

// AccountErased is the account.erased tombstone: the account, its role
// bindings, its revoked-session rows and its devices go.
type AccountErased struct{ ID string }

// RoleDeleted is the role.deleted tombstone: the role, its permissions and
// its bindings go.
type RoleDeleted struct{ ID string }

// RoleBindingDeleted is the role_binding.deleted tombstone.
type RoleBindingDeleted struct{ ID string }

// Device is a device.enrolled / device.renewed / device.revoked upsert
// (devproto.DevicePayload): every device delta carries the whole entity.
// NotAfter is RFC 3339 text; Status is DeviceActive or DeviceRevoked.
type Device struct {
	ID, AccountID, Name, Platform, Status, CertSerial, NotAfter string
	Version                                                     int64
}

// Device statuses.
const (
	DeviceActive  = "active"
	DeviceRevoked = "revoked"
)

// TenantCA is a tenant_ca.published upsert: the tenant's CA of the given
// generation. Bundle is the canonical encoding of a devcert.TrustBundle
// holding every root and intermediate of the payload (expired ones too);
// rebuild it with devcert.ParseTrustBundle.
type TenantCA struct {
	Generation int64
	Bundle     []byte
}
