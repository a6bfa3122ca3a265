package ca

import (
	"crypto/x509"
	"fmt"

	"github.com/melmastoon/iam/syncproto/devcert"
)

// parseGeneration parses the certificates of a stored CA generation with
// the rules a trust bundle applies (devcert.ParseCACert) and checks that
// the issuing certificate is signed by the root.
func parseGeneration(tenantID string, s Sealed) (root, issuing *x509.Certificate, err error) {
	if root, err = devcert.ParseCACert(s.RootCert, tenantID, devcert.RoleRoot); err != nil {
		return nil, nil, err
	}
	if issuing, err = devcert.ParseCACert(s.IssuingCert, tenantID, devcert.RoleIssuing); err != nil {
		return nil, nil, err
	}
	if err := issuing.CheckSignatureFrom(root); err != nil {
		return nil, nil, fmt.Errorf("%w: issuing certificate not signed by root: %w", devcert.ErrUntrusted, err)
	}
	return root, issuing, nil
}
