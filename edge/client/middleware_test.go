package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/melmastoon/iam/edge/wire"
)

const testToken = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhMSJ9.c2ln"

// fakeEdge stands for the edge: Verify knows one token, Check allows what
// allowed lists. It records the calls.
type fakeEdge struct {
	verifyErr error
	checkErr  error
	flags     map[string]bool
	allowed   map[string]bool // permission → allowed

	mu       sync.Mutex
	verifies []wire.VerifyRequest
	checks   []wire.CheckRequest
}

var testClaims = wire.Claims{Tenant: "t-1", TenantSlug: "acme", Subject: "acc-1", Issuer: "https://iam/t/acme", ExpiresAt: 1 << 40}

func (f *fakeEdge) Verify(_ context.Context, req wire.VerifyRequest) (*wire.VerifyResponse, error) {
	f.mu.Lock()
	f.verifies = append(f.verifies, req)
	f.mu.Unlock()
	if f.verifyErr != nil {
		return nil, f.verifyErr
	}
	if req.Token != testToken {
		return nil, &wire.Problem{Status: 401, Code: wire.CodeTokenBadSignature, Title: "Bad signature", Detail: "Bad signature"}
	}
	return &wire.VerifyResponse{Valid: true, Claims: testClaims, Flags: f.flags}, nil
}

func (f *fakeEdge) Check(_ context.Context, req wire.CheckRequest) (*wire.CheckResponse, error) {
	f.mu.Lock()
	f.checks = append(f.checks, req)
	f.mu.Unlock()
	if f.checkErr != nil {
		return nil, f.checkErr
	}
	if f.allowed[req.Permission] {
		return &wire.CheckResponse{Allowed: true, Reason: "granted"}, nil
	}
	return &wire.CheckResponse{Reason: "no_grant"}, nil
}

func (f *fakeEdge) CheckBatch(context.Context, wire.BatchRequest) (*wire.BatchResponse, error) {
	return nil, errors.New("fake: not used")
}

func (f *fakeEdge) Permissions(context.Context, wire.PermissionsRequest) (*wire.PermissionsResponse, error) {
	return nil, errors.New("fake: not used")
}

func (f *fakeEdge) Flags(context.Context, wire.FlagsRequest) (*wire.FlagsResponse, error) {
	return nil, errors.New("fake: not used")
}

func (f *fakeEdge) calls() (int, []wire.CheckRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.verifies), append([]wire.CheckRequest(nil), f.checks...)
}

// handlerAt marks which handler answered, and what claims it saw.
func handlerAt(name string, status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Handler", name)
		if c, ok := ClaimsFrom(r.Context()); ok {
			w.Header().Set("X-Subject", c.Subject)
		}
		w.WriteHeader(status)
	})
}

