package apitest_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/melmastoon/iam/core/api"
	"github.com/melmastoon/iam/internal/obs"
	"github.com/melmastoon/iam/test/apitest"
)

const bootstrapToken = "contract-test-token"

// newAPI serves the real handler tree without a database: only paths that
// answer before touching the store can be exercised here.
func newAPI(t *testing.T) *httptest.Server {
	t.Helper()
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	srv := httptest.NewServer(api.New(api.Config{
		Logger:         slog.New(slog.DiscardHandler),
		Metrics:        obs.NewMetrics(),
		TracerProvider: tp,
		BootstrapToken: bootstrapToken,
	}))
	t.Cleanup(srv.Close)
	return srv
}

type serviceCase struct {
	name    string
	method  string
	path    string
	body    string
	headers map[string]string
	skip    bool // deliberately bad input
	status  int
	code    string // expected problem code, if any
}

var serviceCases = []serviceCase{
	{name: "healthz", method: "GET", path: "/healthz", status: 200},
	{name: "metrics", method: "GET", path: "/metrics", status: 200},
	{name: "openmetrics", method: "GET", path: "/metrics",
		headers: map[string]string{"Accept": "application/openmetrics-text; version=1.0.0"}, status: 200},
	{name: "no token", method: "GET", path: "/api/v1/tenants", headers: map[string]string{"Authorization": ""},
		status: 401, code: "MELMASTOON.IAM.AUTH.UNAUTHENTICATED"},
	{name: "invalid slug", method: "GET", path: "/api/v1/tenants/Not_A_Slug",
		status: 400, code: "MELMASTOON.IAM.VALIDATION.INVALID_SLUG"},
	{name: "invalid id", method: "GET", path: "/api/v1/tenants/acme-corp/accounts/not-a-uuid",
		status: 400, code: "MELMASTOON.IAM.VALIDATION.INVALID_ID"},
	{name: "invalid limit", method: "GET", path: "/api/v1/tenants?limit=0", skip: true,
		status: 400, code: "MELMASTOON.IAM.PAGINATION.INVALID_LIMIT"},
	{name: "invalid cursor", method: "GET", path: "/api/v1/tenants?cursor=%21%21", skip: true,
		status: 400, code: "MELMASTOON.IAM.PAGINATION.INVALID_CURSOR"},
	{name: "invalid If-Match", method: "PATCH", path: "/api/v1/tenants/acme-corp", body: `{"name":"x"}`,
		headers: map[string]string{"If-Match": "3"}, skip: true,
		status: 400, code: "MELMASTOON.IAM.PRECONDITION.INVALID_ETAG"},
	{name: "wrong media type", method: "POST", path: "/api/v1/tenants", body: `slug=acme`,
		headers: map[string]string{"Content-Type": "text/plain"}, skip: true,
		status: 415, code: "MELMASTOON.IAM.REQUEST.UNSUPPORTED_MEDIA_TYPE"},
	{name: "body too large", method: "POST", path: "/api/v1/tenants", body: `{"name":"` + strings.Repeat("x", api.MaxBodyBytes) + `"}`,
		skip: true, status: 413, code: "MELMASTOON.IAM.REQUEST.TOO_LARGE"},
	{name: "invalid idempotency key", method: "POST", path: "/api/v1/tenants", body: `{"slug":"acme-corp","name":"ACME"}`,
		headers: map[string]string{"Idempotency-Key": "has space"}, skip: true,
		status: 400, code: "MELMASTOON.IAM.IDEMPOTENCY.KEY_INVALID"},
	{name: "unknown route", method: "GET", path: "/api/v1/nope", skip: true,
		status: 404, code: "MELMASTOON.IAM.REQUEST.ROUTE_NOT_FOUND"},

	// Sign-in and OIDC routes, as far as they answer without a database.
	{name: "tenant route without token", method: "GET", path: "/api/v1/tenants/acme-corp/keys",
		headers: map[string]string{"Authorization": ""}, status: 401, code: "MELMASTOON.IAM.AUTH.UNAUTHENTICATED"},
	{name: "logout without token", method: "POST", path: "/api/v1/tenants/acme-corp/auth/logout",
		headers: map[string]string{"Authorization": ""}, status: 401, code: "MELMASTOON.IAM.AUTH.UNAUTHENTICATED"},
	{name: "logout with bootstrap token", method: "POST", path: "/api/v1/tenants/acme-corp/auth/logout",
		status: 403, code: "MELMASTOON.IAM.AUTH.FORBIDDEN"},
	{name: "login invalid slug", method: "POST", path: "/api/v1/tenants/Not_A_Slug/auth/login",
		body: `{"username":"jdoe","password":"pw"}`, status: 400, code: "MELMASTOON.IAM.VALIDATION.INVALID_SLUG"},
	{name: "login missing password", method: "POST", path: "/api/v1/tenants/acme-corp/auth/login",
		body: `{"username":"jdoe"}`, skip: true, status: 400, code: "MELMASTOON.IAM.VALIDATION.FAILED"},
	{name: "mfa with both factors", method: "POST", path: "/api/v1/tenants/acme-corp/auth/mfa",
		body: `{"mfa_ticket":"t","code":"123456","recovery_code":"7k2m-9q4x-hv3d-p8rt"}`, skip: true,
		status: 400, code: "MELMASTOON.IAM.VALIDATION.FAILED"},
	{name: "discovery invalid slug", method: "GET", path: "/t/Not_A_Slug/.well-known/openid-configuration",
		status: 400, code: "MELMASTOON.IAM.VALIDATION.INVALID_SLUG"},
	{name: "jwks invalid slug", method: "GET", path: "/t/Not_A_Slug/jwks.json",
		status: 400, code: "MELMASTOON.IAM.VALIDATION.INVALID_SLUG"},
	{name: "token endpoint with JSON", method: "POST", path: "/t/acme-corp/oauth2/token",
		body: `{"grant_type":"refresh_token"}`, skip: true, status: 400, code: "MELMASTOON.IAM.OAUTH.INVALID_REQUEST"},
}

// TestRealHandlersMatchContract sends requests that the real handlers answer
// without a database and checks both the contract and the answer.
func TestRealHandlersMatchContract(t *testing.T) {
	c := apitest.Load(t)
	srv := newAPI(t)
	client := c.Client(t, nil)
	for _, tc := range serviceCases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, header := do(t, client, srv.URL, tc)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.code != "" && !strings.Contains(body, `"code":"`+tc.code+`"`) {
				t.Errorf("body %s lacks code %s", body, tc.code)
			}
			if tc.path != "/metrics" && header.Get("traceparent") == "" {
				t.Error("response lacks traceparent")
			}
			if strings.HasSuffix(tc.path, "/oauth2/token") && !strings.Contains(body, `"error":"invalid_request"`) {
				t.Errorf("token endpoint problem lacks the RFC 6749 error: %s", body)
			}
		})
	}
}

func do(t *testing.T, client *http.Client, base string, tc serviceCase) (int, string, http.Header) {
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
	req.Header.Set("Authorization", "Bearer "+bootstrapToken)
	if tc.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range tc.headers {
		req.Header.Set(k, v)
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
	return resp.StatusCode, string(got), resp.Header
}
