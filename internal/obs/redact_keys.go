package obs

import "strings"

// Redacted replaces every value that the redacting handler withholds.
const Redacted = "[REDACTED]"

// sensitiveKeyParts are matched as case-insensitive substrings of attribute
// keys and group names. "key" deliberately also matches idempotency_key,
// api_key and private_key: an idempotency key of an auth call is as good as
// the credential it replays. "otp" matches totp, totp_secret and totp_code.
var sensitiveKeyParts = []string{
	"password", "passwd", "token", "authorization", "cookie", "secret", "key", "otp",
	"credential",
}

// sensitiveExactKeys are one-time codes whose keys contain none of the parts
// above. The bare key "code" is NOT here: it carries the problem code
// (MELMASTOON.IAM.*) and HTTP status codes.
var sensitiveExactKeys = map[string]bool{
	"recovery_code": true, "mfa_code": true, "backup_code": true,
	"auth_code": true, "device_code": true, "code_verifier": true,
	"verification_code": true,
}

// publicKeys are exact keys that match a sensitive part but name public
// identifiers that operators need in logs (key rotation, token kinds).
var publicKeys = map[string]bool{
	"key_id": true, "signing_key_id": true, "public_key": true,
	"public_key_id": true, "token_type": true, "token_kind": true,
	"credential_id": true,
}

// isSensitiveKey reports whether values logged under key must be redacted.
func isSensitiveKey(key string) bool {
	k := strings.ToLower(key)
	if publicKeys[k] {
		return false
	}
	if sensitiveExactKeys[k] {
		return true
	}
	for _, part := range sensitiveKeyParts {
		if strings.Contains(k, part) {
			return true
		}
	}
	return false
}

// looksLikeCredential reports whether s carries an HTTP credential, whatever
// its key: it contains "Bearer " anywhere (also error messages that quote an
// Authorization header), or it is "Basic " followed by one token. "basic"
// inside prose ("basic auth is disabled") is too common a word to match.
func looksLikeCredential(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	if strings.Contains(l, "bearer ") {
		return true
	}
	rest, ok := strings.CutPrefix(l, "basic ")
	rest = strings.TrimSpace(rest)
	return ok && rest != "" && !strings.ContainsAny(rest, " \t")
}