type problemResponse struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func TestRequire(t *testing.T) {
	unavailable := fmt.Errorf("client: verify: %w", errors.New("dial tcp: connection refused"))
	allOff := map[string]bool{wire.FlagAuthentication: false, wire.FlagAuthorization: false}
	authzOff := map[string]bool{wire.FlagAuthentication: true, wire.FlagAuthorization: false}
	tests := []struct {
		name       string
		auth       []string // Authorization header values
		edge       *fakeEdge
		fallback   bool
		org        OrgFunc
		wantStatus int
		wantCode   string // problem code, "" when a handler answered
		wantBy     string // X-Handler: next, fallback
		wantClaims bool
		wantVerify int
		wantCheck  bool
		wantDetail string
	}{
		{name: "no token", wantStatus: 401, wantCode: codeUnauthenticated},
		{name: "no token, fallback", fallback: true, wantStatus: 200, wantBy: "fallback"},
		{name: "bad scheme", auth: []string{"Basic YTpi"}, wantStatus: 401, wantCode: codeUnauthenticated},
		{name: "bad scheme, fallback", auth: []string{"Basic YTpi"}, fallback: true, wantStatus: 200, wantBy: "fallback"},
		{name: "empty bearer", auth: []string{"Bearer "}, fallback: true, wantStatus: 401, wantCode: codeUnauthenticated},
		{name: "two headers", auth: []string{"Bearer " + testToken, "Bearer x"}, wantStatus: 401, wantCode: codeUnauthenticated},
		{name: "token refused", auth: []string{"Bearer nope"}, fallback: true, wantStatus: 401,
			wantCode: wire.CodeTokenBadSignature, wantVerify: 1, wantDetail: "Bad signature"},
		{name: "token expired", auth: []string{"bearer " + testToken}, wantStatus: 401, wantVerify: 1,
			edge:     &fakeEdge{verifyErr: &wire.Problem{Status: 401, Code: wire.CodeTokenExpired, Title: "Token expired"}},
			wantCode: wire.CodeTokenExpired},
		{name: "edge down", auth: []string{"Bearer " + testToken}, fallback: true, edge: &fakeEdge{verifyErr: unavailable},
			wantStatus: 503, wantCode: codeServiceUnavailable, wantVerify: 1},
		{name: "edge stale", auth: []string{"Bearer " + testToken}, wantStatus: 503, wantCode: codeServiceUnavailable, wantVerify: 1,
			edge: &fakeEdge{verifyErr: &wire.Problem{Status: 503, Code: wire.CodeEdgeStale}}},
		{name: "edge refuses our API token", auth: []string{"Bearer " + testToken}, wantStatus: 503, wantCode: codeServiceUnavailable,
			wantVerify: 1, edge: &fakeEdge{verifyErr: &wire.Problem{Status: 401, Code: codeUnauthenticated}}},
		{name: "allowed", auth: []string{"Bearer " + testToken}, edge: &fakeEdge{allowed: map[string]bool{"invoices.read": true}},
			wantStatus: 200, wantBy: "next", wantClaims: true, wantVerify: 1, wantCheck: true},
		{name: "allowed, scheme case", auth: []string{"BEARER   " + testToken}, edge: &fakeEdge{allowed: map[string]bool{"invoices.read": true}},
			wantStatus: 200, wantBy: "next", wantClaims: true, wantVerify: 1, wantCheck: true},
		{name: "denied", auth: []string{"Bearer " + testToken}, fallback: true, wantStatus: 403, wantCode: codeForbidden,
			wantVerify: 1, wantCheck: true, wantDetail: "permission invoices.read denied: no_grant"},
		{name: "check edge down", auth: []string{"Bearer " + testToken}, edge: &fakeEdge{checkErr: unavailable},
			wantStatus: 503, wantCode: codeServiceUnavailable, wantVerify: 1, wantCheck: true},
		{name: "check validation", auth: []string{"Bearer " + testToken}, wantStatus: 400, wantCode: wire.CodeValidationFailed,
			edge:       &fakeEdge{checkErr: &wire.Problem{Status: 400, Code: wire.CodeValidationFailed, Detail: "organization must be printable ASCII without spaces"}},
			wantVerify: 1, wantCheck: true, wantDetail: "organization must be printable ASCII without spaces"},
		{name: "flags off, fallback", auth: []string{"Bearer " + testToken}, fallback: true, edge: &fakeEdge{flags: allOff},
			wantStatus: 200, wantBy: "fallback", wantVerify: 1},
		{name: "flags off, no fallback", auth: []string{"Bearer " + testToken}, edge: &fakeEdge{flags: allOff},
			wantStatus: 403, wantCode: codeForbidden, wantVerify: 1, wantCheck: true},
		{name: "authorization off, fallback", auth: []string{"Bearer " + testToken}, fallback: true, edge: &fakeEdge{flags: authzOff},
			wantStatus: 200, wantBy: "fallback", wantClaims: true, wantVerify: 1},
		{name: "authorization off, no fallback", auth: []string{"Bearer " + testToken},
			edge:       &fakeEdge{flags: authzOff, allowed: map[string]bool{"invoices.read": true}},
			wantStatus: 200, wantBy: "next", wantClaims: true, wantVerify: 1, wantCheck: true},
		{name: "flags on, fallback", auth: []string{"Bearer " + testToken}, fallback: true,
			edge:       &fakeEdge{flags: map[string]bool{wire.FlagAuthentication: true, wire.FlagAuthorization: true}, allowed: map[string]bool{"invoices.read": true}},
			wantStatus: 200, wantBy: "next", wantClaims: true, wantVerify: 1, wantCheck: true},
		{name: "org func error", auth: []string{"Bearer " + testToken}, org: OrgFromHeader("X-Org"),
			wantStatus: 400, wantCode: wire.CodeValidationFailed, wantVerify: 1, wantDetail: "client: header X-Org is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edge := tt.edge
			if edge == nil {
				edge = &fakeEdge{}
			}
			var opts []MiddlewareOption
			if tt.fallback {
				opts = append(opts, WithFallback(handlerAt("fallback", 200)))
			}
			org := tt.org
			if org == nil {
				org = FixedOrg("org-7")
			}
			h := Require(edge, "invoices.read", org, opts...)(handlerAt("next", 200))
			req := httptest.NewRequest(http.MethodGet, "/invoices", nil)
			req.Header["Authorization"] = tt.auth
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			assertResponse(t, rec, tt.wantStatus, tt.wantCode, tt.wantDetail)
			if got := rec.Header().Get("X-Handler"); got != tt.wantBy {
				t.Errorf("answered by %q, want %q", got, tt.wantBy)
			}
			if got := rec.Header().Get("X-Subject") != ""; got != tt.wantClaims {
				t.Errorf("claims in context: %v, want %v", got, tt.wantClaims)
			}
			verifies, checks := edge.calls()
			if verifies != tt.wantVerify {
				t.Errorf("%d verifies, want %d", verifies, tt.wantVerify)
			}
			if !tt.wantCheck {
				if len(checks) != 0 {
					t.Errorf("checks %+v, want none", checks)
				}
				return
			}
			want := wire.CheckRequest{Account: testClaims.Subject, Tenant: testClaims.Tenant, Permission: "invoices.read", Organization: "org-7"}
			if len(checks) != 1 || checks[0] != want {
				t.Errorf("checks %+v, want [%+v] (account and tenant, never the token)", checks, want)
			}
		})
	}
}

