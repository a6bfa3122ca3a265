package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
)

// RFC 8037 Appendix A.2 public key and A.3 thumbprint.
const (
	rfc8037X          = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

func TestThumbprintRFC8037(t *testing.T) {
	x, _ := base64.RawURLEncoding.DecodeString(rfc8037X)
	if got := Thumbprint(ed25519.PublicKey(x)); got != rfc8037Thumbprint {
		t.Fatalf("Thumbprint = %s, want %s", got, rfc8037Thumbprint)
	}
}

func TestPublicJWKJSON(t *testing.T) {
	x, _ := base64.RawURLEncoding.DecodeString(rfc8037X)
	b, err := json.Marshal(PublicJWK(ed25519.PublicKey(x)))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","kid":"` + rfc8037Thumbprint + `","use":"sig","alg":"EdDSA"}`
	if string(b) != want {
		t.Fatalf("JWK JSON:\n got %s\nwant %s", b, want)
	}
}

func TestJWKPublicKey(t *testing.T) {
	k, _ := GenerateSigningKey(rand.Reader)
	good := PublicJWK(k.Public)
	if pub, err := good.PublicKey(); err != nil || !pub.Equal(k.Public) {
		t.Fatalf("round trip: %v", err)
	}
	mutate := map[string]func(j *JWK){
		"kty":       func(j *JWK) { j.Kty = "EC" },
		"crv":       func(j *JWK) { j.Crv = "X25519" },
		"alg":       func(j *JWK) { j.Alg = "RS256" },
		"use":       func(j *JWK) { j.Use = "enc" },
		"kid":       func(j *JWK) { j.Kid = "other" },
		"short x":   func(j *JWK) { j.X = j.X[:20] },
		"padded x":  func(j *JWK) { j.X += "=" },
		"std alpha": func(j *JWK) { j.X = "+" + j.X[1:] },
	}
	for name, f := range mutate {
		j := good
		f(&j)
		if _, err := j.PublicKey(); !errors.Is(err, ErrInvalidJWK) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
