package store

import (
	"errors"
	"fmt"
)

// Sentinel errors. The API layer maps each to a registered problem code.
var (
	ErrNotFound           = errors.New("store: not found")
	ErrInvalidID          = errors.New("store: invalid id")
	ErrDuplicate          = errors.New("store: already exists")
	ErrVersionMismatch    = errors.New("store: version does not match (If-Match)")
	ErrCycle              = errors.New("store: organization cannot move under itself or its descendant")
	ErrIdempotencyReuse   = errors.New("store: idempotency key reused with a different request")
	ErrUnavailable        = errors.New("store: database unavailable")
	ErrUnknownReference   = errors.New("store: referenced resource does not exist in this tenant")
	ErrServiceRoleTooWide = errors.New("store: service role must not be superuser, bypass RLS or own tables")
)

// FieldError reports which input field a validation failure concerns.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("store: field %s: %s", e.Field, e.Reason) }

// DuplicateError names the resource and field whose uniqueness was violated.
type DuplicateError struct{ Resource, Field string }

func (e *DuplicateError) Error() string {
	return "store: " + e.Resource + " " + e.Field + " already exists"
}

// Is makes errors.Is(err, ErrDuplicate) true.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }
