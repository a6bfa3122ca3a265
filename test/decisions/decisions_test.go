package decisions_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/iam/edge"
	"github.com/melmastoon/iam/test/coretest"
)

const alicePassword = "violet-harbour-lantern-93"

// world is a tenant with a six-level organization chain, a sibling branch,
// twelve roles (one a wildcard) all bound to alice at various levels.
type world struct {
	tenantID string
	chain    []string // county → … → unit, six levels
	sibling  string   // a second municipality, outside alice's grants
	alice    string
	bindings []string
	perms    []string
}

func buildWorld(t *testing.T, c *coretest.Instance) *world {
	t.Helper()
	w := &world{tenantID: c.MustCreate("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})}
	parent := ""
	for i, n := range []string{"county", "municipality", "district", "ward", "block", "unit"} {
		body := map[string]any{"name": n}
		if i > 0 {
			body["parent_id"] = parent
		}
		parent = c.MustCreate("/api/v1/tenants/acme/organizations", body)
		w.chain = append(w.chain, parent)
	}
	w.sibling = c.MustCreate("/api/v1/tenants/acme/organizations", map[string]any{"name": "other", "parent_id": w.chain[0]})
	w.alice = c.MustCreate("/api/v1/tenants/acme/accounts", map[string]any{"username": "alice", "email": "alice@acme.example", "password": alicePassword})
	for i := range 12 {
		perms := []string{name("svc", i) + ".read", name("svc", i) + ".write"}
		if i == 11 {
			perms = []string{"news.*"}
		}
		w.perms = append(w.perms, perms...)
		role := c.MustCreate("/api/v1/tenants/acme/roles", map[string]any{"name": name("role", i), "permissions": perms})
		// Bindings from level 1 (municipality) down; none on the county.
		org := w.chain[1+i%5]
		w.bindings = append(w.bindings, c.MustCreate("/api/v1/tenants/acme/role-bindings",
			map[string]any{"account_id": w.alice, "role_id": role, "organization_id": org}))
	}
	w.perms = append(w.perms, "news.publish", "news.archive.read", "nobody.has.this")
	return w
}

func TestEdgeAnswersFromItsReplica(t *testing.T) {
	s := newStack(t)
	w := buildWorld(t, s.core)
	token := login(t, s.core, "acme", "alice", alicePassword)
	unit := w.chain[5]
	eventually(t, 30*time.Second, "edge converges", func() bool {
		return s.check(t, map[string]any{"token": token, "permission": "news.publish", "organization": unit}).Allowed
	})

	t.Run("verify returns the claims and flags", func(t *testing.T) {
		var v struct {
			Valid  bool            `json:"valid"`
			Claims map[string]any  `json:"claims"`
			Flags  map[string]bool `json:"flags"`
		}
		if code, _ := s.call(t, "POST", "/api/v1/verify", map[string]string{"token": token}, &v); code != 200 {
			t.Fatalf("verify = %d", code)
		}
		if !v.Valid || v.Claims["sub"] != w.alice || v.Claims["tenant"] != w.tenantID || v.Claims["tenant_slug"] != "acme" {
			t.Fatalf("verify = %+v", v)
		}
		if len(v.Flags) != 3 || !v.Flags["iam_authorization_enabled"] {
			t.Fatalf("flags = %v, want all three on by default", v.Flags)
		}
	})

	t.Run("checks", func(t *testing.T) {
		tests := []struct {
			name   string
			body   map[string]any
			allow  bool
			reason string
		}{
			{"token, inherited five levels down", map[string]any{"token": token, "permission": "svc1.read", "organization": unit}, true, "granted"},
			{"account and tenant slug", map[string]any{"account": w.alice, "tenant": "acme", "permission": "svc4.write", "organization": unit}, true, "granted"},
			{"account and tenant id", map[string]any{"account": w.alice, "tenant": w.tenantID, "permission": "svc4.write", "organization": unit}, true, "granted"},
			{"token with its own tenant", map[string]any{"token": token, "tenant": "acme", "permission": "svc0.read", "organization": w.chain[1]}, true, "granted"},
			{"not inherited upward", map[string]any{"token": token, "permission": "svc0.read", "organization": w.chain[0]}, false, "no_grant"},
			{"bound deeper than asked", map[string]any{"token": token, "permission": "svc4.read", "organization": w.chain[2]}, false, "no_grant"},
			{"sibling branch isolated", map[string]any{"token": token, "permission": "svc0.read", "organization": w.sibling}, false, "no_grant"},
			{"wildcard role, any depth", map[string]any{"token": token, "permission": "news.archive.read", "organization": unit}, true, "granted"},
			{"unknown permission", map[string]any{"token": token, "permission": "nobody.has.this", "organization": unit}, false, "unknown_permission"},
			{"unknown organization", map[string]any{"token": token, "permission": "svc0.read", "organization": "0190a6a2-0000-7000-8000-000000000000"}, false, "unknown_org"},
			{"unknown account", map[string]any{"account": "0190a6a2-0000-7000-8000-000000000001", "tenant": "acme", "permission": "svc0.read", "organization": unit}, false, "unknown_account"},
			{"unknown tenant", map[string]any{"account": w.alice, "tenant": "nope", "permission": "svc0.read", "organization": unit}, false, "unknown_tenant"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.check(t, tt.body)
				if r.Allowed != tt.allow || r.Reason != tt.reason {
					t.Fatalf("check = %+v, want allowed=%v reason=%s", r, tt.allow, tt.reason)
				}
			})
		}
	})

	t.Run("batch answers in order with per-check token refusals", func(t *testing.T) {
		var out struct {
			Results []checkResult `json:"results"`
		}
		body := map[string]any{"checks": []map[string]any{
			{"token": token, "permission": "svc2.read", "organization": unit},
			{"token": "not.a.token", "permission": "svc2.read", "organization": unit},
			{"account": w.alice, "tenant": "acme", "permission": "svc2.read", "organization": w.sibling},
		}}
		if code, _ := s.call(t, "POST", "/api/v1/check/batch", body, &out); code != 200 || len(out.Results) != 3 {
			t.Fatalf("batch = %d %+v", code, out)
		}
		if !out.Results[0].Allowed || out.Results[1].Reason != "token_malformed" || out.Results[2].Reason != "no_grant" {
			t.Fatalf("batch results = %+v", out.Results)
		}
	})

	t.Run("effective permissions explain their grants", func(t *testing.T) {
		var out struct {
			Reason      string `json:"reason"`
			Permissions []struct {
				Permission string `json:"permission"`
				Grants     []struct {
					Binding string   `json:"binding"`
					Path    []string `json:"path"`
				} `json:"grants"`
			} `json:"permissions"`
		}
		if code, _ := s.call(t, "GET", "/api/v1/permissions?tenant=acme&account="+w.alice+"&organization="+unit, nil, &out); code != 200 {
			t.Fatalf("permissions = %d", code)
		}
		if out.Reason != "granted" || len(out.Permissions) != 23 { // 11 roles × 2 + news.*
			t.Fatalf("permissions = %s, %d entries", out.Reason, len(out.Permissions))
		}
		for _, p := range out.Permissions {
			if len(p.Grants) != 1 || p.Grants[0].Path[len(p.Grants[0].Path)-1] != unit || !slices.Contains(w.bindings, p.Grants[0].Binding) {
				t.Fatalf("permission %s grants %+v", p.Permission, p.Grants)
			}
		}
	})

	t.Run("edge and core give the same answers", func(t *testing.T) {
		orgs := append(slices.Clone(w.chain), w.sibling)
		var edgeChecks, coreChecks []map[string]any
		for _, org := range orgs {
			for _, p := range w.perms {
				edgeChecks = append(edgeChecks, map[string]any{"account": w.alice, "tenant": "acme", "permission": p, "organization": org})
				coreChecks = append(coreChecks, map[string]any{"account": w.alice, "tenant": "acme", "permission": p, "organization": org})
			}
		}
		compared := 0
		for start := 0; start < len(edgeChecks); start += 100 {
			end := min(start+100, len(edgeChecks))
			var e, c struct {
				Results []checkResult `json:"results"`
			}
			s.call(t, "POST", "/api/v1/check/batch", map[string]any{"checks": edgeChecks[start:end]}, &e)
			mustStatus(t, s.core.Post("/api/v1/check/batch", map[string]any{"checks": coreChecks[start:end]}), 200).Decode(t, &c)
			for i := range e.Results {
				if e.Results[i].Allowed != c.Results[i].Allowed {
					t.Errorf("%v: edge %+v, core %+v", edgeChecks[start+i], e.Results[i], c.Results[i])
				}
				compared++
			}
		}
		if compared != len(orgs)*len(w.perms) {
			t.Fatalf("compared %d answers", compared)
		}
	})

	t.Run("a removed binding is denied at the edge", func(t *testing.T) {
		mustStatus(t, s.core.Do(coretest.Request{Method: "DELETE", Path: "/api/v1/tenants/acme/role-bindings/" + w.bindings[11]}), 204)
		took := eventually(t, 10*time.Second, "binding removal reaches the edge", func() bool {
			return !s.check(t, map[string]any{"token": token, "permission": "news.publish", "organization": unit}).Allowed
		})
		t.Logf("binding removal denied at the edge after %v", took)
	})

	t.Run("a revoked session refuses its token", func(t *testing.T) {
		other := login(t, s.core, "acme", "alice", alicePassword)
		var before problemBody
		if code, _ := s.call(t, "POST", "/api/v1/verify", map[string]string{"token": other}, &before); code != 200 {
			t.Fatalf("fresh token refused: %d %+v", code, before)
		}
		mustStatus(t, s.core.As(other, coretest.Request{Method: "POST", Path: "/api/v1/tenants/acme/auth/logout"}), 204)
		took := eventually(t, 10*time.Second, "revocation reaches the edge", func() bool {
			var p problemBody
			code, _ := s.call(t, "POST", "/api/v1/verify", map[string]string{"token": other}, &p)
			return code == 401 && p.Code == "MELMASTOON.IAM.TOKEN.SESSION_REVOKED"
		})
		t.Logf("revocation effective at the edge after %v", took)
		if !s.check(t, map[string]any{"token": token, "permission": "svc1.read", "organization": unit}).Allowed {
			t.Fatal("the other session's token was refused too")
		}
	})

	t.Run("a locked account is refused", func(t *testing.T) {
		mustStatus(t, s.core.Do(coretest.Request{Method: "PATCH", Path: "/api/v1/tenants/acme/accounts/" + w.alice,
			Body: map[string]any{"status": "locked"}}), 200)
		eventually(t, 10*time.Second, "lock reaches the edge", func() bool {
			var p problemBody
			code, _ := s.call(t, "POST", "/api/v1/check", map[string]any{"token": token, "permission": "svc1.read", "organization": unit}, &p)
			return code == 401 && p.Code == "MELMASTOON.IAM.TOKEN.ACCOUNT_INACTIVE"
		})
		r := s.check(t, map[string]any{"account": w.alice, "tenant": "acme", "permission": "svc1.read", "organization": unit})
		if r.Allowed || r.Reason != "account_locked" {
			t.Fatalf("check by account = %+v", r)
		}
	})
}

func TestEdgeMetricsCountDecisions(t *testing.T) {
	s := newStack(t)
	w := buildWorld(t, s.core)
	token := login(t, s.core, "acme", "alice", alicePassword)
	eventually(t, 30*time.Second, "edge converges", func() bool {
		return s.check(t, map[string]any{"token": token, "permission": "svc0.read", "organization": w.chain[1]}).Allowed
	})
	for range 5 {
		s.check(t, map[string]any{"token": token, "permission": "svc0.read", "organization": w.chain[1]})
	}
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	text := b.String()
	for _, m := range []string{"token_validation_duration_seconds_count{result=\"ok\"}", "permission_check_duration_seconds_count{outcome=\"allowed\"}",
		"permission_cache_hits_total", "permission_cache_misses_total", "cache_invalidation_lag_seconds_count", "edge_replica_staleness_seconds"} {
		if !strings.Contains(text, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if strings.Contains(text, "permission_cache_hits_total 0\n") {
		t.Error("repeated checks of one token never hit the cache")
	}
}

func TestFlagsSetAtCoreAreEvaluatedAtTheEdge(t *testing.T) {
	s := newStack(t)
	w := buildWorld(t, s.core)
	token := login(t, s.core, "acme", "alice", alicePassword)
	eventually(t, 30*time.Second, "edge converges", func() bool {
		return s.check(t, map[string]any{"token": token, "permission": "svc0.read", "organization": w.chain[1]}).Allowed
	})
	flags := func() map[string]bool {
		var out struct {
			Flags map[string]bool `json:"flags"`
		}
		if code, _ := s.call(t, "GET", "/api/v1/flags?tenant=acme&account="+w.alice, nil, &out); code != 200 {
			t.Fatalf("flags = %d", code)
		}
		return out.Flags
	}
	if f := flags(); !f["iam_authorization_enabled"] || !f["iam_authentication_enabled"] || !f["iam_permission_caching_enabled"] {
		t.Fatalf("default flags = %v, want all on", f)
	}
	// 0 % rollout turns the flag off for everyone; 100 % on again.
	mustStatus(t, s.core.Do(coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_authorization_enabled",
		Body: map[string]any{"enabled": true, "rollout_percent": 0}}), 200)
	eventually(t, 10*time.Second, "flag reaches the edge", func() bool { return !flags()["iam_authorization_enabled"] })
	var v struct {
		Flags map[string]bool `json:"flags"`
	}
	s.call(t, "POST", "/api/v1/verify", map[string]string{"token": token}, &v)
	if v.Flags["iam_authorization_enabled"] || !v.Flags["iam_authentication_enabled"] {
		t.Fatalf("verify flags = %v", v.Flags)
	}

	// Caching off for alice: her verifications stop hitting the cache.
	mustStatus(t, s.core.Do(coretest.Request{Method: "PUT", Path: "/api/v1/tenants/acme/flags/iam_permission_caching_enabled",
		Body: map[string]any{"enabled": false, "rollout_percent": 100}}), 200)
	eventually(t, 10*time.Second, "caching flag reaches the edge", func() bool { return !flags()["iam_permission_caching_enabled"] })
	hits, _ := s.edge.Decider().CacheStats()
	for range 5 {
		s.call(t, "POST", "/api/v1/verify", map[string]string{"token": token}, nil)
	}
	if after, _ := s.edge.Decider().CacheStats(); after != hits {
		t.Fatalf("cache hits went from %d to %d with caching off", hits, after)
	}
}

func TestEdgeRefusesBadInput(t *testing.T) {
	s := newStack(t)
	w := buildWorld(t, s.core)
	token := login(t, s.core, "acme", "alice", alicePassword)
	eventually(t, 30*time.Second, "edge converges", func() bool {
		return s.check(t, map[string]any{"token": token, "permission": "svc0.read", "organization": w.chain[1]}).Allowed
	})
	s.core.MustCreate("/api/v1/tenants", map[string]string{"slug": "beta", "name": "Beta"})
	s.core.MustCreate("/api/v1/tenants/beta/accounts", map[string]any{"username": "bob", "email": "bob@beta.example", "password": alicePassword})
	betaToken := login(t, s.core, "beta", "bob", alicePassword)
	parts := strings.Split(token, ".")
	algNone := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	big := strings.Repeat("x", 1<<20+1)
	tests := []struct {
		name, path, contentType, body string
		status                        int
		code, field                   string
	}{
		{"empty body", "/api/v1/check", "application/json", "", 400, "MELMASTOON.IAM.REQUEST.MALFORMED", ""},
		{"not JSON", "/api/v1/check", "application/json", "{", 400, "MELMASTOON.IAM.REQUEST.MALFORMED", ""},
		{"two objects", "/api/v1/verify", "application/json", `{"token":"a"}{}`, 400, "MELMASTOON.IAM.REQUEST.MALFORMED", ""},
		{"unknown field", "/api/v1/verify", "application/json", `{"token":"a","admin":true}`, 400, "MELMASTOON.IAM.REQUEST.UNKNOWN_FIELD", "admin"},
		{"wrong type", "/api/v1/verify", "application/json", `{"token":42}`, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "token"},
		{"wrong media type", "/api/v1/verify", "text/plain", `{"token":"a"}`, 415, "MELMASTOON.IAM.REQUEST.UNSUPPORTED_MEDIA_TYPE", ""},
		{"oversized", "/api/v1/verify", "application/json", `{"token":"` + big + `"}`, 413, "MELMASTOON.IAM.REQUEST.TOO_LARGE", ""},
		{"missing token", "/api/v1/verify", "application/json", `{}`, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "token"},
		{"neither token nor account", "/api/v1/check", "application/json", `{"permission":"a.b","organization":"o"}`, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "token"},
		{"token and account", "/api/v1/check", "application/json", `{"token":"t","account":"a","tenant":"acme","permission":"a.b","organization":"o"}`, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "account"},
		{"account without tenant", "/api/v1/check", "application/json", `{"account":"a","permission":"a.b","organization":"o"}`, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "tenant"},
		{"missing permission", "/api/v1/check", "application/json", `{"account":"a","tenant":"acme","organization":"o"}`, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "permission"},
		{"permission with spaces", "/api/v1/check", "application/json", `{"account":"a","tenant":"acme","permission":"a b","organization":"o"}`, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "permission"},
		{"empty batch", "/api/v1/check/batch", "application/json", `{"checks":[]}`, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "checks"},
		{"batch over 100", "/api/v1/check/batch", "application/json", batchOf(101), 400, "MELMASTOON.IAM.CHECK.BATCH_TOO_LARGE", "checks"},
		{"bad check in batch", "/api/v1/check/batch", "application/json", `{"checks":[{"account":"a","tenant":"acme","permission":"a.b","organization":"o"},{"account":"a","tenant":"acme","organization":"o"}]}`, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "checks[1].permission"},
		{"garbage token", "/api/v1/verify", "application/json", `{"token":"garbage"}`, 401, "MELMASTOON.IAM.TOKEN.MALFORMED", "token"},
		{"alg none", "/api/v1/verify", "application/json", `{"token":"` + algNone + `"}`, 401, "MELMASTOON.IAM.TOKEN.BAD_SIGNATURE", "token"},
		{"tampered signature", "/api/v1/verify", "application/json", `{"token":"` + tampered + `"}`, 401, "MELMASTOON.IAM.TOKEN.BAD_SIGNATURE", "token"},
		{"another tenant's token for this tenant", "/api/v1/check", "application/json", `{"token":"` + betaToken + `","tenant":"acme","permission":"svc0.read","organization":"` + w.chain[1] + `"}`, 400, "MELMASTOON.IAM.VALIDATION.FAILED", "tenant"},
		{"unknown route", "/api/v1/nope", "application/json", `{}`, 404, "MELMASTOON.IAM.REQUEST.ROUTE_NOT_FOUND", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(s.base+tt.path, tt.contentType, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p problemBody
			_ = json.NewDecoder(resp.Body).Decode(&p)
			if resp.StatusCode != tt.status || p.Code != tt.code || p.Field != tt.field {
				t.Fatalf("= %d %+v, want %d %s field %q", resp.StatusCode, p, tt.status, tt.code, tt.field)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
	// Nothing above changed what alice may do.
	if !s.check(t, map[string]any{"token": token, "permission": "svc0.read", "organization": w.chain[1]}).Allowed {
		t.Fatal("bad input changed a decision")
	}
}

func batchOf(n int) string {
	var b strings.Builder
	b.WriteString(`{"checks":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"account":"a","tenant":"acme","permission":"a.b","organization":"o"}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

func TestEdgeAPITokenAndStaleness(t *testing.T) {
	s := newStack(t, func(c *edge.Config) {
		c.APIToken = "edge-api-token-for-tests"
		c.MaxStaleness = time.Millisecond // any replica is past it
		c.FailClosed = true
	})
	s.core.MustCreate("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})
	eventually(t, 30*time.Second, "tenant reaches the edge", func() bool { return len(s.edge.Replica().Tenants()) == 1 })
	post := func(auth string) (int, problemBody, http.Header) {
		req, _ := http.NewRequest("POST", s.base+"/api/v1/verify", strings.NewReader(`{"token":"x.y.z"}`))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p problemBody
		_ = json.NewDecoder(resp.Body).Decode(&p)
		return resp.StatusCode, p, resp.Header
	}
	for _, auth := range []string{"", "Bearer wrong", "Basic edge-api-token-for-tests"} {
		if code, p, _ := post(auth); code != 401 || p.Code != "MELMASTOON.IAM.AUTH.UNAUTHENTICATED" {
			t.Fatalf("auth %q = %d %+v", auth, code, p)
		}
	}
	code, p, h := post("Bearer edge-api-token-for-tests")
	if code != 503 || p.Code != "MELMASTOON.IAM.EDGE.STALE" || h.Get("Staleness") == "" || h.Get("Retry-After") == "" {
		t.Fatalf("fail-closed stale edge = %d %+v %v", code, p, h)
	}
	resp, err := http.Get(s.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("/readyz of a stale fail-closed edge = %d", resp.StatusCode)
	}
}

func TestStaleEdgeKeepsAnsweringByDefault(t *testing.T) {
	s := newStack(t, func(c *edge.Config) { c.MaxStaleness = time.Millisecond })
	s.core.MustCreate("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})
	eventually(t, 30*time.Second, "tenant reaches the edge", func() bool { return len(s.edge.Replica().Tenants()) == 1 })
	var r checkResult
	code, h := s.call(t, "POST", "/api/v1/check", map[string]any{"account": "a", "tenant": "acme", "permission": "a.b", "organization": "o"}, &r)
	if code != 200 || h.Get("Staleness") == "" {
		t.Fatalf("stale edge = %d, Staleness %q", code, h.Get("Staleness"))
	}
	var ready map[string]any
	resp, err := http.Get(s.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&ready)
	if resp.StatusCode != 200 || ready["status"] != "stale" {
		t.Fatalf("/readyz = %d %v, want 200 stale", resp.StatusCode, ready)
	}
}
