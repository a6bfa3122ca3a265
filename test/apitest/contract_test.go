package apitest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/melmastoon/iam/test/apitest"
)

// recorder is a testing.TB that records Errorf calls instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) reported() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

// reply is what the fake service answers.
type reply struct {
	status  int
	ctype   string
	headers map[string]string
	body    string
}

const (
	tenantJSON = `{"id":"0190f1d2-7c3a-7b8e-9a4d-2f6e8c1b3a5d","slug":"acme-corp","name":"ACME",` +
		`"status":"active","version":1,"created_at":"2025-01-31T12:00:00Z","updated_at":"2025-01-31T12:00:00.123456Z"}`
	problemJSON = `{"type":"https://melmastoon.dev/iam/problems/MELMASTOON.IAM.TENANT.NOT_FOUND",` +
		`"title":"Tenant not found","status":404,"instance":"/api/v1/tenants/acme-corp",` +
		`"code":"MELMASTOON.IAM.TENANT.NOT_FOUND","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}`
	traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"
)

var (
	etagOne       = map[string]string{"ETag": `"1"`, "traceparent": traceparent}
	tenantOK      = reply{http.StatusOK, "application/json", etagOne, tenantJSON}
	tenantCreated = reply{http.StatusCreated, "application/json", etagOne, tenantJSON}
	notFound      = reply{http.StatusNotFound, "application/problem+json", nil, problemJSON}
	badRequest    = reply{http.StatusBadRequest, "application/problem+json", nil,
		`{"type":"https://melmastoon.dev/iam/problems/MELMASTOON.IAM.REQUEST.UNKNOWN_FIELD","title":"Unknown field in request body",` +
			`"status":400,"code":"MELMASTOON.IAM.REQUEST.UNKNOWN_FIELD","field":"bogus"}`}
)

type contractCase struct {
	name   string
	method string
	path   string
	body   string
	ctype  string // request Content-Type when body is set; "" means application/json
	skip   bool   // mark the request with SkipRequestValidation
	reply  reply
	want   string // substring of the reported error; "" means none
}

