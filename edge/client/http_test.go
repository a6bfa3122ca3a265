package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/melmastoon/iam/edge/wire"
)

// edgeStub is an httptest edge: it records the request and answers with a
// canned status, content type and body.
type edgeStub struct {
	status      int
	contentType string
	body        string
	header      http.Header

	mu   sync.Mutex
	got  *http.Request
	data []byte
}

func (s *edgeStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got, s.data = r.Clone(context.Background()), b
	s.mu.Unlock()
	for k, v := range s.header {
		w.Header()[k] = v
	}
	if s.contentType != "" {
		w.Header().Set("Content-Type", s.contentType)
	}
	w.WriteHeader(s.status)
	_, _ = io.WriteString(w, s.body)
}

func (s *edgeStub) request(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got == nil {
		t.Fatal("the edge got no request")
	}
	return s.got, s.data
}

func newStubClient(t *testing.T, stub *edgeStub, opts ...Option) *HTTP {
	t.Helper()
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.hc.CloseIdleConnections)
	return c
}

func TestHTTPRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		call     func(*HTTP) (any, error)
		method   string
		path     string
		query    map[string]string
		body     string // expected JSON request body ("" for GET)
		response string
		want     any
	}{
		{
			name: "verify", method: http.MethodPost, path: "/api/v1/verify",
			call:     func(c *HTTP) (any, error) { return c.Verify(ctx, wire.VerifyRequest{Token: "tok.en"}) },
			body:     `{"token":"tok.en"}`,
			response: `{"valid":true,"claims":{"tenant":"t1","tenant_slug":"acme","sub":"a1","iss":"i","exp":9},"flags":{"iam_authentication_enabled":true}}`,
			want: &wire.VerifyResponse{Valid: true, Claims: wire.Claims{Tenant: "t1", TenantSlug: "acme", Subject: "a1", Issuer: "i", ExpiresAt: 9},
				Flags: map[string]bool{wire.FlagAuthentication: true}},
		},
		{
			name: "check", method: http.MethodPost, path: "/api/v1/check",
			call: func(c *HTTP) (any, error) {
				return c.Check(ctx, wire.CheckRequest{Account: "a1", Tenant: "acme", Permission: "p.read", Organization: "o1"})
			},
			body:     `{"account":"a1","tenant":"acme","permission":"p.read","organization":"o1"}`,
			response: `{"allowed":true,"reason":"granted","tenant":"t1","account":"a1","future_field":1}`,
			want:     &wire.CheckResponse{Allowed: true, Reason: "granted", Tenant: "t1", Account: "a1"},
		},
		{
			name: "batch", method: http.MethodPost, path: "/api/v1/check/batch",
			call: func(c *HTTP) (any, error) {
				return c.CheckBatch(ctx, wire.BatchRequest{Checks: []wire.CheckRequest{{Token: "x", Permission: "p", Organization: "o"}}})
			},
			body:     `{"checks":[{"token":"x","permission":"p","organization":"o"}]}`,
			response: `{"results":[{"allowed":false,"reason":"token_expired"}]}`,
			want:     &wire.BatchResponse{Results: []wire.CheckResponse{{Reason: "token_expired"}}},
		},
		{
			name: "permissions escapes the query", method: http.MethodGet, path: "/api/v1/permissions",
			call: func(c *HTTP) (any, error) {
				return c.Permissions(ctx, wire.PermissionsRequest{Tenant: "a&b=c", Account: "x y+z", Organization: "o/1?#%"})
			},
			query:    map[string]string{"tenant": "a&b=c", "account": "x y+z", "organization": "o/1?#%"},
			response: `{"tenant":"t1","account":"x","organization":"o","reason":"granted","permissions":[{"permission":"p","grants":[{"binding":"b","role":"r","bound_organization":"o","path":["o"]}]}]}`,
			want: &wire.PermissionsResponse{Tenant: "t1", Account: "x", Organization: "o", Reason: "granted",
				Permissions: []wire.Permission{{Permission: "p", Grants: []wire.Grant{{Binding: "b", Role: "r", BoundOrganization: "o", Path: []string{"o"}}}}}},
		},
		{
			name: "flags", method: http.MethodGet, path: "/api/v1/flags",
			call:     func(c *HTTP) (any, error) { return c.Flags(ctx, wire.FlagsRequest{Tenant: "acme", Account: "é;1"}) },
			query:    map[string]string{"tenant": "acme", "account": "é;1"},
			response: `{"tenant":"t1","account":"a1","flags":{"iam_authorization_enabled":false}}`,
			want:     &wire.FlagsResponse{Tenant: "t1", Account: "a1", Flags: map[string]bool{wire.FlagAuthorization: false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := &edgeStub{status: http.StatusOK, contentType: "application/json", body: tt.response}
			c := newStubClient(t, stub, WithAPIToken("api-secret"))
			got, err := tt.call(c)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, got, tt.want)
			req, body := stub.request(t)
			if req.Method != tt.method || req.URL.Path != tt.path {
				t.Errorf("request %s %s, want %s %s", req.Method, req.URL.Path, tt.method, tt.path)
			}
			if h := req.Header.Get("Authorization"); h != "Bearer api-secret" {
				t.Errorf("Authorization = %q", h)
			}
			if h := req.Header.Get("traceparent"); h != "" {
				t.Errorf("traceparent = %q without a span in the context", h)
			}
			if tt.body != "" {
				if ct := req.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				assertJSONEqual(t, json.RawMessage(body), json.RawMessage(tt.body))
			}
			q := req.URL.Query()
			for k, v := range tt.query {
				if q.Get(k) != v {
					t.Errorf("query %s = %q, want %q (raw %q)", k, q.Get(k), v, req.URL.RawQuery)
				}
			}
			if tt.query != nil && len(q) != len(tt.query) {
				t.Errorf("query %q has %d parameters, want %d", req.URL.RawQuery, len(q), len(tt.query))
			}
		})
	}
}

