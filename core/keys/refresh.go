package keys

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
)

// RefreshTokenBytes is the entropy of a refresh token (256 bits).
const RefreshTokenBytes = 32

// refreshTokenLen is the length of its unpadded base64url text.
var refreshTokenLen = base64.RawURLEncoding.EncodedLen(RefreshTokenBytes)

// NewRefreshToken returns a fresh opaque refresh token: RefreshTokenBytes
// from rand (crypto/rand.Reader in production) as unpadded base64url. Store
// only HashRefreshToken(token); hand the token to the client once.
func NewRefreshToken(rand io.Reader) (string, error) {
	b := make([]byte, RefreshTokenBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("keys: refresh token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CheckRefreshTokenFormat returns ErrMalformedRefreshToken unless token has
// the exact length and canonical alphabet of NewRefreshToken output. Use it
// to reject garbage before a database lookup.
func CheckRefreshTokenFormat(token string) error {
	if len(token) != refreshTokenLen || !isBase64URLText(token, false) {
		return ErrMalformedRefreshToken
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(token); err != nil {
		return ErrMalformedRefreshToken
	}
	return nil
}

// HashRefreshToken returns SHA-256 of the token text, the value to store
// and look up. A fast unsalted hash is enough because the token has 256
// bits of entropy: neither guessing nor precomputation is feasible.
func HashRefreshToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// EqualRefreshTokenHash compares two hashes in constant time (for a given
// length).
func EqualRefreshTokenHash(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}
