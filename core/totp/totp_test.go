package totp

import (
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// rfc6238Secret is the RFC 6238 Appendix B SHA-1 seed "12345678901234567890"
// in base32.
const rfc6238Secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestRFC6238Vectors(t *testing.T) {
	// Appendix B, SHA-1, last 6 of the 8 published digits.
	vectors := []struct {
		unix int64
		code string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	}
	for _, v := range vectors {
		now := time.Unix(v.unix, 0)
		step, ok := Validate(rfc6238Secret, v.code, now, 0)
		if !ok || step != v.unix/Period {
			t.Errorf("t=%d: Validate = %d, %v", v.unix, step, ok)
		}
	}
}

func TestValidateSkewAndStep(t *testing.T) {
	now := time.Unix(1111111111, 0)
	codeAt := func(d time.Duration) string {
		c, err := totp.GenerateCode(rfc6238Secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name   string
		offset time.Duration
		skew   int
		ok     bool
		step   int64
	}{
		{"current", 0, 1, true, Step(now)},
		{"previous step", -Period * time.Second, 1, true, Step(now) - 1},
		{"next step", Period * time.Second, 1, true, Step(now) + 1},
		{"two back, skew 1", -2 * Period * time.Second, 1, false, 0},
		{"two back, skew 2", -2 * Period * time.Second, 2, true, Step(now) - 2},
		{"previous, skew 0", -Period * time.Second, 0, false, 0},
		{"skew clamped to max", -3 * Period * time.Second, 99, false, 0},
		{"negative skew = 0", 0, -5, true, Step(now)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := Validate(rfc6238Secret, codeAt(tt.offset), now, tt.skew)
			if ok != tt.ok || (ok && step != tt.step) {
				t.Fatalf("Validate = %d, %v; want %d, %v", step, ok, tt.step, tt.ok)
			}
		})
	}
}

func TestValidateRejectsMalformed(t *testing.T) {
	now := time.Unix(59, 0)
	for _, c := range []string{"", "28708", "2870822", "28708a", "２８７０８２", "287 082"} {
		if _, ok := Validate(rfc6238Secret, c, now, 1); ok {
			t.Errorf("accepted %q", c)
		}
	}
	if _, ok := Validate("not base32!!", "287082", now, 1); ok {
		t.Error("accepted a malformed secret")
	}
	if _, ok := Validate(rfc6238Secret, " 287082\n", now, 0); !ok {
		t.Error("surrounding whitespace not trimmed")
	}
}

func TestValidateAfterRefusesReplay(t *testing.T) {
	now := time.Unix(1234567890, 0)
	code, _ := totp.GenerateCode(rfc6238Secret, now)
	step, ok := ValidateAfter(rfc6238Secret, code, now, 1, -1)
	if !ok {
		t.Fatal("first use refused")
	}
	// Same code, 20 s later, still inside the window: a replay.
	if _, ok := ValidateAfter(rfc6238Secret, code, now.Add(20*time.Second), 1, step); ok {
		t.Fatal("replayed code accepted")
	}
	// An older code after a newer one was used is refused too.
	old, _ := totp.GenerateCode(rfc6238Secret, now.Add(-Period*time.Second))
	if _, ok := ValidateAfter(rfc6238Secret, old, now, 1, step); ok {
		t.Fatal("older code accepted after newer one")
	}
	next, _ := totp.GenerateCode(rfc6238Secret, now.Add(Period*time.Second))
	if s, ok := ValidateAfter(rfc6238Secret, next, now.Add(Period*time.Second), 1, step); !ok || s != step+1 {
		t.Fatal("next code refused")
	}
}

func TestGenerate(t *testing.T) {
	e, err := Generate("Melmastoon IAM", "alice@example.org", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(e.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("URI %q: %v", e.URI, err)
	}
	q := u.Query()
	if q.Get("secret") != e.Secret || q.Get("issuer") != "Melmastoon IAM" || q.Get("digits") != "6" ||
		q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Fatalf("query %v", q)
	}
	if !strings.HasSuffix(u.Path, "Melmastoon IAM:alice@example.org") {
		t.Fatalf("label %q", u.Path)
	}
	if len(e.Secret) != 32 { // 20 bytes in unpadded base32
		t.Fatalf("secret length %d", len(e.Secret))
	}
	now := time.Now()
	code, _ := totp.GenerateCode(e.Secret, now)
	if _, ok := Validate(e.Secret, code, now, DefaultSkewSteps); !ok {
		t.Fatal("own code rejected")
	}
	for _, bad := range [][2]string{{"", "a"}, {"i", ""}, {"a:b", "c"}, {"a", "b:c"}} {
		if _, err := Generate(bad[0], bad[1], rand.Reader); !errors.Is(err, ErrInvalidAccount) {
			t.Errorf("Generate(%q, %q) = %v", bad[0], bad[1], err)
		}
	}
	if _, err := Generate("i", "a", strings.NewReader("")); !errors.Is(err, ErrRandom) {
		t.Errorf("empty rand: %v", err)
	}
}
