package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/test/pgtest"
)

const e2eHubPass = "e2e-hub-password-0123456789"

// isLeader reads relay_leader from a core's /metrics.
func isLeader(base string) bool {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "\nrelay_leader 1")
}

func waitLeader(t *testing.T, base string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !isLeader(base) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not become relay leader within %v", base, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRelayLeaderKilledAnotherCoreTakesOver(t *testing.T) {
	db := pgtest.New(t)
	s, err := store.Open(context.Background(), store.Config{URL: db.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := t.TempDir()
	ports := map[string]string{"http": freePort(t), "client": freePort(t), "leaf": freePort(t)}
	hubEnv := "IAM_HUB_PASSWORD=" + e2eHubPass

	// Core A embeds the hub and becomes the relay leader.
	a := &coreProc{owner: t, base: "http://127.0.0.1:" + ports["http"], leaf: "127.0.0.1:" + ports["leaf"], anchorFile: filepath.Join(dir, "anchor")}
	a.args = []string{"core", "--database-url", db.URL, "--http", "127.0.0.1:" + ports["http"], "--hub-dir", filepath.Join(dir, "hub"),
		"--hub-client", "127.0.0.1:" + ports["client"], "--leaf", a.leaf, "--anchor-file", a.anchorFile}
	a.proc = start(t, append(coreEnv(), hubEnv), a.args...)
	waitReady(t, a.base+"/readyz", 2*time.Minute)
	waitLeader(t, a.base, 30*time.Second)

	// Core B publishes through A's hub; it waits as a follower.
	bPort := freePort(t)
	b := &coreProc{owner: t, base: "http://127.0.0.1:" + bPort}
	b.args = []string{"core", "--database-url", db.URL, "--http", "127.0.0.1:" + bPort, "--hub-url", "nats://127.0.0.1:" + ports["client"]}
	b.proc = start(t, append(coreEnv(), hubEnv), b.args...)
	waitReady(t, b.base+"/readyz", 2*time.Minute)
	if isLeader(b.base) {
		t.Fatal("two relay leaders")
	}

	anchorRaw, _ := os.ReadFile(a.anchorFile)
	edge := startEdge(t, "e1", a.leaf, strings.TrimSpace(string(anchorRaw)), filepath.Join(dir, "edge"))
	apiA, apiB := api{t: t, base: a.base}, api{t: t, base: b.base}
	tenant := apiA.post("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})["id"].(string)
	for i := range 5 {
		apiB.post("/api/v1/tenants/acme/organizations", map[string]any{"name": "b-" + string(rune('a'+i))})
	}
	waitConverged(t, s, edge, tenant, 30*time.Second)

	// Kill A (the leader, and the hub with it): B takes the lock. When A
	// comes back it is the follower.
	_ = a.cmd.Process.Kill()
	_ = a.cmd.Wait()
	waitLeader(t, b.base, 30*time.Second)
	a.proc = start(t, append(coreEnv(), hubEnv), a.args...)
	waitReady(t, a.base+"/readyz", 2*time.Minute)
	for i := range 5 {
		apiA.post("/api/v1/tenants/acme/organizations", map[string]any{"name": "a-" + string(rune('a'+i))})
	}
	waitConverged(t, s, edge, tenant, 60*time.Second)
	if isLeader(a.base) {
		t.Fatal("restarted core took leadership from a live leader")
	}

	// Kill B, now the leader: A takes over, writes keep flowing, the chain
	// stays gapless (a gap or a fork would never verify at the edge).
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
	waitLeader(t, a.base, 30*time.Second)
	for i := range 5 {
		apiA.post("/api/v1/tenants/acme/organizations", map[string]any{"name": "c-" + string(rune('a'+i))})
	}
	waitConverged(t, s, edge, tenant, 60*time.Second)
}
