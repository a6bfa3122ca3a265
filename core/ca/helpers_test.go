package ca

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/syncproto/devcert"
)

const (
	tenantA = "0190f0a8-3c1e-7b2a-9d4e-5f6a7b8c9d0e"
	tenantB = "0190f0a8-3c1e-7b2a-9d4e-000000000b0b"
	device1 = "0190f0a9-0000-7000-8000-000000000001"
	device2 = "0190f0a9-0000-7000-8000-000000000002"
)

// t0 is the fixtures' starting time.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is one tenant CA with a movable clock.
type fixture struct {
	tenant string
	clock  *time.Time
	cfg    CAConfig
	ca     *CA
	sealed Sealed
	bundle *devcert.TrustBundle
}

// testRand is a deterministic io.Reader for reproducible certificates.
func testRand(seed byte) io.Reader { return rand.NewChaCha8([32]byte{seed}) }

func newKEK(t testing.TB) *keys.LocalKEK {
	t.Helper()
	key := make([]byte, keys.KEKSize)
	if _, err := crand.Read(key); err != nil {
		t.Fatal(err)
	}
	kek, err := keys.NewLocalKEK(key)
	if err != nil {
		t.Fatal(err)
	}
	return kek
}

func newFixture(t testing.TB, tenant string, seed byte) *fixture {
	t.Helper()
	clock := t0
	f := &fixture{tenant: tenant, clock: &clock}
	f.cfg = CAConfig{TenantID: tenant, Encrypter: newKEK(t), Rand: testRand(seed), Now: func() time.Time { return *f.clock }}
	var err error
	if f.ca, f.sealed, err = NewCA(context.Background(), f.cfg); err != nil {
		t.Fatal(err)
	}
	if f.bundle, err = devcert.NewTrustBundle(tenant, [][]byte{f.sealed.RootCert}, [][]byte{f.sealed.IssuingCert}, t0); err != nil {
		t.Fatal(err)
	}
	return f
}

// deviceKey returns a deterministic device key pair.
func deviceKey(seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), seed))
	return priv.Public().(ed25519.PublicKey), priv
}

func (f *fixture) issue(t testing.TB, deviceID string) []byte {
	t.Helper()
	pub, _ := deviceKey(1)
	der, _, _, err := f.ca.IssueDevice(DeviceCertRequest{DeviceID: deviceID, PublicKey: pub})
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
