package devproto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

const (
	sealTenant = "0190f0a8-3c1e-7b2a-9d4e-5f6a7b8c9d0e"
	sealDevice = "0190f0a9-0000-7000-8000-000000000001"
	sealToken  = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
)

// tokenNonce is a device's token request nonce with a fresh ephemeral key.
func tokenNonce(t *testing.T) ([]byte, *ecdh.PrivateKey) {
	t.Helper()
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n := make([]byte, 16, TokenNonceBytes)
	_, _ = rand.Read(n)
	n = binary.BigEndian.AppendUint64(n, uint64(time.Now().UnixMilli()))
	return append(n, priv.PublicKey().Bytes()...), priv
}

func TestSealTokenRoundTrip(t *testing.T) {
	nonce, priv := tokenNonce(t)
	if len(nonce) != TokenNonceBytes || TokenNonceBytes != 56 {
		t.Fatalf("token nonce of %d bytes", len(nonce))
	}
	sealed, err := SealToken(sealTenant, sealDevice, nonce, sealToken)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != SealedTokenOverhead+len(sealToken) || bytes.Contains(sealed, []byte(sealToken)) ||
		bytes.Contains(sealed, []byte("eyJ")) {
		t.Fatalf("sealed token of %d bytes shows the token", len(sealed))
	}
	got, err := OpenToken(priv, sealTenant, sealDevice, nonce, sealed)
	if err != nil || got != sealToken {
		t.Fatalf("OpenToken = %q, %v", got, err)
	}
	// Two seals of the same token differ (fresh core key and AEAD nonce).
	again, _ := SealToken(sealTenant, sealDevice, nonce, sealToken)
	if bytes.Equal(again, sealed) {
		t.Fatal("sealing is deterministic")
	}
}

func TestOpenTokenRefuses(t *testing.T) {
	nonce, priv := tokenNonce(t)
	sealed, err := SealToken(sealTenant, sealDevice, nonce, sealToken)
	if err != nil {
		t.Fatal(err)
	}
	otherNonce, otherPriv := tokenNonce(t)
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	// Same key, another request nonce (the key is bound to the nonce).
	rebound := bytes.Clone(nonce)
	rebound[0] ^= 1
	cases := map[string]struct {
		priv           *ecdh.PrivateKey
		tenant, device string
		nonce, sealed  []byte
	}{
		"tampered ciphertext": {priv, sealTenant, sealDevice, nonce, flip(len(sealed) - 1)},
		"tampered tag":        {priv, sealTenant, sealDevice, nonce, flip(len(sealed) - 20)},
		"tampered aead nonce": {priv, sealTenant, sealDevice, nonce, flip(TokenKeyBytes)},
		"tampered core key":   {priv, sealTenant, sealDevice, nonce, flip(0)},
		"truncated":           {priv, sealTenant, sealDevice, nonce, sealed[:SealedTokenOverhead]},
		"empty":               {priv, sealTenant, sealDevice, nonce, nil},
		"other tenant":        {priv, "0190f0a8-3c1e-7b2a-9d4e-000000000b0b", sealDevice, nonce, sealed},
		"other device":        {priv, sealTenant, "0190f0a9-0000-7000-8000-000000000002", nonce, sealed},
		"other nonce":         {priv, sealTenant, sealDevice, rebound, sealed},
		"other key":           {otherPriv, sealTenant, sealDevice, otherNonce, sealed},
		"key not in nonce":    {otherPriv, sealTenant, sealDevice, nonce, sealed},
		"renew-sized nonce":   {priv, sealTenant, sealDevice, nonce[:RequestNonceBytes], sealed},
		"no key":              {nil, sealTenant, sealDevice, nonce, sealed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := OpenToken(tc.priv, tc.tenant, tc.device, tc.nonce, tc.sealed)
			if !errors.Is(err, ErrSealedToken) || got != "" {
				t.Fatalf("OpenToken = %q, %v; want ErrSealedToken", got, err)
			}
		})
	}
}

func TestSealTokenRefusesUnusableKeys(t *testing.T) {
	nonce, _ := tokenNonce(t)
	if _, err := SealToken(sealTenant, sealDevice, nonce[:RequestNonceBytes], sealToken); !errors.Is(err, ErrSealedToken) {
		t.Fatalf("renew-sized nonce: %v", err)
	}
	// Low-order X25519 points make the shared secret zero: refused.
	for _, u := range [][]byte{make([]byte, 32), append([]byte{1}, make([]byte, 31)...)} {
		bad := append(bytes.Clone(nonce[:RequestNonceBytes]), u...)
		if _, err := SealToken(sealTenant, sealDevice, bad, sealToken); !errors.Is(err, ErrSealedToken) {
			t.Fatalf("low-order key %x: %v", u[:1], err)
		}
	}
}
