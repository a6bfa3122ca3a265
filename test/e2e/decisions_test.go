package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// edgeDecision posts body to the edge's path and returns the status and
// the decoded answer.
func edgeDecision(client *http.Client, base, path string, body any) (int, map[string]any, error) {
	raw, _ := json.Marshal(body)
	resp, err := client.Post(base+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	err = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, err
}

// TestEdgeDecidesThroughCoreOutage: with core killed, the edge keeps
// verifying and checking with zero errors; once core is back, a binding
// removed at core is denied at the edge.
func TestEdgeDecidesThroughCoreOutage(t *testing.T) {
	env := newStack(t)
	s, core := env.s, env.core
	edge := startEdge(t, "e1", core.leaf, env.anchor, filepath.Join(env.dir, "edge"), "--issuer-base", core.base)
	a := api{t: t, base: core.base}
	tenant := a.post("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})["id"].(string)
	var chain []string
	for i := range 6 {
		body := map[string]any{"name": fmt.Sprintf("level%d", i)}
		if i > 0 {
			body["parent_id"] = chain[i-1]
		}
		chain = append(chain, a.post("/api/v1/tenants/acme/organizations", body)["id"].(string))
	}
	alice := a.post("/api/v1/tenants/acme/accounts", map[string]any{"username": "alice", "email": "alice@acme.example",
		"password": "violet-harbour-lantern-93"})["id"].(string)
	var bindings []string
	for i := range 10 {
		role := a.post("/api/v1/tenants/acme/roles", map[string]any{"name": fmt.Sprintf("role%d", i),
			"permissions": []string{fmt.Sprintf("svc%d.read", i)}})["id"].(string)
		bindings = append(bindings, a.post("/api/v1/tenants/acme/role-bindings", map[string]any{"account_id": alice,
			"role_id": role, "organization_id": chain[1+i%4]})["id"].(string))
	}
	token := loginE2E(t, core.base, "acme", "alice", "violet-harbour-lantern-93")
	waitConverged(t, s, edge, tenant, 30*time.Second)
	leaf := chain[5]

	// Load: verify and check in a loop, counting anything but the expected answer.
	var ok, bad atomic.Int64
	var lastBad atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, v, err := edgeDecision(client, edge.base, "/api/v1/verify", map[string]string{"token": token})
				if err != nil || code != 200 || v["valid"] != true {
					bad.Add(1)
					lastBad.Store(fmt.Sprintf("verify %d %v %v", code, v, err))
					continue
				}
				code, v, err = edgeDecision(client, edge.base, "/api/v1/check", map[string]any{"token": token, "permission": "svc9.read", "organization": leaf})
				if err != nil || code != 200 || v["allowed"] != true {
					bad.Add(1)
					lastBad.Store(fmt.Sprintf("check %d %v %v", code, v, err))
					continue
				}
				ok.Add(1)
			}
		}()
	}
	time.Sleep(time.Second)
	beforeKill := ok.Load()
	_ = core.cmd.Process.Kill()
	_ = core.cmd.Wait()
	time.Sleep(3 * time.Second)
	duringOutage := ok.Load() - beforeKill
	var ready map[string]any
	if code := getJSON(t, edge.base+"/readyz", &ready); code != 200 {
		t.Errorf("edge /readyz during the outage = %d %v", code, ready)
	}
	close(stop)
	wg.Wait()
	if bad.Load() != 0 || duringOutage == 0 {
		t.Fatalf("during the outage: %d good, %d bad answers (last bad: %v)", duringOutage, bad.Load(), lastBad.Load())
	}
	t.Logf("edge answered %d verify+check pairs with zero errors while core was down", duringOutage)

	core.proc = start(core.owner, coreEnv(), core.args...)
	waitReady(t, core.base+"/readyz", 2*time.Minute)
	req, _ := http.NewRequest(http.MethodDelete, core.base+"/api/v1/tenants/acme/role-bindings/"+bindings[8], nil)
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete binding after restart: %v %v", resp, err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, v, _ := edgeDecision(client, edge.base, "/api/v1/check", map[string]any{"token": token, "permission": "svc8.read", "organization": leaf})
		if v["allowed"] == false && v["reason"] == "no_grant" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("binding removed after core's restart still allowed at the edge: %v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitConverged(t, s, edge, tenant, 30*time.Second)
}

// loginE2E signs an account in at core and returns its access token.
func loginE2E(t *testing.T, base, tenant, user, password string) string {
	t.Helper()
	raw, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := http.Post(base+"/api/v1/tenants/"+tenant+"/auth/login", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("login = %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}
