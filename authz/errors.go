package authz

import (
	"errors"
	"fmt"
)

// Sentinel errors returned (wrapped in a *ChangeError) by Engine.Apply.
var (
	// ErrUnknownTenant: a change other than UpsertTenant or DeleteTenant
	// names a tenant that does not exist or was deleted.
	ErrUnknownTenant = errors.New("authz: unknown or deleted tenant")
	// ErrInvalidID: an identifier is empty or longer than MaxIDLength.
	ErrInvalidID = errors.New("authz: invalid identifier")
	// ErrInvalidStatus: an account status is not one of the Status constants.
	ErrInvalidStatus = errors.New("authz: invalid account status")
	// ErrInvalidPermission: a permission name is empty or longer than
	// MaxPermissionLength.
	ErrInvalidPermission = errors.New("authz: invalid permission name")
	// ErrTooManyPermissions: interning a new permission would exceed
	// MaxPermissions.
	ErrTooManyPermissions = errors.New("authz: too many distinct permissions")
	// ErrUnknownParent: an organization's parent does not exist or was deleted.
	ErrUnknownParent = errors.New("authz: unknown parent organization")
	// ErrOrgCycle: an organization would become its own ancestor.
	ErrOrgCycle = errors.New("authz: organization would become its own ancestor")
	// ErrOrgHasChildren: an organization to delete still has live children.
	ErrOrgHasChildren = errors.New("authz: organization still has children")
	// ErrNilChange: a nil Change was passed to Apply.
	ErrNilChange = errors.New("authz: nil change")
)

// ChangeError reports which change of a batch was rejected. The whole batch
// is discarded when Apply returns one.
type ChangeError struct {
	Index  int    // position of the change in the batch
	Change Change // the rejected change
	Err    error  // one of the sentinel errors above
}

// Error implements error.
func (e *ChangeError) Error() string {
	return fmt.Sprintf("authz: change %d (%T) rejected: %v", e.Index, e.Change, e.Err)
}

// Unwrap returns the sentinel error.
func (e *ChangeError) Unwrap() error { return e.Err }
