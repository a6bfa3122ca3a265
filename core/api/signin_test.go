package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/melmastoon/iam/test/coretest"
)

const alicePassword = "violet-harbour-lantern-93"

type tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	MFARequired  bool   `json:"mfa_required"`
	MFATicket    string `json:"mfa_ticket"`
}

// signinFixture is a tenant "acme" with account alice (password set) and
// the OIDC issuer of the tenant.
type signinFixture struct {
	c       *coretest.Instance
	clock   *coretest.Clock
	alice   string
	issuer  string
	rootOrg string
}

func newSignin(t *testing.T, opts ...coretest.Option) *signinFixture {
	t.Helper()
	clock := &coretest.Clock{}
	c := coretest.Start(t, append([]coretest.Option{coretest.WithClock(clock)}, opts...)...)
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})
	f := &signinFixture{c: c, clock: clock, issuer: c.URL + "/t/acme"}
	f.alice = c.MustCreate("/api/v1/tenants/acme/accounts", map[string]any{"username": "alice", "email": "alice@acme.example", "password": alicePassword})
	f.rootOrg = c.MustCreate("/api/v1/tenants/acme/organizations", map[string]any{"name": "County"})
	return f
}

func (f *signinFixture) login(t *testing.T, user, pw string) (*coretest.Response, tokens) {
	t.Helper()
	r := f.c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/login", NoAuth: true,
		Body: map[string]string{"username": user, "password": pw}})
	var tok tokens
	if r.Status == http.StatusOK {
		r.Decode(t, &tok)
	}
	return r, tok
}

func (f *signinFixture) mustLogin(t *testing.T, user, pw string) tokens {
	t.Helper()
	r, tok := f.login(t, user, pw)
	if r.Status != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("login %s = %d %s", user, r.Status, r.Body)
	}
	return tok
}

func (f *signinFixture) refresh(t *testing.T, rt string) (*coretest.Response, tokens) {
	t.Helper()
	r := f.c.Form("/t/acme/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	var tok tokens
	if r.Status == http.StatusOK {
		r.Decode(t, &tok)
	}
	return r, tok
}

func TestLoginTokenVerifiesWithStockOIDCClient(t *testing.T) {
	f := newSignin(t)
	tok := f.mustLogin(t, "alice", alicePassword)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 600 || len(tok.RefreshToken) < 43 {
		t.Fatalf("tokens = %+v", tok)
	}
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, f.issuer)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: "iam", SupportedSigningAlgs: []string{oidc.EdDSA}})
	idt, err := verifier.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("go-oidc verify: %v", err)
	}
	var claims struct {
		Sid string   `json:"sid"`
		Tid string   `json:"tid"`
		Amr []string `json:"amr"`
		Jti string   `json:"jti"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != f.alice || claims.Sid == "" || claims.Tid == "" || claims.Jti == "" || len(claims.Amr) != 1 || claims.Amr[0] != "pwd" {
		t.Fatalf("claims sub=%s %+v", idt.Subject, claims)
	}
	// The discovery document and JWKS are cacheable.
	for _, p := range []string{"/t/acme/.well-known/openid-configuration", "/t/acme/jwks.json"} {
		r := f.c.Do(coretest.Request{Method: "GET", Path: p, NoAuth: true})
		if r.Status != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "max-age=") {
			t.Errorf("%s = %d cache-control %q", p, r.Status, r.Header.Get("Cache-Control"))
		}
	}
	// golang-jwt parses it with the JWKS key.
	parsed, err := jwt.Parse(tok.AccessToken, jwksKeyfunc(t, f.c), jwt.WithValidMethods([]string{"EdDSA"}),
		jwt.WithIssuer(f.issuer), jwt.WithAudience("iam"), jwt.WithExpirationRequired())
	if err != nil || !parsed.Valid {
		t.Fatalf("golang-jwt: %v", err)
	}
	if parsed.Header["typ"] != "at+jwt" || parsed.Header["kid"] == "" {
		t.Fatalf("header = %v", parsed.Header)
	}
}

func TestRefreshWithStockOAuth2Client(t *testing.T) {
	f := newSignin(t)
	tok := f.mustLogin(t, "alice", alicePassword)
	conf := &oauth2.Config{ClientID: "iam", Endpoint: oauth2.Endpoint{TokenURL: f.issuer + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, f.c.Client)
	src := conf.TokenSource(ctx, &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)})
	fresh, err := src.Token()
	if err != nil {
		t.Fatalf("x/oauth2 refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
		t.Fatal("refresh did not rotate both tokens")
	}
	// A refused refresh is an RFC 6749 error the stock client understands.
	bad := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: strings.Repeat("A", 43), Expiry: time.Now().Add(-time.Minute)})
	_, err = bad.Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("bad refresh: %v", err)
	}
}

func TestRefreshReuseRevokesTheFamily(t *testing.T) {
	f := newSignin(t)
	first := f.mustLogin(t, "alice", alicePassword)
	r, second := f.refresh(t, first.RefreshToken)
	if r.Status != 200 {
		t.Fatalf("refresh = %d %s", r.Status, r.Body)
	}
	// Within the grace window the same old token returns the same new pair.
	r, again := f.refresh(t, first.RefreshToken)
	if r.Status != 200 || again.RefreshToken != second.RefreshToken || again.AccessToken != second.AccessToken {
		t.Fatalf("grace replay = %d, same pair %v", r.Status, again.RefreshToken == second.RefreshToken)
	}
	// After it, reuse is theft: the whole family dies.
	f.clock.Advance(30 * time.Second)
	r, _ = f.refresh(t, first.RefreshToken)
	if r.Status != 400 || r.Code() != "MELMASTOON.IAM.OAUTH.INVALID_GRANT" || r.JSON()["error"] != "invalid_grant" {
		t.Fatalf("reuse = %d %s", r.Status, r.Body)
	}
	if r, _ := f.refresh(t, second.RefreshToken); r.Status != 400 {
		t.Fatalf("descendant token still works after reuse: %d", r.Status)
	}
	if got := f.c.As(second.AccessToken, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/logout"}); got.Status != 401 {
		t.Fatalf("access token of a revoked session = %d", got.Status)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM audit_events WHERE action = 'session.reuse_detected'`); n != 1 {
		t.Fatalf("reuse audit rows = %d", n)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.session.revoked.v1'`); n != 1 {
		t.Fatalf("session.revoked outbox rows = %d", n)
	}
}

