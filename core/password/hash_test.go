package password

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// fastParams keep unit tests quick; DefaultParams is exercised once.
func fastParams() Params {
	return Params{MemoryKiB: MinMemoryKiB, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func TestHashVerifyDefault(t *testing.T) {
	phc, err := Hash("correct horse battery", DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected prefix: %s", phc)
	}
	ok, rehash, err := Verify("correct horse battery", phc)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, rehash, err = Verify("correct horse batterY", phc)
	if err != nil || ok || rehash {
		t.Fatalf("wrong password: Verify = %v, %v, %v", ok, rehash, err)
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	phc, err := Hash("some long password", fastParams())
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := Verify("some long password", phc)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	ok, rehash, err = VerifyWithParams("some long password", phc, fastParams())
	if err != nil || !ok || rehash {
		t.Fatalf("VerifyWithParams = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

// TestKnownVector checks interoperability with a hash produced by the
// reference argon2 CLI: echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32
// (phc-winner-argon2 README; RFC 9106 vectors use secret/ad inputs that
// the PHC format cannot carry).
func TestKnownVector(t *testing.T) {
	const phc = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	ok, _, err := Verify("password", phc)
	if err != nil || !ok {
		t.Fatalf("Verify(reference vector) = %v, %v", ok, err)
	}
}

func TestHashDeterministicWithSalt(t *testing.T) {
	salt := bytes.Repeat([]byte{7}, 16)
	a, err := hashWithRand(bytes.NewReader(salt), "pw-pw-pw-pw-pw", fastParams())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := hashWithRand(bytes.NewReader(salt), "pw-pw-pw-pw-pw", fastParams())
	if a != b {
		t.Fatalf("same salt, different hashes: %s %s", a, b)
	}
	c, _ := Hash("pw-pw-pw-pw-pw", fastParams())
	if a == c {
		t.Fatal("random salt produced the fixed-salt hash")
	}
}

func TestHashRejects(t *testing.T) {
	tests := []struct {
		name   string
		pw     string
		params Params
		want   error
	}{
		{"too long", strings.Repeat("a", MaxPasswordBytes+1), fastParams(), ErrTooLong},
		{"memory too big", "x", Params{MemoryKiB: MaxMemoryKiB + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, ErrParamsOutOfRange},
		{"zero time", "x", Params{MemoryKiB: MinMemoryKiB, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}, ErrParamsOutOfRange},
		{"zero threads", "x", Params{MemoryKiB: MinMemoryKiB, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32}, ErrParamsOutOfRange},
		{"short salt", "x", Params{MemoryKiB: MinMemoryKiB, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}, ErrParamsOutOfRange},
		{"short key", "x", Params{MemoryKiB: MinMemoryKiB, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8}, ErrParamsOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Hash(tt.pw, tt.params); !errors.Is(err, tt.want) {
				t.Fatalf("Hash err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyRejectsOverlongPassword(t *testing.T) {
	phc, _ := Hash("a password here", fastParams())
	ok, _, err := Verify(strings.Repeat("a", MaxPasswordBytes+1), phc)
	if ok || !errors.Is(err, ErrTooLong) {
		t.Fatalf("got %v, %v", ok, err)
	}
}

func TestDummy(t *testing.T) {
	d, err := NewDummy(fastParams())
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "password1234", d.phc} {
		if d.Verify(pw) {
			t.Fatalf("dummy accepted %q", pw)
		}
	}
	if _, err := ParsePHC(d.phc); err != nil {
		t.Fatalf("dummy hash unparsable: %v", err)
	}
}
