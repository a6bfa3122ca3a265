package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pquerna/otp/totp"

	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/password"
	"github.com/melmastoon/iam/internal/obs"
	"github.com/melmastoon/iam/test/coretest"
)

func TestTOTPEnrolmentAndMFALogin(t *testing.T) {
	f := newSignin(t)
	tok := f.mustLogin(t, "alice", alicePassword)
	enr := f.c.As(tok.AccessToken, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/mfa/totp"})
	if enr.Status != 201 || !strings.HasPrefix(enr.JSON()["otpauth_uri"].(string), "otpauth://totp/") {
		t.Fatalf("enroll = %d %s", enr.Status, enr.Body)
	}
	secret := enr.JSON()["secret"].(string)
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// A code from a previous window confirms the enrolment; the current one
	// is then the first unused step.
	conf := f.c.As(tok.AccessToken, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/mfa/totp/confirm",
		Body: map[string]string{"code": code(f.clock.Now().Add(-30 * time.Second))}})
	if conf.Status != 200 {
		t.Fatalf("confirm = %d %s", conf.Status, conf.Body)
	}
	var rc struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	conf.Decode(t, &rc)
	if len(rc.RecoveryCodes) != 10 {
		t.Fatalf("recovery codes = %v", rc.RecoveryCodes)
	}
	// Password alone now yields a ticket, not tokens.
	_, step1 := f.login(t, "alice", alicePassword)
	if !step1.MFARequired || step1.MFATicket == "" || step1.AccessToken != "" {
		t.Fatalf("login with MFA = %+v", step1)
	}
	now := code(f.clock.Now())
	done := f.c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/mfa", NoAuth: true,
		Body: map[string]string{"mfa_ticket": step1.MFATicket, "code": now}})
	if done.Status != 200 || done.JSON()["access_token"] == "" {
		t.Fatalf("mfa = %d %s", done.Status, done.Body)
	}
	// The same code again (a new ticket) is a replay within its window.
	_, step2 := f.login(t, "alice", alicePassword)
	replay := f.c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/mfa", NoAuth: true,
		Body: map[string]string{"mfa_ticket": step2.MFATicket, "code": now}})
	if replay.Status != 401 || replay.Code() != "MELMASTOON.IAM.AUTH.MFA_INVALID" {
		t.Fatalf("replayed code = %d %s", replay.Status, replay.Body)
	}
	// A recovery code works once.
	rec := f.c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/mfa", NoAuth: true,
		Body: map[string]string{"mfa_ticket": step2.MFATicket, "recovery_code": rc.RecoveryCodes[3]}})
	if rec.Status != 200 {
		t.Fatalf("recovery code = %d %s", rec.Status, rec.Body)
	}
	_, step3 := f.login(t, "alice", alicePassword)
	again := f.c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/mfa", NoAuth: true,
		Body: map[string]string{"mfa_ticket": step3.MFATicket, "recovery_code": rc.RecoveryCodes[3]}})
	if again.Status != 401 {
		t.Fatalf("reused recovery code = %d", again.Status)
	}
	// A spent ticket is refused.
	spent := f.c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/mfa", NoAuth: true,
		Body: map[string]string{"mfa_ticket": step1.MFATicket, "code": code(f.clock.Now())}})
	if spent.Status != 401 || spent.Code() != "MELMASTOON.IAM.AUTH.MFA_TICKET_INVALID" {
		t.Fatalf("spent ticket = %d %s", spent.Status, spent.Body)
	}
	for _, action := range []string{"mfa.enroll", "mfa.confirm", "mfa.verify"} {
		if n := countRows(t, f.c, `SELECT count(*) FROM audit_events WHERE action = '`+action+`'`); n == 0 {
			t.Errorf("no %s audit row", action)
		}
	}
}

