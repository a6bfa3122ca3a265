package totp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"regexp"
	"strings"
	"testing"
)

var codeShape = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$`)

func TestGenerateRecoveryCodes(t *testing.T) {
	rc, err := GenerateRecoveryCodes(rand.Reader, "acct-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.Plain) != RecoveryCodeCount || len(rc.Hashes) != RecoveryCodeCount {
		t.Fatalf("got %d codes, %d hashes", len(rc.Plain), len(rc.Hashes))
	}
	seen := map[string]bool{}
	for i, c := range rc.Plain {
		if !codeShape.MatchString(c) || seen[c] {
			t.Fatalf("code %q malformed or repeated", c)
		}
		seen[c] = true
		if bytes.Contains(rc.Hashes[i], []byte(c)) {
			t.Fatal("hash contains the code")
		}
		idx, ok := MatchRecoveryCode("acct-1", c, rc.Hashes)
		if !ok || idx != i {
			t.Fatalf("code %d matched %d, %v", i, idx, ok)
		}
	}
	if _, err := GenerateRecoveryCodes(strings.NewReader("short"), "a"); !errors.Is(err, ErrRandom) {
		t.Fatalf("short rand: %v", err)
	}
}

func TestMatchRecoveryCodeNormalises(t *testing.T) {
	rc, _ := GenerateRecoveryCodes(rand.Reader, "acct-1")
	code := rc.Plain[3]
	bare := strings.ReplaceAll(code, "-", "")
	variants := []string{
		strings.ToUpper(code),
		bare,
		" " + strings.ReplaceAll(code, "-", " ") + " ",
		strings.NewReplacer("0", "O", "1", "l").Replace(code),
		strings.NewReplacer("0", "o", "1", "I").Replace(bare),
	}
	for _, v := range variants {
		if idx, ok := MatchRecoveryCode("acct-1", v, rc.Hashes); !ok || idx != 3 {
			t.Errorf("variant %q: %d, %v", v, idx, ok)
		}
	}
	if _, ok := MatchRecoveryCode("acct-2", code, rc.Hashes); ok {
		t.Error("code matched under another account")
	}
}

func TestNormalizeRecoveryCodeRejects(t *testing.T) {
	for _, in := range []string{
		"", "abcd-efgh-jkmn", "abcd-efgh-jkmn-pqrs-tvwx", "abcd-efgh-jkmn-pqru",
		"abcd-efgh-jkmn-pqr!", "ábcd-efgh-jkmn-pqrs", strings.Repeat("-", 100) + "abcdefghjkmnpqrs",
	} {
		if _, err := NormalizeRecoveryCode(in); !errors.Is(err, ErrMalformedRecoveryCode) {
			t.Errorf("NormalizeRecoveryCode(%q) = %v", in, err)
		}
		if _, ok := MatchRecoveryCode("a", in, nil); ok {
			t.Errorf("matched %q", in)
		}
	}
	if got, err := NormalizeRecoveryCode("ABCD-EFGH-JKMN-PQRS"); err != nil || got != "abcdefghjkmnpqrs" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// FuzzNormalizeRecoveryCode checks that normalising never panics and that
// its output is a fixed point.
func FuzzNormalizeRecoveryCode(f *testing.F) {
	f.Add("abcd-efgh-jkmn-pqrs")
	f.Add("ABCD EFGH JKMN PQRS")
	f.Add("0O1l-IiLl-oooo-0000")
	f.Fuzz(func(t *testing.T, in string) {
		n, err := NormalizeRecoveryCode(in)
		if err != nil {
			return
		}
		if again, err := NormalizeRecoveryCode(n); err != nil || again != n || len(n) != 16 {
			t.Fatalf("%q → %q → %q, %v", in, n, again, err)
		}
	})
}
