package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/melmastoon/iam/test/coretest"
)

// fixture is a tenant with a small tree, an account and a role, plus a
// second tenant with a role of its own.
type fixture struct {
	c                          *coretest.Instance
	root, child, grandchild    string
	account, role, foreignRole string
}

func newFixture(t *testing.T) *fixture {
	c := coretest.Start(t)
	f := &fixture{c: c}
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "other", "name": "Other"})
	f.root = c.MustCreate("/api/v1/tenants/acme/organizations", map[string]any{"name": "County"})
	f.child = c.MustCreate("/api/v1/tenants/acme/organizations", map[string]any{"name": "Town", "parent_id": f.root})
	f.grandchild = c.MustCreate("/api/v1/tenants/acme/organizations", map[string]any{"name": "District", "parent_id": f.child})
	f.account = c.MustCreate("/api/v1/tenants/acme/accounts", map[string]any{"username": "ann", "email": "ann@example.org"})
	f.role = c.MustCreate("/api/v1/tenants/acme/roles", map[string]any{"name": "editor", "permissions": []string{"news.edit"}})
	f.foreignRole = c.MustCreate("/api/v1/tenants/other/roles", map[string]any{"name": "editor", "permissions": []string{"news.edit"}})
	return f
}

// state counts the rows every mutation touches, as the superuser.
func (f *fixture) state(t *testing.T) string {
	t.Helper()
	conn := f.c.DB.AdminConn(t)
	var s string
	err := conn.QueryRow(context.Background(), `SELECT concat_ws(',',
		(SELECT count(*) FROM tenants), (SELECT count(*) FROM organizations), (SELECT md5(string_agg(path, '' ORDER BY path)) FROM organizations),
		(SELECT count(*) FROM accounts), (SELECT count(*) FROM roles), (SELECT count(*) FROM role_bindings),
		(SELECT count(*) FROM audit_events), (SELECT count(*) FROM outbox), (SELECT count(*) FROM idempotency_keys))`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBadInputChangesNothing(t *testing.T) {
	f := newFixture(t)
	big := `{"slug":"big","name":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name   string
		req    coretest.Request
		status int
		code   string
		field  string
	}{
		{"malformed json", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":`}, 400, "MELMASTOON.IAM.REQUEST.MALFORMED", ""},
		{"not an object", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `[1,2]`}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", ""},
		{"two objects", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":"aaa","name":"a"}{}`}, 400, "MELMASTOON.IAM.REQUEST.MALFORMED", ""},
		{"empty body", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: ``}, 400, "MELMASTOON.IAM.REQUEST.MALFORMED", ""},
		{"oversized", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: big}, 413, "MELMASTOON.IAM.REQUEST.TOO_LARGE", ""},
		{"unknown field", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":"new","name":"n","admin":true}`}, 400, "MELMASTOON.IAM.REQUEST.UNKNOWN_FIELD", "admin"},
		{"wrong type", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":5,"name":"n"}`}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "slug"},
		{"invalid slug", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":"Bad Slug!","name":"n"}`}, 400, "MELMASTOON.IAM.VALIDATION.INVALID_SLUG", "slug"},
		{"missing slug", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"name":"n"}`}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "slug"},
		{"empty name", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":"new","name":""}`}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "name"},
		{"duplicate slug", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":"acme","name":"n"}`}, 409, "MELMASTOON.IAM.TENANT.SLUG_TAKEN", ""},
		{"media type", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":"new","name":"n"}`,
			Header: map[string]string{"Content-Type": "text/plain"}}, 415, "MELMASTOON.IAM.REQUEST.UNSUPPORTED_MEDIA_TYPE", ""},
		{"invalid slug in path", coretest.Request{Method: "GET", Path: "/api/v1/tenants/NO_SUCH"}, 400, "MELMASTOON.IAM.VALIDATION.INVALID_SLUG", "tenant"},
		{"unknown tenant", coretest.Request{Method: "GET", Path: "/api/v1/tenants/nosuch/accounts"}, 404, "MELMASTOON.IAM.TENANT.NOT_FOUND", ""},
		{"invalid id", coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/organizations/42"}, 400, "MELMASTOON.IAM.VALIDATION.INVALID_ID", "id"},
		{"unknown org", coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/organizations/01939c4e-0000-7000-8000-000000000000"}, 404, "MELMASTOON.IAM.ORGANIZATION.NOT_FOUND", ""},
		{"unknown parent", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/organizations",
			Body: `{"name":"x","parent_id":"01939c4e-0000-7000-8000-000000000000"}`}, 422, "MELMASTOON.IAM.ORGANIZATION.PARENT_NOT_FOUND", ""},
		{"sibling name taken", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/organizations",
			Body: map[string]any{"name": "Town", "parent_id": f.root}}, 409, "MELMASTOON.IAM.ORGANIZATION.NAME_TAKEN", "name"},
		{"move under own descendant", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/organizations/" + f.root + "/move",
			Body: map[string]any{"parent_id": f.grandchild}}, 409, "MELMASTOON.IAM.ORGANIZATION.CYCLE", ""},
		{"move under itself", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/organizations/" + f.child + "/move",
			Body: map[string]any{"parent_id": f.child}}, 409, "MELMASTOON.IAM.ORGANIZATION.CYCLE", ""},
		{"bind role of another tenant", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/role-bindings",
			Body: map[string]any{"account_id": f.account, "role_id": f.foreignRole, "organization_id": f.root}}, 422, "MELMASTOON.IAM.BINDING.ROLE_NOT_IN_TENANT", ""},
		{"bind unknown account", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/role-bindings",
			Body: map[string]any{"account_id": f.role, "role_id": f.role, "organization_id": f.root}}, 422, "MELMASTOON.IAM.BINDING.ACCOUNT_NOT_IN_TENANT", ""},
		{"bad binding id", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/role-bindings",
			Body: map[string]any{"account_id": "x", "role_id": f.role, "organization_id": f.root}}, 400, "MELMASTOON.IAM.VALIDATION.INVALID_ID", "account_id"},
		{"invalid permission", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/roles",
			Body: `{"name":"bad","permissions":["NOT A PERMISSION"]}`}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "permissions"},
		{"invalid email", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/accounts",
			Body: `{"username":"bob","email":"not-an-email"}`}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "email"},
		{"duplicate username", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/accounts",
			Body: `{"username":"ANN","email":"a2@example.org"}`}, 409, "MELMASTOON.IAM.ACCOUNT.USERNAME_TAKEN", ""},
		{"invalid status", coretest.Request{Method: "PATCH", Path: "/api/v1/tenants/acme/accounts/" + f.account,
			Body: `{"status":"godmode"}`}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "status"},
		{"bad if-match", coretest.Request{Method: "PATCH", Path: "/api/v1/tenants/acme/accounts/" + f.account,
			Body: `{"status":"locked"}`, Header: map[string]string{"If-Match": "W/\"1\""}}, 400, "MELMASTOON.IAM.PRECONDITION.INVALID_ETAG", ""},
		{"bad limit", coretest.Request{Method: "GET", Path: "/api/v1/tenants?limit=0"}, 400, "MELMASTOON.IAM.PAGINATION.INVALID_LIMIT", "limit"},
		{"bad cursor", coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/accounts?cursor=@@@"}, 400, "MELMASTOON.IAM.PAGINATION.INVALID_CURSOR", "cursor"},
		{"bad idempotency key", coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":"new","name":"n"}`,
			Header: map[string]string{"Idempotency-Key": "has space"}}, 400, "MELMASTOON.IAM.IDEMPOTENCY.KEY_INVALID", ""},
		{"unknown route", coretest.Request{Method: "GET", Path: "/api/v1/nothing"}, 404, "MELMASTOON.IAM.REQUEST.ROUTE_NOT_FOUND", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.state(t)
			tc.req.Invalid = true
			r := f.c.Do(tc.req)
			if r.Status != tc.status || r.Code() != tc.code {
				t.Fatalf("= %d %s; want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type = %q", ct)
			}
			p := r.JSON()
			if tc.field != "" && p["field"] != tc.field {
				t.Errorf("field = %v, want %s", p["field"], tc.field)
			}
			for _, k := range []string{"type", "title", "status", "instance", "code", "traceId"} {
				if _, ok := p[k]; !ok {
					t.Errorf("problem lacks %q: %s", k, r.Body)
				}
			}
			if after := f.state(t); after != before {
				t.Fatalf("state changed: %s → %s", before, after)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	c := coretest.Start(t)
	r := c.Do(coretest.Request{Method: http.MethodPut, Path: "/api/v1/tenants", Invalid: true})
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, POST" || r.Code() != "MELMASTOON.IAM.REQUEST.METHOD_NOT_ALLOWED" {
		t.Fatalf("= %d %s", r.Status, r.Body)
	}
}