func TestAccountTokensActOnlyWhereTheyHoldThePermission(t *testing.T) {
	f := newSignin(t)
	c := f.c
	townA := c.MustCreate("/api/v1/tenants/acme/organizations", map[string]any{"name": "Town A", "parent_id": f.rootOrg})
	townB := c.MustCreate("/api/v1/tenants/acme/organizations", map[string]any{"name": "Town B", "parent_id": f.rootOrg})
	orgAdmin := c.MustCreate("/api/v1/tenants/acme/roles", map[string]any{"name": "org-admin",
		"permissions": []string{"iam.organizations.read", "iam.organizations.write", "iam.bindings.write"}})
	c.MustCreate("/api/v1/tenants/acme/role-bindings", map[string]any{"account_id": f.alice, "role_id": orgAdmin, "organization_id": townA})
	tok := f.mustLogin(t, "alice", alicePassword)
	as := func(method, path string, body any) *coretest.Response {
		return c.As(tok.AccessToken, coretest.Request{Method: method, Path: path, Body: body})
	}
	// Inherited down the tree: a district under Town A, and one below that.
	d1 := as("POST", "/api/v1/tenants/acme/organizations", map[string]any{"name": "District 1", "parent_id": townA})
	if d1.Status != 201 {
		t.Fatalf("create under Town A = %d %s", d1.Status, d1.Body)
	}
	if r := as("POST", "/api/v1/tenants/acme/organizations", map[string]any{"name": "Block", "parent_id": d1.JSON()["id"]}); r.Status != 201 {
		t.Fatalf("create two levels down = %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"sibling town", "POST", "/api/v1/tenants/acme/organizations", map[string]any{"name": "X", "parent_id": townB}},
		{"new root", "POST", "/api/v1/tenants/acme/organizations", map[string]any{"name": "X"}},
		{"upward read", "GET", "/api/v1/tenants/acme/organizations/" + f.rootOrg, nil},
		{"accounts are tenant-wide", "GET", "/api/v1/tenants/acme/accounts", nil},
		{"roles are tenant-wide", "POST", "/api/v1/tenants/acme/roles", map[string]any{"name": "x", "permissions": []string{}}},
		{"move out of its subtree", "POST", "/api/v1/tenants/acme/organizations/" + d1.JSON()["id"].(string) + "/move", map[string]any{"parent_id": townB}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := as(tc.method, tc.path, tc.body); r.Status != http.StatusForbidden || r.Code() != "MELMASTOON.IAM.AUTH.FORBIDDEN" {
				t.Fatalf("= %d %s; want 403", r.Status, r.Body)
			}
		})
	}
	// Tenant-level administration stays with the bootstrap token.
	if r := as("GET", "/api/v1/tenants", nil); r.Status != 401 {
		t.Fatalf("account token on a global route = %d", r.Status)
	}
	// A wildcard on the root grants everything in the tenant.
	super := c.MustCreate("/api/v1/tenants/acme/roles", map[string]any{"name": "super", "permissions": []string{"iam.*"}})
	c.MustCreate("/api/v1/tenants/acme/role-bindings", map[string]any{"account_id": f.alice, "role_id": super, "organization_id": f.rootOrg})
	if r := as("GET", "/api/v1/tenants/acme/accounts", nil); r.Status != 200 {
		t.Fatalf("with iam.* on the root = %d %s", r.Status, r.Body)
	}
	// Another tenant's token is not accepted here.
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "other", "name": "Other"})
	c.MustCreate("/api/v1/tenants/other/accounts", map[string]any{"username": "alice", "email": "a@o.example", "password": alicePassword})
	r := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/other/auth/login", NoAuth: true,
		Body: map[string]string{"username": "alice", "password": alicePassword}})
	var otherTok tokens
	r.Decode(t, &otherTok)
	if r := c.As(otherTok.AccessToken, coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/organizations/" + townA}); r.Status != 401 {
		t.Fatalf("token of another tenant = %d", r.Status)
	}
}

