package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/melmastoon/iam/test/coretest"
	"github.com/melmastoon/iam/test/pgtest"
)

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %v: %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDatabaseDownThenBack(t *testing.T) {
	cluster, url := pgtest.PrivateCluster(t)
	c := coretest.StartOn(t, url)
	c.MustCreate("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})

	if err := cluster.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "readyz fails", func() bool {
		return c.Do(coretest.Request{Method: "GET", Path: "/readyz", NoAuth: true}).Status == http.StatusServiceUnavailable
	})
	if h := c.Do(coretest.Request{Method: "GET", Path: "/healthz", NoAuth: true}); h.Status != 200 {
		t.Fatalf("healthz while db down = %d", h.Status)
	}
	r := c.Post("/api/v1/tenants/acme/accounts", map[string]string{"username": "u", "email": "u@x.org"})
	if r.Status != http.StatusServiceUnavailable || r.Code() != "MELMASTOON.IAM.SERVICE.UNAVAILABLE" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("request while db down = %d %s", r.Status, r.Body)
	}

	if err := cluster.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "readyz recovers", func() bool {
		return c.Do(coretest.Request{Method: "GET", Path: "/readyz", NoAuth: true}).Status == http.StatusOK
	})
	eventually(t, 10*time.Second, "writes succeed again", func() bool {
		return c.Post("/api/v1/tenants/acme/accounts", map[string]string{"username": "u2", "email": "u2@x.org"}).Status == http.StatusCreated
	})
}