func TestLogoutAndAdminSessionRevocation(t *testing.T) {
	f := newSignin(t)
	a := f.mustLogin(t, "alice", alicePassword)
	b := f.mustLogin(t, "alice", alicePassword)
	if r := f.c.As(a.AccessToken, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/logout"}); r.Status != 204 {
		t.Fatalf("logout = %d %s", r.Status, r.Body)
	}
	if r, _ := f.refresh(t, a.RefreshToken); r.Status != 400 {
		t.Fatalf("refresh after logout = %d", r.Status)
	}
	list := f.c.Get("/api/v1/tenants/acme/accounts/" + f.alice + "/sessions")
	var sessions struct{ Items []map[string]any }
	list.Decode(t, &sessions)
	if len(sessions.Items) != 2 {
		t.Fatalf("sessions = %s", list.Body)
	}
	rv := f.c.Post("/api/v1/tenants/acme/accounts/"+f.alice+"/sessions/revoke", nil)
	if rv.Status != 200 || rv.JSON()["revoked"] != float64(1) {
		t.Fatalf("revoke all = %d %s", rv.Status, rv.Body)
	}
	if r, _ := f.refresh(t, b.RefreshToken); r.Status != 400 {
		t.Fatalf("refresh after admin revoke = %d", r.Status)
	}
}

