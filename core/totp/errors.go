package totp

import "errors"

var (
	// ErrInvalidAccount reports an empty issuer or account name, or one
	// containing ':' (the otpauth label separator).
	ErrInvalidAccount = errors.New("totp: issuer and account name must be non-empty and contain no ':'")
	// ErrMalformedRecoveryCode reports input that cannot be a recovery code.
	ErrMalformedRecoveryCode = errors.New("totp: malformed recovery code")
	// ErrRandom reports a failure of the random source.
	ErrRandom = errors.New("totp: random source failed")
)
