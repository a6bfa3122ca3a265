package password

import (
	"crypto/rand"
	"fmt"
)

// Dummy verifies passwords against a hash of a random secret nobody knows,
// so that signing in as an unknown account costs one full Argon2id
// evaluation, exactly like a wrong password for a real account. See the
// package documentation for how callers use it. A Dummy is immutable and
// safe for concurrent use.
type Dummy struct {
	phc string
}

// NewDummy builds a Dummy for params; use the same params as new hashes
// (normally DefaultParams) so the cost matches most stored hashes. It costs
// one hash.
func NewDummy(params Params) (*Dummy, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("password: dummy secret: %w", err)
	}
	phc, err := Hash(b64.EncodeToString(secret), params)
	if err != nil {
		return nil, err
	}
	return &Dummy{phc: phc}, nil
}

// Verify spends the same work as Verify on a real hash and always returns
// false. Its result must still be treated as "wrong credentials".
func (d *Dummy) Verify(password string) bool {
	// The secret is 256 random bits, so the result is always false in
	// practice; it is discarded so the answer can never be true.
	_, _, _ = VerifyWithParams(password, d.phc, Params{})
	return false
}
