package totp

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"strings"
)

// Recovery code shape.
const (
	// RecoveryCodeCount is how many codes GenerateRecoveryCodes returns.
	RecoveryCodeCount = 10
	// RecoveryCodeGroups × recoveryGroupLen characters of 5 bits each: 80
	// bits per code.
	RecoveryCodeGroups = 4
	recoveryGroupLen   = 4
	recoveryCodeChars  = RecoveryCodeGroups * recoveryGroupLen
	// MaxRecoveryCodeInput bounds what NormalizeRecoveryCode will look at.
	MaxRecoveryCodeInput = 64
	// crockford is Crockford's base32 alphabet, lower case.
	crockford = "0123456789abcdefghjkmnpqrstvwxyz"
	// recoveryHashLabel separates these hashes from any other SHA-256 use.
	recoveryHashLabel = "melmastoon.iam.recovery-code.v1"
)

// RecoveryCodes are freshly generated codes: Plain to show the user once,
// Hashes (same order) to store.
type RecoveryCodes struct {
	Plain  []string
	Hashes [][]byte
}

// GenerateRecoveryCodes creates RecoveryCodeCount codes for accountID from
// rand (crypto/rand.Reader in production), formatted "xxxx-xxxx-xxxx-xxxx".
func GenerateRecoveryCodes(rand io.Reader, accountID string) (RecoveryCodes, error) {
	var out RecoveryCodes
	for range RecoveryCodeCount {
		code, err := newRecoveryCode(rand)
		if err != nil {
			return RecoveryCodes{}, err
		}
		out.Plain = append(out.Plain, format(code))
		out.Hashes = append(out.Hashes, hashNormalized(accountID, code))
	}
	return out, nil
}

// newRecoveryCode draws recoveryCodeChars characters, 5 bits each; 32
// symbols divide 256, so byte&31 is uniform.
func newRecoveryCode(rand io.Reader) (string, error) {
	b := make([]byte, recoveryCodeChars)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("%w: %w", ErrRandom, err)
	}
	for i := range b {
		b[i] = crockford[b[i]&31]
	}
	return string(b), nil
}

func format(code string) string {
	groups := make([]string, 0, RecoveryCodeGroups)
	for i := 0; i < len(code); i += recoveryGroupLen {
		groups = append(groups, code[i:i+recoveryGroupLen])
	}
	return strings.Join(groups, "-")
}

// NormalizeRecoveryCode folds case, drops dashes and spaces, maps o→0 and
// i/l→1, and returns ErrMalformedRecoveryCode unless the result is exactly
// a code's length in Crockford's alphabet.
func NormalizeRecoveryCode(input string) (string, error) {
	if len(input) > MaxRecoveryCodeInput {
		return "", ErrMalformedRecoveryCode
	}
	var b strings.Builder
	for _, r := range strings.ToLower(input) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r == 'o':
			r = '0'
		case r == 'i' || r == 'l':
			r = '1'
		}
		if r > 127 || !strings.ContainsRune(crockford, r) {
			return "", ErrMalformedRecoveryCode
		}
		b.WriteRune(r)
	}
	if b.Len() != recoveryCodeChars {
		return "", ErrMalformedRecoveryCode
	}
	return b.String(), nil
}

// HashRecoveryCode normalises input and returns the hash to store or look
// up for accountID.
func HashRecoveryCode(accountID, input string) ([]byte, error) {
	code, err := NormalizeRecoveryCode(input)
	if err != nil {
		return nil, err
	}
	return hashNormalized(accountID, code), nil
}

// hashNormalized is SHA-256(label ‖ 0 ‖ accountID ‖ 0 ‖ code). The code
// has a fixed length at the end, so the encoding is unambiguous.
func hashNormalized(accountID, code string) []byte {
	h := sha256.New()
	h.Write([]byte(recoveryHashLabel + "\x00" + accountID + "\x00" + code))
	return h.Sum(nil)
}

// MatchRecoveryCode returns the index in stored of the hash input matches
// for accountID, comparing against every entry in constant time. The caller
// must delete (or mark used) the matched hash in the same transaction as
// the sign-in, so each code works once.
func MatchRecoveryCode(accountID, input string, stored [][]byte) (index int, ok bool) {
	h, err := HashRecoveryCode(accountID, input)
	if err != nil {
		return -1, false
	}
	index = -1
	for i, s := range stored {
		if subtle.ConstantTimeCompare(h, s) == 1 {
			index = i
		}
	}
	return index, index >= 0
}
