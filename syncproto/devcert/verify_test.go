package devcert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"net/url"
	"testing"
	"time"
)

func TestVerifyDeviceTime(t *testing.T) {
	f := newFixture(t, tenantA, 1)
	leafDER := f.issue(t, device1)
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		t.Fatal(err)
	}
	nb, na := leaf.NotBefore, leaf.NotAfter
	for _, tc := range []struct {
		name string
		now  time.Time
		skew time.Duration
		err  error
	}{
		{"inside", t0, 0, nil},
		{"at NotBefore", nb, 0, nil},
		{"at NotAfter", na, 0, nil},
		{"expired by 1s, no skew", na.Add(time.Second), 0, ErrExpired},
		{"expired by 1s, negative skew", na.Add(time.Second), -time.Hour, ErrExpired},
		{"expired by 30s, skew 1m", na.Add(30 * time.Second), time.Minute, nil},
		{"expired by exactly skew", na.Add(time.Minute), time.Minute, nil},
		{"expired by skew+1ns", na.Add(time.Minute + 1), time.Minute, ErrExpired},
		{"expired long ago, skew 1m", na.Add(30 * 24 * time.Hour), time.Minute, ErrExpired},
		{"early by 1s, no skew", nb.Add(-time.Second), 0, ErrNotYetValid},
		{"early by 30s, skew 1m", nb.Add(-30 * time.Second), time.Minute, nil},
		{"early by exactly skew", nb.Add(-time.Minute), time.Minute, nil},
		{"early by 2m, skew 1m", nb.Add(-2 * time.Minute), time.Minute, ErrNotYetValid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.bundle.VerifyDevice([][]byte{leafDER}, tc.now, tc.skew)
			wantErr(t, err, tc.err)
		})
	}
}

// TestVerifyDeviceCAExpired covers a CA certificate that is not valid at
// the leaf's time: a (mis-issued) leaf outliving its intermediate.
func TestVerifyDeviceCAExpired(t *testing.T) {
	f := newFixture(t, tenantA, 1)
	end := f.issuing.NotAfter
	der := f.craft(t, func(c *x509.Certificate) { c.NotAfter = end.Add(24 * time.Hour) })
	_, err := f.bundle.VerifyDevice([][]byte{der}, end.Add(time.Hour), 0)
	wantErr(t, err, ErrExpired)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestVerifyDeviceRejects(t *testing.T) {
	a := newFixture(t, tenantA, 1)
	b := newFixture(t, tenantB, 2)
	good := a.issue(t, device1)

	tamperedSig := bytes.Clone(good)
	tamperedSig[len(tamperedSig)-1] ^= 1
	tamperedBody := bytes.Clone(good)
	tamperedBody[len(tamperedBody)/2] ^= 0xff
	tamperedTag := bytes.Clone(good)
	tamperedTag[0] = 0x31 // SET instead of SEQUENCE

	// A device certificate acting as intermediate: its key signs a leaf.
	_, devicePriv := deviceKey(1)
	deviceCert, err := x509.ParseCertificate(good)
	if err != nil {
		t.Fatal(err)
	}
	pub2, _ := deviceKey(2)
	tmpl := a.deviceTemplate(t, device2)
	underDevice, err := x509.CreateCertificate(nil, tmpl, deviceCert, pub2, devicePriv)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	underRoot, err := x509.CreateCertificate(nil, tmpl, a.root, pub2, a.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	uri := func(s string) func(*x509.Certificate) {
		return func(c *x509.Certificate) { c.URIs = append(c.URIs[:0], mustURL(t, s)) }
	}

	for _, tc := range []struct {
		name  string
		chain [][]byte
		err   error
	}{
		{"good", [][]byte{good}, nil},
		{"good with unrelated intermediate", [][]byte{good, b.issuing.Raw}, nil},
		{"other tenant's CA", [][]byte{b.issue(t, device1)}, ErrUntrusted},
		{"other tenant's CA with its chain", [][]byte{b.issue(t, device1), b.issuing.Raw}, ErrUntrusted},
		{"other tenant's CA claiming our tenant", [][]byte{b.craft(t, uri(DeviceURI(tenantA, device1)))}, ErrUntrusted},
		{"our CA, URI of other tenant", [][]byte{a.craft(t, uri(DeviceURI(tenantB, device1)))}, ErrWrongTenant},
		{"tampered signature", [][]byte{tamperedSig}, ErrUntrusted},
		{"tampered body", [][]byte{tamperedBody}, ErrMalformed},
		{"tampered tag", [][]byte{tamperedTag}, ErrMalformed},
		{"non-CA intermediate", [][]byte{underDevice, good}, ErrUntrusted},
		{"leaf signed by the root", [][]byte{underRoot}, ErrUntrusted},
		{"URI missing", [][]byte{a.craft(t, func(c *x509.Certificate) { c.URIs = nil })}, ErrMalformed},
		{"URI duplicated", [][]byte{a.craft(t, func(c *x509.Certificate) { c.URIs = append(c.URIs, c.URIs[0]) })}, ErrMalformed},
		{"URI uppercase", [][]byte{a.craft(t, uri("URN:MELMASTOON:IAM:TENANT:"+tenantA+":DEVICE:"+device1))}, ErrMalformed},
		{"URI https", [][]byte{a.craft(t, uri("https://iam.example/"+tenantA+"/"+device1))}, ErrMalformed},
		{"URI without device", [][]byte{a.craft(t, uri("urn:melmastoon:iam:tenant:"+tenantA))}, ErrMalformed},
		{"URI with trailing colon", [][]byte{a.craft(t, uri(DeviceURI(tenantA, device1)+":"))}, ErrMalformed},
		{"extra DNS SAN", [][]byte{a.craft(t, func(c *x509.Certificate) { c.DNSNames = []string{"device.example"} })}, ErrMalformed},
		{"CN not the device", [][]byte{a.craft(t, func(c *x509.Certificate) { c.Subject.CommonName = device2 })}, ErrMalformed},
		{"no DigitalSignature", [][]byte{a.craft(t, func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment })}, ErrMalformed},
		{"ServerAuth only", [][]byte{a.craft(t, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })}, ErrUntrusted},
		{"ECDSA leaf", [][]byte{a.craftKey(t, &ecKey.PublicKey, func(*x509.Certificate) {})}, ErrMalformed},
		{"CA as leaf", [][]byte{a.issuing.Raw}, ErrMalformed},
		{"root as leaf", [][]byte{a.root.Raw}, ErrMalformed},
		{"empty chain", nil, ErrMalformed},
		{"nil leaf", [][]byte{nil}, ErrMalformed},
		{"too many certificates", [][]byte{good, good, good, good, good}, ErrTooLarge},
		{"oversized certificate", [][]byte{make([]byte, MaxCertBytes+1)}, ErrTooLarge},
		{"oversized intermediate", [][]byte{good, make([]byte, MaxCertBytes+1)}, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.bundle.VerifyDevice(tc.chain, t0, time.Minute)
			wantErr(t, err, tc.err)
			if err == nil && (id.Tenant != tenantA || id.Device != device1) {
				t.Errorf("identity %+v", id)
			}
			if err != nil && !typed(err) {
				t.Errorf("untyped error %v", err)
			}
		})
	}
}

