package totp

import (
	"crypto/subtle"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// RFC 6238 parameters used for every secret.
const (
	// Period is the time step in seconds.
	Period = 30
	// Digits is the code length.
	Digits = 6
	// SecretSize is the secret length in bytes (160 bits, RFC 4226 §4 R6).
	SecretSize = 20
	// DefaultSkewSteps is how many steps before and after now are accepted.
	DefaultSkewSteps = 1
	// MaxSkewSteps caps the window Validate will search.
	MaxSkewSteps = 2
)

// Enrollment is a new TOTP secret and its provisioning URI.
type Enrollment struct {
	// Secret is the base32 (unpadded) shared secret; store it encrypted.
	Secret string
	// URI is the otpauth://totp/... URI to render as a QR code.
	URI string
}

// Generate creates a secret from rand (crypto/rand.Reader in production)
// and the otpauth URI labelled issuer:account. It returns ErrInvalidAccount
// for an empty name or one containing ':'.
func Generate(issuer, account string, rand io.Reader) (Enrollment, error) {
	if issuer == "" || account == "" || strings.Contains(issuer, ":") || strings.Contains(account, ":") {
		return Enrollment{}, ErrInvalidAccount
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: Period, SecretSize: SecretSize,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand,
	})
	if err != nil {
		return Enrollment{}, fmt.Errorf("%w: %w", ErrRandom, err)
	}
	return Enrollment{Secret: key.Secret(), URI: key.URL()}, nil
}

// Step returns the RFC 6238 time step of t (T = floor(unix / Period)).
func Step(t time.Time) int64 { return t.Unix() / Period }

// Validate checks code against secret at now, accepting steps within
// ±skewSteps (clamped to [0, MaxSkewSteps]), and returns the step the code
// matched. It compares every candidate step in constant time and does not
// stop at the first match; if several steps match (about 1 in a million)
// the latest is returned. It returns ok=false for a malformed code or
// secret. The caller must refuse a step at or below the last step it
// accepted for the account (see ValidateAfter) and then persist step.
func Validate(secret, code string, now time.Time, skewSteps int) (step int64, ok bool) {
	code = strings.TrimSpace(code)
	if !isDigits(code, Digits) {
		return 0, false
	}
	skew := int64(min(max(skewSteps, 0), MaxSkewSteps))
	center := Step(now)
	matched := 0
	for s := center - skew; s <= center+skew; s++ {
		if s >= 0 && matches(secret, code, s) {
			step, matched = s, 1
		}
	}
	return step, matched == 1
}

// ValidateAfter is Validate that also refuses a code whose step is at or
// below lastStep, the step of the last code accepted for this account (use
// -1 when none was ever accepted).
func ValidateAfter(secret, code string, now time.Time, skewSteps int, lastStep int64) (step int64, ok bool) {
	step, ok = Validate(secret, code, now, skewSteps)
	if !ok || step <= lastStep {
		return 0, false
	}
	return step, true
}

func matches(secret, code string, step int64) bool {
	want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
