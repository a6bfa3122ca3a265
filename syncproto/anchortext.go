package syncproto

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
)

// FormatSigningKey renders a pinned key as "<kid>:<base64url public key>",
// the form operators copy from core into `iam edge --trust-anchor`.
func FormatSigningKey(k SigningKey) string {
	return k.Kid + ":" + base64.RawURLEncoding.EncodeToString(k.PublicKey)
}

// ParseSigningKey parses what FormatSigningKey produced.
func ParseSigningKey(s string) (SigningKey, error) {
	kid, b64, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return SigningKey{}, fmt.Errorf("%w: trust anchor must be <kid>:<base64url public key>", ErrMalformed)
	}
	pub, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return SigningKey{}, fmt.Errorf("%w: trust anchor public key must be 32 bytes base64url", ErrMalformed)
	}
	k := SigningKey{Kid: kid, PublicKey: pub}
	if err := k.validate(); err != nil {
		return SigningKey{}, err
	}
	return k, nil
}