// TestVerifyDeviceZeroBundle: a TrustBundle not made by a constructor
// trusts nothing (x509 would otherwise fall back to the system roots).
func TestVerifyDeviceZeroBundle(t *testing.T) {
	f := newFixture(t, tenantA, 1)
	leaf := f.issue(t, device1)
	for _, b := range []*TrustBundle{nil, {}} {
		_, err := b.VerifyDevice([][]byte{leaf, f.issuing.Raw}, t0, 0)
		wantErr(t, err, ErrUntrusted)
	}
}

func TestDeviceURI(t *testing.T) {
	tenant, device, err := ParseDeviceURI(DeviceURI(tenantA, device1))
	if err != nil || tenant != tenantA || device != device1 {
		t.Fatalf("round trip: %q %q %v", tenant, device, err)
	}
	good := DeviceURI(tenantA, device1)
	for _, s := range []string{
		"",
		"urn:melmastoon:iam:tenant:",
		good + "x",
		good[:len(good)-1],
		"urn:melmastoon:iam:tenant:" + tenantA + ":device:" + "0190F0A9-0000-7000-8000-000000000001",
		"urn:melmastoon:iam:tenant:" + tenantA + ":dEvice:" + device1,
		"urn:melmastoon:iam:tenant:" + tenantA + "-device:" + device1,
		"urn:melmastoon:iam:tenant:00000000-0000-0000-0000-000000000000:device:" + device1,
		"urn:melmastoon:iam:tenant:" + tenantA + ":device:0190f0a9-0000-7000-8000_000000000001",
		"urn:melmastoon:iam:tenant:" + tenantA + ":device:0190f0a9+0000-7000-8000-000000000001",
		"urn:melmastoon:iam:tenant:" + device1 + ":device:" + tenantA + "x",
		"URN:melmastoon:iam:tenant:" + tenantA + ":device:" + device1,
	} {
		if _, _, err := ParseDeviceURI(s); err == nil || !typed(err) {
			t.Errorf("ParseDeviceURI(%q) = %v, want ErrMalformed", s, err)
		}
	}
}
