package keys

import (
	"crypto/ed25519"
	"encoding/base64"
)

// JWK is an Ed25519 public key as an OKP JSON Web Key (RFC 8037 §2).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS is a JSON Web Key Set document (RFC 7517 §5).
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicJWK renders pub as {"kty":"OKP","crv":"Ed25519","x":…,"kid":…,
// "use":"sig","alg":"EdDSA"} with kid = Thumbprint(pub).
func PublicJWK(pub ed25519.PublicKey) JWK {
	return JWK{
		Kty: "OKP",
		Crv: "Ed25519",
		X:   base64.RawURLEncoding.EncodeToString(pub),
		Kid: Thumbprint(pub),
		Use: "sig",
		Alg: "EdDSA",
	}
}

// PublicKey returns the Ed25519 key of j, or ErrInvalidJWK if j is not an
// Ed25519 OKP signing key for EdDSA or its kid is not its thumbprint.
func (j JWK) PublicKey() (ed25519.PublicKey, error) {
	if j.Kty != "OKP" || j.Crv != "Ed25519" || (j.Alg != "" && j.Alg != "EdDSA") || (j.Use != "" && j.Use != "sig") {
		return nil, ErrInvalidJWK
	}
	x, err := base64.RawURLEncoding.Strict().DecodeString(j.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, ErrInvalidJWK
	}
	pub := ed25519.PublicKey(x)
	if j.Kid != Thumbprint(pub) {
		return nil, ErrInvalidJWK
	}
	return pub, nil
}
