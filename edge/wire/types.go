package wire

// Limits of the API.
const (
	// MaxBatch is the most checks one batch may carry.
	MaxBatch = 100
	// MaxBodyBytes caps a request body (a batch of MaxBatch checks with
	// tokens fits comfortably).
	MaxBodyBytes = 1 << 20
	// MaxFieldBytes caps an identifier or permission name.
	MaxFieldBytes = 256
)

// The feature flags an edge evaluates. Unset flags are enabled for every
// account (docs/feature-flags.md).
const (
	FlagAuthentication    = "iam_authentication_enabled"
	FlagAuthorization     = "iam_authorization_enabled"
	FlagPermissionCaching = "iam_permission_caching_enabled"
)

// FlagNames lists the known flags.
var FlagNames = [...]string{FlagAuthentication, FlagAuthorization, FlagPermissionCaching}

// VerifyRequest asks whether an access token is valid.
type VerifyRequest struct {
	Token string `json:"token"`
}

// Claims are the verified claims of an access token.
type Claims struct {
	Tenant     string   `json:"tenant"`      // tenant id (tid)
	TenantSlug string   `json:"tenant_slug"` // tenant slug
	Subject    string   `json:"sub"`         // account id
	SessionID  string   `json:"sid,omitempty"`
	TokenID    string   `json:"jti,omitempty"`
	Issuer     string   `json:"iss"`
	AMR        []string `json:"amr,omitempty"`
	IssuedAt   int64    `json:"iat,omitempty"` // unix seconds
	ExpiresAt  int64    `json:"exp"`           // unix seconds
}

// VerifyResponse is a valid token's claims and the feature flags of its
// account.
type VerifyResponse struct {
	Valid  bool            `json:"valid"`
	Claims Claims          `json:"claims"`
	Flags  map[string]bool `json:"flags"`
}

// CheckRequest asks whether an account may use a permission in an
// organization. The account is named either by a token (whose subject and
// tenant are used; Tenant, if given, must match) or by Account and Tenant.
// Tenant is a tenant id or slug.
type CheckRequest struct {
	Token        string `json:"token,omitempty"`
	Account      string `json:"account,omitempty"`
	Tenant       string `json:"tenant,omitempty"`
	Permission   string `json:"permission"`
	Organization string `json:"organization"`
}

// CheckResponse is the decision. Reason is "granted" when allowed, or why
// not: an authz reason (no_grant, unknown_org, unknown_account,
// account_locked, ...) or, in a batch, a token refusal prefixed "token_"
// (token_expired, token_revoked_session, ...).
type CheckResponse struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Tenant  string `json:"tenant,omitempty"`  // the tenant id decided on
	Account string `json:"account,omitempty"` // the account decided on
}

// BatchRequest carries up to MaxBatch checks.
type BatchRequest struct {
	Checks []CheckRequest `json:"checks"`
}

// BatchResponse has one result per check, in order.
type BatchResponse struct {
	Results []CheckResponse `json:"results"`
}

// PermissionsRequest asks for an account's effective permissions in an
// organization, with the grants behind each.
type PermissionsRequest struct {
	Tenant       string
	Account      string
	Organization string
}

// Grant is one way a permission reaches the organization: a binding of
// Role on BoundOrganization, inherited down Path (from the bound
// organization to the queried one).
type Grant struct {
	Binding           string   `json:"binding"`
	Role              string   `json:"role"`
	BoundOrganization string   `json:"bound_organization"`
	Path              []string `json:"path"`
}

// Permission is one effective permission with its grants.
type Permission struct {
	Permission string  `json:"permission"`
	Grants     []Grant `json:"grants"`
}

// PermissionsResponse lists the effective permissions (empty when none,
// with Reason saying why).
type PermissionsResponse struct {
	Tenant       string       `json:"tenant"`
	Account      string       `json:"account"`
	Organization string       `json:"organization"`
	Reason       string       `json:"reason"`
	Permissions  []Permission `json:"permissions"`
}

// FlagsRequest asks for the feature flags of an account.
type FlagsRequest struct {
	Tenant  string
	Account string
}

// FlagsResponse has every known flag's value for the account.
type FlagsResponse struct {
	Tenant  string          `json:"tenant"`
	Account string          `json:"account"`
	Flags   map[string]bool `json:"flags"`
}
