package devcert

import (
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// DeviceIdentity is what a verified device certificate proves.
type DeviceIdentity struct {
	Tenant    string
	Device    string
	Serial    string // FormatSerial: 32 lowercase hex digits for the tenant CA's certificates
	NotBefore time.Time
	NotAfter  time.Time
}

// VerifyDevice checks a device certificate chain (DER, leaf first, then any
// intermediates; the bundle's intermediates are always available too)
// against the bundle and returns the device it identifies. It does no I/O
// and is safe for concurrent use.
//
// Checks, in order, and the sentinel each failure wraps:
//
//  1. sizes: 1..MaxChainCerts certificates of at most MaxCertBytes each
//     (ErrTooLarge; an empty chain is ErrMalformed);
//  2. parsing and leaf shape: Ed25519 key, not a CA, KeyUsage
//     DigitalSignature, exactly one SAN (a URI that ParseDeviceURI accepts)
//     and subject CN equal to its device id (ErrMalformed);
//  3. trust: x509 chain building from the leaf through an issuing
//     certificate to a bundle root, with ExtKeyUsage ClientAuth, at the
//     instant t defined below (ErrUntrusted; a CA certificate not valid at
//     t is ErrExpired);
//  4. tenant: the URI's tenant is the bundle's (ErrWrongTenant);
//  5. time: NotBefore - skew <= now <= NotAfter + skew, both ends
//     inclusive (ErrNotYetValid, ErrExpired).
//
// Skew: the chain is verified at t, the instant of the leaf's validity
// window nearest to now (now itself when the leaf is valid), and step 5
// accepts only |t - now| <= skew. So a leaf expired, or not yet valid, by no
// more than skew is accepted, and every certificate of the chain is valid
// at one instant within skew of now. A negative skew counts as zero.
func (b *TrustBundle) VerifyDevice(chain [][]byte, now time.Time, skew time.Duration) (DeviceIdentity, error) {
	if b == nil || b.rootPool == nil {
		// A zero bundle must not fall back to the system roots.
		return DeviceIdentity{}, fmt.Errorf("%w: no trust bundle", ErrUntrusted)
	}
	leaf, intermediates, err := parseChain(chain)
	if err != nil {
		return DeviceIdentity{}, err
	}
	tenant, device, err := leafIdentity(leaf)
	if err != nil {
		return DeviceIdentity{}, err
	}
	if err := b.verifyChain(leaf, intermediates, clampTime(now, leaf.NotBefore, leaf.NotAfter)); err != nil {
		return DeviceIdentity{}, err
	}
	if tenant != b.tenant {
		return DeviceIdentity{}, fmt.Errorf("%w: certificate of tenant %s, bundle of %s", ErrWrongTenant, tenant, b.tenant)
	}
	skew = max(skew, 0)
	if now.After(leaf.NotAfter.Add(skew)) {
		return DeviceIdentity{}, fmt.Errorf("%w: NotAfter %s", ErrExpired, leaf.NotAfter)
	}
	if now.Before(leaf.NotBefore.Add(-skew)) {
		return DeviceIdentity{}, fmt.Errorf("%w: NotBefore %s", ErrNotYetValid, leaf.NotBefore)
	}
	return DeviceIdentity{Tenant: tenant, Device: device, Serial: FormatSerial(leaf.SerialNumber), NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter}, nil
}

// parseChain caps and parses a presented chain.
func parseChain(chain [][]byte) (*x509.Certificate, []*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, nil, fmt.Errorf("%w: empty chain", ErrMalformed)
	}
	if len(chain) > MaxChainCerts {
		return nil, nil, fmt.Errorf("%w: chain of %d certificates", ErrTooLarge, len(chain))
	}
	for _, der := range chain {
		if len(der) > MaxCertBytes {
			return nil, nil, fmt.Errorf("%w: certificate of %d bytes", ErrTooLarge, len(der))
		}
	}
	certs := make([]*x509.Certificate, len(chain))
	for i, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: certificate %d: %w", ErrMalformed, i, err)
		}
		certs[i] = c
	}
	return certs[0], certs[1:], nil
}

// leafIdentity checks the leaf's shape and returns the ids in its URI.
func leafIdentity(leaf *x509.Certificate) (tenant, device string, err error) {
	if _, ok := leaf.PublicKey.(ed25519.PublicKey); !ok {
		return "", "", fmt.Errorf("%w: leaf key is not Ed25519", ErrMalformed)
	}
	if leaf.IsCA || leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return "", "", fmt.Errorf("%w: leaf is not a device certificate", ErrMalformed)
	}
	if !leaf.NotBefore.Before(leaf.NotAfter) {
		return "", "", fmt.Errorf("%w: leaf validity window is empty", ErrMalformed)
	}
	if len(leaf.URIs) != 1 || len(leaf.DNSNames)+len(leaf.EmailAddresses)+len(leaf.IPAddresses) != 0 {
		return "", "", fmt.Errorf("%w: leaf needs exactly one SAN, a URI (has %d URIs)", ErrMalformed, len(leaf.URIs))
	}
	tenant, device, err = ParseDeviceURI(leaf.URIs[0].String())
	if err != nil {
		return "", "", err
	}
	if leaf.Subject.CommonName != device {
		return "", "", fmt.Errorf("%w: leaf CN %q is not its device id", ErrMalformed, leaf.Subject.CommonName)
	}
	return tenant, device, nil
}

// verifyChain builds a chain from leaf to a bundle root at time t.
func (b *TrustBundle) verifyChain(leaf *x509.Certificate, presented []*x509.Certificate, t time.Time) error {
	pool := b.intermediatePool
	if len(presented) > 0 {
		pool = pool.Clone()
		for _, c := range presented {
			pool.AddCert(c)
		}
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         b.rootPool,
		Intermediates: pool,
		CurrentTime:   t,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if invalid, ok := errors.AsType[x509.CertificateInvalidError](err); ok && invalid.Reason == x509.Expired {
		return fmt.Errorf("%w: CA certificate not valid at %s: %w", ErrExpired, t, err)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	// Roots sign intermediates only: a leaf straight under a root is not
	// one the tenant CA issued.
	for _, c := range chains {
		if len(c) == 3 {
			return nil
		}
	}
	return fmt.Errorf("%w: chain is not leaf, issuing, root", ErrUntrusted)
}

// clampTime returns the instant of [lo, hi] nearest to t.
func clampTime(t, lo, hi time.Time) time.Time {
	switch {
	case t.Before(lo):
		return lo
	case t.After(hi):
		return hi
	}
	return t
}
