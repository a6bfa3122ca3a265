package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// edgeMetric sums the series of one metric on the edge's /metrics (-1 when
// absent).
func edgeMetric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	found, sum := false, 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			found, sum = true, sum+f
		}
	}
	if !found {
		return -1
	}
	return sum
}

func TestNewEdgeBootstrapsFromSnapshotThenFollowsDeltas(t *testing.T) {
	env := newStack(t)
	s, core, anchor, dir := env.s, env.core, env.anchor, env.dir
	a := api{t: t, base: core.base}

	// Two tenants with organizations, a role, accounts and bindings.
	type tenantData struct{ id, slug, root, child, role string }
	var tenants []tenantData
	for _, slug := range []string{"acme", "globex"} {
		td := tenantData{slug: slug}
		td.id = a.post("/api/v1/tenants", map[string]string{"slug": slug, "name": strings.ToUpper(slug)})["id"].(string)
		td.root = a.post("/api/v1/tenants/"+slug+"/organizations", map[string]any{"name": "County"})["id"].(string)
		td.child = a.post("/api/v1/tenants/"+slug+"/organizations", map[string]any{"name": "Town", "parent_id": td.root})["id"].(string)
		td.role = a.post("/api/v1/tenants/"+slug+"/roles", map[string]any{"name": "editor", "permissions": []string{"news.edit"}})["id"].(string)
		tenants = append(tenants, td)
	}
	n := 0
	addAccounts := func(td tenantData, count int) {
		for range count {
			n++
			acc := a.post("/api/v1/tenants/"+td.slug+"/accounts", map[string]any{"username": fmt.Sprintf("user%d", n), "email": fmt.Sprintf("u%d@%s.example", n, td.slug)})
			if acc != nil {
				org := td.root
				if n%2 == 0 {
					org = td.child
				}
				a.post("/api/v1/tenants/"+td.slug+"/role-bindings", map[string]any{"account_id": acc["id"], "role_id": td.role, "organization_id": org})
			}
		}
	}
	for _, td := range tenants {
		addAccounts(td, 20)
	}
	// Wait until everything is published, so the new edge finds a stream.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("outbox published", func() bool {
		var pending int
		err := s.Pool().QueryRow(context.Background(), `SELECT iam_relay_pending_count()`).Scan(&pending)
		return err == nil && pending == 0
	})

	start := time.Now()
	edge := startEdge(t, "snap1", core.leaf, anchor, filepath.Join(dir, "edge-snap1"))
	for _, td := range tenants {
		waitConverged(t, s, edge, td.id, 30*time.Second)
	}
	t.Logf("new edge converged from snapshots in %v", time.Since(start))
	if got := edgeMetric(t, edge.base, "edge_replica_snapshots_loaded_total"); got < float64(len(tenants)) {
		t.Fatalf("edge_replica_snapshots_loaded_total = %v, want >= %d", got, len(tenants))
	}
	if got := edgeMetric(t, edge.base, "edge_snapshot_bootstraps_total"); got != 1 {
		t.Fatalf("edge_snapshot_bootstraps_total = %v, want 1", got)
	}
	if got := edgeMetric(t, edge.base, "delta_rejected_total"); got > 0 {
		t.Fatalf("delta_rejected_total = %v after bootstrap", got)
	}
	for _, line := range strings.Split(edge.Output(), "\n") {
		if strings.Contains(line, "snapshot bootstrap done") {
			t.Log(line)
		}
	}

	// Later writes arrive as deltas on top of the snapshot.
	for _, td := range tenants {
		addAccounts(td, 5)
		a.post("/api/v1/tenants/"+td.slug+"/organizations", map[string]any{"name": "Village", "parent_id": td.child})
	}
	for _, td := range tenants {
		waitConverged(t, s, edge, td.id, 30*time.Second)
	}

	// A restart with a non-empty replica resumes from the cursor: no second bootstrap.
	edge.restart(t, false)
	addAccounts(tenants[0], 3)
	waitConverged(t, s, edge, tenants[0].id, 30*time.Second)
	if got := edgeMetric(t, edge.base, "edge_snapshot_bootstraps_total"); got > 0 {
		t.Fatalf("edge bootstrapped again after a restart: %v", got)
	}
}
