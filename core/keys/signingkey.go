package keys

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"time"
)

// KeyState is where a signing key is in its rotation life cycle.
type KeyState int

// Key states, in the only order Rotate moves a key through them.
const (
	// StateNext: published in the JWKS, not yet signing.
	StateNext KeyState = iota + 1
	// StateActive: the one key that signs.
	StateActive
	// StateRetiring: no longer signs, still published until every token it
	// signed has expired.
	StateRetiring
	// StateRetired: no longer published; may be deleted.
	StateRetired
)

func (s KeyState) String() string {
	switch s {
	case StateNext:
		return "next"
	case StateActive:
		return "active"
	case StateRetiring:
		return "retiring"
	case StateRetired:
		return "retired"
	}
	return fmt.Sprintf("KeyState(%d)", int(s))
}

// SigningKey is an Ed25519 token-signing key. Private is nil where only
// verification is needed (edges). The times are set by Rotate/Bootstrap.
type SigningKey struct {
	KID     string // RFC 7638 thumbprint of Public
	Public  ed25519.PublicKey
	Private ed25519.PrivateKey
	State   KeyState
	// PublishedAt is when the key entered the JWKS.
	PublishedAt time.Time
	// NotBefore is the earliest time the key may sign.
	NotBefore time.Time
	// RetireAt is when the key stopped signing (zero until then).
	RetireAt time.Time
}

// GenerateSigningKey creates an Ed25519 key from rand (crypto/rand.Reader in
// production) with its KID set and no state or times.
func GenerateSigningKey(rand io.Reader) (SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return SigningKey{}, fmt.Errorf("keys: generate ed25519 key: %w", err)
	}
	return SigningKey{KID: Thumbprint(pub), Public: pub, Private: priv}, nil
}

// PublicOnly returns a copy of k without its private half.
func (k SigningKey) PublicOnly() SigningKey {
	k.Private = nil
	return k
}

// Thumbprint returns the RFC 7638 JWK thumbprint of an Ed25519 public key
// (RFC 8037 §2): base64url(SHA-256(`{"crv":"Ed25519","kty":"OKP","x":"…"}`))
// with the members in lexicographic order and no whitespace.
func Thumbprint(pub ed25519.PublicKey) string {
	x := base64.RawURLEncoding.EncodeToString(pub)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// signingKeyAAD binds a sealed private key to its tenant and KID.
func signingKeyAAD(tenantID, kid string) []byte {
	return AssociatedData("signing-key", tenantID, kid)
}

// SealPrivateKey encrypts k's private key (its 32-byte seed) for storage in
// the row of tenantID and k.KID. The ciphertext does not decrypt under any
// other tenant or KID.
func SealPrivateKey(ctx context.Context, enc KeyEncrypter, tenantID string, k SigningKey) ([]byte, error) {
	if len(k.Private) != ed25519.PrivateKeySize {
		return nil, ErrKeyMismatch
	}
	seed := k.Private.Seed()
	defer clear(seed)
	return enc.Encrypt(ctx, seed, signingKeyAAD(tenantID, k.KID))
}

// OpenPrivateKey decrypts a key sealed by SealPrivateKey and checks that
// its public half has thumbprint kid. It returns the KeyEncrypter's error
// (ErrDecrypt for LocalKEK) or ErrKeyMismatch.
func OpenPrivateKey(ctx context.Context, enc KeyEncrypter, tenantID, kid string, sealed []byte) (ed25519.PrivateKey, error) {
	seed, err := enc.Decrypt(ctx, sealed, signingKeyAAD(tenantID, kid))
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	if len(seed) != ed25519.SeedSize {
		return nil, ErrKeyMismatch
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if Thumbprint(priv.Public().(ed25519.PublicKey)) != kid {
		return nil, ErrKeyMismatch
	}
	return priv, nil
}
