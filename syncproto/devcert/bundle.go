package devcert

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// TrustBundle is what an edge or device trusts for one tenant: its
// unexpired roots and issuing intermediates. Core publishes Marshal's
// bytes in a signed delta; edges and devices rebuild it with
// ParseTrustBundle. A TrustBundle is immutable and safe for concurrent
// use; the only way to get one is NewTrustBundle or ParseTrustBundle, so
// every TrustBundle has been checked.
type TrustBundle struct {
	tenant           string
	roots            []*x509.Certificate
	intermediates    []*x509.Certificate
	rootPool         *x509.CertPool
	intermediatePool *x509.CertPool
	encoded          []byte
}

// bundleWire is the JSON form. Certificates are base64 (standard, padded)
// DER, each list sorted by DER bytes without duplicates, and the encoding
// is exactly what encoding/json writes for this struct, so one bundle has
// exactly one encoding.
type bundleWire struct {
	Version       int      `json:"version"`
	Tenant        string   `json:"tenant"`
	Roots         [][]byte `json:"roots"`
	Intermediates [][]byte `json:"intermediates"`
}

// NewTrustBundle builds the bundle of tenantID from the DER certificates of
// all its CA generations (duplicates allowed, order irrelevant), dropping
// those expired at now. Edges must accept device certificates from every
// issuing certificate that has not expired, so pass all of them, the old
// ones too. Each certificate must pass ParseCACert for its role. It fails
// with ErrMalformed (bad tenant id, a certificate not of the shape the
// tenant CA makes, no unexpired root), ErrWrongTenant (a certificate of
// another tenant), ErrUntrusted (an intermediate not signed by a kept root)
// or ErrTooLarge.
func NewTrustBundle(tenantID string, roots, intermediates [][]byte, now time.Time) (*TrustBundle, error) {
	return buildBundle(tenantID, roots, intermediates, func(c *x509.Certificate) bool { return !now.After(c.NotAfter) })
}

// ParseTrustBundle decodes a bundle made by Marshal. It is strict: input
// over MaxBundleBytes or with more than MaxBundleCerts certificates is
// ErrTooLarge; unknown fields, another version, trailing data, any
// encoding other than the canonical one, and every check of
// NewTrustBundle except expiry fail with the errors NewTrustBundle
// returns (mostly ErrMalformed). It keeps expired certificates: verifying
// against them fails anyway.
func ParseTrustBundle(data []byte) (*TrustBundle, error) {
	if len(data) > MaxBundleBytes {
		return nil, fmt.Errorf("%w: trust bundle of %d bytes", ErrTooLarge, len(data))
	}
	var w bundleWire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: trust bundle: %w", ErrMalformed, err)
	}
	if w.Version != BundleVersion {
		return nil, fmt.Errorf("%w: trust bundle version %d", ErrMalformed, w.Version)
	}
	b, err := buildBundle(w.Tenant, w.Roots, w.Intermediates, func(*x509.Certificate) bool { return true })
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b.encoded, data) {
		return nil, fmt.Errorf("%w: trust bundle is not in canonical form", ErrMalformed)
	}
	return b, nil
}

// Marshal returns the canonical encoding (a fresh copy).
func (b *TrustBundle) Marshal() []byte { return bytes.Clone(b.encoded) }

// TenantID returns the tenant the bundle trusts certificates of.
func (b *TrustBundle) TenantID() string { return b.tenant }

// Roots returns the bundle's roots, for expiry monitoring; callers must
// not modify the certificates.
func (b *TrustBundle) Roots() []*x509.Certificate { return slices.Clone(b.roots) }

// Intermediates returns the bundle's issuing certificates; callers must
// not modify them.
func (b *TrustBundle) Intermediates() []*x509.Certificate { return slices.Clone(b.intermediates) }

func buildBundle(tenantID string, rootsDER, intermediatesDER [][]byte, keep func(*x509.Certificate) bool) (*TrustBundle, error) {
	if !IsCanonicalUUID(tenantID) {
		return nil, fmt.Errorf("%w: trust bundle tenant %q is not a canonical UUID", ErrMalformed, tenantID)
	}
	if len(rootsDER)+len(intermediatesDER) > MaxBundleCerts {
		return nil, fmt.Errorf("%w: trust bundle of %d certificates", ErrTooLarge, len(rootsDER)+len(intermediatesDER))
	}
	b := &TrustBundle{tenant: tenantID, rootPool: x509.NewCertPool(), intermediatePool: x509.NewCertPool()}
	var err error
	if b.roots, err = parseCACerts(rootsDER, tenantID, RoleRoot, keep); err != nil {
		return nil, err
	}
	if len(b.roots) == 0 {
		return nil, fmt.Errorf("%w: trust bundle has no unexpired root", ErrMalformed)
	}
	if b.intermediates, err = parseCACerts(intermediatesDER, tenantID, RoleIssuing, keep); err != nil {
		return nil, err
	}
	for _, c := range b.intermediates {
		if !signedByAny(c, b.roots) {
			return nil, fmt.Errorf("%w: intermediate %s not signed by a bundle root", ErrUntrusted, FormatSerial(c.SerialNumber))
		}
		b.intermediatePool.AddCert(c)
	}
	for _, c := range b.roots {
		b.rootPool.AddCert(c)
	}
	if b.encoded, err = json.Marshal(bundleWire{BundleVersion, tenantID, rawDER(b.roots), rawDER(b.intermediates)}); err != nil {
		return nil, fmt.Errorf("devcert: encode trust bundle: %w", err)
	}
	if len(b.encoded) > MaxBundleBytes {
		return nil, fmt.Errorf("%w: trust bundle of %d bytes", ErrTooLarge, len(b.encoded))
	}
	return b, nil
}

// parseCACerts parses and checks each certificate, keeps those keep
// accepts, and returns them sorted by DER without duplicates.
func parseCACerts(ders [][]byte, tenantID string, role Role, keep func(*x509.Certificate) bool) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(ders))
	for _, der := range ders {
		c, err := ParseCACert(der, tenantID, role)
		if err != nil {
			return nil, err
		}
		if keep(c) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *x509.Certificate) int { return bytes.Compare(a.Raw, b.Raw) })
	return slices.CompactFunc(out, func(a, b *x509.Certificate) bool { return bytes.Equal(a.Raw, b.Raw) }), nil
}

func signedByAny(c *x509.Certificate, roots []*x509.Certificate) bool {
	for _, r := range roots {
		if c.CheckSignatureFrom(r) == nil {
			return true
		}
	}
	return false
}

// rawDER returns the DER of certs, never nil (so JSON writes [] not null).
func rawDER(certs []*x509.Certificate) [][]byte {
	out := make([][]byte, 0, len(certs))
	for _, c := range certs {
		out = append(out, c.Raw)
	}
	return out
}
