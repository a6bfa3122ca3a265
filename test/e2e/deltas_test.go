package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/test/pgtest"
)

const (
	e2eToken    = "e2e-bootstrap-token-0123456789"
	e2eKEK      = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	e2eLeafPass = "e2e-leaf-password-0123456789"
)

// coreProc is an `iam core` process with an embedded hub.
type coreProc struct {
	*proc
	owner                  *testing.T // restarts are cleaned up with the owner, not a subtest
	base, leaf, anchorFile string
	args                   []string
}

func startCore(t *testing.T, dbURL, dir string, ports map[string]string, extra ...string) *coreProc {
	t.Helper()
	c := &coreProc{owner: t, base: "http://127.0.0.1:" + ports["http"], leaf: "127.0.0.1:" + ports["leaf"], anchorFile: filepath.Join(dir, "anchor")}
	c.args = []string{"core", "--database-url", dbURL, "--http", "127.0.0.1:" + ports["http"],
		"--hub-dir", filepath.Join(dir, "hub"), "--hub-client", "127.0.0.1:" + ports["client"], "--leaf", c.leaf,
		"--anchor-file", c.anchorFile}
	c.args = append(c.args, extra...)
	c.proc = start(t, coreEnv(), c.args...)
	waitReady(t, c.base+"/readyz", 2*time.Minute)
	return c
}

func coreEnv() []string {
	return []string{"IAM_BOOTSTRAP_TOKEN=" + e2eToken, "IAM_KEK=" + e2eKEK, "IAM_LEAF_PASSWORD=" + e2eLeafPass}
}

// restart stops core and starts it again on the same ports and data.
func (c *coreProc) restart(t *testing.T) {
	t.Helper()
	c.stop(t)
	c.proc = start(c.owner, coreEnv(), c.args...)
	waitReady(t, c.base+"/readyz", 2*time.Minute)
}

// edgeProc is an `iam edge` process.
type edgeProc struct {
	*proc
	owner *testing.T
	base  string
	args  []string
}

// startEdge starts an edge; extra flags follow the defaults (a test that
// verifies tokens passes --issuer-base with core's URL).
func startEdge(t *testing.T, name, hubAddr, anchor, dir string, extra ...string) *edgeProc {
	t.Helper()
	port := freePort(t)
	e := &edgeProc{owner: t, base: "http://127.0.0.1:" + port}
	e.args = []string{"edge", "--name", name, "--hub", "nats-leaf://" + hubAddr, "--data-dir", dir,
		"--http", "127.0.0.1:" + port, "--trust-anchor", anchor, "--issuer-base", "http://issuer.invalid"}
	e.args = append(e.args, extra...)
	e.proc = start(t, []string{"IAM_LEAF_PASSWORD=" + e2eLeafPass}, e.args...)
	waitReady(t, e.base+"/readyz", time.Minute)
	return e
}

func (e *edgeProc) restart(t *testing.T, kill bool) {
	t.Helper()
	if kill {
		_ = e.cmd.Process.Kill()
		_ = e.cmd.Wait()
	} else {
		e.stop(t)
	}
	e.startAgain(t)
}

// startAgain starts a stopped edge with the same arguments.
func (e *edgeProc) startAgain(t *testing.T) {
	t.Helper()
	e.proc = start(e.owner, []string{"IAM_LEAF_PASSWORD=" + e2eLeafPass}, e.args...)
	waitReady(t, e.base+"/readyz", time.Minute)
}

// api is a JSON client of core's admin API with the bootstrap token.
type api struct {
	t    *testing.T
	base string
}

func (a api) post(path string, body any) map[string]any {
	a.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, a.base+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Errorf("POST %s: %v", path, err)
		return nil
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		a.t.Errorf("POST %s = %d %s", path, resp.StatusCode, out)
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return m
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(v)
	return resp.StatusCode
}

