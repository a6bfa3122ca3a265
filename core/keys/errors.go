package keys

import "errors"

// Errors of key encryption.
var (
	// ErrKEKLength reports a key-encryption key that is not 32 bytes.
	ErrKEKLength = errors.New("keys: key-encryption key must be 32 bytes")
	// ErrKEKEncoding reports a key-encryption key that is neither hex nor
	// base64.
	ErrKEKEncoding = errors.New("keys: key-encryption key is neither hex nor base64")
	// ErrDecrypt reports a ciphertext that does not open: wrong key, wrong
	// associated data (moved to another row), tampering, truncation or an
	// unknown version. The reasons are deliberately not distinguished.
	ErrDecrypt = errors.New("keys: ciphertext does not decrypt")
	// ErrPlaintextTooLarge reports input over MaxPlaintextBytes.
	ErrPlaintextTooLarge = errors.New("keys: plaintext too large")
	// ErrKeyMismatch reports a decrypted private key whose public half does
	// not match the expected KID.
	ErrKeyMismatch = errors.New("keys: private key does not match its kid")
)

// Errors of key sets and rotation.
var (
	// ErrNoSigningKey reports that no key in the set may sign at this time.
	ErrNoSigningKey = errors.New("keys: no active signing key")
	// ErrNotEmpty reports Bootstrap on a key set that already has keys.
	ErrNotEmpty = errors.New("keys: key set is not empty")
	// ErrInvalidPolicy reports a RotationPolicy that breaks the rotation rule.
	ErrInvalidPolicy = errors.New("keys: invalid rotation policy")
	// ErrInvalidJWK reports a JWK that is not an Ed25519 OKP public key or
	// whose kid is not its thumbprint.
	ErrInvalidJWK = errors.New("keys: invalid Ed25519 JWK")
)

// Reasons a token is rejected by Verifier.Verify. Each rejection wraps
// exactly one of them; Reason maps it to a metric label.
var (
	ErrMalformed      = errors.New("keys: token malformed")
	ErrTooLarge       = errors.New("keys: token too large")
	ErrAlgorithm      = errors.New("keys: token algorithm not accepted")
	ErrWrongType      = errors.New("keys: token type not accepted")
	ErrUnknownKey     = errors.New("keys: token signed by unknown key")
	ErrBadSignature   = errors.New("keys: token signature does not verify")
	ErrExpired        = errors.New("keys: token expired")
	ErrNotYetValid    = errors.New("keys: token not valid yet")
	ErrWrongIssuer    = errors.New("keys: token issuer not accepted")
	ErrWrongAudience  = errors.New("keys: token audience not accepted")
	ErrMissingClaim   = errors.New("keys: token lacks a required claim")
	ErrInvalidRequest = errors.New("keys: invalid token request")
)

// Errors of refresh tokens.
var (
	// ErrMalformedRefreshToken reports a string that cannot be a refresh
	// token (wrong length or alphabet); reject it before any lookup.
	ErrMalformedRefreshToken = errors.New("keys: malformed refresh token")
)
