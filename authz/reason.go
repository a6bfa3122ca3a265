package authz

// Reason says why a Decision was made. The zero value is never returned.
type Reason uint8

// Reasons, in the order Check evaluates them.
const (
	ReasonGranted           Reason = iota + 1 // a binding grants the permission
	ReasonUnknownTenant                       // no such tenant
	ReasonTenantDeleted                       // the tenant was deleted
	ReasonUnknownAccount                      // no such account in the tenant, or deleted
	ReasonAccountLocked                       // the account is locked
	ReasonAccountDisabled                     // the account is disabled
	ReasonUnknownOrg                          // no such organization in the tenant, or deleted
	ReasonUnknownPermission                   // no role ever named this permission
	ReasonNoGrant                             // everything exists, but no binding grants it
)

var reasonNames = [...]string{
	ReasonGranted:           "granted",
	ReasonUnknownTenant:     "unknown_tenant",
	ReasonTenantDeleted:     "tenant_deleted",
	ReasonUnknownAccount:    "unknown_account",
	ReasonAccountLocked:     "account_locked",
	ReasonAccountDisabled:   "account_disabled",
	ReasonUnknownOrg:        "unknown_org",
	ReasonUnknownPermission: "unknown_permission",
	ReasonNoGrant:           "no_grant",
}

// String returns a stable snake_case name, fit for logs and metrics labels.
func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return "invalid"
}
