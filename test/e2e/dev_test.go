package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDevStackServesSignsInRotatesAndStopsCleanly(t *testing.T) {
	dataDir := t.TempDir()
	addr := "127.0.0.1:" + freePort(t)
	base := "http://" + addr
	env := []string{"IAM_BOOTSTRAP_TOKEN=e2e-bootstrap-token-0123456789"}
	edgeAddr := "127.0.0.1:" + freePort(t)
	devArgs := []string{"dev", "--data-dir", dataDir, "--http", addr, "--edge-http", edgeAddr, "--leaf", "127.0.0.1:" + freePort(t)}
	dev := start(t, env, devArgs...)
	waitReady(t, base+"/readyz", 2*time.Minute)
	if out := dev.Output(); !strings.Contains(out, "bootstrap token e2e-bootstrap-token-0123456789") || !strings.Contains(out, "alice") {
		t.Fatalf("banner lacks the token or demo sign-ins:\n%s", out)
	}

	// The seeded demo tenant signs alice in.
	body := `{"username":"alice","password":"alice-demo-pass-2026"}`
	resp, err := http.Post(base+"/api/v1/tenants/demo/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("demo login = %d", resp.StatusCode)
	}

	// The dev edge replicates the demo tenant (signed deltas over the TLS leaf link).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ready struct {
			Tenants   int    `json:"tenants"`
			StreamSeq uint64 `json:"stream_seq"`
		}
		if getJSON(t, "http://"+edgeAddr+"/readyz", &ready) == 200 && ready.Tenants == 1 && ready.StreamSeq > 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev edge did not replicate the demo tenant: %+v", ready)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// iam admin rotates the demo tenant's keys through the API.
	admin := append(env, "IAM_CORE_URL="+base)
	out := run(t, admin, "admin", "keys", "rotate", "--tenant", "demo", "--force")
	if !strings.Contains(out, `"to": "next"`) {
		t.Fatalf("rotate output: %s", out)
	}
	if out := run(t, admin, "admin", "keys", "list", "--tenant", "demo"); strings.Count(out, `"kid"`) != 2 {
		t.Fatalf("keys after rotate: %s", out)
	}

	dev.stop(t)
	assertNoPostgres(t, dataDir)

	// A second run reuses the data directory: same tenant, no reseed.
	dev2 := start(t, env, devArgs...)
	waitReady(t, base+"/readyz", 2*time.Minute)
	if out := run(t, admin, "admin", "tenants", "list"); strings.Count(out, `"slug"`) != 1 {
		t.Fatalf("tenants after restart: %s", out)
	}
	dev2.stop(t)
	assertNoPostgres(t, dataDir)
}

// assertNoPostgres fails if a postgres process still serves dataDir.
func assertNoPostgres(t *testing.T, dataDir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dataDir, "postgres", "postmaster.pid")); err == nil {
		t.Fatal("postmaster.pid still present after stop")
	}
	out, _ := exec.Command("pgrep", "-f", "postgres.*"+dataDir).Output()
	if len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("postgres still running for %s: %s", dataDir, out)
	}
}
