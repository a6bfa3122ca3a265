package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIss = "https://iam.example/t/acme"
	testAud = "news-api"
)

type tokenFixture struct {
	now      time.Time
	set      KeySet
	key      SigningKey
	issuer   *Issuer
	verifier *Verifier
}

func newTokenFixture(t testing.TB) *tokenFixture {
	t.Helper()
	f := &tokenFixture{now: t0.Add(time.Hour)}
	set, _, err := Bootstrap(KeySet{Policy: testPolicy()}, t0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.set, f.key = set, set.Keys[0]
	clock := func() time.Time { return f.now }
	f.issuer, err = NewIssuer(IssuerConfig{Issuer: testIss, Keys: f.set, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	f.verifier, err = NewVerifier(VerifierConfig{Issuer: testIss, Audience: testAud, Keys: f.set, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func testRequest() AccessTokenRequest {
	return AccessTokenRequest{Subject: "acct-1", TenantID: "tenant-1", Audience: []string{testAud}, SessionID: "sess-1", AMR: []string{"pwd", "otp"}}
}

func (f *tokenFixture) issue(t testing.TB) string {
	t.Helper()
	tok, _, err := f.issuer.Issue(testRequest())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// sign builds a token by hand with the given method, key and header edits.
func (f *tokenFixture) sign(t testing.TB, m jwt.SigningMethod, key any, edit func(*jwt.Token)) string {
	t.Helper()
	_, claims, _ := f.issuer.Issue(testRequest())
	tok := jwt.NewWithClaims(m, claims)
	tok.Header["kid"] = f.key.KID
	tok.Header["typ"] = TokenType
	if edit != nil {
		edit(tok)
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *tokenFixture) claims(t testing.TB, edit func(*AccessClaims)) string {
	t.Helper()
	_, c, _ := f.issuer.Issue(testRequest())
	edit(&c)
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = f.key.KID
	tok.Header["typ"] = TokenType
	s, err := tok.SignedString(f.key.Private)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIssueAndVerify(t *testing.T) {
	f := newTokenFixture(t)
	tok, issued, err := f.issuer.Issue(testRequest())
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.verifier.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "acct-1" || got.TenantID != "tenant-1" || got.SessionID != "sess-1" ||
		len(got.AMR) != 2 || got.ID == "" || got.ID != issued.ID {
		t.Fatalf("claims = %+v", got)
	}
	if d := got.ExpiresAt.Sub(got.IssuedAt.Time); d != DefaultAccessTokenTTL {
		t.Fatalf("lifetime %v", d)
	}
	parsed, _, _ := jwt.NewParser().ParseUnverified(tok, &AccessClaims{})
	if parsed.Header["kid"] != f.key.KID || parsed.Header["alg"] != "EdDSA" || parsed.Header["typ"] != TokenType {
		t.Fatalf("header = %v", parsed.Header)
	}
	if Reason(err) != "ok" {
		t.Fatal("Reason(nil) != ok")
	}
}

func TestIssueRejects(t *testing.T) {
	f := newTokenFixture(t)
	for _, req := range []AccessTokenRequest{
		{TenantID: "t", Audience: []string{"a"}},
		{Subject: "s", Audience: []string{"a"}},
		{Subject: "s", TenantID: "t"},
	} {
		if _, _, err := f.issuer.Issue(req); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("Issue(%+v) = %v", req, err)
		}
	}
	empty, _ := NewIssuer(IssuerConfig{Issuer: testIss, Keys: KeySet{}})
	if _, _, err := empty.Issue(testRequest()); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("no key: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	f := newTokenFixture(t)
	other, _ := GenerateSigningKey(rand.Reader)
	valid := f.issue(t)
	parts := strings.Split(valid, ".")
	tests := []struct {
		name  string
		token func() string
		clock time.Duration // moves the verifier's clock after issuing
		want  error
	}{
		{"alg none", func() string {
			return f.sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil)
		}, 0, ErrAlgorithm},
		{"HS256 with public key as secret", func() string {
			return f.sign(t, jwt.SigningMethodHS256, []byte(f.key.Public), nil)
		}, 0, ErrAlgorithm},
		{"unknown alg", func() string {
			return `eyJhbGciOiJGT08iLCJ0eXAiOiJhdCtqd3QifQ.` + parts[1] + `.` + parts[2]
		}, 0, ErrAlgorithm},
		{"unknown kid", func() string {
			return f.sign(t, jwt.SigningMethodEdDSA, other.Private, func(tk *jwt.Token) { tk.Header["kid"] = other.KID })
		}, 0, ErrUnknownKey},
		{"missing kid", func() string {
			return f.sign(t, jwt.SigningMethodEdDSA, f.key.Private, func(tk *jwt.Token) { delete(tk.Header, "kid") })
		}, 0, ErrUnknownKey},
		{"known kid, other key", func() string {
			return f.sign(t, jwt.SigningMethodEdDSA, other.Private, nil)
		}, 0, ErrBadSignature},
		{"tampered payload", func() string {
			c := f.claims(t, func(c *AccessClaims) { c.Subject = "admin" })
			return parts[0] + "." + strings.Split(c, ".")[1] + "." + parts[2]
		}, 0, ErrBadSignature},
		{"tampered signature", func() string {
			// Swap one character for another of the base64url alphabet, so
			// the token stays well-formed and only the signature is wrong.
			sig := []byte(parts[2])
			if sig[5] == 'A' {
				sig[5] = 'B'
			} else {
				sig[5] = 'A'
			}
			return parts[0] + "." + parts[1] + "." + string(sig)
		}, 0, ErrBadSignature},
		{"wrong typ", func() string {
			return f.sign(t, jwt.SigningMethodEdDSA, f.key.Private, func(tk *jwt.Token) { tk.Header["typ"] = "JWT" })
		}, 0, ErrWrongType},
		{"wrong issuer", func() string {
			return f.claims(t, func(c *AccessClaims) { c.Issuer = "https://evil.example" })
		}, 0, ErrWrongIssuer},
		{"wrong audience", func() string {
			return f.claims(t, func(c *AccessClaims) { c.Audience = jwt.ClaimStrings{"other-api"} })
		}, 0, ErrWrongAudience},
		{"expired", func() string { return f.issue(t) }, DefaultAccessTokenTTL + DefaultClockSkew + time.Second, ErrExpired},
		{"not yet valid", func() string {
			return f.claims(t, func(c *AccessClaims) { c.NotBefore = jwt.NewNumericDate(f.now.Add(time.Minute)) })
		}, 0, ErrNotYetValid},
		{"issued in the future", func() string {
			return f.claims(t, func(c *AccessClaims) { c.IssuedAt = jwt.NewNumericDate(f.now.Add(time.Minute)) })
		}, 0, ErrNotYetValid},
		{"missing exp", func() string {
			return f.claims(t, func(c *AccessClaims) { c.ExpiresAt = nil })
		}, 0, ErrMissingClaim},
		{"missing sub", func() string {
			return f.claims(t, func(c *AccessClaims) { c.Subject = "" })
		}, 0, ErrMissingClaim},
		{"missing tid", func() string {
			return f.claims(t, func(c *AccessClaims) { c.TenantID = "" })
		}, 0, ErrMissingClaim},
		{"two segments", func() string { return parts[0] + "." + parts[1] }, 0, ErrMalformed},
		{"garbage", func() string { return "not a token" }, 0, ErrMalformed},
		{"empty", func() string { return "" }, 0, ErrMalformed},
		{"bad base64 header", func() string { return "!!!." + parts[1] + "." + parts[2] }, 0, ErrMalformed},
		{"header not json", func() string { return "bm90IGpzb24." + parts[1] + "." + parts[2] }, 0, ErrMalformed},
		{"newline inside", func() string { return valid[:10] + "\n" + valid[10:] }, 0, ErrMalformed},
		{"padded signature", func() string { return valid + "==" }, 0, ErrMalformed},
		{"too large", func() string { return valid + "." + strings.Repeat("A", MaxTokenBytes) }, 0, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.now = t0.Add(time.Hour)
			tok := tt.token()
			f.now = f.now.Add(tt.clock)
			claims, err := f.verifier.Verify(tok)
			if !errors.Is(err, tt.want) || claims != nil {
				t.Fatalf("Verify = %v, %v; want %v", claims, err, tt.want)
			}
			if r := Reason(err); r == "other" || r == "ok" {
				t.Fatalf("Reason = %q", r)
			}
			if !strings.HasPrefix(err.Error(), "keys: ") || (len(tok) > 16 && strings.Contains(err.Error(), tok)) {
				t.Fatalf("error %q has no prefix or echoes the token", err)
			}
		})
	}
}

func TestVerifyClockSkew(t *testing.T) {
	f := newTokenFixture(t)
	tok := f.issue(t)
	f.now = f.now.Add(DefaultAccessTokenTTL + DefaultClockSkew - time.Second)
	if _, err := f.verifier.Verify(tok); err != nil {
		t.Fatalf("expired within skew rejected: %v", err)
	}
	f.now = t0.Add(time.Hour)
	early := f.claims(t, func(c *AccessClaims) {
		c.NotBefore = jwt.NewNumericDate(f.now.Add(20 * time.Second))
		c.IssuedAt = c.NotBefore
	})
	if _, err := f.verifier.Verify(early); err != nil {
		t.Fatalf("nbf within skew rejected: %v", err)
	}
}

func TestVerifyAcrossRotation(t *testing.T) {
	f := newTokenFixture(t)
	p := f.set.Policy
	set := f.set
	var sets []KeySet
	clock := func() time.Time { return f.now }
	resolver := keyResolverFunc(func(kid string, now time.Time) (ed25519.PublicKey, error) {
		return sets[len(sets)-1].PublicKey(kid, now)
	})
	v, _ := NewVerifier(VerifierConfig{Issuer: testIss, Audience: testAud, Keys: resolver, Now: clock})
	sets = append(sets, set)
	// Issue with the old key just before promotion.
	f.now = t0.Add(p.SigningPeriod - p.PublishLead)
	set, _, _ = Rotate(set, f.now, rand.Reader)
	sets = append(sets, set)
	f.now = t0.Add(p.SigningPeriod - time.Second)
	old, _, _ := mustIssuer(t, set, clock).Issue(testRequest())
	f.now = t0.Add(p.SigningPeriod)
	set, _, _ = Rotate(set, f.now, rand.Reader)
	sets = append(sets, set)
	fresh, _, _ := mustIssuer(t, set, clock).Issue(testRequest())
	for name, tok := range map[string]string{"old key": old, "new key": fresh} {
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("%s token rejected after rotation: %v", name, err)
		}
	}
}

type keyResolverFunc func(kid string, now time.Time) (ed25519.PublicKey, error)

func (f keyResolverFunc) PublicKey(kid string, now time.Time) (ed25519.PublicKey, error) {
	return f(kid, now)
}

func mustIssuer(t *testing.T, s KeySet, clock func() time.Time) *Issuer {
	t.Helper()
	i, err := NewIssuer(IssuerConfig{Issuer: testIss, Keys: s, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestConfigRequired(t *testing.T) {
	if _, err := NewIssuer(IssuerConfig{}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("NewIssuer: %v", err)
	}
	if _, err := NewVerifier(VerifierConfig{Issuer: testIss}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("NewVerifier: %v", err)
	}
}

func FuzzVerifyToken(f *testing.F) {
	fx := newTokenFixture(f)
	valid := fx.issue(f)
	f.Add(valid)
	f.Add(fx.sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil))
	f.Add(fx.sign(f, jwt.SigningMethodHS256, []byte(fx.key.Public), nil))
	f.Add(strings.Replace(valid, ".", "..", 1))
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := fx.verifier.Verify(tok)
		if err == nil {
			if claims == nil || claims.Subject == "" {
				t.Fatal("accepted token without claims")
			}
			return
		}
		if claims != nil {
			t.Fatal("claims returned with an error")
		}
		if r := Reason(err); r == "other" {
			t.Fatalf("unclassified error %v", err)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	f := newTokenFixture(b)
	tok := f.issue(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.verifier.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	f := newTokenFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.issuer.Issue(testRequest()); err != nil {
			b.Fatal(err)
		}
	}
}