// coreDigest computes the tenant's replica digest from PostgreSQL.
func coreDigest(t *testing.T, s *store.Store, tenant string) string {
	t.Helper()
	id, _ := store.ParseTenantID(tenant)
	var d string
	err := s.InTenant(context.Background(), id, func(tx *store.Tx) (err error) { d, err = tx.ReplicaDigest(context.Background()); return err })
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitConverged waits until the edge's replica of tenant equals core's state.
func waitConverged(t *testing.T, s *store.Store, e *edgeProc, tenant string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last map[string]any
	for time.Now().Before(deadline) {
		want := coreDigest(t, s, tenant)
		last = map[string]any{}
		if getJSON(t, e.base+"/api/v1/replica/digest?tenant="+tenant, &last) == 200 && last["digest"] == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("edge did not converge within %v: edge %v, core %s", within, last, coreDigest(t, s, tenant))
}

// stack is what most e2e tests start from: a PostgreSQL database with a
// store on it, an `iam core` process with its embedded hub, and the system
// delta anchor that edges pin.
type stack struct {
	s      *store.Store
	core   *coreProc
	anchor string
	dir    string
}

// newStack starts a core with extra flags; everything stops with t.
func newStack(t *testing.T, extra ...string) *stack {
	t.Helper()
	db := pgtest.New(t)
	s, err := store.Open(context.Background(), store.Config{URL: db.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	dir := t.TempDir()
	ports := map[string]string{"http": freePort(t), "client": freePort(t), "leaf": freePort(t)}
	core := startCore(t, db.URL, dir, ports, extra...)
	anchor, err := os.ReadFile(core.anchorFile)
	if err != nil {
		t.Fatal(err)
	}
	return &stack{s: s, core: core, anchor: strings.TrimSpace(string(anchor)), dir: dir}
}

func TestDeltasReachEdgesThroughFaults(t *testing.T) {
	env := newStack(t)
	s, core, anchor, dir := env.s, env.core, env.anchor, env.dir
	proxy := newProxy(t, core.leaf)
	edge := startEdge(t, "e1", proxy.addr, anchor, filepath.Join(dir, "edge-1"))
	direct := startEdge(t, "e2", core.leaf, anchor, filepath.Join(dir, "edge-2"))
	a := api{t: t, base: core.base}

	tenant := a.post("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})["id"].(string)
	root := a.post("/api/v1/tenants/acme/organizations", map[string]any{"name": "County"})["id"].(string)
	role := a.post("/api/v1/tenants/acme/roles", map[string]any{"name": "editor", "permissions": []string{"news.edit"}})["id"].(string)
	var seq atomic.Int64
	newAccount := func() {
		n := seq.Add(1)
		acc := a.post("/api/v1/tenants/acme/accounts", map[string]any{"username": fmt.Sprintf("user%d", n), "email": fmt.Sprintf("u%d@acme.example", n)})
		if acc != nil {
			a.post("/api/v1/tenants/acme/role-bindings", map[string]any{"account_id": acc["id"], "role_id": role, "organization_id": root})
		}
	}
	for range 5 {
		newAccount()
	}
	waitConverged(t, s, edge, tenant, 30*time.Second)
	waitConverged(t, s, direct, tenant, 30*time.Second)

	t.Run("edge killed mid-stream resumes", func(t *testing.T) {
		stop := writeContinuously(newAccount)
		edge.restart(t, true)
		stop()
		waitConverged(t, s, edge, tenant, 30*time.Second)
	})
	t.Run("hub-leaf link cut while writes continue", func(t *testing.T) {
		proxy.Cut()
		for range 10 {
			newAccount()
		}
		var ready map[string]any
		if code := getJSON(t, edge.base+"/readyz", &ready); code != 200 {
			t.Fatalf("edge stopped serving while cut off: %d %v", code, ready)
		}
		proxy.Restore()
		waitConverged(t, s, edge, tenant, 60*time.Second)
	})
	t.Run("hub restarted", func(t *testing.T) {
		core.restart(t)
		for range 5 {
			newAccount()
		}
		waitConverged(t, s, edge, tenant, 60*time.Second)
		waitConverged(t, s, direct, tenant, 60*time.Second)
	})
	t.Run("100 concurrent writers", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 100 {
			wg.Add(1)
			go func() { defer wg.Done(); newAccount() }()
		}
		wg.Wait()
		waitConverged(t, s, edge, tenant, 60*time.Second)
		waitConverged(t, s, direct, tenant, 60*time.Second)
	})
	t.Run("core lists the edges", func(t *testing.T) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			var edges struct {
				Items []struct {
					Name string `json:"name"`
					Lag  uint64 `json:"lag"`
				}
			}
			req, _ := http.NewRequest(http.MethodGet, core.base+"/api/v1/edges", nil)
			req.Header.Set("Authorization", "Bearer "+e2eToken)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_ = json.NewDecoder(resp.Body).Decode(&edges)
				resp.Body.Close()
			}
			if len(edges.Items) == 2 && edges.Items[0].Lag == 0 && edges.Items[1].Lag == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("edges = %+v", edges.Items)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// writeContinuously calls write in a loop until the returned stop is called.
func writeContinuously(write func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				write()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
