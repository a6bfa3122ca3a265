package ca

import "errors"

// Errors of building, opening and using a CA. Certificates that fail the
// checks both issuance and verification apply (devcert.ParseCACert) are
// reported with devcert's sentinels instead: devcert.ErrMalformed,
// devcert.ErrTooLarge, devcert.ErrWrongTenant and devcert.ErrUntrusted.
var (
	// ErrInvalidConfig reports a CAConfig that CheckAndSetDefaults rejects.
	ErrInvalidConfig = errors.New("ca: invalid CA config")
	// ErrInvalidRequest reports a DeviceCertRequest with a device id that is
	// not a canonical UUID, a public key that is not a usable Ed25519 key
	// (devcert.IsWeakPublicKey), or a validity out of range.
	ErrInvalidRequest = errors.New("ca: invalid device certificate request")
	// ErrKeyMismatch reports a stored CA private key that does not match
	// its certificate.
	ErrKeyMismatch = errors.New("ca: CA certificate and key do not match")
	// ErrCAExpired reports a CA certificate that cannot sign now because it
	// has expired or is not valid yet: rotate it.
	ErrCAExpired = errors.New("ca: CA certificate not valid now")
)