// forge signs claims with key under kid (or with another method).
func forge(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	tok.Header["typ"] = "at+jwt"
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestForgedAndInvalidTokensAreRejected(t *testing.T) {
	f := newSignin(t)
	good := f.mustLogin(t, "alice", alicePassword)
	parts := strings.Split(good.AccessToken, ".")
	var header map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(raw, &header)
	kid := header["kid"].(string)
	var claims jwt.MapClaims
	raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(raw, &claims)
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range claims {
			c[kk] = vv
		}
		c[k] = v
		return c
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	var jwks struct{ Keys []struct{ X string } }
	f.c.Do(coretest.Request{Method: "GET", Path: "/t/acme/jwks.json", NoAuth: true}).Decode(t, &jwks)
	pub, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].X)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), f.alice, "01939c4e-0000-7000-8000-000000000000", 1))) + "." + parts[2]
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
		tok.Header["kid"] = kid
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}()
	cases := map[string]string{
		"alg none":                  none,
		"HS256 with the public key": forge(t, jwt.SigningMethodHS256, pub, kid, claims),
		"unknown kid":               forge(t, jwt.SigningMethodEdDSA, otherKey, "unknown-kid", claims),
		"right kid, other key":      forge(t, jwt.SigningMethodEdDSA, otherKey, kid, claims),
		"tampered payload":          tampered,
		"wrong issuer":              forge(t, jwt.SigningMethodEdDSA, otherKey, kid, with("iss", "https://evil.example/t/acme")),
		"garbage":                   "not.a.token",
		"empty":                     "",
	}
	// Genuinely signed but not valid now: minted an hour ahead of the
	// verifier's clock (nbf in the future), and checked an hour later
	// (expired).
	f.clock.Set(time.Hour)
	cases["not yet valid"] = f.mustLogin(t, "alice", alicePassword).AccessToken
	f.clock.Set(0)
	expired := f.mustLogin(t, "alice", alicePassword).AccessToken
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := f.c.Do(coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/organizations", NoAuth: true,
				Header: map[string]string{"Authorization": "Bearer " + tok}})
			if r.Status != 401 || r.Code() != "MELMASTOON.IAM.AUTH.UNAUTHENTICATED" {
				t.Fatalf("= %d %s", r.Status, r.Body)
			}
		})
	}
	if r := f.c.As(good.AccessToken, coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/organizations"}); r.Status == 401 {
		t.Fatalf("the genuine token was refused: %s", r.Body)
	}
	f.clock.Set(time.Hour)
	if r := f.c.As(expired, coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/organizations"}); r.Status != 401 {
		t.Fatalf("expired token = %d %s", r.Status, r.Body)
	}
}

