package api_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/melmastoon/iam/test/coretest"
)

func countRows(t *testing.T, c *coretest.Instance, sql string) int {
	t.Helper()
	var n int
	if err := c.DB.AdminConn(t).QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIdempotencyReplayAndConflict(t *testing.T) {
	c := coretest.Start(t)
	key := map[string]string{"Idempotency-Key": "create-acme-1"}
	first := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":"acme","name":"Acme"}`, Header: key})
	if first.Status != http.StatusCreated || first.Header.Get("Idempotency-Replayed") != "" {
		t.Fatalf("first = %d %s", first.Status, first.Body)
	}
	again := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":"acme","name":"Acme"}`, Header: key})
	if again.Status != http.StatusCreated || !bytes.Equal(again.Body, first.Body) ||
		again.Header.Get("Idempotency-Replayed") != "true" || again.Header.Get("ETag") != first.Header.Get("ETag") {
		t.Fatalf("replay = %d %s (replayed %q); want the first response", again.Status, again.Body, again.Header.Get("Idempotency-Replayed"))
	}
	other := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants", Body: `{"slug":"acme2","name":"Acme"}`, Header: key})
	if other.Status != http.StatusUnprocessableEntity || other.Code() != "MELMASTOON.IAM.IDEMPOTENCY.KEY_REUSED" {
		t.Fatalf("reuse = %d %s", other.Status, other.Body)
	}
	if n := countRows(t, c, `SELECT count(*) FROM tenants`); n != 1 {
		t.Fatalf("tenants = %d, want 1", n)
	}
	if n := countRows(t, c, `SELECT count(*) FROM audit_events WHERE action = 'tenant.create'`); n != 1 {
		t.Fatalf("audit rows = %d, want 1", n)
	}
	// Keys are scoped per tenant: the same key in another tenant is fresh.
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "beta", "name": "Beta"})
	a := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/accounts", Body: `{"username":"u","email":"u@x.org"}`, Header: map[string]string{"Idempotency-Key": "k"}})
	b := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/beta/accounts", Body: `{"username":"u","email":"u@x.org"}`, Header: map[string]string{"Idempotency-Key": "k"}})
	if a.Status != 201 || b.Status != 201 || b.Header.Get("Idempotency-Replayed") != "" || a.JSON()["id"] == b.JSON()["id"] {
		t.Fatalf("per-tenant keys: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
	}
}

func TestIdempotencyConcurrentDuplicatesMakeOneRow(t *testing.T) {
	c := coretest.Start(t)
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})
	const n = 20
	var wg sync.WaitGroup
	bodies := make([][]byte, n)
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/organizations",
				Body: `{"name":"Only once"}`, Header: map[string]string{"Idempotency-Key": "same-key"}})
			bodies[i], statuses[i] = r.Body, r.Status
		}()
	}
	wg.Wait()
	for i := range n {
		if statuses[i] != http.StatusCreated || !bytes.Equal(bodies[i], bodies[0]) {
			t.Fatalf("response %d = %d %s; want identical 201s", i, statuses[i], bodies[i])
		}
	}
	if got := countRows(t, c, `SELECT count(*) FROM organizations`); got != 1 {
		t.Fatalf("organizations = %d, want 1", got)
	}
	if got := countRows(t, c, `SELECT count(*) FROM outbox WHERE type = 'melmastoon.iam.organization.created.v1'`); got != 1 {
		t.Fatalf("outbox rows = %d, want 1", got)
	}
}

// Every mutation commits exactly one audit row and one outbox row, and the
// request's traceparent reaches both.
func TestMutationWritesOneAuditAndOneOutboxRow(t *testing.T) {
	f := newFixture(t)
	c := f.c
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	tp := map[string]string{"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"}
	steps := []struct {
		name string
		req  coretest.Request
		want int
	}{
		{"create org", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/organizations", Body: map[string]any{"name": "New", "parent_id": f.root}}, 201},
		{"move org", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/organizations/" + f.grandchild + "/move", Body: map[string]any{"parent_id": f.root}}, 200},
		{"create account", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/accounts", Body: map[string]any{"username": "zed", "email": "zed@example.org"}}, 201},
		{"lock account", coretest.Request{Method: "PATCH", Path: "/api/v1/tenants/acme/accounts/" + f.account, Body: map[string]any{"status": "locked"}}, 200},
		{"create role", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/roles", Body: map[string]any{"name": "rev", "permissions": []string{"news.publish"}}}, 201},
		{"set permissions", coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/roles/" + f.role + "/permissions", Body: map[string]any{"permissions": []string{"news.edit", "news.create"}}}, 200},
		{"bind", coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/role-bindings", Body: map[string]any{"account_id": f.account, "role_id": f.role, "organization_id": f.child}}, 201},
		{"update tenant", coretest.Request{Method: "PATCH", Path: "/api/v1/tenants/acme", Body: map[string]any{"name": "Acme 2"}}, 200},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			audits := countRows(t, c, `SELECT count(*) FROM audit_events`)
			outbox := countRows(t, c, `SELECT count(*) FROM outbox`)
			s.req.Header = tp
			r := c.Do(s.req)
			if r.Status != s.want {
				t.Fatalf("= %d %s", r.Status, r.Body)
			}
			if got := r.Header.Get("traceparent"); len(got) < 36 || got[3:35] != traceID {
				t.Errorf("echoed traceparent %q does not carry trace %s", got, traceID)
			}
			if a := countRows(t, c, `SELECT count(*) FROM audit_events`); a != audits+1 {
				t.Errorf("audit rows +%d, want +1", a-audits)
			}
			if o := countRows(t, c, `SELECT count(*) FROM outbox`); o != outbox+1 {
				t.Errorf("outbox rows +%d, want +1", o-outbox)
			}
			if n := countRows(t, c, `SELECT count(*) FROM outbox WHERE id = (SELECT max(id) FROM outbox) AND traceparent LIKE '00-`+traceID+`-%'`); n != 1 {
				t.Errorf("newest outbox row does not carry the request's trace id")
			}
			if n := countRows(t, c, `SELECT count(*) FROM audit_events WHERE traceparent LIKE '00-`+traceID+`-%'`); n == 0 {
				t.Errorf("no audit row carries the request's trace id")
			}
		})
	}
}
