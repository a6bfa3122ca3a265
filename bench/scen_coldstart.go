package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Cold-start bounds.
const (
	readyTimeout = 3 * time.Minute
	stopTimeout  = time.Minute
	readyPoll    = 5 * time.Millisecond
)

// coldRun is the outcome of one `iam dev` start and stop.
type coldRun struct {
	ready     time.Duration
	stop      time.Duration
	rss       uint64
	leftovers []int
}

func runColdStart(ctx context.Context, env *Env, res *Result) error {
	tmp, err := os.MkdirTemp("", "iam-bench-cold-*")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "iam")
	start := time.Now()
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/iam")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("bench: go build ./cmd/iam: %w: %s", err, out)
	}
	res.Params = append(res.Params,
		Param{"binary", "go build -o <tmp>/iam ./cmd/iam (built once, " + time.Since(start).Round(time.Millisecond).String() + ")"},
		Param{"command", "<tmp>/iam dev --data-dir <dir> --http 127.0.0.1:<free port>"},
		Param{"ready", fmt.Sprintf("first 200 from GET /readyz, polled every %s (so figures carry up to that much slack)", readyPoll)},
		Param{"runs", fmt.Sprintf("%d fresh (new data dir: initdb, migrations, seed) then %d warm (last fresh dir reused)", env.Opts.ColdRuns, env.Opts.ColdRuns)},
		Param{"stop", "SIGTERM; then check no process of the cluster (postmaster and its children) survives"},
	)
	fresh, warm := NewRecorder(), NewRecorder()
	freshStop, warmStop := NewRecorder(), NewRecorder()
	var lastDir string
	for i := range env.Opts.ColdRuns * 2 {
		kind, rec, stopRec := "fresh", fresh, freshStop
		if i < env.Opts.ColdRuns {
			lastDir = filepath.Join(tmp, fmt.Sprintf("data-%d", i))
		} else {
			kind, rec, stopRec = "warm", warm, warmStop
		}
		env.Log.InfoContext(ctx, "coldstart: run", "kind", kind, "data_dir", lastDir)
		r, err := startAndStop(ctx, bin, lastDir, filepath.Join(tmp, fmt.Sprintf("run-%d.log", i)))
		rec.Record(r.ready, err)
		if err != nil {
			return fmt.Errorf("bench: %s run %d: %w", kind, i+1, err)
		}
		stopRec.Record(r.stop, nil)
		res.Facts = append(res.Facts, Param{fmt.Sprintf("run %d (%s)", i+1, kind),
			fmt.Sprintf("ready %s, iam RSS at ready %s, stop %s, postgres processes left after stop: %d",
				fmtDur(r.ready), MiB(r.rss), fmtDur(r.stop), len(r.leftovers))})
		if len(r.leftovers) > 0 {
			return fmt.Errorf("bench: %s run %d left postgres processes running: %v", kind, i+1, r.leftovers)
		}
	}
	res.Measurements = append(res.Measurements,
		Measurement{Name: "fresh: exec → ready", Summary: fresh.Summary()},
		Measurement{Name: "warm: exec → ready", Summary: warm.Summary()},
		Measurement{Name: "fresh: SIGTERM → exit", Summary: freshStop.Summary()},
		Measurement{Name: "warm: SIGTERM → exit", Summary: warmStop.Summary()},
	)
	res.Notes = append(res.Notes, "min / median / max: read the min, p50 (the median for 3 runs) and max columns.")
	return nil
}

// startAndStop runs `iam dev` once, waits for readiness, stops it with
// SIGTERM and looks for surviving postgres processes of its data dir.
func startAndStop(ctx context.Context, bin, dataDir, logPath string) (coldRun, error) {
	var r coldRun
	port, err := freeLoopbackPort()
	if err != nil {
		return r, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return r, err
	}
	defer logf.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "dev", "--data-dir", dataDir, "--http", addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "IAM_LOG_LEVEL=warn")
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	r.ready, err = waitReady(ctx, "http://"+addr+"/readyz", start, exited)
	if err != nil {
		_ = cmd.Process.Kill()
		return r, fmt.Errorf("%w (log: %s)", err, tail(logPath))
	}
	r.rss, _, _ = ProcRSS(cmd.Process.Pid)
	cluster := clusterPIDs(filepath.Join(dataDir, "postgres"))
	stopStart := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return r, err
	}
	select {
	case err := <-exited:
		r.stop = time.Since(stopStart)
		if err != nil {
			return r, fmt.Errorf("iam dev exited with %w after SIGTERM (log: %s)", err, tail(logPath))
		}
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		return r, fmt.Errorf("iam dev did not exit within %s of SIGTERM", stopTimeout)
	}
	r.leftovers = alivePostgres(cluster)
	return r, nil
}

// waitReady polls url until it answers 200, the process exits, or the
// timeout passes; it returns the time since start.
func waitReady(ctx context.Context, url string, start time.Time, exited <-chan error) (time.Duration, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := start.Add(readyTimeout)
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		select {
		case err := <-exited:
			return 0, fmt.Errorf("iam dev exited before ready: %w", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(readyPoll):
		}
	}
	return 0, errors.New("iam dev not ready within " + readyTimeout.String())
}

// clusterPIDs returns the postmaster of pgData (from postmaster.pid) and its
// children.
func clusterPIDs(pgData string) []int {
	b, err := os.ReadFile(filepath.Join(pgData, "postmaster.pid"))
	if err != nil {
		return nil
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var pm int
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "%d", &pm); err != nil {
		return nil
	}
	pids := []int{pm}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		if parentPID(pid) == pm {
			pids = append(pids, pid)
		}
	}
	return pids
}

func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the parenthesised command: state ppid …
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	var state string
	var ppid int
	if _, err := fmt.Sscanf(s[i+1:], " %s %d", &state, &ppid); err != nil {
		return -1
	}
	return ppid
}

// alivePostgres returns the pids that still run a postgres program.
func alivePostgres(pids []int) []int {
	var alive []int
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.Contains(string(b), "postgres") {
			alive = append(alive, pid)
		}
	}
	return alive
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("bench: run from inside the module (go env GOMOD: %q, %w)", gomod, err)
	}
	return filepath.Dir(gomod), nil
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of a log file for an error message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if len(s) > 800 {
		s = "…" + s[len(s)-800:]
	}
	return s
}
