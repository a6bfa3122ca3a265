package ca

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"regexp"
	"testing"
	"time"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/syncproto/devcert"
)

func TestNewCAShape(t *testing.T) {
	f := newFixture(t, tenantA, 1)
	root, issuing := f.ca.Root(), f.ca.Issuing()
	for _, tc := range []struct {
		name     string
		cert     *x509.Certificate
		cn       string
		lifetime time.Duration
		pathLen  int
	}{
		{"root", root, "tenant " + tenantA + " root CA", DefaultRootValidity, 1},
		{"issuing", issuing, "tenant " + tenantA + " issuing CA", DefaultIssuingValidity, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cert
			if c.Subject.CommonName != tc.cn || len(c.Subject.CommonName) > 64 {
				t.Errorf("CN %q", c.Subject.CommonName)
			}
			if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != tc.pathLen || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				t.Errorf("constraints: ca=%v pathlen=%d usage=%v", c.IsCA, c.MaxPathLen, c.KeyUsage)
			}
			if _, ok := c.PublicKey.(ed25519.PublicKey); !ok || c.SignatureAlgorithm != x509.PureEd25519 {
				t.Errorf("key %T, alg %v", c.PublicKey, c.SignatureAlgorithm)
			}
			if !c.NotBefore.Equal(t0.Add(-Backdate)) || !c.NotAfter.Equal(t0.Add(tc.lifetime)) {
				t.Errorf("window %s..%s", c.NotBefore, c.NotAfter)
			}
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
				t.Errorf("serial %v", c.SerialNumber)
			}
		})
	}
	if err := issuing.CheckSignatureFrom(root); err != nil {
		t.Fatal(err)
	}
}