func assertJSONEqual(t *testing.T, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var gv, wv any
	_ = json.Unmarshal(g, &gv)
	_ = json.Unmarshal(w, &wv)
	if gs, ws := mustJSON(gv), mustJSON(wv); gs != ws {
		t.Errorf("got %s\nwant %s", gs, ws)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestHTTPNoAPIToken(t *testing.T) {
	stub := &edgeStub{status: http.StatusOK, contentType: "application/json", body: `{"allowed":false,"reason":"no_grant"}`}
	c := newStubClient(t, stub)
	if _, err := c.Check(context.Background(), wire.CheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if req, _ := stub.request(t); req.Header.Get("Authorization") != "" {
		t.Errorf("Authorization sent without an API token: %q", req.Header.Get("Authorization"))
	}
}

func TestHTTPTraceParent(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	stub := &edgeStub{status: http.StatusOK, contentType: "application/json", body: `{"valid":true}`}
	c := newStubClient(t, stub)
	if _, err := c.Verify(ctx, wire.VerifyRequest{Token: "t"}); err != nil {
		t.Fatal(err)
	}
	req, _ := stub.request(t)
	const want = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if got := req.Header.Get("traceparent"); got != want {
		t.Errorf("traceparent = %q, want %q", got, want)
	}
}

func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantProblem *wire.Problem // nil: not a Problem
		wantIs      error
	}{
		{
			name: "problem", status: http.StatusUnauthorized, contentType: "application/problem+json",
			body: `{"type":"https://melmastoon.dev/iam/problems/MELMASTOON.IAM.TOKEN.EXPIRED","title":"Token expired","status":401,` +
				`"detail":"Token expired","code":"MELMASTOON.IAM.TOKEN.EXPIRED","field":"token","instance":"/api/v1/verify","traceId":"abc"}`,
			wantProblem: &wire.Problem{Type: "https://melmastoon.dev/iam/problems/MELMASTOON.IAM.TOKEN.EXPIRED", Title: "Token expired",
				Status: 401, Detail: "Token expired", Code: wire.CodeTokenExpired, Field: "token"},
		},
		{
			name: "problem status follows HTTP", status: http.StatusServiceUnavailable, contentType: "application/problem+json; charset=utf-8",
			body:        `{"title":"Edge replica too stale to decide","status":200,"code":"MELMASTOON.IAM.EDGE.STALE"}`,
			wantProblem: &wire.Problem{Title: "Edge replica too stale to decide", Status: 503, Code: wire.CodeEdgeStale},
		},
		{
			name: "non-JSON 502", status: http.StatusBadGateway, contentType: "text/html",
			body:        "<html>bad gateway</html>",
			wantProblem: &wire.Problem{Type: "about:blank", Title: "Bad Gateway", Status: 502},
		},
		{
			name: "JSON without a code", status: http.StatusNotFound, contentType: "application/json",
			body:        `{"error":"not found"}`,
			wantProblem: &wire.Problem{Type: "about:blank", Title: "Not Found", Status: 404},
		},
		{
			name: "redirect is not followed", status: http.StatusFound, contentType: "",
			wantProblem: &wire.Problem{Type: "about:blank", Title: "Found", Status: 302},
		},
		{
			name: "malformed 200", status: http.StatusOK, contentType: "application/json", body: `{"valid":`,
		},
		{
			name: "oversized body", status: http.StatusOK, contentType: "application/json",
			body: `{"valid":true,"pad":"` + strings.Repeat("x", MaxResponseBytes) + `"}`, wantIs: ErrResponseTooLarge,
		},
		{
			name: "oversized problem", status: http.StatusInternalServerError, contentType: "application/problem+json",
			body: strings.Repeat(" ", MaxResponseBytes+1), wantIs: ErrResponseTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := &edgeStub{status: tt.status, contentType: tt.contentType, body: tt.body,
				header: http.Header{"Location": {"/elsewhere"}}}
			c := newStubClient(t, stub)
			_, err := c.Verify(context.Background(), wire.VerifyRequest{Token: "t"})
			if err == nil {
				t.Fatal("no error")
			}
			var p *wire.Problem
			isProblem := errors.As(err, &p)
			if tt.wantProblem == nil {
				if isProblem {
					t.Fatalf("got problem %+v, want a plain error", p)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v is not %v", err, tt.wantIs)
				}
				if !strings.HasPrefix(err.Error(), "client: verify: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if !isProblem {
				t.Fatalf("error %v is not a Problem", err)
			}
			want := *tt.wantProblem
			if want.Type == "about:blank" {
				if p.Detail == "" {
					t.Error("synthesized problem has no detail")
				}
				want.Detail = p.Detail
			}
			if *p != want {
				t.Errorf("problem %+v\nwant %+v", *p, want)
			}
		})
	}
}

func TestHTTPTransportError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more
	c, err := New("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Check(context.Background(), wire.CheckRequest{Account: "a"})
	var p *wire.Problem
	var opErr *net.OpError
	switch {
	case err == nil:
		t.Fatal("no error")
	case errors.As(err, &p):
		t.Fatalf("transport error decoded as a problem: %+v", p)
	case !errors.As(err, &opErr):
		t.Errorf("error %v does not wrap the *net.OpError", err)
	case !strings.HasPrefix(err.Error(), "client: check: "):
		t.Errorf("error %q lacks the package prefix", err)
	}
}

func TestHTTPContextCanceled(t *testing.T) {
	stub := &edgeStub{status: http.StatusOK, contentType: "application/json", body: `{}`}
	c := newStubClient(t, stub)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Flags(ctx, wire.FlagsRequest{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v is not context.Canceled", err)
	}
}

func TestHTTPStalenessHook(t *testing.T) {
	tests := []struct {
		header string
		status int
		want   time.Duration
		called bool
	}{
		{header: "", status: 200},
		{header: "12", status: 200, want: 12 * time.Second, called: true},
		{header: "0.5", status: 200, want: 500 * time.Millisecond, called: true},
		{header: "0", status: 200, want: 0, called: true},
		{header: "30", status: 503, want: 30 * time.Second, called: true},
		{header: "-3", status: 200},
		{header: "soon", status: 200},
		{header: "NaN", status: 200},
		{header: "1e300", status: 200, want: time.Duration(1<<63 - 1), called: true},
	}
	for _, tt := range tests {
		t.Run(tt.header+"/"+http.StatusText(tt.status), func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("Staleness", tt.header)
			}
			body := `{"valid":true}`
			if tt.status != 200 {
				body = `{"code":"MELMASTOON.IAM.EDGE.STALE","status":503}`
			}
			var mu sync.Mutex
			var got []time.Duration
			stub := &edgeStub{status: tt.status, contentType: "application/json", body: body, header: h}
			c := newStubClient(t, stub, WithStalenessHook(func(d time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, d)
			}))
			_, _ = c.Verify(context.Background(), wire.VerifyRequest{Token: "t"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case !tt.called && len(got) != 0:
				t.Errorf("hook called with %v", got)
			case tt.called && (len(got) != 1 || got[0] != tt.want):
				t.Errorf("hook got %v, want [%v]", got, tt.want)
			}
		})
	}
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	for _, raw := range []string{"", "edge:8081", "ftp://edge", "http://", "http://u:p@edge", "http://edge?x=1", "http://edge#f", "http://edge/%zz"} {
		if _, err := New(raw); err == nil || !strings.HasPrefix(err.Error(), "client: ") {
			t.Errorf("New(%q) = %v, want a client: error", raw, err)
		}
	}
}

func TestNewJoinsPathPrefix(t *testing.T) {
	for _, base := range []string{"https://edge.example/iam", "https://edge.example/iam/"} {
		c, err := New(base)
		if err != nil {
			t.Fatal(err)
		}
		if c.batchURL != "https://edge.example/iam/api/v1/check/batch" {
			t.Errorf("New(%q) batch URL = %q", base, c.batchURL)
		}
	}
}

func TestDefaultHTTPClient(t *testing.T) {
	c, err := New("http://edge")
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.hc.Transport.(*http.Transport)
	switch {
	case !ok:
		t.Fatalf("default transport is %T", c.hc.Transport)
	case tr.MaxIdleConnsPerHost != DefaultMaxIdleConnsPerHost || c.hc.Timeout != DefaultTimeout:
		t.Errorf("MaxIdleConnsPerHost %d, Timeout %v", tr.MaxIdleConnsPerHost, c.hc.Timeout)
	}
	mine := &http.Client{}
	if c, _ := New("http://edge", WithHTTPClient(mine)); c.hc != mine {
		t.Error("WithHTTPClient ignored")
	}
}
