package decisions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/melmastoon/iam/edge"
	"github.com/melmastoon/iam/internal/obs"
	"github.com/melmastoon/iam/test/apitest"
	"github.com/melmastoon/iam/test/coretest"
)

// stack is a core with a hub and one in-process edge following it.
type stack struct {
	core   *coretest.Instance
	edge   *edge.Edge
	base   string // the edge's HTTP base URL
	client *http.Client
}

type edgeOption func(*edge.Config)

func newStack(t *testing.T, opts ...edgeOption) *stack {
	t.Helper()
	c := coretest.Start(t, coretest.WithHub(t.TempDir()))
	anchor, err := c.Core.SystemAnchor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg := edge.Config{Name: "test-edge", DataDir: filepath.Join(t.TempDir(), "edge"), HubLeafURL: c.Core.Hub().LeafURL(),
		User: "edge", Password: "edge-password-for-tests", TrustAnchor: anchor, IssuerBase: c.URL,
		HTTPAddr: "127.0.0.1:0", StatusEvery: 200 * time.Millisecond, Logger: obs.NewLogger(io.Discard, nil)}
	for _, o := range opts {
		o(&cfg)
	}
	e, err := edge.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = e.Close()
	})
	return &stack{core: c, edge: e, base: "http://" + e.Addr(), client: apitest.LoadSpec(t, apitest.EdgeSpecPath).Client(t, nil)}
}

// call sends a JSON request to the edge and decodes a JSON answer into out.
func (s *stack) call(t *testing.T, method, path string, body any, out any) (int, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s = %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, resp.Header
}

type checkResult struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Tenant  string `json:"tenant"`
	Account string `json:"account"`
}

type problemBody struct {
	Code   string `json:"code"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (s *stack) check(t *testing.T, body map[string]any) checkResult {
	t.Helper()
	var r checkResult
	if code, _ := s.call(t, "POST", "/api/v1/check", body, &r); code != http.StatusOK {
		t.Fatalf("check %v = %d", body, code)
	}
	return r
}

// eventually polls cond until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, within)
	return 0
}

// login signs an account in at core and returns its access token.
func login(t *testing.T, c *coretest.Instance, tenant, user, password string) string {
	t.Helper()
	r := c.Do(coretest.Request{Method: "POST", Path: "/api/v1/tenants/" + tenant + "/auth/login", NoAuth: true,
		Body: map[string]string{"username": user, "password": password}})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if r.Status != http.StatusOK {
		t.Fatalf("login %s = %d %s", user, r.Status, r.Body)
	}
	r.Decode(t, &tok)
	return tok.AccessToken
}

func mustStatus(t *testing.T, r *coretest.Response, want int) *coretest.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("= %d %s, want %d", r.Status, r.Body, want)
	}
	return r
}

func name(prefix string, i int) string { return fmt.Sprintf("%s%d", prefix, i) }
