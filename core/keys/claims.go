package keys

import "github.com/golang-jwt/jwt/v5"

// AccessClaims are the claims of an access token: the registered claims iss,
// sub, aud, exp, nbf, iat, jti (RFC 7519 §4.1) plus the session id (sid,
// OpenID Connect Front-Channel Logout §3), the tenant id (tid) and the
// authentication methods (amr, RFC 8176).
type AccessClaims struct {
	jwt.RegisteredClaims
	SessionID string   `json:"sid,omitempty"`
	TenantID  string   `json:"tid"`
	AMR       []string `json:"amr,omitempty"`
}

// TokenType is the JOSE "typ" header of access tokens (RFC 9068 §2.1); the
// Verifier refuses other types so an ID token or any other JWT signed by
// the same key cannot be used as an access token.
const TokenType = "at+jwt"

// Algorithm is the only JWS algorithm issued and accepted.
const Algorithm = "EdDSA"
