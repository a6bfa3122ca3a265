package keys

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func TestRefreshToken(t *testing.T) {
	a, err := NewRefreshToken(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewRefreshToken(rand.Reader)
	if a == b || len(a) != 43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if err := CheckRefreshTokenFormat(a); err != nil {
		t.Fatal(err)
	}
	h := HashRefreshToken(a)
	want := sha256.Sum256([]byte(a))
	if !bytes.Equal(h, want[:]) {
		t.Fatal("hash is not SHA-256 of the token text")
	}
	if !EqualRefreshTokenHash(h, HashRefreshToken(a)) || EqualRefreshTokenHash(h, HashRefreshToken(b)) {
		t.Fatal("EqualRefreshTokenHash wrong")
	}
	if EqualRefreshTokenHash(h, h[:31]) {
		t.Fatal("prefix compared equal")
	}
}

func TestCheckRefreshTokenFormat(t *testing.T) {
	good, _ := NewRefreshToken(rand.Reader)
	for name, s := range map[string]string{
		"empty":      "",
		"short":      good[:42],
		"long":       good + "A",
		"padding":    good[:42] + "=",
		"std alpha":  "+" + good[1:],
		"whitespace": " " + good[1:],
		"newline":    good[:10] + "\n" + good[11:],
		"non-canon":  good[:42] + "B", // the 2 unused low bits must be zero
	} {
		if err := CheckRefreshTokenFormat(s); !errors.Is(err, ErrMalformedRefreshToken) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := NewRefreshToken(strings.NewReader("short")); err == nil {
		t.Fatal("short rand accepted")
	}
}