var contractCases = []contractCase{
	{name: "healthz", method: "GET", path: "/healthz",
		reply: reply{200, "application/json", nil, `{"status":"ok"}`}},
	{name: "readyz not ready", method: "GET", path: "/readyz",
		reply: reply{503, "application/json", nil, `{"status":"not_ready","checks":{"database":"unreachable","migrations":"unknown"}}`}},
	{name: "openmetrics", method: "GET", path: "/metrics",
		reply: reply{200, "application/openmetrics-text; version=1.0.0; charset=utf-8", nil, "# EOF\n"}},
	{name: "get tenant", method: "GET", path: "/api/v1/tenants/acme-corp", reply: tenantOK},
	{name: "bad slug reaches the service", method: "GET", path: "/api/v1/tenants/NOT_A_SLUG", reply: reply{400, "application/problem+json", nil,
		`{"type":"https://melmastoon.dev/iam/problems/MELMASTOON.IAM.VALIDATION.INVALID_SLUG","title":"Invalid tenant slug",` +
			`"status":400,"code":"MELMASTOON.IAM.VALIDATION.INVALID_SLUG","field":"tenant"}`}},
	{name: "problem 404", method: "GET", path: "/api/v1/tenants/acme-corp", reply: notFound},
	{name: "create tenant", method: "POST", path: "/api/v1/tenants", body: `{"slug":"acme-corp","name":"ACME"}`, reply: tenantCreated},
	{name: "list tenants", method: "GET", path: "/api/v1/tenants?limit=2&cursor=YWNtZQ",
		reply: reply{200, "application/json", nil, `{"items":[` + tenantJSON + `],"next_cursor":"YWNtZS1jb3Jw"}`}},
	{name: "delete tenant", method: "DELETE", path: "/api/v1/tenants/acme-corp", reply: reply{204, "", nil, ""}},
	{name: "skipped bad request", method: "POST", path: "/api/v1/tenants", body: `{"slug":"acme-corp","name":"ACME","bogus":1}`,
		skip: true, reply: badRequest},

	{name: "undocumented status", method: "GET", path: "/api/v1/tenants/acme-corp",
		reply: reply{http.StatusTeapot, "application/problem+json", nil, problemJSON}, want: "status is not supported"},
	{name: "unknown response field", method: "GET", path: "/api/v1/tenants/acme-corp",
		reply: reply{200, "application/json", etagOne, strings.Replace(tenantJSON, `"name"`, `"path":"x/","name"`, 1)},
		want:  `property "path" is unsupported`},
	{name: "missing response field", method: "GET", path: "/api/v1/tenants/acme-corp",
		reply: reply{200, "application/json", etagOne, strings.Replace(tenantJSON, `"slug":"acme-corp",`, "", 1)},
		want:  `property "slug" is missing`},
	{name: "missing ETag", method: "GET", path: "/api/v1/tenants/acme-corp",
		reply: reply{200, "application/json", nil, tenantJSON}, want: `response header "ETag" missing`},
	{name: "malformed uuid", method: "GET", path: "/api/v1/tenants/acme-corp",
		reply: reply{200, "application/json", etagOne, strings.Replace(tenantJSON, "0190f1d2-", "zz", 1)}, want: "uuid"},
	{name: "unregistered problem code", method: "GET", path: "/api/v1/tenants/acme-corp",
		reply: reply{404, "application/problem+json", nil, strings.ReplaceAll(problemJSON, "TENANT.NOT_FOUND", "TENANT.GONE")},
		want:  "response body doesn't match schema"},
	{name: "problem as plain JSON", method: "GET", path: "/api/v1/tenants/acme-corp",
		reply: reply{404, "application/json", nil, problemJSON}, want: "response header Content-Type has unexpected value"},
	{name: "unknown request field", method: "POST", path: "/api/v1/tenants", body: `{"slug":"acme-corp","name":"ACME","bogus":1}`,
		reply: badRequest, want: "request violates the contract"},
	{name: "missing request field", method: "POST", path: "/api/v1/tenants", body: `{"slug":"acme-corp"}`,
		reply: tenantCreated, want: `property "name" is missing`},
	{name: "limit out of range", method: "GET", path: "/api/v1/tenants?limit=0",
		reply: reply{200, "application/json", nil, `{"items":[]}`}, want: "number must be at least 1"},
	{name: "route missing from the contract", method: "GET", path: "/api/v1/nope", reply: notFound, want: "not in the contract"},
	{name: "method missing from the contract", method: "PUT", path: "/api/v1/tenants", body: `{}`, reply: notFound,
		want: "not in the contract"},
	{name: "skipped unknown route", method: "GET", path: "/api/v1/nope", skip: true, reply: notFound},

	// Sign-in, sessions, keys and OIDC shapes.
	{name: "login tokens", method: "POST", path: "/api/v1/tenants/acme-corp/auth/login", body: `{"username":"jdoe","password":"pw"}`,
		reply: reply{200, "application/json", noStore, tokensJSON}},
	{name: "login mfa challenge", method: "POST", path: "/api/v1/tenants/acme-corp/auth/login", body: `{"username":"jdoe","password":"pw"}`,
		reply: reply{200, "application/json", noStore, `{"mfa_required":true,"mfa_ticket":"t1","expires_in":300}`}},
	{name: "login neither tokens nor challenge", method: "POST", path: "/api/v1/tenants/acme-corp/auth/login", body: `{"username":"jdoe","password":"pw"}`,
		reply: reply{200, "application/json", noStore, `{"mfa_required":false,"mfa_ticket":"t1","expires_in":300}`},
		want:  "response body doesn't match schema"},
	{name: "login throttled", method: "POST", path: "/api/v1/tenants/acme-corp/auth/login", body: `{"username":"jdoe","password":"pw"}`,
		reply: reply{429, "application/problem+json", map[string]string{"Retry-After": "3"}, problem("AUTH.THROTTLED", "Too many failed sign-ins", 429, "")}},
	{name: "mfa with code", method: "POST", path: "/api/v1/tenants/acme-corp/auth/mfa", body: `{"mfa_ticket":"t1","code":"123456"}`,
		reply: reply{200, "application/json", noStore, tokensJSON}},
	{name: "mfa with both factors", method: "POST", path: "/api/v1/tenants/acme-corp/auth/mfa",
		body:  `{"mfa_ticket":"t1","code":"123456","recovery_code":"7k2m-9q4x-hv3d-p8rt"}`,
		reply: reply{200, "application/json", noStore, tokensJSON}, want: "request violates the contract"},
	{name: "in progress", method: "POST", path: "/api/v1/tenants/acme-corp/auth/mfa", body: `{"mfa_ticket":"t1","code":"123456"}`,
		reply: reply{409, "application/problem+json", map[string]string{"Retry-After": "1"}, problem("IDEMPOTENCY.IN_PROGRESS", "In progress", 409, "")}},
	{name: "totp enrol", method: "POST", path: "/api/v1/tenants/acme-corp/auth/mfa/totp",
		reply: reply{201, "application/json", nil, `{"secret":"JBSWY3DPEHPK3PXP","otpauth_uri":"otpauth://totp/IAM%20acme-corp:jdoe?secret=JBSWY3DPEHPK3PXP"}`}},
	{name: "totp confirm", method: "POST", path: "/api/v1/tenants/acme-corp/auth/mfa/totp/confirm", body: `{"code":"123456"}`,
		reply: reply{200, "application/json", nil, `{"recovery_codes":["7k2m-9q4x-hv3d-p8rt"]}`}},
	{name: "forbidden", method: "POST", path: "/api/v1/tenants/acme-corp/auth/logout",
		reply: reply{403, "application/problem+json", nil, problem("AUTH.FORBIDDEN", "Not allowed", 403, "")}},
	{name: "sessions", method: "GET", path: "/api/v1/tenants/acme-corp/accounts/0190f1d2-7c3a-7b8e-9a4d-2f6e8c1b3a5d/sessions",
		reply: reply{200, "application/json", nil, `{"items":[{"id":"0190f1d2-aa6d-7ebf-8d7a-5c9b1f4e6d8a","account_id":"0190f1d2-7c3a-7b8e-9a4d-2f6e8c1b3a5d",` +
			`"amr":["pwd"],"source_ip":"127.0.0.1","user_agent":"","created_at":"2025-01-31T12:00:00Z","expires_at":"2025-03-02T12:00:00Z",` +
			`"last_refreshed_at":null,"revoked_at":"2025-01-31T13:00:00Z","revoke_reason":"logout"}]}`}},
	{name: "revoke session", method: "POST", path: "/api/v1/tenants/acme-corp/accounts/0190f1d2-7c3a-7b8e-9a4d-2f6e8c1b3a5d/sessions/0190f1d2-aa6d-7ebf-8d7a-5c9b1f4e6d8a/revoke",
		reply: reply{200, "application/json", nil, `{"revoked":1}`}},
	{name: "keys", method: "GET", path: "/api/v1/tenants/acme-corp/keys",
		reply: reply{200, "application/json", nil, `{"items":[{"kid":"k1","state":"active","published_at":"2025-01-31T12:00:00Z",` +
			`"not_before":"2025-01-31T12:00:00Z","retire_at":null}]}`}},
	{name: "rotate keys", method: "POST", path: "/api/v1/tenants/acme-corp/keys/rotate", body: `{"force":true}`,
		reply: reply{200, "application/json", nil, `{"items":[{"kid":"k2","to":"next","at":"2025-01-31T12:00:00Z"}]}`}},
	{name: "discovery", method: "GET", path: "/t/acme-corp/.well-known/openid-configuration",
		reply: reply{200, "application/json", map[string]string{"Cache-Control": "public, max-age=3600"},
			`{"issuer":"https://iam.example.com/t/acme-corp","jwks_uri":"https://iam.example.com/t/acme-corp/jwks.json",` +
				`"token_endpoint":"https://iam.example.com/t/acme-corp/oauth2/token","grant_types_supported":["refresh_token"],` +
				`"response_types_supported":["token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["EdDSA"],` +
				`"token_endpoint_auth_methods_supported":["none"],"claims_supported":["iss","sub"]}`}},
	{name: "jwks", method: "GET", path: "/t/acme-corp/jwks.json",
		reply: reply{200, "application/jwk-set+json", map[string]string{"Cache-Control": "public, max-age=900, stale-while-revalidate=60"},
			`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1","use":"sig","alg":"EdDSA"}]}`}},
	{name: "token refresh", method: "POST", path: "/t/acme-corp/oauth2/token", body: "grant_type=refresh_token&refresh_token=r1&client_id=iam",
		ctype: "application/x-www-form-urlencoded",
		reply: reply{200, "application/json", map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"}, tokensJSON}},
	{name: "token without Pragma", method: "POST", path: "/t/acme-corp/oauth2/token", body: "grant_type=refresh_token&refresh_token=r1",
		ctype: "application/x-www-form-urlencoded", reply: reply{200, "application/json", noStore, tokensJSON}, want: `response header "Pragma" missing`},
	{name: "token invalid grant", method: "POST", path: "/t/acme-corp/oauth2/token", body: "grant_type=refresh_token&refresh_token=r1",
		ctype: "application/x-www-form-urlencoded",
		reply: reply{400, "application/problem+json", map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"},
			problem("OAUTH.INVALID_GRANT", "Invalid grant", 400, `,"error":"invalid_grant","error_description":"the refresh token is invalid"`)}},
}

var noStore = map[string]string{"Cache-Control": "no-store"}

const tokensJSON = `{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":600,"refresh_token":"r2"}`

// problem renders a problem body with code MELMASTOON.IAM.<code>; extra is
// appended inside the object.
func problem(code, title string, status int, extra string) string {
	return fmt.Sprintf(`{"type":"https://melmastoon.dev/iam/problems/MELMASTOON.IAM.%s","title":%q,"status":%d,"code":"MELMASTOON.IAM.%s"%s}`,
		code, title, status, code, extra)
}

// fakeService answers each request with the reply of the case named in the
// X-Case header, and checks the request arrived intact.
func fakeService(t *testing.T) *httptest.Server {
	byName := map[string]contractCase{}
	for _, tc := range contractCases {
		byName[tc.name] = tc
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tc := byName[r.Header.Get("X-Case")]
		if got, _ := io.ReadAll(r.Body); string(got) != tc.body {
			t.Errorf("%s: service got body %q, want %q", tc.name, got, tc.body)
		}
		for k, v := range tc.reply.headers {
			w.Header().Set(k, v)
		}
		if tc.reply.ctype != "" {
			w.Header().Set("Content-Type", tc.reply.ctype)
		}
		w.WriteHeader(tc.reply.status)
		_, _ = io.WriteString(w, tc.reply.body)
	}))
}

