package ca

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/syncproto/devcert"
)

// sealPurpose is the purpose label of keys.AssociatedData for CA keys.
const sealPurpose = "tenant-ca"

// SealedKey is a CA private key encrypted at rest: the Ed25519 seed sealed
// by a keys.KeyEncrypter with associated data (purpose "tenant-ca", tenant
// id, role, certificate serial). It opens only for the same tenant, role and
// certificate.
type SealedKey struct {
	// KEKID names the key-encryption key (KeyEncrypter.KeyID at sealing).
	KEKID      string
	Ciphertext []byte
}

// Sealed is one generation of a tenant CA as core stores it: the root and
// issuing certificates (DER) and their sealed private keys. Nothing in it
// is secret in the clear.
type Sealed struct {
	RootCert    []byte
	RootKey     SealedKey
	IssuingCert []byte
	IssuingKey  SealedKey
}

// sealAAD binds a sealed key to its tenant, role and certificate serial, so
// a sealed root key does not open as an issuing key or the other way round,
// nor for another tenant or certificate.
func sealAAD(tenantID string, role devcert.Role, cert *x509.Certificate) []byte {
	return keys.AssociatedData(sealPurpose, tenantID, string(role), devcert.FormatSerial(cert.SerialNumber))
}

func sealKey(ctx context.Context, enc keys.KeyEncrypter, tenantID string, role devcert.Role, cert *x509.Certificate, priv ed25519.PrivateKey) (SealedKey, error) {
	seed := priv.Seed()
	defer clear(seed)
	ct, err := enc.Encrypt(ctx, seed, sealAAD(tenantID, role, cert))
	if err != nil {
		return SealedKey{}, fmt.Errorf("ca: seal %s key: %w", role, err)
	}
	return SealedKey{KEKID: enc.KeyID(), Ciphertext: ct}, nil
}

// openKey decrypts a sealed key and checks that it is the private half of
// cert. It returns the KeyEncrypter's error (keys.ErrDecrypt for LocalKEK)
// or ErrKeyMismatch, wrapped.
func openKey(ctx context.Context, enc keys.KeyEncrypter, tenantID string, role devcert.Role, cert *x509.Certificate, sk SealedKey) (ed25519.PrivateKey, error) {
	seed, err := enc.Decrypt(ctx, sk.Ciphertext, sealAAD(tenantID, role, cert))
	if err != nil {
		return nil, fmt.Errorf("ca: open %s key: %w", role, err)
	}
	defer clear(seed)
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: %s key has %d bytes", ErrKeyMismatch, role, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || !pub.Equal(priv.Public()) {
		return nil, fmt.Errorf("%w: %s key is not the certificate's", ErrKeyMismatch, role)
	}
	return priv, nil
}

// newKey draws an Ed25519 seed from r.
func newKey(r io.Reader) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	defer clear(seed)
	if _, err := io.ReadFull(r, seed); err != nil {
		return nil, fmt.Errorf("ca: key seed: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
