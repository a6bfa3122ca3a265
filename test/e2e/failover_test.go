package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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

// TestForgedReplayedAndRelabelledDeltasAreRejected publishes bad messages
// straight into the hub's stream (as a compromised or buggy publisher
// would): the edge rejects each, counts it by reason, keeps its replica
// unchanged, and keeps applying the genuine deltas after them.
func TestForgedReplayedAndRelabelledDeltasAreRejected(t *testing.T) {
	db := pgtest.New(t)
	s, err := store.Open(context.Background(), store.Config{URL: db.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := t.TempDir()
	ports := map[string]string{"http": freePort(t), "client": freePort(t), "leaf": freePort(t)}
	c := &coreProc{owner: t, base: "http://127.0.0.1:" + ports["http"], leaf: "127.0.0.1:" + ports["leaf"], anchorFile: filepath.Join(dir, "anchor")}
	c.args = []string{"core", "--database-url", db.URL, "--http", "127.0.0.1:" + ports["http"], "--hub-dir", filepath.Join(dir, "hub"),
		"--hub-client", "127.0.0.1:" + ports["client"], "--leaf", c.leaf, "--anchor-file", c.anchorFile}
	c.proc = start(t, append(coreEnv(), "IAM_HUB_PASSWORD="+e2eHubPass), c.args...)
	waitReady(t, c.base+"/readyz", 2*time.Minute)
	anchorRaw, _ := os.ReadFile(c.anchorFile)
	edge := startEdge(t, "e1", c.leaf, strings.TrimSpace(string(anchorRaw)), filepath.Join(dir, "edge"))
	a := api{t: t, base: c.base}
	acme := a.post("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})["id"].(string)
	beta := a.post("/api/v1/tenants", map[string]string{"slug": "beta", "name": "Beta"})["id"].(string)
	a.post("/api/v1/tenants/acme/organizations", map[string]any{"name": "County"})
	a.post("/api/v1/tenants/beta/organizations", map[string]any{"name": "Shire"})
	waitConverged(t, s, edge, acme, 30*time.Second)
	waitConverged(t, s, edge, beta, 30*time.Second)

	nc, js := hubClient(t, "nats://127.0.0.1:"+ports["client"])
	defer nc.Close()
	stream, err := js.Stream(context.Background(), "IAM_DELTAS")
	if err != nil {
		t.Fatal(err)
	}
	last, err := stream.GetLastMsgForSubject(context.Background(), "melmastoon.iam.organization.created.v1") // beta's org
	if err != nil {
		t.Fatal(err)
	}
	latest := append([]byte(nil), last.Data...)
	inject := func(data []byte, tenant string) {
		m := nats.NewMsg("melmastoon.iam.organization.created.v1")
		m.Data = data
		m.Header.Set("Iam-Tenant", tenant)
		if _, err := js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	older := tenantCreated(t, stream, beta) // beta's seq 2, long applied
	tampered := append([]byte(nil), latest...)
	tampered[len(tampered)-10] ^= 0xff
	inject(tampered, beta)          // a flipped byte: bad signature
	inject(older, beta)             // a replay of an older genuine delta: rollback
	inject(latest, acme)            // beta's delta relabelled as acme's
	inject([]byte("garbage"), acme) // not even COSE
	inject(latest, beta)            // the latest delta again: an idempotent duplicate, ignored

	// Genuine writes after the bad messages still arrive.
	a.post("/api/v1/tenants/acme/organizations", map[string]any{"name": "After"})
	a.post("/api/v1/tenants/beta/organizations", map[string]any{"name": "After"})
	waitConverged(t, s, edge, acme, 30*time.Second)
	waitConverged(t, s, edge, beta, 30*time.Second)

	resp, err := http.Get(edge.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rejected := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "delta_rejected_total{") {
			var n float64
			if _, err := fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &n); err == nil {
				rejected += int(n)
			}
		}
	}
	if rejected != 4 {
		t.Fatalf("edge counted %d rejections, want 4:\n%s", rejected, grepLines(string(body), "delta_rejected_total"))
	}
	for _, reason := range []string{"bad_signature", "rollback", "unknown_key", "malformed"} {
		if !strings.Contains(string(body), `delta_rejected_total{reason="`+reason+`"} 1`) {
			t.Errorf("no rejection counted as %s:\n%s", reason, grepLines(string(body), "delta_rejected_total"))
		}
	}
}

// tenantCreated finds the tenant.created delta of tenant in the stream.
func tenantCreated(t *testing.T, stream jetstream.Stream, tenant string) []byte {
	t.Helper()
	for seq := uint64(1); seq < 100; seq++ {
		m, err := stream.GetMsg(context.Background(), seq)
		if err != nil {
			break
		}
		if m.Subject == "melmastoon.iam.tenant.created.v1" && m.Header.Get("Iam-Tenant") == tenant {
			return append([]byte(nil), m.Data...)
		}
	}
	t.Fatalf("no tenant.created delta for %s", tenant)
	return nil
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// hubClient connects to the hub's client listener as another core would.
func hubClient(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo("core", e2eHubPass))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}
