package problem

import "net/http"

// Code is a registered wire error code.
type Code string

// Registered codes. Never rename or reuse one; add new ones at the end of
// their group and document them in docs/error-codes.md.
const (
	RequestMalformed      Code = "MELMASTOON.IAM.REQUEST.MALFORMED"
	RequestTooLarge       Code = "MELMASTOON.IAM.REQUEST.TOO_LARGE"
	RequestUnknownField   Code = "MELMASTOON.IAM.REQUEST.UNKNOWN_FIELD"
	RequestMediaType      Code = "MELMASTOON.IAM.REQUEST.UNSUPPORTED_MEDIA_TYPE"
	RequestRouteNotFound  Code = "MELMASTOON.IAM.REQUEST.ROUTE_NOT_FOUND"
	RequestMethod         Code = "MELMASTOON.IAM.REQUEST.METHOD_NOT_ALLOWED"
	ValidationFailed      Code = "MELMASTOON.IAM.VALIDATION.FAILED"
	ValidationInvalidID   Code = "MELMASTOON.IAM.VALIDATION.INVALID_ID"
	ValidationInvalidSlug Code = "MELMASTOON.IAM.VALIDATION.INVALID_SLUG"
	PaginationCursor      Code = "MELMASTOON.IAM.PAGINATION.INVALID_CURSOR"
	PaginationLimit       Code = "MELMASTOON.IAM.PAGINATION.INVALID_LIMIT"
	AuthUnauthenticated   Code = "MELMASTOON.IAM.AUTH.UNAUTHENTICATED"
	AuthForbidden         Code = "MELMASTOON.IAM.AUTH.FORBIDDEN"
	IdempotencyKeyReused  Code = "MELMASTOON.IAM.IDEMPOTENCY.KEY_REUSED"
	IdempotencyKeyInvalid Code = "MELMASTOON.IAM.IDEMPOTENCY.KEY_INVALID"
	PreconditionFailed    Code = "MELMASTOON.IAM.PRECONDITION.FAILED"
	PreconditionInvalid   Code = "MELMASTOON.IAM.PRECONDITION.INVALID_ETAG"
	TenantNotFound        Code = "MELMASTOON.IAM.TENANT.NOT_FOUND"
	TenantSlugTaken       Code = "MELMASTOON.IAM.TENANT.SLUG_TAKEN"
	OrgNotFound           Code = "MELMASTOON.IAM.ORGANIZATION.NOT_FOUND"
	OrgParentNotFound     Code = "MELMASTOON.IAM.ORGANIZATION.PARENT_NOT_FOUND"
	OrgCycle              Code = "MELMASTOON.IAM.ORGANIZATION.CYCLE"
	OrgNameTaken          Code = "MELMASTOON.IAM.ORGANIZATION.NAME_TAKEN"
	AccountNotFound       Code = "MELMASTOON.IAM.ACCOUNT.NOT_FOUND"
	AccountUsernameTaken  Code = "MELMASTOON.IAM.ACCOUNT.USERNAME_TAKEN"
	RoleNotFound          Code = "MELMASTOON.IAM.ROLE.NOT_FOUND"
	RoleNameTaken         Code = "MELMASTOON.IAM.ROLE.NAME_TAKEN"
	BindingNotFound       Code = "MELMASTOON.IAM.BINDING.NOT_FOUND"
	BindingDuplicate      Code = "MELMASTOON.IAM.BINDING.DUPLICATE"
	BindingAccount        Code = "MELMASTOON.IAM.BINDING.ACCOUNT_NOT_IN_TENANT"
	BindingRole           Code = "MELMASTOON.IAM.BINDING.ROLE_NOT_IN_TENANT"
	BindingOrganization   Code = "MELMASTOON.IAM.BINDING.ORGANIZATION_NOT_IN_TENANT"
	ServiceUnavailable    Code = "MELMASTOON.IAM.SERVICE.UNAVAILABLE"
	ServiceInternal       Code = "MELMASTOON.IAM.SERVICE.INTERNAL"
	IdempotencyInProgress Code = "MELMASTOON.IAM.IDEMPOTENCY.IN_PROGRESS"
	AuthInvalidCreds      Code = "MELMASTOON.IAM.AUTH.INVALID_CREDENTIALS"
	AuthThrottled         Code = "MELMASTOON.IAM.AUTH.THROTTLED"
	AuthHashingOverloaded Code = "MELMASTOON.IAM.AUTH.HASHING_OVERLOADED"
	AuthMFAInvalid        Code = "MELMASTOON.IAM.AUTH.MFA_INVALID"
	AuthMFATicketInvalid  Code = "MELMASTOON.IAM.AUTH.MFA_TICKET_INVALID"
	AuthMFANotEnrolled    Code = "MELMASTOON.IAM.AUTH.MFA_NOT_ENROLLED"
	AuthMFAEnrolled       Code = "MELMASTOON.IAM.AUTH.MFA_ALREADY_ENROLLED"
	AuthPasswordPolicy    Code = "MELMASTOON.IAM.AUTH.PASSWORD_POLICY"
	AuthWrongPassword     Code = "MELMASTOON.IAM.AUTH.WRONG_PASSWORD"
	OAuthInvalidGrant     Code = "MELMASTOON.IAM.OAUTH.INVALID_GRANT"
	OAuthInvalidRequest   Code = "MELMASTOON.IAM.OAUTH.INVALID_REQUEST"
	OAuthUnsupportedGrant Code = "MELMASTOON.IAM.OAUTH.UNSUPPORTED_GRANT_TYPE"
	SessionNotFound       Code = "MELMASTOON.IAM.SESSION.NOT_FOUND"
	TokenMalformed        Code = "MELMASTOON.IAM.TOKEN.MALFORMED"
	TokenBadSignature     Code = "MELMASTOON.IAM.TOKEN.BAD_SIGNATURE"
	TokenExpired          Code = "MELMASTOON.IAM.TOKEN.EXPIRED"
	TokenNotYetValid      Code = "MELMASTOON.IAM.TOKEN.NOT_YET_VALID"
	TokenUnknownKey       Code = "MELMASTOON.IAM.TOKEN.UNKNOWN_KEY"
	TokenWrongIssuer      Code = "MELMASTOON.IAM.TOKEN.WRONG_ISSUER"
	TokenWrongAudience    Code = "MELMASTOON.IAM.TOKEN.WRONG_AUDIENCE"
	TokenSessionRevoked   Code = "MELMASTOON.IAM.TOKEN.SESSION_REVOKED"
	TokenAccountInactive  Code = "MELMASTOON.IAM.TOKEN.ACCOUNT_INACTIVE"
	TokenUnknownTenant    Code = "MELMASTOON.IAM.TOKEN.UNKNOWN_TENANT"
	EdgeStale             Code = "MELMASTOON.IAM.EDGE.STALE"
	CheckBatchTooLarge    Code = "MELMASTOON.IAM.CHECK.BATCH_TOO_LARGE"
	FlagUnknown           Code = "MELMASTOON.IAM.FLAG.UNKNOWN"
	DeviceNotFound        Code = "MELMASTOON.IAM.DEVICE.NOT_FOUND"
	DeviceAccountRequired Code = "MELMASTOON.IAM.DEVICE.ACCOUNT_REQUIRED"
	DeviceWeakKey         Code = "MELMASTOON.IAM.DEVICE.WEAK_KEY"
	DeviceProofInvalid    Code = "MELMASTOON.IAM.DEVICE.PROOF_INVALID"
	DeviceNonceInvalid    Code = "MELMASTOON.IAM.DEVICE.NONCE_INVALID"
	DeviceNonceUsed       Code = "MELMASTOON.IAM.DEVICE.NONCE_USED"
	DeviceNonceExpired    Code = "MELMASTOON.IAM.DEVICE.NONCE_EXPIRED"
	DeviceKeyInUse        Code = "MELMASTOON.IAM.DEVICE.KEY_IN_USE"
	DeviceCALimit         Code = "MELMASTOON.IAM.DEVICE.CA_GENERATIONS_LIMIT"
)