// assertResponse checks the status and, for a refusal, the problem body
// and the headers the refusal needs.
func assertResponse(t *testing.T, rec *httptest.ResponseRecorder, status int, code, detail string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d (body %s)", rec.Code, status, rec.Body)
	}
	if code == "" {
		return
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	var p problemResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if p.Code != code || p.Status != status || p.Type != problemTypeBase+code || p.Title == "" {
		t.Errorf("problem %+v, want code %s status %d", p, code, status)
	}
	if detail != "" && p.Detail != detail {
		t.Errorf("detail %q, want %q", p.Detail, detail)
	}
	switch status {
	case 401:
		if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("401 without a Bearer challenge: %q", rec.Header().Get("WWW-Authenticate"))
		}
	case 503:
		if rec.Header().Get("Retry-After") != "1" {
			t.Errorf("503 with Retry-After %q", rec.Header().Get("Retry-After"))
		}
	}
}

func TestAuthenticate(t *testing.T) {
	tests := []struct {
		name       string
		auth       string
		edge       *fakeEdge
		fallback   bool
		wantStatus int
		wantCode   string
		wantBy     string
	}{
		{name: "valid", auth: "Bearer " + testToken, wantStatus: 204, wantBy: "next"},
		{name: "authorization off is ignored", auth: "Bearer " + testToken, fallback: true,
			edge: &fakeEdge{flags: map[string]bool{wire.FlagAuthorization: false}}, wantStatus: 204, wantBy: "next"},
		{name: "authentication off", auth: "Bearer " + testToken, fallback: true,
			edge: &fakeEdge{flags: map[string]bool{wire.FlagAuthentication: false}}, wantStatus: 200, wantBy: "fallback"},
		{name: "refused", auth: "Bearer other", wantStatus: 401, wantCode: wire.CodeTokenBadSignature},
		{name: "no token", wantStatus: 401, wantCode: codeUnauthenticated},
		{name: "edge down", auth: "Bearer " + testToken, edge: &fakeEdge{verifyErr: context.DeadlineExceeded},
			wantStatus: 503, wantCode: codeServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edge := tt.edge
			if edge == nil {
				edge = &fakeEdge{}
			}
			var opts []MiddlewareOption
			if tt.fallback {
				opts = append(opts, WithFallback(handlerAt("fallback", 200)))
			}
			h := Authenticate(edge, opts...)(handlerAt("next", 204))
			req := httptest.NewRequest(http.MethodGet, "/me", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assertResponse(t, rec, tt.wantStatus, tt.wantCode, "")
			if got := rec.Header().Get("X-Handler"); got != tt.wantBy {
				t.Errorf("answered by %q, want %q", got, tt.wantBy)
			}
			if tt.wantBy == "next" && rec.Header().Get("X-Subject") != testClaims.Subject {
				t.Error("no claims in the context")
			}
			if _, checks := edge.calls(); len(checks) != 0 {
				t.Errorf("Authenticate checked %+v", checks)
			}
		})
	}
}