func TestKeyRotationPublishesBeforeSigning(t *testing.T) {
	f := newSignin(t, coretest.WithAuth(func(c *auth.Config) { c.KeyPolicy.PublishLead = time.Hour; c.KeyPolicy.SigningPeriod = 48 * time.Hour }))
	kidOf := func(tok string) string {
		raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		var h map[string]any
		_ = json.Unmarshal(raw, &h)
		return h["kid"].(string)
	}
	jwksKids := func() []string {
		var set struct{ Keys []struct{ Kid string } }
		f.c.Do(coretest.Request{Method: "GET", Path: "/t/acme/jwks.json", NoAuth: true}).Decode(t, &set)
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	old := f.mustLogin(t, "alice", alicePassword)
	oldKid := kidOf(old.AccessToken)
	rot := f.c.Post("/api/v1/tenants/acme/keys/rotate", map[string]bool{"force": true})
	if rot.Status != 200 {
		t.Fatalf("rotate = %d %s", rot.Status, rot.Body)
	}
	if kids := jwksKids(); len(kids) != 2 {
		t.Fatalf("JWKS after rotate = %v; want the next key published", kids)
	}
	if k := kidOf(f.mustLogin(t, "alice", alicePassword).AccessToken); k != oldKid {
		t.Fatalf("the next key signed before its publish lead")
	}
	f.clock.Advance(61 * time.Minute)
	if r := f.c.Post("/api/v1/tenants/acme/keys/rotate", map[string]bool{}); r.Status != 200 {
		t.Fatalf("scheduled rotate = %d %s", r.Status, r.Body)
	}
	fresh := f.mustLogin(t, "alice", alicePassword)
	if kidOf(fresh.AccessToken) == oldKid {
		t.Fatal("the new key is not signing after its publish lead")
	}
	if kids := jwksKids(); len(kids) != 2 {
		t.Fatalf("JWKS during retirement = %v; the old key must stay until its tokens expire", kids)
	}
	f.clock.Advance(15 * time.Minute)
	f.c.Post("/api/v1/tenants/acme/keys/rotate", map[string]bool{})
	if kids := jwksKids(); len(kids) != 1 || kids[0] != kidOf(fresh.AccessToken) {
		t.Fatalf("JWKS after retirement = %v", kids)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM outbox WHERE type LIKE 'melmastoon.iam.signing_key.%'`); n < 4 {
		t.Fatalf("signing key outbox rows = %d; public keys must replicate", n)
	}
}

// A secret never reaches the log.
func TestSecretsNeverReachTheLog(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	f := newSignin(t, coretest.WithLogger(obs.NewLogger(w, slog.LevelDebug)))
	tok := f.mustLogin(t, "alice", alicePassword)
	f.login(t, "alice", "wrong-secret-password-77")
	_, fresh := f.refresh(t, tok.RefreshToken)
	enr := f.c.As(fresh.AccessToken, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/mfa/totp"})
	f.c.Do(coretest.Request{Method: "GET", Path: "/api/v1/nope", NoAuth: true, Invalid: true, Header: map[string]string{"Authorization": "Bearer " + fresh.AccessToken}})
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "login refused") {
		t.Fatalf("the log captured nothing useful; the test would prove nothing:\n%s", out)
	}
	for name, secret := range map[string]string{"password": alicePassword, "wrong password": "wrong-secret-password-77",
		"access token": tok.AccessToken, "refresh token": tok.RefreshToken, "new refresh token": fresh.RefreshToken,
		"bootstrap token": coretest.Token, "totp secret": enr.JSON()["secret"].(string)} {
		if strings.Contains(out, secret) {
			t.Errorf("the %s appears in the log", name)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestRehashOnLoginWhenParametersChange(t *testing.T) {
	f := newSignin(t)
	var before string
	_ = f.c.DB.AdminConn(t).QueryRow(context.Background(), `SELECT password_hash FROM accounts WHERE username = 'alice'`).Scan(&before)
	stronger := password.Params{MemoryKiB: 2048, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	c2 := coretest.StartOn(t, f.c.DB.URL, coretest.WithAuth(func(c *auth.Config) { c.PasswordParams = stronger }))
	r := c2.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/login", NoAuth: true,
		Body: map[string]string{"username": "alice", "password": alicePassword}})
	if r.Status != 200 {
		t.Fatalf("login = %d %s", r.Status, r.Body)
	}
	var after string
	_ = f.c.DB.AdminConn(t).QueryRow(context.Background(), `SELECT password_hash FROM accounts WHERE username = 'alice'`).Scan(&after)
	if after == before || !strings.Contains(after, "m=2048,t=2,p=1") {
		t.Fatalf("hash not upgraded: %s → %s", before, after)
	}
}

// Invariant 4: the idempotent replay of a sign-in stores no token and no
// password in the clear — the request only as a hash, the response sealed.
func TestIdempotentLoginStoresNothingInTheClear(t *testing.T) {
	f := newSignin(t)
	req := coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/login", NoAuth: true,
		Body: map[string]string{"username": "alice", "password": alicePassword}, Header: map[string]string{"Idempotency-Key": "login-once"}}
	first := f.c.Do(req)
	again := f.c.Do(req)
	if first.Status != 200 || again.Status != 200 || !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotency-Replayed") != "true" {
		t.Fatalf("replay = %d/%d, same body %v", first.Status, again.Status, bytes.Equal(first.Body, again.Body))
	}
	var tok tokens
	first.Decode(t, &tok)
	var stored, hash []byte
	err := f.c.DB.AdminConn(t).QueryRow(context.Background(),
		`SELECT response_body, request_hash FROM idempotency_keys WHERE key = 'login-once'`).Scan(&stored, &hash)
	if err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"access token": tok.AccessToken, "refresh token": tok.RefreshToken, "password": alicePassword} {
		if bytes.Contains(stored, []byte(secret)) || bytes.Contains(hash, []byte(secret)) {
			t.Errorf("the %s is stored in the clear", name)
		}
	}
	if len(hash) != 32 || len(stored) == 0 {
		t.Fatalf("request hash %d bytes, sealed response %d bytes", len(hash), len(stored))
	}
}

// Another account reusing someone's Idempotency-Key never sees the stored
// response (here: a TOTP secret).
func TestIdempotencyKeyIsBoundToTheCaller(t *testing.T) {
	f := newSignin(t)
	f.c.MustCreate("/api/v1/tenants/acme/accounts", map[string]any{"username": "mallory", "email": "m@acme.example", "password": "mallory-password-77"})
	alice := f.mustLogin(t, "alice", alicePassword)
	mallory := f.mustLogin(t, "mallory", "mallory-password-77")
	req := coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/mfa/totp", Header: map[string]string{"Idempotency-Key": "enroll-1"}}
	first := f.c.As(alice.AccessToken, req)
	if first.Status != 201 {
		t.Fatalf("alice enroll = %d %s", first.Status, first.Body)
	}
	other := f.c.As(mallory.AccessToken, req)
	if other.Status != http.StatusUnprocessableEntity || bytes.Contains(other.Body, []byte(first.JSON()["secret"].(string))) {
		t.Fatalf("mallory with alice's key = %d %s; want 422 without alice's secret", other.Status, other.Body)
	}
	if again := f.c.As(alice.AccessToken, req); again.Status != 201 || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("alice's own replay = %d", again.Status)
	}
}
