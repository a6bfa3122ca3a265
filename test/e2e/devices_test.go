package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deviceState is what `iam device status|sync --once|enroll` print.
type deviceState struct {
	DeviceID string    `json:"device_id"`
	Status   string    `json:"status"`
	NotAfter time.Time `json:"not_after"`
	Cursor   int64     `json:"cursor"`
}

// runDevice runs `iam device args...` to completion.
func runDevice(t *testing.T, args ...string) (deviceState, string, error) {
	t.Helper()
	cmd := exec.Command(iamBinary, append([]string{"device"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var s deviceState
	if err == nil && stdout.Len() > 0 {
		if jerr := json.Unmarshal(stdout.Bytes(), &s); jerr != nil {
			t.Fatalf("iam device %v printed %q: %v", args, stdout.String(), jerr)
		}
	}
	return s, stdout.String() + stderr.String(), err
}

func mustDevice(t *testing.T, args ...string) deviceState {
	t.Helper()
	s, out, err := runDevice(t, args...)
	if err != nil {
		t.Fatalf("iam device %v: %v\n%s", args, err, out)
	}
	return s
}

// TestDeviceLifecycle drives real processes: core (device certificates
// valid 1 minute), an edge (clock skew 1 s) and the `iam device` CLI.
func TestDeviceLifecycle(t *testing.T) {
	t.Parallel()                                                        // mostly waiting for certificates to age
	const validity, password = time.Minute, "violet-harbour-lantern-93" // core allows at least a minute
	env := newStack(t, "--device-cert-validity", validity.String())
	s, core, dir := env.s, env.core, env.dir
	edge := startEdge(t, "e1", core.leaf, env.anchor, filepath.Join(dir, "edge"),
		"--issuer-base", core.base, "--device-clock-skew", "1s")
	a := api{t: t, base: core.base}
	tenant := a.post("/api/v1/tenants", map[string]string{"slug": "acme", "name": "Acme"})["id"].(string)
	a.post("/api/v1/tenants/acme/accounts", map[string]any{"username": "alice", "email": "alice@acme.example", "password": password})

	enroll := func(name string) (deviceState, string) {
		stateDir := filepath.Join(dir, name)
		return mustDevice(t, "enroll", "--core", core.base, "--tenant", "acme", "--username", "alice", "--password", password,
			"--name", name, "--state-dir", stateDir), stateDir
	}
	t0 := time.Now()
	phone, phoneDir := enroll("phone")
	tablet, tabletDir := enroll("tablet")
	watch, watchDir := enroll("watch")
	if phone.Status != "active" || phone.DeviceID == "" || phone.NotAfter.After(t0.Add(validity+5*time.Second)) {
		t.Fatalf("enrolled %+v", phone)
	}
	waitConverged(t, s, edge, tenant, 30*time.Second) // the devices reached the edge
	syncOnce := func(stateDir string) (deviceState, string, error) {
		return runDevice(t, "sync", "--edge", edge.base, "--state-dir", stateDir, "--once")
	}

	t.Run("sync and an access token without the password", func(t *testing.T) {
		st, out, err := syncOnce(phoneDir)
		if err != nil || st.Status != "active" || st.Cursor < 1 {
			t.Fatalf("sync: %+v %v\n%s", st, err, out)
		}
		tok := tokenOf(t, edge.base, phoneDir)
		code, v, _ := edgeDecision(http.DefaultClient, edge.base, "/api/v1/verify", map[string]string{"token": tok})
		claims, _ := v["claims"].(map[string]any)
		if code != 200 || claims["sid"] != phone.DeviceID || !strings.Contains(strings.Join(anyStrings(claims["amr"]), ","), "device") {
			t.Fatalf("device token at the edge: %d %v", code, v)
		}
	})

	t.Run("revocation disconnects the device and voids its tokens", func(t *testing.T) {
		tok := tokenOf(t, edge.base, phoneDir)
		p := start(t, nil, "device", "sync", "--edge", edge.base, "--state-dir", phoneDir)
		time.Sleep(time.Second) // connected
		revoke, _ := http.NewRequest(http.MethodPost, core.base+"/api/v1/tenants/acme/devices/"+phone.DeviceID+"/revoke", nil)
		revoke.Header.Set("Authorization", "Bearer "+e2eToken)
		resp, err := http.DefaultClient.Do(revoke)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("revoke: %v %v", resp, err)
		}
		resp.Body.Close()
		revokedAt := time.Now()
		exited := make(chan error, 1)
		go func() { exited <- p.cmd.Wait() }()
		select {
		case err := <-exited:
			if err == nil || !strings.Contains(p.Output(), "revoked") {
				t.Fatalf("sync after revocation exited with %v:\n%s", err, p.Output())
			}
			t.Logf("device disconnected %v after the revocation call returned", time.Since(revokedAt))
		case <-time.After(15 * time.Second):
			t.Fatalf("device still syncing 15 s after its revocation:\n%s", p.Output())
		}
		if st := mustDevice(t, "status", "--state-dir", phoneDir); st.Status != "revoked" {
			t.Fatalf("local status %+v", st)
		}
		code, v, _ := edgeDecision(http.DefaultClient, edge.base, "/api/v1/verify", map[string]string{"token": tok})
		if code != 401 || v["code"] != "MELMASTOON.IAM.TOKEN.SESSION_REVOKED" {
			t.Fatalf("revoked device's token at the edge: %d %v", code, v)
		}
	})

	var renewed deviceState
	t.Run("offline just under the validity: reconnects and renews", func(t *testing.T) {
		time.Sleep(time.Until(tablet.NotAfter.Add(-6 * time.Second)))
		st, out, err := syncOnce(tabletDir)
		if err != nil || !st.NotAfter.After(tablet.NotAfter) {
			t.Fatalf("sync at %v: %+v (was %v) %v\n%s", time.Since(t0), st, tablet.NotAfter, err, out)
		}
		renewed = st
	})

	_ = core.cmd.Process.Kill()
	_ = core.cmd.Wait()

	t.Run("just over the validity: refused with the expiry code", func(t *testing.T) {
		time.Sleep(time.Until(watch.NotAfter.Add(3 * time.Second))) // the edge allows 1 s of skew
		_, out, err := syncOnce(watchDir)
		if err == nil || !strings.Contains(out, "expired") {
			t.Fatalf("expired device synced: %v\n%s", err, out)
		}
	})

	t.Run("core down: the device keeps syncing from the edge, renews once core is back", func(t *testing.T) {
		// Past two thirds of the renewed certificate's life the renewal is due;
		// with core down it fails and the device keeps its certificate.
		time.Sleep(time.Until(renewed.NotAfter.Add(-validity / 2)))
		st, out, err := syncOnce(tabletDir)
		if err != nil || st.Status != "active" || !st.NotAfter.Equal(renewed.NotAfter) {
			t.Fatalf("sync with core down: %+v %v\n%s", st, err, out)
		}
		core.proc = start(core.owner, coreEnv(), core.args...)
		waitReady(t, core.base+"/readyz", 2*time.Minute)
		// Until the edge's leaf link is back, the renewal answers
		// "unavailable" and the device keeps its certificate: try again.
		for deadline := renewed.NotAfter.Add(-5 * time.Second); ; time.Sleep(time.Second) {
			st, out, err = syncOnce(tabletDir)
			if err == nil && st.NotAfter.After(renewed.NotAfter) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no renewal after core's return: %+v %v\n%s", st, err, out)
			}
		}
		renewed = st
	})

	t.Run("edge restart: the device resumes from its cursor", func(t *testing.T) {
		edge.restart(t, false)
		st, out, err := syncOnce(tabletDir)
		if err != nil || st.Cursor < renewed.Cursor || st.Status != "active" {
			t.Fatalf("sync after the edge's restart: %+v (had %+v) %v\n%s", st, renewed, err, out)
		}
	})
}

// tokenOf asks the device for an access token through the edge.
func tokenOf(t *testing.T, edgeBase, stateDir string) string {
	t.Helper()
	cmd := exec.Command(iamBinary, "device", "token", "--edge", edgeBase, "--state-dir", stateDir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err != nil || json.Unmarshal(out, &v) != nil || v.AccessToken == "" {
		t.Fatalf("iam device token: %v %s\n%s", err, out, stderr.String())
	}
	return v.AccessToken
}

func anyStrings(v any) []string {
	xs, _ := v.([]any)
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