func TestIssueAndVerify(t *testing.T) {
	f := newFixture(t, tenantA, 1)
	pub, _ := deviceKey(7)
	der, serial, notAfter, err := f.ca.IssueDevice(DeviceCertRequest{DeviceID: device1, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(serial) || devcert.FormatSerial(leaf.SerialNumber) != serial {
		t.Errorf("serial %q vs %v", serial, leaf.SerialNumber)
	}
	if !notAfter.Equal(t0.Add(DefaultDeviceValidity)) || !leaf.NotAfter.Equal(notAfter) || !leaf.NotBefore.Equal(t0.Add(-time.Minute)) {
		t.Errorf("window %s..%s, returned %s", leaf.NotBefore, leaf.NotAfter, notAfter)
	}
	if leaf.IsCA || leaf.KeyUsage != x509.KeyUsageDigitalSignature || len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("usage: ca=%v ku=%v eku=%v", leaf.IsCA, leaf.KeyUsage, leaf.ExtKeyUsage)
	}
	if leaf.Subject.CommonName != device1 || len(leaf.URIs) != 1 || leaf.URIs[0].String() != devcert.DeviceURI(tenantA, device1) {
		t.Errorf("names: CN %q URIs %v", leaf.Subject.CommonName, leaf.URIs)
	}
	if !pub.Equal(leaf.PublicKey) {
		t.Error("leaf key is not the device's")
	}
	want := devcert.DeviceIdentity{Tenant: tenantA, Device: device1, Serial: serial, NotBefore: leaf.NotBefore, NotAfter: notAfter}
	for name, chain := range map[string][][]byte{"leaf": {der}, "leaf+issuing": {der, f.sealed.IssuingCert}} {
		t.Run(name, func(t *testing.T) {
			got, err := f.bundle.VerifyDevice(chain, t0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("identity %+v, want %+v", got, want)
			}
		})
	}
}

func TestIssueDeviceValidity(t *testing.T) {
	f := newFixture(t, tenantA, 1)
	pub, _ := deviceKey(1)
	issuingEnd := f.ca.Issuing().NotAfter
	for _, tc := range []struct {
		name     string
		now      time.Time
		validity time.Duration
		want     time.Time
		err      error
	}{
		{"default", t0, 0, t0.Add(DefaultDeviceValidity), nil},
		{"one hour", t0, time.Hour, t0.Add(time.Hour), nil},
		{"max", t0, MaxDeviceValidity, t0.Add(MaxDeviceValidity), nil},
		{"clamped to issuing", issuingEnd.Add(-24 * time.Hour), 0, issuingEnd, nil},
		{"sub-second now", t0.Add(1500 * time.Millisecond), 0, t0.Add(time.Second + DefaultDeviceValidity), nil},
		{"over max", t0, MaxDeviceValidity + time.Second, time.Time{}, ErrInvalidRequest},
		{"negative", t0, -time.Hour, time.Time{}, ErrInvalidRequest},
		{"issuing expired", issuingEnd, 0, time.Time{}, ErrCAExpired},
		{"before issuing", t0.Add(-time.Hour), 0, time.Time{}, ErrCAExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			*f.clock = tc.now
			der, _, notAfter, err := f.ca.IssueDevice(DeviceCertRequest{DeviceID: device1, PublicKey: pub, Validity: tc.validity})
			wantErr(t, err, tc.err)
			if err != nil {
				return
			}
			if !notAfter.Equal(tc.want) {
				t.Errorf("NotAfter %s, want %s", notAfter, tc.want)
			}
			if _, err := f.bundle.VerifyDevice([][]byte{der}, tc.now, 0); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

func TestIssueDeviceRejectsRequest(t *testing.T) {
	f := newFixture(t, tenantA, 1)
	pub, _ := deviceKey(1)
	identity := append(make([]byte, 0, 32), 1)
	identity = append(identity, make([]byte, 31)...)
	negZero := make([]byte, 32)
	negZero[31] = 0x80
	for _, tc := range []struct {
		name string
		req  DeviceCertRequest
	}{
		{"uppercase id", DeviceCertRequest{DeviceID: "0190F0A9-0000-7000-8000-000000000001", PublicKey: pub}},
		{"nil uuid", DeviceCertRequest{DeviceID: "00000000-0000-0000-0000-000000000000", PublicKey: pub}},
		{"braced id", DeviceCertRequest{DeviceID: "{" + device1 + "}", PublicKey: pub}},
		{"no hyphens", DeviceCertRequest{DeviceID: "0190f0a9000070008000000000000001", PublicKey: pub}},
		{"empty id", DeviceCertRequest{PublicKey: pub}},
		{"short key", DeviceCertRequest{DeviceID: device1, PublicKey: pub[:31]}},
		{"no key", DeviceCertRequest{DeviceID: device1}},
		{"identity key", DeviceCertRequest{DeviceID: device1, PublicKey: identity}},
		{"order-4 key with sign bit", DeviceCertRequest{DeviceID: device1, PublicKey: negZero}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := f.ca.IssueDevice(tc.req)
			wantErr(t, err, ErrInvalidRequest)
		})
	}
}

func TestCAConfig(t *testing.T) {
	kek := newKEK(t)
	for _, tc := range []struct {
		name string
		cfg  CAConfig
		err  error
	}{
		{"defaults", CAConfig{TenantID: tenantA, Encrypter: kek}, nil},
		{"bad tenant", CAConfig{TenantID: "tenant-a", Encrypter: kek}, ErrInvalidConfig},
		{"no encrypter", CAConfig{TenantID: tenantA}, ErrInvalidConfig},
		{"issuing too short", CAConfig{TenantID: tenantA, Encrypter: kek, IssuingValidity: MaxDeviceValidity}, ErrInvalidConfig},
		{"root shorter than issuing", CAConfig{TenantID: tenantA, Encrypter: kek, RootValidity: DefaultIssuingValidity - time.Hour}, ErrInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := NewCA(context.Background(), tc.cfg)
			wantErr(t, err, tc.err)
		})
	}
}

func TestOpenCA(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, tenantA, 1)
	opened, err := OpenCA(ctx, f.cfg, f.sealed)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := deviceKey(1)
	der, _, _, err := opened.IssueDevice(DeviceCertRequest{DeviceID: device2, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.bundle.VerifyDevice([][]byte{der}, t0, 0); err != nil {
		t.Fatal(err)
	}

	other := newFixture(t, tenantA, 2) // same tenant, another generation
	cfgB := f.cfg
	cfgB.TenantID = tenantB
	otherKEK := f.cfg
	otherKEK.Encrypter = newKEK(t)
	swapped := f.sealed
	swapped.IssuingKey = f.sealed.RootKey
	foreign := f.sealed
	foreign.IssuingKey = other.sealed.IssuingKey
	crossed := f.sealed
	crossed.IssuingCert = other.sealed.IssuingCert
	bad := f.sealed
	bad.IssuingCert = f.sealed.IssuingCert[:100]
	for _, tc := range []struct {
		name string
		cfg  CAConfig
		s    Sealed
		err  error
	}{
		{"other tenant config", cfgB, f.sealed, devcert.ErrWrongTenant},
		{"other KEK", otherKEK, f.sealed, keys.ErrDecrypt},
		{"root key as issuing key", f.cfg, swapped, keys.ErrDecrypt},
		{"key of another generation", f.cfg, foreign, keys.ErrDecrypt},
		{"intermediate of another root", f.cfg, crossed, devcert.ErrUntrusted},
		{"truncated certificate", f.cfg, bad, devcert.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenCA(ctx, tc.cfg, tc.s)
			wantErr(t, err, tc.err)
		})
	}
}

// TestSealedKeyTenantBinding checks the AAD directly, below the certificate
// checks of OpenCA: a key sealed for tenant A does not open for tenant B,
// nor for another role or certificate.
func TestSealedKeyTenantBinding(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, tenantA, 1)
	kek := f.cfg.Encrypter
	issuing := f.ca.Issuing()
	if _, err := openKey(ctx, kek, tenantA, devcert.RoleIssuing, issuing, f.sealed.IssuingKey); err != nil {
		t.Fatal(err)
	}
	if f.sealed.IssuingKey.KEKID != kek.KeyID() || bytes.Contains(f.sealed.IssuingKey.Ciphertext, f.ca.signer.Seed()) {
		t.Fatal("sealed key lacks KEK id or contains the seed")
	}
	for _, tc := range []struct {
		name   string
		tenant string
		role   devcert.Role
		cert   *x509.Certificate
	}{
		{"tenant B", tenantB, devcert.RoleIssuing, issuing},
		{"root role", tenantA, devcert.RoleRoot, issuing},
		{"root certificate", tenantA, devcert.RoleIssuing, f.ca.Root()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openKey(ctx, kek, tc.tenant, tc.role, tc.cert, f.sealed.IssuingKey)
			wantErr(t, err, keys.ErrDecrypt)
		})
	}
	// A key that decrypts but is not the certificate's.
	wrong, err := sealKey(ctx, kek, tenantA, devcert.RoleIssuing, issuing, ed25519.NewKeyFromSeed(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = openKey(ctx, kek, tenantA, devcert.RoleIssuing, issuing, wrong)
	wantErr(t, err, ErrKeyMismatch)
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, tenantA, 1)
	oldLeaf := f.issue(t, device1)
	oldIssuing := f.ca.Issuing()

	*f.clock = t0.Add(365 * 24 * time.Hour)
	rotated, sealed, err := Rotate(ctx, f.cfg, f.sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sealed.RootCert, f.sealed.RootCert) || bytes.Equal(sealed.IssuingCert, f.sealed.IssuingCert) {
		t.Fatal("Rotate must keep the root and replace the intermediate")
	}
	if _, err := OpenCA(ctx, f.cfg, sealed); err != nil {
		t.Fatalf("open rotated: %v", err)
	}
	pub, _ := deviceKey(2)
	newLeaf, _, _, err := rotated.IssueDevice(DeviceCertRequest{DeviceID: device2, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	both, err := devcert.NewTrustBundle(tenantA, [][]byte{f.sealed.RootCert, sealed.RootCert}, [][]byte{f.sealed.IssuingCert, sealed.IssuingCert}, *f.clock)
	if err != nil {
		t.Fatal(err)
	}
	if len(both.Roots()) != 1 || len(both.Intermediates()) != 2 {
		t.Fatalf("bundle has %d roots, %d intermediates", len(both.Roots()), len(both.Intermediates()))
	}
	oldLeafTime := t0.Add(24 * time.Hour)
	for _, tc := range []struct {
		name   string
		bundle *devcert.TrustBundle
		chain  [][]byte
		now    time.Time
		err    error
	}{
		{"old leaf, both intermediates", both, [][]byte{oldLeaf}, oldLeafTime, nil},
		{"new leaf, both intermediates", both, [][]byte{newLeaf}, *f.clock, nil},
		{"new leaf, old bundle, intermediate presented", f.bundle, [][]byte{newLeaf, sealed.IssuingCert}, *f.clock, nil},
		{"new leaf, old bundle, no intermediate", f.bundle, [][]byte{newLeaf}, *f.clock, devcert.ErrUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.bundle.VerifyDevice(tc.chain, tc.now, 0)
			wantErr(t, err, tc.err)
		})
	}

	// Once the old intermediate has expired, a new bundle drops it.
	later, err := devcert.NewTrustBundle(tenantA, [][]byte{sealed.RootCert}, [][]byte{f.sealed.IssuingCert, sealed.IssuingCert}, oldIssuing.NotAfter.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := later.Intermediates(); len(got) != 1 || !bytes.Equal(got[0].Raw, sealed.IssuingCert) {
		t.Fatalf("expired intermediate kept")
	}
}

func TestRotateNearRootEnd(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, tenantA, 1)
	rootEnd := f.ca.Root().NotAfter
	*f.clock = rootEnd.Add(-DefaultIssuingValidity / 2)
	rotated, _, err := Rotate(ctx, f.cfg, f.sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !rotated.Issuing().NotAfter.Equal(rootEnd) {
		t.Errorf("intermediate ends %s, root %s", rotated.Issuing().NotAfter, rootEnd)
	}
	*f.clock = rootEnd.Add(time.Second)
	_, _, err = Rotate(ctx, f.cfg, f.sealed)
	wantErr(t, err, ErrCAExpired)
}

func TestRotateRoot(t *testing.T) {
	a1 := newFixture(t, tenantA, 1)
	a2 := newFixture(t, tenantA, 2) // the root rotation: NewCA again
	b, err := devcert.NewTrustBundle(tenantA,
		[][]byte{a1.sealed.RootCert, a2.sealed.RootCert},
		[][]byte{a1.sealed.IssuingCert, a2.sealed.IssuingCert}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*fixture{a1, a2} {
		if _, err := b.VerifyDevice([][]byte{f.issue(t, device1)}, t0, 0); err != nil {
			t.Error(err)
		}
	}
}

func TestDeterministicWithInjectedRand(t *testing.T) {
	a, b := newFixture(t, tenantA, 9), newFixture(t, tenantA, 9)
	if !bytes.Equal(a.sealed.RootCert, b.sealed.RootCert) || !bytes.Equal(a.issue(t, device1), b.issue(t, device1)) {
		t.Fatal("same Rand and clock must give the same certificates")
	}
}
