package client

import "strings"

// MaxTokenBytes caps the bearer token the middleware accepts; it matches
// the edge's own limit (core/keys.MaxTokenBytes).
const MaxTokenBytes = 8 << 10

// bearerState is what a request's Authorization header holds.
type bearerState int

const (
	bearerAbsent      bearerState = iota // no Authorization header
	bearerOtherScheme                    // Basic, Digest, ...: not ours
	bearerMalformed                      // Bearer, but no valid token
	bearerPresent                        // Bearer <token68>
)

// bearerToken reads the RFC 6750 bearer token of the Authorization header
// values. The scheme is case-insensitive; the token must be an RFC 7235
// token68 of at most MaxTokenBytes. Several Authorization headers are
// malformed.
func bearerToken(values []string) (string, bearerState) {
	switch len(values) {
	case 0:
		return "", bearerAbsent
	case 1:
		return parseBearer(values[0])
	default:
		return "", bearerMalformed
	}
}

func parseBearer(h string) (string, bearerState) {
	h = strings.Trim(h, " \t")
	if h == "" {
		return "", bearerAbsent
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", bearerOtherScheme
	}
	token := strings.TrimLeft(rest, " ")
	if len(token) > MaxTokenBytes || !isToken68(token) {
		return "", bearerMalformed
	}
	return token, bearerPresent
}

// isToken68 reports whether s is 1*( ALPHA / DIGIT / "-" / "." / "_" /
// "~" / "+" / "/" ) *"=" (RFC 7235 §2.1).
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
		if !ok {
			return false
		}
	}
	return true
}
