package password

import (
	"errors"
	"fmt"
)

// Errors returned by ParsePHC, Hash and Verify. They are wrapped in a
// *ParseError when they come from parsing; test with errors.Is.
var (
	// ErrMalformedHash reports a stored hash that is not a well-formed
	// Argon2id PHC string.
	ErrMalformedHash = errors.New("password: malformed PHC hash string")
	// ErrUnsupportedAlgorithm reports a PHC string for another function
	// than argon2id (argon2i, argon2d, bcrypt, ...).
	ErrUnsupportedAlgorithm = errors.New("password: unsupported hash algorithm")
	// ErrUnsupportedVersion reports an Argon2 version other than 19 (0x13).
	ErrUnsupportedVersion = errors.New("password: unsupported argon2 version")
	// ErrParamsOutOfRange reports parameters outside the accepted bounds.
	ErrParamsOutOfRange = errors.New("password: argon2 parameters out of range")
)

// Errors returned by CheckPolicy (and by Hash for ErrTooLong).
var (
	// ErrTooShort reports a password with fewer than MinPasswordRunes runes.
	ErrTooShort = errors.New("password: too short")
	// ErrTooLong reports a password longer than MaxPasswordBytes bytes.
	ErrTooLong = errors.New("password: too long")
	// ErrCommon reports a password found in the common-password list.
	ErrCommon = errors.New("password: too common")
	// ErrInvalidEncoding reports a password that is not valid UTF-8.
	ErrInvalidEncoding = errors.New("password: not valid UTF-8")
)

// ErrOverloaded is returned by Limiter.Acquire when the hashing queue is
// full or the wait for a slot exceeded the configured bound.
var ErrOverloaded = errors.New("password: hashing overloaded, retry later")

// ParseError says which part of a PHC string was rejected. It unwraps to
// one of ErrMalformedHash, ErrUnsupportedAlgorithm, ErrUnsupportedVersion or
// ErrParamsOutOfRange. It never contains the salt or the hash.
type ParseError struct {
	Field string // "format", "algorithm", "version", "m", "t", "p", "salt", "hash"
	Err   error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%v (field %s)", e.Err, e.Field)
}

func (e *ParseError) Unwrap() error { return e.Err }

func parseErr(field string, err error) error {
	return &ParseError{Field: field, Err: err}
}