// Spec is the HTTP status and title of a code.
type Spec struct {
	Status int
	Title  string
}

// registry is constant data: every code the service can return.
var registry = map[Code]Spec{
	RequestMalformed:      {http.StatusBadRequest, "Malformed request body"},
	RequestTooLarge:       {http.StatusRequestEntityTooLarge, "Request body too large"},
	RequestUnknownField:   {http.StatusBadRequest, "Unknown field in request body"},
	RequestMediaType:      {http.StatusUnsupportedMediaType, "Unsupported media type"},
	RequestRouteNotFound:  {http.StatusNotFound, "No such route"},
	RequestMethod:         {http.StatusMethodNotAllowed, "Method not allowed"},
	ValidationFailed:      {http.StatusBadRequest, "Validation failed"},
	ValidationInvalidID:   {http.StatusBadRequest, "Invalid identifier"},
	ValidationInvalidSlug: {http.StatusBadRequest, "Invalid tenant slug"},
	PaginationCursor:      {http.StatusBadRequest, "Invalid pagination cursor"},
	PaginationLimit:       {http.StatusBadRequest, "Invalid page size"},
	AuthUnauthenticated:   {http.StatusUnauthorized, "Authentication required"},
	AuthForbidden:         {http.StatusForbidden, "Not allowed"},
	IdempotencyKeyReused:  {http.StatusUnprocessableEntity, "Idempotency key reused with a different request"},
	IdempotencyKeyInvalid: {http.StatusBadRequest, "Invalid idempotency key"},
	PreconditionFailed:    {http.StatusPreconditionFailed, "Resource changed (If-Match does not match)"},
	PreconditionInvalid:   {http.StatusBadRequest, "Invalid If-Match header"},
	TenantNotFound:        {http.StatusNotFound, "Tenant not found"},
	TenantSlugTaken:       {http.StatusConflict, "Tenant slug already taken"},
	OrgNotFound:           {http.StatusNotFound, "Organization not found"},
	OrgParentNotFound:     {http.StatusUnprocessableEntity, "Parent organization not found"},
	OrgCycle:              {http.StatusConflict, "Organization cannot move under itself or its descendant"},
	OrgNameTaken:          {http.StatusConflict, "Sibling organization with this name exists"},
	AccountNotFound:       {http.StatusNotFound, "Account not found"},
	AccountUsernameTaken:  {http.StatusConflict, "Username already taken"},
	RoleNotFound:          {http.StatusNotFound, "Role not found"},
	RoleNameTaken:         {http.StatusConflict, "Role name already taken"},
	BindingNotFound:       {http.StatusNotFound, "Role binding not found"},
	BindingDuplicate:      {http.StatusConflict, "Role binding already exists"},
	BindingAccount:        {http.StatusUnprocessableEntity, "Account does not exist in this tenant"},
	BindingRole:           {http.StatusUnprocessableEntity, "Role does not exist in this tenant"},
	BindingOrganization:   {http.StatusUnprocessableEntity, "Organization does not exist in this tenant"},
	ServiceUnavailable:    {http.StatusServiceUnavailable, "Service temporarily unavailable"},
	ServiceInternal:       {http.StatusInternalServerError, "Internal error"},
	IdempotencyInProgress: {http.StatusConflict, "A request with this idempotency key is in progress"},
	AuthInvalidCreds:      {http.StatusUnauthorized, "Invalid username or password"},
	AuthThrottled:         {http.StatusTooManyRequests, "Too many failed sign-ins"},
	AuthHashingOverloaded: {http.StatusServiceUnavailable, "Sign-in is saturated"},
	AuthMFAInvalid:        {http.StatusUnauthorized, "Second factor invalid"},
	AuthMFATicketInvalid:  {http.StatusUnauthorized, "MFA ticket invalid or expired"},
	AuthMFANotEnrolled:    {http.StatusConflict, "No second factor enrolled"},
	AuthMFAEnrolled:       {http.StatusConflict, "Second factor already enrolled"},
	AuthPasswordPolicy:    {http.StatusBadRequest, "Password does not meet the policy"},
	AuthWrongPassword:     {http.StatusForbidden, "Current password is wrong"},
	OAuthInvalidGrant:     {http.StatusBadRequest, "Invalid grant"},
	OAuthInvalidRequest:   {http.StatusBadRequest, "Invalid token request"},
	OAuthUnsupportedGrant: {http.StatusBadRequest, "Unsupported grant type"},
	SessionNotFound:       {http.StatusNotFound, "Session not found"},
	TokenMalformed:        {http.StatusUnauthorized, "Token malformed"},
	TokenBadSignature:     {http.StatusUnauthorized, "Token signature or algorithm not accepted"},
	TokenExpired:          {http.StatusUnauthorized, "Token expired"},
	TokenNotYetValid:      {http.StatusUnauthorized, "Token not valid yet"},
	TokenUnknownKey:       {http.StatusUnauthorized, "Token signed by an unknown or retired key"},
	TokenWrongIssuer:      {http.StatusUnauthorized, "Token issuer not accepted"},
	TokenWrongAudience:    {http.StatusUnauthorized, "Token audience not accepted"},
	TokenSessionRevoked:   {http.StatusUnauthorized, "Session revoked"},
	TokenAccountInactive:  {http.StatusUnauthorized, "Account unknown, locked or disabled"},
	TokenUnknownTenant:    {http.StatusUnauthorized, "Tenant unknown or deleted"},
	EdgeStale:             {http.StatusServiceUnavailable, "Edge replica too stale to decide"},
	CheckBatchTooLarge:    {http.StatusBadRequest, "Too many checks in one batch"},
	FlagUnknown:           {http.StatusNotFound, "Unknown feature flag"},
	DeviceNotFound:        {http.StatusNotFound, "Device not found"},
	DeviceAccountRequired: {http.StatusForbidden, "Only an account can enroll its device"},
	DeviceWeakKey:         {http.StatusBadRequest, "Device public key not usable"},
	DeviceProofInvalid:    {http.StatusBadRequest, "Proof of possession does not verify"},
	DeviceNonceInvalid:    {http.StatusBadRequest, "Enrollment nonce unknown"},
	DeviceNonceUsed:       {http.StatusConflict, "Enrollment nonce already used"},
	DeviceNonceExpired:    {http.StatusBadRequest, "Enrollment nonce expired"},
	DeviceKeyInUse:        {http.StatusConflict, "Public key already enrolled"},
	DeviceCALimit:         {http.StatusConflict, "Too many active CA generations"},
}

// Lookup returns the spec of a registered code.
func Lookup(c Code) (Spec, bool) {
	s, ok := registry[c]
	return s, ok
}

// Codes returns every registered code.
func Codes() []Code {
	out := make([]Code, 0, len(registry))
	for c := range registry {
		out = append(out, c)
	}
	return out
}
