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
	skip   bool // mark the request with SkipRequestValidation
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
		req.Header.Set("Content-Type", "application/json")
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