func TestClaimsFrom(t *testing.T) {
	if _, ok := ClaimsFrom(context.Background()); ok {
		t.Error("claims in an empty context")
	}
	edge := &fakeEdge{allowed: map[string]bool{"p": true}}
	var got wire.Claims
	h := Require(edge, "p", FixedOrg("o"))(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, _ = ClaimsFrom(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	h.ServeHTTP(httptest.NewRecorder(), req)
	assertJSONEqual(t, got, testClaims)
}

func TestOrgFuncs(t *testing.T) {
	edge := &fakeEdge{allowed: map[string]bool{"p": true}}
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{org}/things", Require(edge, "p", OrgFromPath("org"))(handlerAt("next", 200)))
	mux.Handle("GET /nowhere", Require(edge, "p", OrgFromPath("org"))(handlerAt("next", 200)))
	mux.Handle("GET /by-header", Require(edge, "p", OrgFromHeader("X-Org"))(handlerAt("next", 200)))
	tests := []struct {
		path, header string
		wantStatus   int
		wantOrg      string
	}{
		{path: "/orgs/o-%3F9/things", wantStatus: 200, wantOrg: "o-?9"},
		{path: "/nowhere", wantStatus: 400},
		{path: "/by-header", header: "o-3", wantStatus: 200, wantOrg: "o-3"},
		{path: "/by-header", wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			edge.mu.Lock()
			edge.checks = nil
			edge.mu.Unlock()
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			if tt.header != "" {
				req.Header.Set("X-Org", tt.header)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if _, checks := edge.calls(); tt.wantOrg != "" && (len(checks) != 1 || checks[0].Organization != tt.wantOrg) {
				t.Errorf("checks %+v, want organization %q", checks, tt.wantOrg)
			}
		})
	}
}

func TestWithErrorWriter(t *testing.T) {
	type call struct {
		status       int
		code, detail string
	}
	var got []call
	w := func(w http.ResponseWriter, _ *http.Request, status int, code, detail string) {
		got = append(got, call{status, code, detail})
		w.WriteHeader(status)
	}
	edge := &fakeEdge{}
	h := Require(edge, "p", FixedOrg("o"), WithErrorWriter(w))(handlerAt("next", 200))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	want := []call{{403, codeForbidden, "permission p denied: no_grant"}}
	if fmt.Sprint(got) != fmt.Sprint(want) || rec.Code != 403 || rec.Body.Len() != 0 {
		t.Errorf("writer calls %v, status %d, body %q; want %v, 403, empty", got, rec.Code, rec.Body, want)
	}
}

// TestLogsNeverHoldTheToken runs every path with a debug logger.
func TestLogsNeverHoldTheToken(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	edges := []*fakeEdge{
		{}, {allowed: map[string]bool{"p": true}}, {verifyErr: errors.New("dial tcp: refused")},
		{checkErr: errors.New("dial tcp: refused")}, {flags: map[string]bool{wire.FlagAuthentication: false}},
	}
	for _, edge := range edges {
		for _, fallback := range []http.Handler{nil, handlerAt("fallback", 200)} {
			h := Require(edge, "p", FixedOrg("o"), WithLogger(logger), WithFallback(fallback))(handlerAt("next", 200))
			if fallback == nil {
				h = Require(edge, "p", FixedOrg("o"), WithLogger(logger))(handlerAt("next", 200))
			}
			for _, auth := range []string{"Bearer " + testToken, "Bearer " + testToken + "x", "Basic " + testToken} {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.Header.Set("Authorization", auth)
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		}
	}
	if buf.Len() == 0 {
		t.Fatal("nothing logged")
	}
	if strings.Contains(buf.String(), testToken) {
		t.Errorf("the token reached the log:\n%s", buf.String())
	}
}

func TestMiddlewarePanicsOnMiswiring(t *testing.T) {
	for name, f := range map[string]func(){
		"nil decider":     func() { Require(nil, "p", FixedOrg("o")) },
		"no permission":   func() { Require(&fakeEdge{}, "", FixedOrg("o")) },
		"nil org":         func() { Require(&fakeEdge{}, "p", nil) },
		"authenticate ni": func() { Authenticate(nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// TestRequireOverHTTP runs the middleware on the HTTP client against a
// stub edge: the edge's token code reaches the caller, a 502 from a proxy
// fails closed.
func TestRequireOverHTTP(t *testing.T) {
	tests := []struct {
		name       string
		stub       *edgeStub
		wantStatus int
		wantCode   string
	}{
		{name: "token refused", wantStatus: 401, wantCode: wire.CodeTokenSessionRevoked,
			stub: &edgeStub{status: 401, contentType: "application/problem+json",
				body: `{"type":"x","title":"Session revoked","status":401,"code":"MELMASTOON.IAM.TOKEN.SESSION_REVOKED","detail":"Session revoked"}`}},
		{name: "proxy 502", wantStatus: 503, wantCode: codeServiceUnavailable,
			stub: &edgeStub{status: 502, contentType: "text/plain", body: "bad gateway"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newStubClient(t, tt.stub)
			h := Require(c, "p", FixedOrg("o"))(handlerAt("next", 200))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assertResponse(t, rec, tt.wantStatus, tt.wantCode, "")
		})
	}
}
