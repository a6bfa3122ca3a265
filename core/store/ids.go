package store

import "github.com/google/uuid"

// Typed identifiers: mixing up a tenant id with an account id is a security
// bug, so each aggregate has its own type. They marshal as UUID strings.
type (
	// TenantID identifies a tenant.
	TenantID struct{ uuid.UUID }
	// OrgID identifies an organization.
	OrgID struct{ uuid.UUID }
	// AccountID identifies an account.
	AccountID struct{ uuid.UUID }
	// RoleID identifies a role.
	RoleID struct{ uuid.UUID }
	// BindingID identifies a role binding.
	BindingID struct{ uuid.UUID }
)

// GlobalScope is the tenant id of work outside any tenant (creating a
// tenant, the idempotency keys of such calls).
var GlobalScope = TenantID{uuid.Nil}

// newID returns a time-ordered UUIDv7, so ids sort by creation.
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// ParseTenantID parses s, returning ErrInvalidID when it is not a UUID.
func ParseTenantID(s string) (TenantID, error) { u, err := parse(s); return TenantID{u}, err }

// ParseOrgID parses s, returning ErrInvalidID when it is not a UUID.
func ParseOrgID(s string) (OrgID, error) { u, err := parse(s); return OrgID{u}, err }

// ParseAccountID parses s, returning ErrInvalidID when it is not a UUID.
func ParseAccountID(s string) (AccountID, error) { u, err := parse(s); return AccountID{u}, err }

// ParseRoleID parses s, returning ErrInvalidID when it is not a UUID.
func ParseRoleID(s string) (RoleID, error) { u, err := parse(s); return RoleID{u}, err }

// ParseBindingID parses s, returning ErrInvalidID when it is not a UUID.
func ParseBindingID(s string) (BindingID, error) { u, err := parse(s); return BindingID{u}, err }

func parse(s string) (uuid.UUID, error) {
	u, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, ErrInvalidID
	}
	return u, nil
}

// SessionID identifies a session (a refresh-token family).
type SessionID struct{ uuid.UUID }

// ParseSessionID parses s, returning ErrInvalidID when it is not a UUID.
func ParseSessionID(s string) (SessionID, error) { u, err := parse(s); return SessionID{u}, err }
