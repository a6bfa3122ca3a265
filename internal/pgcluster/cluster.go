package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoBinaries is returned when no PostgreSQL server binaries can be found.
var ErrNoBinaries = errors.New("pgcluster: PostgreSQL server binaries (initdb, pg_ctl) not found; install PostgreSQL 15+ or set IAM_PG_BINDIR")

// Superuser is the name of the bootstrap superuser of a cluster made here.
const Superuser = "postgres"

// startTimeout bounds how long Start waits for the server to accept connections.
const startTimeout = 60 * time.Second

// Config describes a cluster.
type Config struct {
	// DataDir holds the cluster. It is created when missing and reused when it
	// already contains a cluster.
	DataDir string
	// Port to listen on at 127.0.0.1; 0 picks a free port.
	Port int
	// BinDir holds initdb and pg_ctl; empty means: search IAM_PG_BINDIR,
	// /usr/lib/postgresql/<newest>/bin, then PATH.
	BinDir string
	// Logger receives life-cycle events; nil means slog.Default is NOT used
	// and events are discarded.
	Logger *slog.Logger
	// Settings are extra postgres -c settings (name → value).
	Settings map[string]string
}

// Cluster is a running PostgreSQL server.
type Cluster struct {
	cfg  Config
	cred *syscall.Credential
	port int
}

// Start initialises the data directory if needed and starts the server.
// It returns once the server accepts TCP connections, or an error.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	bin, err := findBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	cfg.BinDir = bin
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: data dir: %w", err)
	}
	cfg.DataDir = abs
	c := &Cluster{cfg: cfg}
	if c.cred, err = unprivilegedCredential(); err != nil {
		return nil, err
	}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if err := c.initdbOnce(ctx); err != nil {
		return nil, err
	}
	if c.port = cfg.Port; c.port == 0 {
		if c.port, err = freePort(); err != nil {
			return nil, err
		}
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Port reports the TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// DataDir reports the absolute data directory.
func (c *Cluster) DataDir() string { return c.cfg.DataDir }

// URL returns a connection URL for database db as the superuser.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, c.port, db)
}

// Stop shuts the server down (fast mode) and waits for it to exit.
func (c *Cluster) Stop(ctx context.Context) error {
	err := c.pgctl(ctx, "stop", "-m", "fast", "-w", "-t", "60")
	if err != nil {
		return fmt.Errorf("pgcluster: stop: %w", err)
	}
	c.cfg.Logger.InfoContext(ctx, "postgres stopped", "data_dir", c.cfg.DataDir)
	return nil
}

// Resume starts a stopped cluster again on the same port.
func (c *Cluster) Resume(ctx context.Context) error { return c.start(ctx) }

// Restart stops and starts the server on the same port.
func (c *Cluster) Restart(ctx context.Context) error {
	if err := c.Stop(ctx); err != nil {
		return err
	}
	return c.start(ctx)
}

func (c *Cluster) start(ctx context.Context) error {
	// A stale postmaster.pid from a killed run would make pg_ctl refuse.
	c.removeStalePid()
	opts := []string{
		"-c listen_addresses=127.0.0.1",
		"-p " + strconv.Itoa(c.port),
		"-c unix_socket_directories='" + c.cfg.DataDir + "'",
		"-c fsync=on",
		"-c max_connections=300",
	}
	keys := make([]string, 0, len(c.cfg.Settings))
	for k := range c.cfg.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		opts = append(opts, fmt.Sprintf("-c %s=%s", k, c.cfg.Settings[k]))
	}
	logFile := filepath.Join(c.cfg.DataDir, "server.log")
	err := c.pgctl(ctx, "start", "-w", "-t", strconv.Itoa(int(startTimeout.Seconds())),
		"-l", logFile, "-o", strings.Join(opts, " "))
	if err != nil {
		return fmt.Errorf("pgcluster: start (see %s): %w", logFile, err)
	}
	c.cfg.Logger.InfoContext(ctx, "postgres started", "data_dir", c.cfg.DataDir, "port", c.port)
	return nil
}

func (c *Cluster) removeStalePid() {
	pidFile := filepath.Join(c.cfg.DataDir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return
	}
	if syscall.Kill(pid, 0) == nil {
		// A server left running by a killed run of ours: stop it in order.
		_ = c.pgctl(context.Background(), "stop", "-m", "fast", "-w", "-t", "60")
		return
	}
	_ = os.Remove(pidFile)
}

func (c *Cluster) prepareDir() error {
	if err := os.MkdirAll(c.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: data dir: %w", err)
	}
	if c.cred == nil {
		return nil
	}
	// initdb wants to own the directory; parents must be traversable.
	for dir := filepath.Dir(c.cfg.DataDir); dir != "/"; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dir, st.Mode().Perm()|0o711); err != nil {
				return fmt.Errorf("pgcluster: make %s traversable: %w", dir, err)
			}
		}
	}
	return filepath.Walk(c.cfg.DataDir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.cred.Uid), int(c.cred.Gid))
	})
}

func (c *Cluster) initdbOnce(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.cfg.DataDir, "PG_VERSION")); err == nil {
		return nil
	}
	cmd := c.command(ctx, "initdb", "-D", c.cfg.DataDir, "-U", Superuser,
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgcluster: initdb: %w: %s", err, out)
	}
	c.cfg.Logger.InfoContext(ctx, "postgres cluster initialised", "data_dir", c.cfg.DataDir)
	return nil
}

func (c *Cluster) pgctl(ctx context.Context, args ...string) error {
	full := append([]string{"-D", c.cfg.DataDir}, args...)
	cmd := c.command(ctx, "pg_ctl", full...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	// pg_ctl start forks a postmaster that must outlive a cancelled ctx, so the
	// command does not use exec.CommandContext; its own timeout bounds it.
	_ = ctx
	cmd := exec.Command(filepath.Join(c.cfg.BinDir, name), args...)
	cmd.Dir = c.cfg.DataDir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	// Its own process group: a Ctrl-C at the terminal reaches only iam, which
	// then stops postgres in order, instead of killing postgres mid-flight.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	return cmd
}

func unprivilegedCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root needs the 'postgres' system user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: pick port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func findBinDir(explicit string) (string, error) {
	candidates := []string{explicit, os.Getenv("IAM_PG_BINDIR")}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return pgMajor(versions[i]) > pgMajor(versions[j]) })
	candidates = append(candidates, versions...)
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func pgMajor(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}
