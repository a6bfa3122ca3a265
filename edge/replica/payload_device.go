package replica

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/melmastoon/iam/syncproto/devcert"
)

// parseDevice reads a devproto.DevicePayload. Besides the rules of every
// payload, the status must be active or revoked, not_after RFC 3339, the
// version positive, and the serial an identifier (it is a digest field).
func parseDevice(f fields) (Change, error) {
	c := Device{ID: f.id("id"), AccountID: f.id("account_id"), Name: f.text("name"), Platform: f.text("platform"),
		Status: f.text("status"), CertSerial: f.id("cert_serial"), NotAfter: f.text("not_after"), Version: f.int("version")}
	switch {
	case f.err != nil:
	case c.Status != DeviceActive && c.Status != DeviceRevoked:
		f.fail("status", "is not active or revoked")
	case !validTime(c.NotAfter):
		f.fail("not_after", "is not RFC 3339")
	case c.Version < 1:
		f.fail("version", "is not positive")
	}
	return c, f.err
}

func validTime(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// tenantCAPayload is a parsed tenant_ca.published payload before its
// certificates are checked against the tenant (parseFields calls bundle).
type tenantCAPayload struct {
	generation           int64
	roots, intermediates [][]byte
}

// write is never called: parseFields turns the payload into a TenantCA.
func (tenantCAPayload) write(execer, string) error {
	return fmt.Errorf("%w: unchecked tenant CA payload", ErrPayload)
}

func parseTenantCA(f fields) (Change, error) {
	c := tenantCAPayload{generation: f.int("generation"), roots: f.certs("roots"), intermediates: f.certs("intermediates")}
	if f.err == nil && c.generation < 1 {
		f.fail("generation", "is not positive")
	}
	return c, f.err
}

// bundle builds the tenant's trust bundle from the payload: every
// certificate must be a CA certificate of tenant in its role, each
// intermediate signed by a root (devcert.NewTrustBundle). Expired
// certificates are kept (the zero time keeps all): VerifyDevice refuses
// them anyway, and the edge must not depend on its own clock to store
// what core signed.
func (c tenantCAPayload) bundle(tenant string) (Change, error) {
	b, err := devcert.NewTrustBundle(tenant, c.roots, c.intermediates, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("%w: tenant CA: %w", ErrPayload, err)
	}
	return TenantCA{Generation: c.generation, Bundle: b.Marshal()}, nil
}

// certs reads an array of base64 (standard, padded) DER certificates, at
// most devcert.MaxBundleCerts. An empty array is allowed (intermediates).
func (f *fields) certs(name string) [][]byte {
	arr, ok := f.m[name].([]any)
	if !ok || len(arr) > devcert.MaxBundleCerts {
		f.fail(name, "is not an array of base64 certificates (at most devcert.MaxBundleCerts)")
		return nil
	}
	out := make([][]byte, 0, len(arr))
	for _, v := range arr {
		s, ok := v.(string)
		if !ok || len(s) > base64.StdEncoding.EncodedLen(devcert.MaxCertBytes) {
			f.fail(name, "holds a value that is not a certificate")
			return nil
		}
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(der) == 0 {
			f.fail(name, "holds a value that is not base64 DER")
			return nil
		}
		out = append(out, der)
	}
	return out
}
