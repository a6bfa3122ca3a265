package e2e

import (
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the edge's replica file
)

// An edge that missed a delta (simulated by rolling its stored chain state
// back one step while it is stopped) must not skip the tenant's later
// deltas: it resynchronises the tenant from a signed snapshot and converges.
func TestEdgeResyncsATenantWhoseChainHasAHole(t *testing.T) {
	env := newStack(t)
	s, c, dir := env.s, env.core, env.dir
	edgeDir := filepath.Join(dir, "edge")
	edge := startEdge(t, "e1", c.leaf, env.anchor, edgeDir)
	a := api{t: t, base: c.base}
	tenant := a.post("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})["id"].(string)
	for _, n := range []string{"One", "Two", "Three"} {
		a.post("/api/v1/tenants/acme/organizations", map[string]any{"name": n})
	}
	waitConverged(t, s, edge, tenant, 30*time.Second)
	edge.stop(t)

	// Forget the last applied delta of the tenant: the chain now has a hole.
	rdb, err := sql.Open("sqlite3", "file:"+filepath.Join(edgeDir, "replica.db"))
	if err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := rdb.QueryRow(`SELECT verifier_state FROM tenant_chains WHERE tenant_id = ?`, tenant).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	_ = json.Unmarshal([]byte(raw), &st)
	st["seq"] = st["seq"].(float64) - 1
	st["hash"] = strings.Repeat("ab", 32)
	b, _ := json.Marshal(st)
	if _, err := rdb.Exec(`UPDATE tenant_chains SET verifier_state = ? WHERE tenant_id = ?`, string(b), tenant); err != nil {
		t.Fatal(err)
	}
	_ = rdb.Close()

	edge.startAgain(t)
	a.post("/api/v1/tenants/acme/organizations", map[string]any{"name": "After the hole"})
	waitConverged(t, s, edge, tenant, 60*time.Second)
	resp, err := http.Get(edge.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `edge_tenant_resyncs_total{result="ok"} 1`) {
		t.Fatalf("no successful tenant resync counted:\n%s", grepLines(string(body), "edge_tenant_resyncs_total"))
	}
}
