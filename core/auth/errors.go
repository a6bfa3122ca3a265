package auth

import (
	"errors"
	"time"
)

// Errors returned to the API layer, which maps each to a problem code.
var (
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	ErrMFAInvalid         = errors.New("auth: second factor invalid")
	ErrTicketInvalid      = errors.New("auth: mfa ticket invalid or expired")
	ErrMFANotEnrolled     = errors.New("auth: no second factor enrolled")
	ErrMFAAlreadyEnrolled = errors.New("auth: second factor already enrolled")
	ErrInvalidGrant       = errors.New("auth: invalid grant")
	ErrWrongPassword      = errors.New("auth: current password is wrong")
	ErrTokenInvalid       = errors.New("auth: access token invalid")
)

// RetryError is a refusal that may succeed later (throttling, overload).
type RetryError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *RetryError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *RetryError) Unwrap() error { return e.Err }

// ErrThrottled and ErrOverloaded are wrapped in a RetryError.
var (
	ErrThrottled  = errors.New("auth: too many failed attempts, slow down")
	ErrOverloaded = errors.New("auth: password hashing is saturated")
)

// PolicyError is a password that fails the policy.
type PolicyError struct{ Err error }

func (e *PolicyError) Error() string { return "auth: password policy: " + e.Err.Error() }

// Unwrap returns the policy failure from core/password.
func (e *PolicyError) Unwrap() error { return e.Err }

// TokenError says why an access token was refused; Reason is a metric label.
type TokenError struct {
	Reason string
	Err    error
}

func (e *TokenError) Error() string { return "auth: access token refused: " + e.Reason }

// Unwrap makes errors.Is(err, ErrTokenInvalid) true.
func (e *TokenError) Unwrap() []error { return []error{ErrTokenInvalid, e.Err} }
