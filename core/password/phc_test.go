package password

import (
	"errors"
	"strings"
	"testing"
)

const validPHC = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"

func TestParsePHCValid(t *testing.T) {
	h, err := ParsePHC(validPHC)
	if err != nil {
		t.Fatal(err)
	}
	want := Params{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if h.Params != want {
		t.Fatalf("params = %+v, want %+v", h.Params, want)
	}
	if h.String() != validPHC {
		t.Fatalf("round trip:\n got %s\nwant %s", h.String(), validPHC)
	}
}

func TestParsePHCRejects(t *testing.T) {
	const salt, hash = "c29tZXNhbHRzb21lc2FsdA", "GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	tests := []struct {
		name  string
		in    string
		want  error
		field string
	}{
		{"empty", "", ErrMalformedHash, "format"},
		{"no leading dollar", "argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + hash, ErrMalformedHash, "format"},
		{"extra field", validPHC + "$x", ErrMalformedHash, "format"},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + hash, ErrUnsupportedAlgorithm, "algorithm"},
		{"bcrypt", "$2a$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", ErrMalformedHash, "format"},
		{"version 16", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + hash, ErrUnsupportedVersion, "version"},
		{"missing version", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + hash, ErrMalformedHash, "format"},
		{"version garbage", "$argon2id$v=x$m=19456,t=2,p=1$" + salt + "$" + hash, ErrMalformedHash, "version"},
		{"order t,m,p", "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + hash, ErrMalformedHash, "m"},
		{"missing p", "$argon2id$v=19$m=19456,t=2$" + salt + "$" + hash, ErrMalformedHash, "format"},
		{"extra param", "$argon2id$v=19$m=19456,t=2,p=1,k=2$" + salt + "$" + hash, ErrMalformedHash, "format"},
		{"leading zero", "$argon2id$v=19$m=019456,t=2,p=1$" + salt + "$" + hash, ErrMalformedHash, "m"},
		{"plus sign", "$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + hash, ErrMalformedHash, "m"},
		{"huge memory", "$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + hash, ErrParamsOutOfRange, "m"},
		{"memory overflows uint32", "$argon2id$v=19$m=9999999999,t=2,p=1$" + salt + "$" + hash, ErrParamsOutOfRange, "m"},
		{"tiny memory", "$argon2id$v=19$m=8,t=2,p=1$" + salt + "$" + hash, ErrParamsOutOfRange, "m"},
		{"zero time", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + hash, ErrParamsOutOfRange, "t"},
		{"huge time", "$argon2id$v=19$m=19456,t=1000000,p=1$" + salt + "$" + hash, ErrParamsOutOfRange, "t"},
		{"zero threads", "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + hash, ErrParamsOutOfRange, "p"},
		{"256 threads", "$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + hash, ErrParamsOutOfRange, "p"},
		{"empty salt", "$argon2id$v=19$m=19456,t=2,p=1$$" + hash, ErrMalformedHash, "salt"},
		{"short salt", "$argon2id$v=19$m=19456,t=2,p=1$c29tZQ$" + hash, ErrParamsOutOfRange, "salt"},
		{"padded salt", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + hash, ErrMalformedHash, "salt"},
		{"url alphabet", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.ReplaceAll(hash, "/", "_"), ErrMalformedHash, "hash"},
		{"non-canonical trailing bits", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + hash[:len(hash)-1] + "x", ErrMalformedHash, "hash"},
		{"CR in hash", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + hash[:10] + "\r" + hash[10:], ErrMalformedHash, "hash"},
		{"LF in salt", "$argon2id$v=19$m=19456,t=2,p=1$" + salt[:4] + "\n" + salt[4:] + "$" + hash, ErrMalformedHash, "salt"},
		{"short hash", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$GpZ3sK/oH9p7", ErrParamsOutOfRange, "hash"},
		{"overlong", validPHC + strings.Repeat("A", MaxPHCLen), ErrMalformedHash, "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePHC(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Field != tt.field {
				t.Fatalf("err = %#v, want field %q", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), "password: ") {
				t.Fatalf("error %q lacks package prefix", err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	ok, rehash, err := Verify("whatever", "$argon2id$v=19$m=999999999,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo")
	if ok || rehash || !errors.Is(err, ErrParamsOutOfRange) {
		t.Fatalf("Verify = %v, %v, %v", ok, rehash, err)
	}
}

// FuzzParsePHC checks that ParsePHC never panics, that every accepted
// string is within bounds and re-encodes to itself (one encoding per hash).
func FuzzParsePHC(f *testing.F) {
	f.Add(validPHC)
	f.Add("$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo")
	f.Add("$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$AAAA$AAAA")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParsePHC(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := h.Params.Validate(); err != nil {
			t.Fatalf("accepted out-of-range params %+v", h.Params)
		}
		if h.String() != s {
			t.Fatalf("non-canonical string accepted:\n in %q\nout %q", s, h.String())
		}
	})
}
