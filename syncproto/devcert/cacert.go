package devcert

import (
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"math/big"
	"strings"
)

// Role tells a tenant's root from its issuing intermediate. Its value is
// the word of the role in the subject CN (CACommonName); the CA also binds
// it into the associated data of a sealed private key.
type Role string

// The two CA roles.
const (
	RoleRoot    Role = "root"
	RoleIssuing Role = "issuing"
)

// CACommonName is the subject CN of the tenant's CA certificate in role:
// "tenant <tenantID> root CA" or "tenant <tenantID> issuing CA", within
// the 64-character bound of RFC 5280 (ub-common-name) for a UUID tenant id.
// It names the tenant so that a CA of one tenant is never taken for
// another's.
func CACommonName(tenantID string, role Role) string {
	return "tenant " + tenantID + " " + string(role) + " CA"
}

// ParseCACert parses a CA certificate of tenantID in role and checks the
// shape the tenant CA gives it: at most MaxCertBytes, an Ed25519 key, a CA
// (basic constraints) with KeyUsage CertSign, the subject CN
// CACommonName(tenantID, role), pathlen 0 for an intermediate, self-signed
// for a root. It does not check validity times or, for an intermediate,
// its issuer.
//
// It fails with ErrTooLarge, ErrMalformed, ErrWrongTenant (the CN of the
// same role in another tenant) or ErrUntrusted (a root that is not
// self-signed).
func ParseCACert(der []byte, tenantID string, role Role) (*x509.Certificate, error) {
	if role != RoleRoot && role != RoleIssuing {
		return nil, fmt.Errorf("%w: unknown CA role %q", ErrMalformed, role)
	}
	if len(der) > MaxCertBytes {
		return nil, fmt.Errorf("%w: %s certificate has %d bytes", ErrTooLarge, role, len(der))
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s certificate: %w", ErrMalformed, role, err)
	}
	if _, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !cert.BasicConstraintsValid || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%w: %s certificate is not an Ed25519 CA", ErrMalformed, role)
	}
	if role == RoleIssuing && (cert.MaxPathLen != 0 || !cert.MaxPathLenZero) {
		return nil, fmt.Errorf("%w: issuing certificate lacks pathlen 0", ErrMalformed)
	}
	if err := checkCommonName(cert.Subject.CommonName, tenantID, role); err != nil {
		return nil, err
	}
	if role == RoleRoot {
		if err := cert.CheckSignatureFrom(cert); err != nil {
			return nil, fmt.Errorf("%w: root is not self-signed: %w", ErrUntrusted, err)
		}
	}
	return cert, nil
}

// checkCommonName returns ErrWrongTenant for the CN of the same role in
// another tenant and ErrMalformed for any other CN that is not ours.
func checkCommonName(cn, tenantID string, role Role) error {
	want := CACommonName(tenantID, role)
	switch {
	case cn == want:
		return nil
	case len(cn) == len(want) && strings.HasPrefix(cn, "tenant ") && strings.HasSuffix(cn, " "+string(role)+" CA"):
		return fmt.Errorf("%w: %s certificate %q is not tenant %s's", ErrWrongTenant, role, cn, tenantID)
	default:
		return fmt.Errorf("%w: %s certificate subject %q", ErrMalformed, role, cn)
	}
}

// FormatSerial renders a certificate serial number as lowercase hex,
// zero-padded to 32 digits: the form of DeviceIdentity.Serial, so exactly
// 32 digits for the CA's 128-bit serials.
func FormatSerial(n *big.Int) string { return fmt.Sprintf("%032x", n) }