func TestNoEnumerationAndLockout(t *testing.T) {
	f := newSignin(t)
	unknown, _ := f.login(t, "nobody", alicePassword)
	wrong, _ := f.login(t, "alice", "wrong password here")
	if unknown.Status != 401 || wrong.Status != 401 || unknown.Code() != wrong.Code() || unknown.JSON()["detail"] != wrong.JSON()["detail"] {
		t.Fatalf("unknown user %d %s vs wrong password %d %s", unknown.Status, unknown.Body, wrong.Status, wrong.Body)
	}
	for range 4 { // 5 failures in all lock the account
		f.login(t, "alice", "wrong password here")
	}
	locked, _ := f.login(t, "alice", alicePassword)
	if locked.Status != 401 || locked.Code() != "MELMASTOON.IAM.AUTH.INVALID_CREDENTIALS" {
		t.Fatalf("correct password on a locked account = %d %s", locked.Status, locked.Body)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM audit_events WHERE action = 'account.lock'`); n != 1 {
		t.Fatalf("lock audit rows = %d", n)
	}
	if n := countRows(t, f.c, `SELECT count(*) FROM audit_events WHERE action = 'auth.login' AND outcome = 'failure' AND details->>'reason' = 'temporarily_locked'`); n != 1 {
		t.Fatalf("locked login not audited with its reason")
	}
	if r := f.c.Post("/api/v1/tenants/acme/accounts/"+f.alice+"/unlock", nil); r.Status != 200 {
		t.Fatalf("unlock = %d %s", r.Status, r.Body)
	}
	f.mustLogin(t, "alice", alicePassword)
	if n := countRows(t, f.c, `SELECT count(*) FROM audit_events WHERE action = 'account.unlock'`); n != 1 {
		t.Fatalf("unlock audit rows = %d", n)
	}
}

func TestSourceAddressThrottling(t *testing.T) {
	f := newSignin(t)
	var last *coretest.Response
	for i := range 30 {
		last, _ = f.login(t, "user"+string(rune('a'+i%26)), "wrong password here")
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	if last.Status != http.StatusTooManyRequests || last.Code() != "MELMASTOON.IAM.AUTH.THROTTLED" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("after many failures = %d %s", last.Status, last.Body)
	}
	// Even the right password waits out the back-off.
	if r, _ := f.login(t, "alice", alicePassword); r.Status != http.StatusTooManyRequests {
		t.Fatalf("throttled source logged in: %d", r.Status)
	}
}

func TestDisabledAccountCannotLogInOrRefresh(t *testing.T) {
	f := newSignin(t)
	tok := f.mustLogin(t, "alice", alicePassword)
	if r := f.c.Do(coretest.Request{Method: "PATCH", Path: "/api/v1/tenants/acme/accounts/" + f.alice, Body: map[string]string{"status": "disabled"}}); r.Status != 200 {
		t.Fatalf("disable = %d", r.Status)
	}
	if r, _ := f.refresh(t, tok.RefreshToken); r.Status != 400 {
		t.Fatalf("refresh of a disabled account = %d", r.Status)
	}
	if r, _ := f.login(t, "alice", alicePassword); r.Status != 401 {
		t.Fatalf("login of a disabled account = %d", r.Status)
	}
}

func TestPasswordPolicyAndChange(t *testing.T) {
	f := newSignin(t)
	for _, pw := range []string{"short", "password1234", "123456789012"} {
		r := f.c.Post("/api/v1/tenants/acme/accounts", map[string]any{"username": "u" + pw[:3], "email": "u@x.org", "password": pw})
		if r.Status != 400 || r.Code() != "MELMASTOON.IAM.AUTH.PASSWORD_POLICY" || r.JSON()["field"] != "password" {
			t.Errorf("password %q = %d %s", pw, r.Status, r.Body)
		}
	}
	tok := f.mustLogin(t, "alice", alicePassword)
	other := f.mustLogin(t, "alice", alicePassword)
	wrong := f.c.As(tok.AccessToken, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/password",
		Body: map[string]string{"current_password": "not it at all", "new_password": "a brand new passphrase"}})
	if wrong.Status != 403 || wrong.Code() != "MELMASTOON.IAM.AUTH.WRONG_PASSWORD" {
		t.Fatalf("change with wrong current = %d %s", wrong.Status, wrong.Body)
	}
	ok := f.c.As(tok.AccessToken, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/password",
		Body: map[string]string{"current_password": alicePassword, "new_password": "a brand new passphrase"}})
	if ok.Status != 204 {
		t.Fatalf("change = %d %s", ok.Status, ok.Body)
	}
	if r, _ := f.refresh(t, other.RefreshToken); r.Status != 400 {
		t.Fatalf("other session survived a password change: %d", r.Status)
	}
	f.mustLogin(t, "alice", "a brand new passphrase")
	// Admin reset revokes every session.
	if r := f.c.Post("/api/v1/tenants/acme/accounts/"+f.alice+"/password", map[string]string{"password": "reset by the admin 42"}); r.Status != 204 {
		t.Fatalf("reset = %d %s", r.Status, r.Body)
	}
	if r, _ := f.refresh(t, tok.RefreshToken); r.Status != 400 {
		t.Fatalf("session survived an admin reset")
	}
	f.mustLogin(t, "alice", "reset by the admin 42")
}
