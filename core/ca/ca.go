package ca

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/melmastoon/iam/syncproto/devcert"
)

// caOrganization is the subject O of every CA certificate.
const caOrganization = "melmastoon iam"

// serialBytes is the length of a random serial number (128 bits).
const serialBytes = 16

// CA is one generation of a tenant CA, ready to sign device certificates.
// It holds the issuing private key, never the root's (Rotate opens that
// only while it signs). A CA is immutable and safe for concurrent use when
// its CAConfig.Rand is.
type CA struct {
	tenant  string
	root    *x509.Certificate
	issuing *x509.Certificate
	signer  ed25519.PrivateKey
	rand    io.Reader
	now     func() time.Time
}

// TenantID returns the tenant the CA belongs to.
func (ca *CA) TenantID() string { return ca.tenant }

// Root returns the root certificate; callers must not modify it.
func (ca *CA) Root() *x509.Certificate { return ca.root }

// Issuing returns the issuing certificate; callers must not modify it.
// Core should rotate (Rotate) well before its NotAfter, since device
// certificates are clamped to it.
func (ca *CA) Issuing() *x509.Certificate { return ca.issuing }

// NewCA creates a tenant CA: a self-signed Ed25519 root valid for
// cfg.RootValidity and an issuing intermediate under it valid for
// cfg.IssuingValidity (clamped to the root). It returns the CA and the
// Sealed form to store. Rotating the root is calling NewCA again and
// publishing a trust bundle with both roots until the old one's last
// certificate has expired. It returns ErrInvalidConfig, or a wrapped error
// from cfg.Rand or cfg.Encrypter.
func NewCA(ctx context.Context, cfg CAConfig) (*CA, Sealed, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, Sealed{}, err
	}
	now := cfg.Now()
	rootKey, err := newKey(cfg.Rand)
	if err != nil {
		return nil, Sealed{}, err
	}
	tmpl, err := caTemplate(cfg, devcert.RoleRoot, now, now.Add(cfg.RootValidity))
	if err != nil {
		return nil, Sealed{}, err
	}
	root, err := createCert(cfg.Rand, tmpl, tmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, Sealed{}, err
	}
	sealedRoot, err := sealKey(ctx, cfg.Encrypter, cfg.TenantID, devcert.RoleRoot, root, rootKey)
	if err != nil {
		return nil, Sealed{}, err
	}
	ca, sealedIssuing, err := newIssuing(ctx, cfg, root, rootKey, now)
	if err != nil {
		return nil, Sealed{}, err
	}
	return ca, Sealed{RootCert: root.Raw, RootKey: sealedRoot, IssuingCert: ca.issuing.Raw, IssuingKey: sealedIssuing}, nil
}

// OpenCA rebuilds a CA from its stored form. It checks both certificates
// (shape, tenant named in the subject, issuing signed by root) and opens
// the issuing key only. It returns errors wrapping devcert.ErrMalformed,
// devcert.ErrTooLarge, devcert.ErrWrongTenant, devcert.ErrUntrusted or
// ErrKeyMismatch, or the Encrypter's error
// (keys.ErrDecrypt for a key sealed for another tenant, role or
// certificate).
func OpenCA(ctx context.Context, cfg CAConfig, s Sealed) (*CA, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	root, issuing, err := parseGeneration(cfg.TenantID, s)
	if err != nil {
		return nil, err
	}
	signer, err := openKey(ctx, cfg.Encrypter, cfg.TenantID, devcert.RoleIssuing, issuing, s.IssuingKey)
	if err != nil {
		return nil, err
	}
	return &CA{tenant: cfg.TenantID, root: root, issuing: issuing, signer: signer, rand: cfg.Rand, now: cfg.Now}, nil
}

// Rotate creates a new issuing intermediate under the root of current and
// returns the CA that signs with it and the new Sealed form (same root
// certificate and sealed root key). The old intermediate stays in the
// trust bundle until its NotAfter, because edges must accept device
// certificates from every issuing certificate of the tenant that has not
// expired. It fails with ErrCAExpired once the root has expired; rotate the
// root (NewCA) before its remaining life falls under IssuingValidity, or
// new intermediates are clamped short.
func Rotate(ctx context.Context, cfg CAConfig, current Sealed) (*CA, Sealed, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, Sealed{}, err
	}
	root, _, err := parseGeneration(cfg.TenantID, current)
	if err != nil {
		return nil, Sealed{}, err
	}
	rootKey, err := openKey(ctx, cfg.Encrypter, cfg.TenantID, devcert.RoleRoot, root, current.RootKey)
	if err != nil {
		return nil, Sealed{}, err
	}
	ca, sealedIssuing, err := newIssuing(ctx, cfg, root, rootKey, cfg.Now())
	if err != nil {
		return nil, Sealed{}, err
	}
	return ca, Sealed{RootCert: current.RootCert, RootKey: current.RootKey, IssuingCert: ca.issuing.Raw, IssuingKey: sealedIssuing}, nil
}

// newIssuing signs a fresh issuing intermediate with rootKey.
func newIssuing(ctx context.Context, cfg CAConfig, root *x509.Certificate, rootKey ed25519.PrivateKey, now time.Time) (*CA, SealedKey, error) {
	if now.Before(root.NotBefore) || now.After(root.NotAfter) {
		return nil, SealedKey{}, fmt.Errorf("%w: root valid %s to %s", ErrCAExpired, root.NotBefore, root.NotAfter)
	}
	key, err := newKey(cfg.Rand)
	if err != nil {
		return nil, SealedKey{}, err
	}
	tmpl, err := caTemplate(cfg, devcert.RoleIssuing, now, minTime(now.Add(cfg.IssuingValidity), root.NotAfter))
	if err != nil {
		return nil, SealedKey{}, err
	}
	issuing, err := createCert(cfg.Rand, tmpl, root, key.Public(), rootKey)
	if err != nil {
		return nil, SealedKey{}, err
	}
	sealed, err := sealKey(ctx, cfg.Encrypter, cfg.TenantID, devcert.RoleIssuing, issuing, key)
	if err != nil {
		return nil, SealedKey{}, err
	}
	return &CA{tenant: cfg.TenantID, root: root, issuing: issuing, signer: key, rand: cfg.Rand, now: cfg.Now}, sealed, nil
}

// caTemplate is the template of a root (pathlen 1) or issuing (pathlen 0,
// ExtKeyUsage ClientAuth) certificate.
func caTemplate(cfg CAConfig, role devcert.Role, now, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := newSerial(cfg.Rand)
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{caOrganization}, CommonName: devcert.CACommonName(cfg.TenantID, role)},
		NotBefore:             toSecond(now.Add(-Backdate)),
		NotAfter:              toSecond(notAfter),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	if role == devcert.RoleIssuing {
		t.MaxPathLen, t.MaxPathLenZero = 0, true
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return t, nil
}

// createCert signs tmpl under parent and parses the result.
func createCert(rand io.Reader, tmpl, parent *x509.Certificate, pub any, signer ed25519.PrivateKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("ca: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca: parse created certificate: %w", err)
	}
	return cert, nil
}

// newSerial draws a positive 128-bit serial number (RFC 5280 §4.1.2.2).
func newSerial(r io.Reader) (*big.Int, error) {
	b := make([]byte, serialBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("ca: serial: %w", err)
	}
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		return nil, fmt.Errorf("ca: serial: random source returned zeros")
	}
	return n, nil
}

// toSecond drops what an X.509 time cannot carry, so the times a caller
// sees equal the times in the certificate.
func toSecond(t time.Time) time.Time { return t.Truncate(time.Second).UTC() }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
