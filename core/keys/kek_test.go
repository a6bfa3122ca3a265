package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func testKEK(t testing.TB) *LocalKEK {
	t.Helper()
	k, err := NewLocalKEK(bytes.Repeat([]byte{0x42}, KEKSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLocalKEKRoundTrip(t *testing.T) {
	ctx := context.Background()
	k := testKEK(t)
	aad := AssociatedData("signing-key", "tenant-a", "kid-1")
	ct, err := k.Encrypt(ctx, []byte("secret seed"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if ct[0] != localKEKVersion {
		t.Fatalf("version prefix = %d", ct[0])
	}
	ct2, _ := k.Encrypt(ctx, []byte("secret seed"), aad)
	if bytes.Equal(ct, ct2) {
		t.Fatal("two encryptions are identical: nonce not random")
	}
	pt, err := k.Decrypt(ctx, ct, aad)
	if err != nil || string(pt) != "secret seed" {
		t.Fatalf("Decrypt = %q, %v", pt, err)
	}
}

func TestLocalKEKRejects(t *testing.T) {
	ctx := context.Background()
	k := testKEK(t)
	aad := AssociatedData("signing-key", "tenant-a", "kid-1")
	ct, _ := k.Encrypt(ctx, []byte("secret seed"), aad)
	other, _ := NewLocalKEK(bytes.Repeat([]byte{0x43}, KEKSize))
	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name string
		kek  *LocalKEK
		ct   []byte
		aad  []byte
	}{
		{"other tenant", k, ct, AssociatedData("signing-key", "tenant-b", "kid-1")},
		{"other kid", k, ct, AssociatedData("signing-key", "tenant-a", "kid-2")},
		{"other purpose", k, ct, AssociatedData("other", "tenant-a", "kid-1")},
		{"other kek", other, ct, aad},
		{"version byte", k, flip(0), aad},
		{"nonce", k, flip(3), aad},
		{"body", k, flip(len(ct) - 20), aad},
		{"tag", k, flip(len(ct) - 1), aad},
		{"truncated", k, ct[:len(ct)-1], aad},
		{"empty", k, nil, aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.kek.Decrypt(ctx, tt.ct, tt.aad); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("err = %v, want ErrDecrypt", err)
			}
		})
	}
}

func TestLocalKEKPlaintextLimit(t *testing.T) {
	_, err := testKEK(t).Encrypt(context.Background(), make([]byte, MaxPlaintextBytes+1), nil)
	if !errors.Is(err, ErrPlaintextTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseLocalKEK(t *testing.T) {
	raw := make([]byte, KEKSize)
	_, _ = rand.Read(raw)
	want, _ := NewLocalKEK(raw)
	for name, s := range map[string]string{
		"hex":        hex.EncodeToString(raw),
		"HEX":        strings.ToUpper(hex.EncodeToString(raw)),
		"std":        base64.StdEncoding.EncodeToString(raw),
		"raw std":    base64.RawStdEncoding.EncodeToString(raw),
		"url":        base64.URLEncoding.EncodeToString(raw),
		"raw url":    base64.RawURLEncoding.EncodeToString(raw),
		"whitespace": " " + hex.EncodeToString(raw) + "\n",
	} {
		k, err := ParseLocalKEK(s)
		if err != nil || k.KeyID() != want.KeyID() {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := ParseLocalKEK(base64.StdEncoding.EncodeToString(raw[:16])); !errors.Is(err, ErrKEKLength) {
		t.Fatalf("16-byte key: %v", err)
	}
	if _, err := ParseLocalKEK("not a key!"); !errors.Is(err, ErrKEKEncoding) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := NewLocalKEK(raw[:31]); !errors.Is(err, ErrKEKLength) {
		t.Fatalf("31 bytes: %v", err)
	}
	if strings.Contains(want.KeyID(), hex.EncodeToString(raw[:8])) {
		t.Fatal("KeyID leaks key bytes")
	}
}

func TestAssociatedDataUnambiguous(t *testing.T) {
	if bytes.Equal(AssociatedData("p", "ab", "c"), AssociatedData("p", "a", "bc")) {
		t.Fatal("field boundaries are ambiguous")
	}
}

func TestSealOpenPrivateKey(t *testing.T) {
	ctx := context.Background()
	kek := testKEK(t)
	k, _ := GenerateSigningKey(rand.Reader)
	sealed, err := SealPrivateKey(ctx, kek, "tenant-a", k)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := OpenPrivateKey(ctx, kek, "tenant-a", k.KID, sealed)
	if err != nil || !priv.Equal(k.Private) {
		t.Fatalf("OpenPrivateKey: %v", err)
	}
	if _, err := OpenPrivateKey(ctx, kek, "tenant-b", k.KID, sealed); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("moved to other tenant: %v", err)
	}
	k2, _ := GenerateSigningKey(rand.Reader)
	if _, err := OpenPrivateKey(ctx, kek, "tenant-a", k2.KID, sealed); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("moved to other key row: %v", err)
	}
	// A ciphertext of another seed under the right AAD must fail the
	// thumbprint check.
	forged, _ := kek.Encrypt(ctx, k2.Private.Seed(), signingKeyAAD("tenant-a", k.KID))
	if _, err := OpenPrivateKey(ctx, kek, "tenant-a", k.KID, forged); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("substituted seed: %v", err)
	}
	if _, err := SealPrivateKey(ctx, kek, "tenant-a", k.PublicOnly()); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("sealing a public-only key: %v", err)
	}
}