func TestClientValidatesAgainstContract(t *testing.T) {
	c := apitest.Load(t)
	srv := fakeService(t)
	defer srv.Close()
	for _, tc := range contractCases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			body := send(t, c.Client(rec, nil), srv.URL, tc)
			if body != tc.reply.body {
				t.Errorf("caller read body %q, want %q", body, tc.reply.body)
			}
			got := rec.reported()
			switch {
			case tc.want == "" && got != "":
				t.Errorf("unexpected contract violation:\n%s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("reported %q, want it to mention %q", got, tc.want)
			case got != "":
				t.Logf("caught as expected: %.300s", got)
			}
		})
	}
}

// send performs tc through client and returns the response body.
func send(t *testing.T, client *http.Client, base string, tc contractCase) string {
	t.Helper()
	ctx := context.Background()
	if tc.skip {
		ctx = apitest.SkipRequestValidation(ctx)
	}
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(tc.body)
	}
	req, err := http.NewRequestWithContext(ctx, tc.method, base+tc.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Case", tc.name)
	req.Header.Set("Authorization", "Bearer test-token")
	if tc.body != "" {
		ctype := tc.ctype
		if ctype == "" {
			ctype = "application/json"
		}
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}

// TestEveryOperationIsDocumented guards the spec's own completeness rules.
func TestEveryOperationIsDocumented(t *testing.T) {
	doc := apitest.Load(t).Doc()
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" || len(op.Tags) == 0 || op.Description == "" {
				t.Errorf("%s %s lacks an operationId, tags or a description", method, path)
			}
			if op.Responses.Value("500") == nil {
				t.Errorf("%s %s does not document 500", method, path)
			}
		}
	}
}
