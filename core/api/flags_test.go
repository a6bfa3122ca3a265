package api_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/melmastoon/iam/test/coretest"
)

type flagJSON struct {
	Name           string `json:"name"`
	Enabled        bool   `json:"enabled"`
	RolloutPercent int    `json:"rollout_percent"`
	Version        int64  `json:"version"`
	Source         string `json:"source"`
}

func putFlag(c *coretest.Instance, name string, body any, header map[string]string) *coretest.Response {
	return c.Do(coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/" + name, Body: body, Header: header})
}

func TestFlagsDefaultsSetAndList(t *testing.T) {
	f := newFixture(t)
	c := f.c
	var list struct{ Items []flagJSON }
	r := c.Get("/api/v1/tenants/acme/flags")
	if r.Status != http.StatusOK {
		t.Fatalf("list = %d %s", r.Status, r.Body)
	}
	r.Decode(t, &list)
	want := []string{"iam_authentication_enabled", "iam_authorization_enabled", "iam_permission_caching_enabled"}
	if len(list.Items) != 3 {
		t.Fatalf("list = %s", r.Body)
	}
	for i, it := range list.Items {
		if it != (flagJSON{Name: want[i], Enabled: true, RolloutPercent: 100, Version: 0, Source: "default"}) {
			t.Errorf("item %d = %+v; want the default rule of %s", i, it, want[i])
		}
	}
	g := c.Get("/api/v1/tenants/acme/flags/iam_authorization_enabled")
	if g.Status != http.StatusOK || g.Header.Get("ETag") != `"0"` || g.JSON()["source"] != "default" {
		t.Fatalf("get unset = %d %s (ETag %s)", g.Status, g.Body, g.Header.Get("ETag"))
	}

	audits := countRows(t, c, `SELECT count(*) FROM audit_events WHERE action = 'feature_flag.set'`)
	outbox := countRows(t, c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.feature_flag.set.v1'`)
	// If-Match "0": only while unset.
	p := putFlag(c, "iam_authorization_enabled", map[string]any{"enabled": true, "rollout_percent": 10}, map[string]string{"If-Match": `"0"`})
	var got flagJSON
	p.Decode(t, &got)
	if p.Status != http.StatusOK || p.Header.Get("ETag") != `"1"` ||
		got != (flagJSON{Name: "iam_authorization_enabled", Enabled: true, RolloutPercent: 10, Version: 1, Source: "set"}) {
		t.Fatalf("first put = %d %s (ETag %s)", p.Status, p.Body, p.Header.Get("ETag"))
	}
	if r := putFlag(c, "iam_authorization_enabled", map[string]any{"enabled": true, "rollout_percent": 20}, map[string]string{"If-Match": `"0"`}); r.Status != http.StatusPreconditionFailed || r.Code() != "MELMASTOON.IAM.PRECONDITION.FAILED" {
		t.Fatalf("if-match 0 after set = %d %s", r.Status, r.Body)
	}
	p = putFlag(c, "iam_authorization_enabled", map[string]any{"enabled": false, "rollout_percent": 50}, map[string]string{"If-Match": `"1"`})
	if p.Status != http.StatusOK || p.Header.Get("ETag") != `"2"` || p.JSON()["enabled"] != false {
		t.Fatalf("second put = %d %s", p.Status, p.Body)
	}
	if r := putFlag(c, "iam_authorization_enabled", map[string]any{"enabled": true, "rollout_percent": 100}, map[string]string{"If-Match": `"1"`}); r.Status != http.StatusPreconditionFailed {
		t.Fatalf("stale if-match = %d %s", r.Status, r.Body)
	}
	if a := countRows(t, c, `SELECT count(*) FROM audit_events WHERE action = 'feature_flag.set'`); a != audits+2 {
		t.Errorf("audit rows +%d, want +2", a-audits)
	}
	if o := countRows(t, c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.feature_flag.set.v1'`); o != outbox+2 {
		t.Errorf("outbox rows +%d, want +2", o-outbox)
	}
	if n := countRows(t, c, `SELECT count(*) FROM audit_events WHERE action = 'feature_flag.set' AND actor = 'bootstrap'
		AND details->'old'->>'rollout_percent' = '10' AND details->'new'->>'rollout_percent' = '50'`); n != 1 {
		t.Errorf("no audit row with old 10 → new 50 by bootstrap")
	}

	r = c.Get("/api/v1/tenants/acme/flags")
	list.Items = nil
	r.Decode(t, &list)
	if list.Items[1] != (flagJSON{Name: "iam_authorization_enabled", Enabled: false, RolloutPercent: 50, Version: 2, Source: "set"}) ||
		list.Items[0].Source != "default" || list.Items[2].Source != "default" {
		t.Fatalf("list after set = %s", r.Body)
	}
	// Another tenant is untouched.
	if r := c.Get("/api/v1/tenants/other/flags/iam_authorization_enabled"); r.JSON()["source"] != "default" {
		t.Fatalf("other tenant = %s", r.Body)
	}
}

func TestFlagPutIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	c := f.c
	key := map[string]string{"Idempotency-Key": "flag-put-1"}
	body := map[string]any{"enabled": true, "rollout_percent": 25}
	first := putFlag(c, "iam_authentication_enabled", body, key)
	if first.Status != http.StatusOK || first.Header.Get("Idempotency-Replayed") != "" {
		t.Fatalf("first = %d %s", first.Status, first.Body)
	}
	again := putFlag(c, "iam_authentication_enabled", body, key)
	if again.Status != http.StatusOK || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotency-Replayed") != "true" ||
		again.Header.Get("ETag") != `"1"` {
		t.Fatalf("replay = %d %s (replayed %q, ETag %s)", again.Status, again.Body, again.Header.Get("Idempotency-Replayed"), again.Header.Get("ETag"))
	}
	other := putFlag(c, "iam_authentication_enabled", map[string]any{"enabled": true, "rollout_percent": 30}, key)
	if other.Status != http.StatusUnprocessableEntity || other.Code() != "MELMASTOON.IAM.IDEMPOTENCY.KEY_REUSED" {
		t.Fatalf("reuse = %d %s", other.Status, other.Body)
	}
	if n := countRows(t, c, `SELECT count(*) FROM audit_events WHERE action = 'feature_flag.set'`); n != 1 {
		t.Fatalf("audit rows = %d, want 1", n)
	}
	if g := c.Get("/api/v1/tenants/acme/flags/iam_authentication_enabled"); g.JSON()["version"] != float64(1) {
		t.Fatalf("after replay = %s", g.Body)
	}
}

func TestFlagBadInputChangesNothing(t *testing.T) {
	f := newFixture(t)
	c := f.c
	before := f.state(t)
	flags := countRows(t, c, `SELECT count(*) FROM feature_flags`)
	cases := []struct {
		name   string
		req    coretest.Request
		status int
		code   string
		field  string
	}{
		{"unknown flag get", coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/flags/iam_everything_enabled"}, 404, "MELMASTOON.IAM.FLAG.UNKNOWN", "name"},
		{"unknown flag put", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/nope", Body: `{"enabled":true,"rollout_percent":5}`}, 404, "MELMASTOON.IAM.FLAG.UNKNOWN", "name"},
		{"percent above 100", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled", Body: `{"enabled":true,"rollout_percent":101}`, Invalid: true}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "rollout_percent"},
		{"negative percent", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled", Body: `{"enabled":true,"rollout_percent":-1}`, Invalid: true}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "rollout_percent"},
		{"fractional percent", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled", Body: `{"enabled":true,"rollout_percent":12.5}`, Invalid: true}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "rollout_percent"},
		{"percent as text", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled", Body: `{"enabled":true,"rollout_percent":"10"}`, Invalid: true}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "rollout_percent"},
		{"missing percent", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled", Body: `{"enabled":true}`, Invalid: true}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "rollout_percent"},
		{"missing enabled", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled", Body: `{"rollout_percent":10}`, Invalid: true}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "enabled"},
		{"enabled as number", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled", Body: `{"enabled":1,"rollout_percent":10}`, Invalid: true}, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "enabled"},
		{"unknown field", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled", Body: `{"enabled":true,"rollout_percent":10,"accounts":["x"]}`, Invalid: true}, 400, "MELMASTOON.IAM.REQUEST.UNKNOWN_FIELD", "accounts"},
		{"empty body", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled", Body: ``, Invalid: true}, 400, "MELMASTOON.IAM.REQUEST.MALFORMED", ""},
		{"bad if-match", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled", Body: `{"enabled":true,"rollout_percent":10}`,
			Header: map[string]string{"If-Match": "1"}}, 400, "MELMASTOON.IAM.PRECONDITION.INVALID_ETAG", ""},
		{"unknown tenant", coretest.Request{Method: "GET", Path: "/api/v1/tenants/nosuch/flags"}, 404, "MELMASTOON.IAM.TENANT.NOT_FOUND", ""},
		{"no token", coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/flags", NoAuth: true}, 401, "MELMASTOON.IAM.AUTH.UNAUTHENTICATED", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(tc.req)
			if r.Status != tc.status || r.Code() != tc.code {
				t.Fatalf("= %d %s; want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			if field, _ := r.JSON()["field"].(string); field != tc.field {
				t.Errorf("field = %q, want %q", field, tc.field)
			}
		})
	}
	if after := f.state(t); after != before {
		t.Fatalf("state changed: %s → %s", before, after)
	}
	if n := countRows(t, c, `SELECT count(*) FROM feature_flags`); n != flags {
		t.Fatalf("feature_flags rows %d → %d", flags, n)
	}
}

func TestFlagPermissions(t *testing.T) {
	f := newSignin(t)
	c := f.c
	reader := c.MustCreate("/api/v1/tenants/acme/roles", map[string]any{"name": "flag-reader", "permissions": []string{"iam.flags.read"}})
	c.MustCreate("/api/v1/tenants/acme/role-bindings", map[string]any{"account_id": f.alice, "role_id": reader, "organization_id": f.rootOrg})
	tok := f.mustLogin(t, "alice", alicePassword)
	as := func(method, path string, body any) *coretest.Response {
		return c.As(tok.AccessToken, coretest.Request{Method: method, Path: path, Body: body})
	}
	if r := as("GET", "/api/v1/tenants/acme/flags", nil); r.Status != http.StatusOK {
		t.Fatalf("list with iam.flags.read = %d %s", r.Status, r.Body)
	}
	if r := as("GET", "/api/v1/tenants/acme/flags/iam_permission_caching_enabled", nil); r.Status != http.StatusOK {
		t.Fatalf("get with iam.flags.read = %d %s", r.Status, r.Body)
	}
	body := map[string]any{"enabled": true, "rollout_percent": 0}
	if r := as("PUT", "/api/v1/tenants/acme/flags/iam_authentication_enabled", body); r.Status != http.StatusForbidden || r.Code() != "MELMASTOON.IAM.AUTH.FORBIDDEN" {
		t.Fatalf("put without iam.flags.write = %d %s", r.Status, r.Body)
	}
	// Bound below the root it does not count: flags are tenant-wide.
	town := c.MustCreate("/api/v1/tenants/acme/organizations", map[string]any{"name": "Town", "parent_id": f.rootOrg})
	writer := c.MustCreate("/api/v1/tenants/acme/roles", map[string]any{"name": "flag-writer", "permissions": []string{"iam.flags.write"}})
	c.MustCreate("/api/v1/tenants/acme/role-bindings", map[string]any{"account_id": f.alice, "role_id": writer, "organization_id": town})
	if r := as("PUT", "/api/v1/tenants/acme/flags/iam_authentication_enabled", body); r.Status != http.StatusForbidden {
		t.Fatalf("put with iam.flags.write on a town = %d %s", r.Status, r.Body)
	}
	c.MustCreate("/api/v1/tenants/acme/role-bindings", map[string]any{"account_id": f.alice, "role_id": writer, "organization_id": f.rootOrg})
	if r := as("PUT", "/api/v1/tenants/acme/flags/iam_authentication_enabled", body); r.Status != http.StatusOK {
		t.Fatalf("put with iam.flags.write on the root = %d %s", r.Status, r.Body)
	}
	if n := countRows(t, c, `SELECT count(*) FROM audit_events WHERE action = 'feature_flag.set' AND actor = '`+f.alice+`'`); n != 1 {
		t.Fatalf("audit rows by alice = %d, want 1", n)
	}
	if n := countRows(t, c, `SELECT count(*) FROM feature_flags WHERE updated_by = '`+f.alice+`'`); n != 1 {
		t.Fatalf("flag rows updated by alice = %d, want 1", n)
	}
	// A flag a caller may not read is not listed either.
	c.MustCreate("/api/v1/tenants/acme/accounts", map[string]any{"username": "bob", "email": "bob@acme.example", "password": alicePassword})
	bob := f.mustLogin(t, "bob", alicePassword)
	if r := c.As(bob.AccessToken, coretest.Request{Method: "GET", Path: "/api/v1/tenants/acme/flags"}); r.Status != http.StatusForbidden {
		t.Fatalf("list without permission = %d %s", r.Status, r.Body)
	}
}
