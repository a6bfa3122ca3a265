package device

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devcert"
	"github.com/melmastoon/iam/syncproto/devproto"
)

const (
	testTenant  = "0190f0a8-3c1e-7b2a-9d4e-5f6a7b8c9d0e"
	otherTenant = "0190f0a8-3c1e-7b2a-9d4e-000000000b0b"
	testDevice  = "0190f0a9-0000-7000-8000-000000000001"
	otherDevice = "0190f0a9-0000-7000-8000-000000000002"
	testAccount = "0190f0aa-0000-7000-8000-0000000000aa"
	testSlug    = "acme"
	certLife    = 7 * 24 * time.Hour
)

// t0 is when the fixture's device certificate is issued.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func testLogger() *slog.Logger {
	if os.Getenv("DEVICE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testCA is a tenant CA in the shape core/ca issues (root, issuing
// intermediate, device leaves), built here with crypto/x509 because
// device must not import core.
type testCA struct {
	tenant     string
	root       *x509.Certificate
	issuing    *x509.Certificate
	issuingKey ed25519.PrivateKey
	bundle     *devcert.TrustBundle
}

func newTestCA(t testing.TB, tenant string) *testCA {
	t.Helper()
	_, rootKey, _ := ed25519.GenerateKey(rand.Reader)
	_, issKey, _ := ed25519.GenerateKey(rand.Reader)
	ca := &testCA{tenant: tenant, issuingKey: issKey}
	rootT := caTemplate(tenant, devcert.RoleRoot, 10*365*24*time.Hour)
	ca.root = createCert(t, rootT, rootT, rootKey.Public(), rootKey)
	ca.issuing = createCert(t, caTemplate(tenant, devcert.RoleIssuing, 2*365*24*time.Hour), ca.root, issKey.Public(), rootKey)
	var err error
	if ca.bundle, err = devcert.NewTrustBundle(tenant, [][]byte{ca.root.Raw}, [][]byte{ca.issuing.Raw}, t0); err != nil {
		t.Fatal(err)
	}
	return ca
}

func serial() *big.Int {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[0] |= 0x40
	return new(big.Int).SetBytes(b)
}

func caTemplate(tenant string, role devcert.Role, life time.Duration) *x509.Certificate {
	c := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: devcert.CACommonName(tenant, role)},
		NotBefore: t0.Add(-24 * time.Hour), NotAfter: t0.Add(life),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLen: 1,
	}
	if role == devcert.RoleIssuing {
		c.MaxPathLen, c.MaxPathLenZero = 0, true
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return c
}

func createCert(t testing.TB, tmpl, parent *x509.Certificate, pub any, key ed25519.PrivateKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// issue returns the chain (leaf, issuing) of a device certificate valid
// from at minus a minute for certLife.
func (ca *testCA) issue(t testing.TB, deviceID string, pub ed25519.PublicKey, at time.Time) [][]byte {
	t.Helper()
	u, _ := url.Parse(devcert.DeviceURI(ca.tenant, deviceID))
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: deviceID},
		NotBefore: at.Add(-time.Minute), NotAfter: at.Add(certLife),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true, URIs: []*url.URL{u},
	}
	leaf := createCert(t, tmpl, ca.issuing, pub, ca.issuingKey)
	return [][]byte{leaf.Raw, ca.issuing.Raw}
}

func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("melmastoon device test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func newSigner(t testing.TB, kid string) *syncproto.Signer {
	t.Helper()
	s, err := syncproto.NewSigner(kid, testKey(kid))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixture is one enrolled device with its tenant's CA and delta chain.
type fixture struct {
	ca     *testCA
	root   *syncproto.Signer // tenant delta root (anchor)
	key    *syncproto.Signer // delta-signing key known at enrollment
	chain  *syncproto.Chain
	devKey ed25519.PrivateKey
	clock  *fakeClock
	dir    string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{ca: newTestCA(t, testTenant), root: newSigner(t, "root-1"), key: newSigner(t, "delta-1"),
		devKey: testKey("device"), clock: &fakeClock{t: t0}, dir: t.TempDir()}
	var err error
	if f.chain, err = syncproto.NewChain(testTenant, f.key, 0, syncproto.ZeroHash); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) record(t testing.TB) *record {
	t.Helper()
	return &record{
		TenantID: testTenant, TenantSlug: testSlug, DeviceID: testDevice, AccountID: testAccount, Key: f.devKey,
		Chain:  f.ca.issue(t, testDevice, f.devKey.Public().(ed25519.PublicKey), t0),
		Bundle: f.ca.bundle.Marshal(),
		Anchor: syncproto.TrustAnchor{Tenant: testTenant, Kid: f.root.Kid(), PublicKey: f.root.PublicKey()},
		Keys:   []syncproto.SigningKey{f.key.SigningKey()},
		Entity: f.payload(1, StatusActive),
	}
}

func (f *fixture) payload(version int64, status string) devproto.DevicePayload {
	return devproto.DevicePayload{ID: testDevice, AccountID: testAccount, Name: "phone", Platform: "android",
		Status: status, CertSerial: "00", NotAfter: t0.Add(certLife).Format(time.RFC3339), Version: version}
}

func (f *fixture) options() Options {
	return Options{Logger: testLogger(), Now: f.clock.Now, RenewJitter: -1}
}

// client stores the fixture's enrollment and returns a Client over it.
func (f *fixture) client(t testing.TB) *Client {
	t.Helper()
	st, err := openStore(context.Background(), f.dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := f.record(t)
	if err := st.put(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	c, err := newClient(f.options(), st, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// envelope is a device delta envelope of version (chain fields are set by
// the chain).
func (f *fixture) envelope(t testing.TB, p devproto.DevicePayload) syncproto.Envelope {
	t.Helper()
	data, err := syncproto.EncodeData(p)
	if err != nil {
		t.Fatal(err)
	}
	return syncproto.Envelope{
		ID: uuid.NewString(), Time: t0.Add(time.Duration(p.Version) * time.Hour).UnixMilli(), Source: "iam-core",
		Subject: p.ID, Type: devproto.DeviceRenewedType, DataContentType: syncproto.DataContentTypeCBOR, Data: data,
	}
}

// delta signs a device delta of version with the fixture's delta key.
func (f *fixture) delta(t testing.TB, version int64, status string) []byte {
	t.Helper()
	msg, err := f.chain.Next(f.envelope(t, f.payload(version, status)))
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// frame wraps a signed delta in a Delta frame.
func frame(t testing.TB, m *devproto.Message) []byte {
	t.Helper()
	b, err := devproto.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
