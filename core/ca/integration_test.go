package ca_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/syncproto/devcert"
)

// TestIssuedLeafVerifiesWithDevcert runs the whole path through the
// public APIs only, as core, an edge and a device would: core creates
// and rotates a CA and publishes a trust bundle, the edge parses it with
// devcert, the device proves possession of its key, core issues its
// certificate, and the edge verifies certificate and handshake with devcert.
func TestIssuedLeafVerifiesWithDevcert(t *testing.T) {
	ctx := context.Background()
	const (
		tenant = "0190f0a8-3c1e-7b2a-9d4e-5f6a7b8c9d0e"
		device = "0190f0a9-0000-7000-8000-000000000001"
	)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	kekBytes := make([]byte, keys.KEKSize)
	if _, err := rand.Read(kekBytes); err != nil {
		t.Fatal(err)
	}
	kek, err := keys.NewLocalKEK(kekBytes)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ca.CAConfig{TenantID: tenant, Encrypter: kek, Now: func() time.Time { return now }}
	first, sealed1, err := ca.NewCA(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * 24 * time.Hour)
	rotated, sealed2, err := ca.Rotate(ctx, cfg, sealed1)
	if err != nil {
		t.Fatal(err)
	}

	// core: the CA certificates pass devcert's rules; publish a bundle.
	for _, c := range []struct {
		der  []byte
		role devcert.Role
	}{{sealed1.RootCert, devcert.RoleRoot}, {sealed1.IssuingCert, devcert.RoleIssuing}, {sealed2.IssuingCert, devcert.RoleIssuing}} {
		if _, err := devcert.ParseCACert(c.der, tenant, c.role); err != nil {
			t.Fatalf("%s certificate: %v", c.role, err)
		}
	}
	published, err := devcert.NewTrustBundle(tenant, [][]byte{sealed1.RootCert, sealed2.RootCert}, [][]byte{sealed1.IssuingCert, sealed2.IssuingCert}, now)
	if err != nil {
		t.Fatal(err)
	}
	// edge: rebuild the bundle from its bytes.
	bundle, err := devcert.ParseTrustBundle(published.Marshal())
	if err != nil {
		t.Fatal(err)
	}

	// device: a key, a proof of possession for enrollment.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{7}, devcert.MinNonceBytes)
	if err := devcert.VerifyPossession(pub, devcert.EnrollmentMessage(tenant, nonce, pub), ed25519.Sign(priv, devcert.EnrollmentMessage(tenant, nonce, pub))); err != nil {
		t.Fatal(err)
	}

	for name, issuer := range map[string]*ca.CA{"first generation": first, "rotated": rotated} {
		t.Run(name, func(t *testing.T) {
			der, serial, notAfter, err := issuer.IssueDevice(ca.DeviceCertRequest{DeviceID: device, PublicKey: pub})
			if err != nil {
				t.Fatal(err)
			}
			for _, chain := range [][][]byte{{der}, {der, issuer.Issuing().Raw}} {
				id, err := bundle.VerifyDevice(chain, now, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if id.Tenant != tenant || id.Device != device || id.Serial != serial || !id.NotAfter.Equal(notAfter) {
					t.Fatalf("identity %+v, issued serial %s NotAfter %s", id, serial, notAfter)
				}
			}
			// The edge checks the handshake against the certified key.
			leaf, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			certified := leaf.PublicKey.(ed25519.PublicKey)
			hello := devcert.HandshakeMessage(tenant, device, nonce)
			if err := devcert.VerifyPossession(certified, hello, ed25519.Sign(priv, hello)); err != nil {
				t.Fatal(err)
			}
			if err := devcert.VerifyPossession(certified, devcert.TokenRequestMessage(tenant, device, nonce), ed25519.Sign(priv, hello)); !errors.Is(err, devcert.ErrBadPossession) {
				t.Fatalf("handshake signature accepted as token request: %v", err)
			}
			// Expired, by devcert's rules, after NotAfter plus skew.
			if _, err := bundle.VerifyDevice([][]byte{der}, notAfter.Add(2*time.Minute), time.Minute); !errors.Is(err, devcert.ErrExpired) {
				t.Fatalf("after NotAfter: %v", err)
			}
		})
	}

	// A key devcert calls weak is refused by the CA.
	weak := make(ed25519.PublicKey, ed25519.PublicKeySize)
	weak[0] = 1
	if !devcert.IsWeakPublicKey(weak) {
		t.Fatal("identity key not weak")
	}
	if _, _, _, err := rotated.IssueDevice(ca.DeviceCertRequest{DeviceID: device, PublicKey: weak}); !errors.Is(err, ca.ErrInvalidRequest) {
		t.Fatalf("weak key: %v", err)
	}
}
