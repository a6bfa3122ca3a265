package devcert

import (
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"math/rand/v2"
	"net/url"
	"testing"
	"time"
)

const (
	tenantA = "0190f0a8-3c1e-7b2a-9d4e-5f6a7b8c9d0e"
	tenantB = "0190f0a8-3c1e-7b2a-9d4e-000000000b0b"
	device1 = "0190f0a9-0000-7000-8000-000000000001"
	device2 = "0190f0a9-0000-7000-8000-000000000002"
)

// Lifetimes of the fixture's certificates, those of the tenant CA's
// defaults (10 years, 2 years, 7 days, backdated one minute).
const (
	rootValidity    = 10 * 365 * 24 * time.Hour
	issuingValidity = 2 * 365 * 24 * time.Hour
	deviceValidity  = 7 * 24 * time.Hour
	backdate        = time.Minute
)

// t0 is the fixtures' starting time.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sentinels are every error VerifyDevice and ParseTrustBundle may wrap.
var sentinels = []error{ErrMalformed, ErrTooLarge, ErrUntrusted, ErrExpired, ErrNotYetValid, ErrWrongTenant}

// fixture is one generation of a tenant CA, built here with crypto/x509
// in the shape the tenant CA (core/ca) issues: a self-signed root
// (pathlen 1), an issuing intermediate under it (pathlen 0, ExtKeyUsage
// ClientAuth) and device leaves under that. This package must not import
// core, so it cannot use core/ca itself; core/ca's tests check that its
// certificates verify here.
type fixture struct {
	tenant     string
	rand       io.Reader
	root       *x509.Certificate
	rootKey    ed25519.PrivateKey
	issuing    *x509.Certificate
	issuingKey ed25519.PrivateKey
	bundle     *TrustBundle
}

// testRand is a deterministic io.Reader for reproducible certificates.
func testRand(seed byte) io.Reader { return rand.NewChaCha8([32]byte{seed}) }

// newFixture makes a CA generation of tenant at t0; another seed gives
// another generation of the same tenant.
func newFixture(t testing.TB, tenant string, seed byte) *fixture {
	t.Helper()
	f := &fixture{tenant: tenant, rand: testRand(seed)}
	f.rootKey = f.newKey(t)
	root := f.caTemplate(t, RoleRoot, t0.Add(rootValidity))
	f.root = f.create(t, root, root, f.rootKey.Public(), f.rootKey)
	f.issuingKey = f.newKey(t)
	f.issuing = f.create(t, f.caTemplate(t, RoleIssuing, t0.Add(issuingValidity)), f.root, f.issuingKey.Public(), f.rootKey)
	var err error
	if f.bundle, err = NewTrustBundle(tenant, [][]byte{f.root.Raw}, [][]byte{f.issuing.Raw}, t0); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(f.rand, seed); err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func (f *fixture) serial(t testing.TB) *big.Int {
	t.Helper()
	b := make([]byte, 16)
	if _, err := io.ReadFull(f.rand, b); err != nil {
		t.Fatal(err)
	}
	b[0] |= 0x40 // positive and non-zero
	return new(big.Int).SetBytes(b)
}

// caTemplate is the template of a root or issuing certificate valid from
// t0 - backdate to notAfter.
func (f *fixture) caTemplate(t testing.TB, role Role, notAfter time.Time) *x509.Certificate {
	t.Helper()
	c := &x509.Certificate{
		SerialNumber:          f.serial(t),
		Subject:               pkix.Name{Organization: []string{"melmastoon iam"}, CommonName: CACommonName(f.tenant, role)},
		NotBefore:             t0.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	if role == RoleIssuing {
		c.MaxPathLen, c.MaxPathLenZero = 0, true
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return c
}

func (f *fixture) create(t testing.TB, tmpl, parent *x509.Certificate, pub any, signer ed25519.PrivateKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(nil, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deviceTemplate is the template of a device certificate of deviceID,
// issued at t0 for deviceValidity.
func (f *fixture) deviceTemplate(t testing.TB, deviceID string) *x509.Certificate {
	t.Helper()
	u, err := url.Parse(DeviceURI(f.tenant, deviceID))
	if err != nil {
		t.Fatal(err)
	}
	return &x509.Certificate{
		SerialNumber:          f.serial(t),
		Subject:               pkix.Name{CommonName: deviceID},
		NotBefore:             t0.Add(-backdate),
		NotAfter:              t0.Add(deviceValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{u},
	}
}

// deviceKey returns a deterministic device key pair.
func deviceKey(seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), seed))
	return priv.Public().(ed25519.PublicKey), priv
}

// issue returns a well-formed device certificate of deviceID.
func (f *fixture) issue(t testing.TB, deviceID string) []byte {
	t.Helper()
	pub, _ := deviceKey(1)
	return f.sign(t, f.deviceTemplate(t, deviceID), pub)
}

// craft signs a device template changed by mutate with the issuing key, to
// build leaves the tenant CA would refuse to make.
func (f *fixture) craft(t testing.TB, mutate func(*x509.Certificate)) []byte {
	t.Helper()
	pub, _ := deviceKey(1)
	return f.craftKey(t, pub, mutate)
}

// craftKey is craft for a leaf public key of any type.
func (f *fixture) craftKey(t testing.TB, pub any, mutate func(*x509.Certificate)) []byte {
	t.Helper()
	tmpl := f.deviceTemplate(t, device1)
	mutate(tmpl)
	return f.sign(t, tmpl, pub)
}

func (f *fixture) sign(t testing.TB, tmpl *x509.Certificate, pub any) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(nil, tmpl, f.issuing, pub, f.issuingKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// wantErr fails unless err matches want (nil meaning success).
func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

// typed reports whether err wraps one of the sentinels.
func typed(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
