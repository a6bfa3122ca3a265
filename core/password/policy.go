package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"
)

// Password length limits applied by CheckPolicy (and MaxPasswordBytes by
// Hash and Verify).
const (
	// MinPasswordRunes is the minimum length in Unicode code points.
	MinPasswordRunes = 12
	// MaxPasswordBytes bounds the input to Argon2 and the request size.
	MaxPasswordBytes = 1024
)

//go:embed common.txt
var commonTxt string

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

// CheckPolicy returns nil if password may be set, or ErrInvalidEncoding,
// ErrTooShort, ErrTooLong or ErrCommon. The common-password check is
// case-insensitive. CheckPolicy never logs or keeps the password.
func CheckPolicy(password string) error {
	switch {
	case len(password) > MaxPasswordBytes:
		return ErrTooLong
	case !utf8.ValidString(password):
		return ErrInvalidEncoding
	case utf8.RuneCountInString(password) < MinPasswordRunes:
		return ErrTooShort
	case isCommon(password):
		return ErrCommon
	}
	return nil
}

func isCommon(password string) bool {
	commonOnce.Do(loadCommon)
	_, found := commonSet[strings.ToLower(password)]
	return found
}

// loadCommon parses the embedded list once: one password per line, blank
// lines ignored, compared lower-cased.
func loadCommon() {
	lines := strings.Split(commonTxt, "\n")
	commonSet = make(map[string]struct{}, len(lines))
	for _, l := range lines {
		l = strings.TrimRight(l, "\r")
		if l != "" {
			commonSet[strings.ToLower(l)] = struct{}{}
		}
	}
}
