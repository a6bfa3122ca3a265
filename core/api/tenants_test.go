package api_test

import (
	"net/http"
	"testing"

	"github.com/melmastoon/iam/test/coretest"
)

func TestTenantLifecycle(t *testing.T) {
	c := coretest.Start(t)
	r := c.Post("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})
	if r.Status != http.StatusCreated || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("create = %d etag %q %s", r.Status, r.Header.Get("ETag"), r.Body)
	}
	if r.JSON()["id"] == "" {
		t.Fatal("created tenant has no id")
	}
	if g := c.Get("/api/v1/tenants/acme"); g.Status != 200 || g.JSON()["name"] != "Acme" {
		t.Fatalf("get = %d %s", g.Status, g.Body)
	}
	// If-Match with a stale version → 412, nothing changes.
	stale := c.Do(coretest.Request{Method: "PATCH", Path: "/api/v1/tenants/acme", Body: map[string]string{"name": "X"},
		Header: map[string]string{"If-Match": `"7"`}})
	if stale.Status != http.StatusPreconditionFailed || stale.Code() != "MELMASTOON.IAM.PRECONDITION.FAILED" {
		t.Fatalf("stale if-match = %d %s", stale.Status, stale.Body)
	}
	up := c.Do(coretest.Request{Method: "PATCH", Path: "/api/v1/tenants/acme", Body: map[string]string{"name": "Acme Ltd"},
		Header: map[string]string{"If-Match": `"1"`}})
	if up.Status != 200 || up.Header.Get("ETag") != `"2"` || up.JSON()["name"] != "Acme Ltd" {
		t.Fatalf("update = %d %q %s", up.Status, up.Header.Get("ETag"), up.Body)
	}
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "beta", "name": "Beta"})
	list := c.Get("/api/v1/tenants?limit=1")
	var page struct {
		Items      []map[string]any `json:"items"`
		NextCursor string           `json:"next_cursor"`
	}
	list.Decode(t, &page)
	if len(page.Items) != 1 || page.Items[0]["slug"] != "acme" || page.NextCursor == "" {
		t.Fatalf("page 1 = %s", list.Body)
	}
	next := page.NextCursor
	page.NextCursor = ""
	c.Get("/api/v1/tenants?limit=1&cursor="+next).Decode(t, &page)
	if len(page.Items) != 1 || page.Items[0]["slug"] != "beta" || page.NextCursor != "" {
		t.Fatalf("page 2 = %+v", page)
	}
	if d := c.Do(coretest.Request{Method: "DELETE", Path: "/api/v1/tenants/acme"}); d.Status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", d.Status, d.Body)
	}
	if g := c.Get("/api/v1/tenants/acme"); g.Status != 404 || g.Code() != "MELMASTOON.IAM.TENANT.NOT_FOUND" {
		t.Fatalf("get deleted = %d %s", g.Status, g.Body)
	}
	// The slug of a deleted tenant is free again.
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme again"})
}

func TestAuthRequired(t *testing.T) {
	c := coretest.Start(t)
	for _, tc := range []struct {
		name, auth string
	}{{"none", ""}, {"wrong", "Bearer nope"}, {"basic", "Basic dXNlcjpwYXNz"}} {
		t.Run(tc.name, func(t *testing.T) {
			req := coretest.Request{Method: "GET", Path: "/api/v1/tenants", NoAuth: true, Header: map[string]string{}}
			if tc.auth != "" {
				req.Header["Authorization"] = tc.auth
			}
			r := c.Do(req)
			if r.Status != 401 || r.Code() != "MELMASTOON.IAM.AUTH.UNAUTHENTICATED" || r.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("= %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestEraseAccountLeavesNothing(t *testing.T) {
	f := newFixture(t)
	c := f.c
	c.MustCreate("/api/v1/tenants/acme/role-bindings", map[string]any{"account_id": f.account, "role_id": f.role, "organization_id": f.root})
	if r := c.Do(coretest.Request{Method: "DELETE", Path: "/api/v1/tenants/acme/accounts/" + f.account}); r.Status != 204 {
		t.Fatalf("erase = %d %s", r.Status, r.Body)
	}
	if r := c.Get("/api/v1/tenants/acme/accounts/" + f.account); r.Status != 404 {
		t.Fatalf("erased account still readable: %d", r.Status)
	}
	for _, q := range []string{
		`SELECT count(*) FROM accounts WHERE id = '` + f.account + `'`,
		`SELECT count(*) FROM role_bindings WHERE account_id = '` + f.account + `'`,
		`SELECT count(*) FROM accounts WHERE email = 'ann@example.org'`,
	} {
		if n := countRows(t, c, q); n != 0 {
			t.Errorf("%s = %d", q, n)
		}
	}
	if n := countRows(t, c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.account.erased.v1' AND subject = '`+f.account+`'`); n != 1 {
		t.Fatalf("tombstone rows = %d", n)
	}
	if r := c.Do(coretest.Request{Method: "DELETE", Path: "/api/v1/tenants/acme/accounts/" + f.account}); r.Status != 404 {
		t.Fatalf("second erase = %d", r.Status)
	}
}
