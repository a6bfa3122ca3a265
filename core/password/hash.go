package password

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
)

// Hash derives an Argon2id hash of password with params and a fresh random
// salt from crypto/rand, and returns it as a PHC string. It returns
// ErrTooLong for a password over MaxPasswordBytes and ErrParamsOutOfRange for
// parameters outside the package bounds. It does not apply the policy: call
// CheckPolicy first when a password is being set. Hash is CPU and memory
// heavy (see LIMITS.md); run it under a Limiter.
func Hash(password string, params Params) (string, error) {
	return hashWithRand(rand.Reader, password, params)
}

func hashWithRand(r io.Reader, password string, params Params) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", ErrTooLong
	}
	if err := params.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, params.SaltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	h := PHC{Params: params, Salt: salt, Hash: derive(password, salt, params)}
	return h.String(), nil
}

func derive(password string, salt []byte, p Params) []byte {
	return argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
}

// Verify reports whether password matches the PHC string phc, comparing the
// derived hash in constant time, and whether phc should be replaced by a
// fresh hash because its parameters differ from DefaultParams. It returns an
// error (and ok=false) only when phc cannot be parsed or the password is over
// MaxPasswordBytes; a wrong password is ok=false with a nil error.
func Verify(password, phc string) (ok, needsRehash bool, err error) {
	return VerifyWithParams(password, phc, DefaultParams())
}

// VerifyWithParams is Verify with the caller's current parameters, against
// which needsRehash is decided.
func VerifyWithParams(password, phc string, current Params) (ok, needsRehash bool, err error) {
	if len(password) > MaxPasswordBytes {
		return false, false, ErrTooLong
	}
	h, err := ParsePHC(phc)
	if err != nil {
		return false, false, err
	}
	got := derive(password, h.Salt, h.Params)
	if subtle.ConstantTimeCompare(got, h.Hash) != 1 {
		return false, false, nil
	}
	return true, h.Params != current, nil
}
