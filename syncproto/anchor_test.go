package syncproto

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
)

func seededSigner(t *testing.T, b byte, kid string) *Signer {
	t.Helper()
	s, err := NewSigner(kid, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAnchorCertificate(t *testing.T) {
	system := seededSigner(t, 1, "system-1")
	root := seededSigner(t, 2, "root-1")
	anchor := TrustAnchor{Tenant: "01939c4e-0000-7000-8000-000000000001", Kid: root.Kid(), PublicKey: root.PublicKey()}
	cert, err := system.SignAnchor(anchor, time.UnixMilli(1_700_000_000_000))
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyAnchor(cert, system.SigningKey())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got.Tenant != anchor.Tenant || got.Kid != anchor.Kid || !got.PublicKey.Equal(anchor.PublicKey) {
		t.Fatalf("anchor = %+v", got)
	}
	other := seededSigner(t, 3, "system-1") // same kid, other key
	tampered := bytes.Clone(cert)
	tampered[len(tampered)-70] ^= 1
	forged, _ := root.SignAnchor(anchor, time.Now())
	for name, tc := range map[string]struct {
		msg  []byte
		key  SigningKey
		want error
	}{
		"wrong system key":           {cert, other.SigningKey(), ErrBadSignature},
		"tampered":                   {tampered, system.SigningKey(), nil},
		"signed by a non-system kid": {forged, system.SigningKey(), ErrUnknownKey},
		"too large":                  {make([]byte, MaxAnchorSize+1), system.SigningKey(), ErrTooLarge},
		"garbage":                    {[]byte{0xd2, 0x01}, system.SigningKey(), ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := VerifyAnchor(tc.msg, tc.key)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// An envelope signature cannot pass as an anchor certificate.
	env, _ := system.sign(ContentTypeDelta, []byte{0xa0})
	if _, err := VerifyAnchor(env, system.SigningKey()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("delta verified as anchor: %v", err)
	}
}

func FuzzVerifyAnchor(f *testing.F) {
	system, _ := NewSigner("system-1", ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)))
	root, _ := NewSigner("root-1", ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize)))
	cert, _ := system.SignAnchor(TrustAnchor{Tenant: "01939c4e-0000-7000-8000-000000000001", Kid: "root-1", PublicKey: root.PublicKey()}, time.UnixMilli(0))
	f.Add(cert)
	f.Add([]byte{0xd2, 0x84})
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, err := VerifyAnchor(msg, system.SigningKey())
		if err == nil && a.Tenant == "" {
			t.Fatal("accepted an anchor without tenant")
		}
	})
}

func TestSigningKeyText(t *testing.T) {
	k := seededSigner(t, 4, "system-x").SigningKey()
	got, err := ParseSigningKey(FormatSigningKey(k))
	if err != nil || got.Kid != k.Kid || !bytes.Equal(got.PublicKey, k.PublicKey) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"", "nokid", "kid:!!!", "kid:AAAA", ":" + FormatSigningKey(k)[len("system-x:"):]} {
		if _, err := ParseSigningKey(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}
