package syncproto

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// ContentTypeAnchor is the protected content type of an anchor certificate.
const ContentTypeAnchor = "application/vnd.melmastoon.iam.anchor+cbor"

// MaxAnchorSize caps an anchor certificate before it is parsed.
const MaxAnchorSize = 1024

// AnchorCertificate is the system root's statement that a tenant's delta
// root key is key Kid with PublicKey. Edges pin only the system root and
// learn each tenant's TrustAnchor from this certificate (see docs/deltas.md).
type AnchorCertificate struct {
	Tenant    string `cbor:"1,keyasint"`
	Kid       string `cbor:"2,keyasint"`
	PublicKey []byte `cbor:"3,keyasint"`
	IssuedAt  int64  `cbor:"4,keyasint"` // unix milliseconds
}

// Anchor returns the TrustAnchor the certificate vouches for.
func (c *AnchorCertificate) Anchor() TrustAnchor {
	return TrustAnchor{Tenant: c.Tenant, Kid: c.Kid, PublicKey: ed25519.PublicKey(c.PublicKey)}
}

// SignAnchor certifies anchor with the system root signer.
func (s *Signer) SignAnchor(anchor TrustAnchor, issued time.Time) ([]byte, error) {
	if err := anchor.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	payload, err := encodeCanonical(AnchorCertificate{Tenant: anchor.Tenant, Kid: anchor.Kid,
		PublicKey: anchor.PublicKey, IssuedAt: issued.UnixMilli()})
	if err != nil {
		return nil, err
	}
	return s.sign(ContentTypeAnchor, payload)
}

// VerifyAnchor checks an anchor certificate against the system root
// (kid and public key pinned by the verifier) and returns the tenant's
// TrustAnchor. It fails with ErrTooLarge, ErrMalformed, ErrUnknownKey (another
// kid) or ErrBadSignature, like every other verification here.
func VerifyAnchor(msg []byte, system SigningKey) (TrustAnchor, error) {
	if len(msg) > MaxAnchorSize {
		return TrustAnchor{}, fmt.Errorf("%w: anchor certificate of %d bytes", ErrTooLarge, len(msg))
	}
	if err := system.validate(); err != nil {
		return TrustAnchor{}, err
	}
	p, err := parseSign1(msg, ContentTypeAnchor)
	if err != nil {
		return TrustAnchor{}, err
	}
	if p.kid != system.Kid {
		return TrustAnchor{}, fmt.Errorf("%w: anchor signed by %q", ErrUnknownKey, p.kid)
	}
	entry, err := newKeyEntry(system.PublicKey)
	if err != nil {
		return TrustAnchor{}, err
	}
	if err := p.verify(entry.verifier); err != nil {
		return TrustAnchor{}, err
	}
	var c AnchorCertificate
	if err := decodeStrict(p.payload, &c); err != nil {
		return TrustAnchor{}, err
	}
	a := c.Anchor()
	if err := a.validate(); err != nil {
		return TrustAnchor{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return a, nil
}
