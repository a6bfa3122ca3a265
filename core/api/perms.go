package api

// The permissions the admin API checks. Bound on an organization they apply
// to it and its whole subtree; tenant-wide resources (accounts, roles,
// sessions, keys) need the permission bound on a root organization. A role
// may hold a wildcard such as "iam.*".
const (
	permOrgRead      = "iam.organizations.read"
	permOrgWrite     = "iam.organizations.write"
	permAccountRead  = "iam.accounts.read"
	permAccountWrite = "iam.accounts.write"
	permRoleRead     = "iam.roles.read"
	permRoleWrite    = "iam.roles.write"
	permBindingRead  = "iam.bindings.read"
	permBindingWrite = "iam.bindings.write"
	permSessionRead  = "iam.sessions.read"
	permSessionWrite = "iam.sessions.write"
	permKeyRead      = "iam.keys.read"
	permKeyWrite     = "iam.keys.write"
	permFlagRead     = "iam.flags.read"
	permFlagWrite    = "iam.flags.write"
	permDeviceRead   = "iam.devices.read"
	permDeviceWrite  = "iam.devices.write"
	permCARead       = "iam.ca.read"
	permCAWrite      = "iam.ca.write"
)
