package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/melmastoon/iam/core"
	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/edge"
	"github.com/melmastoon/iam/internal/pgcluster"
	"github.com/melmastoon/iam/syncproto"
)

// Config configures the development stack.
type Config struct {
	DataDir        string // default ./.iam-dev
	Fresh          bool   // wipe DataDir first
	DatabaseURL    string // use an existing PostgreSQL instead of a cluster
	HTTPAddr       string // core listener, default 127.0.0.1:8080
	EdgeHTTPAddr   string // edge listener, default 127.0.0.1:8081
	LeafAddr       string // hub leaf listener, default 127.0.0.1:7422
	BootstrapToken string // default: persisted random token in DataDir
	KEK            string // key-encryption key (base64/hex); default: persisted in DataDir
	Logger         *slog.Logger
	Out            io.Writer // where the banner goes
}

// Stack is a running development stack.
type Stack struct {
	cfg     Config
	cluster *pgcluster.Cluster
	core    *core.Core
	edge    *edge.Edge
}

// Start brings up PostgreSQL (unless DatabaseURL is set), core and the demo
// seed. On error everything already started is stopped again.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.DataDir == "" {
		cfg.DataDir = ".iam-dev"
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Fresh {
		if err := os.RemoveAll(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("devstack: wipe %s: %w", cfg.DataDir, err)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	s := &Stack{cfg: cfg}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	url := cfg.DatabaseURL
	if url == "" {
		if url, err = s.startCluster(ctx); err != nil {
			return nil, err
		}
	}
	token, err := s.persisted("bootstrap-token", cfg.BootstrapToken, core.NewBootstrapToken)
	if err != nil {
		return nil, err
	}
	kekText, err := s.persisted("kek", cfg.KEK, newKEK)
	if err != nil {
		return nil, err
	}
	kek, err := keys.ParseLocalKEK(kekText)
	if err != nil {
		return nil, fmt.Errorf("devstack: key-encryption key: %w", err)
	}
	leafPassword, err := s.persisted("leaf-password", "", core.NewBootstrapToken)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := hub.NewDevTLS("127.0.0.1", "localhost")
	if err != nil {
		return nil, err
	}
	s.core, err = core.New(ctx, core.Config{DatabaseURL: url, HTTPAddr: cfg.HTTPAddr, KEK: kek,
		BootstrapToken: token, MigrateOnStart: true, Logger: cfg.Logger,
		Hub: &hub.Config{DataDir: filepath.Join(cfg.DataDir, "hub"), ClientListen: "127.0.0.1:-1", LeafListen: orDefault(cfg.LeafAddr, "127.0.0.1:7422"),
			LeafUsers: []hub.LeafCredential{{User: "dev-edge", Password: leafPassword}}, TLS: tlsCfg.ServerConfig(false)}})
	if err != nil {
		return nil, err
	}
	if err := Seed(ctx, s.core); err != nil {
		return nil, err
	}
	anchor, err := s.core.SystemAnchor(ctx)
	if err != nil {
		return nil, err
	}
	s.edge, err = edge.New(ctx, edge.Config{Name: "dev-edge", DataDir: filepath.Join(cfg.DataDir, "edge"),
		HubLeafURL: s.core.Hub().LeafURL(), User: "dev-edge", Password: leafPassword, TLS: tlsCfg.ClientConfig(),
		TrustAnchor: anchor, IssuerBase: s.core.PublicURL(), HTTPAddr: orDefault(cfg.EdgeHTTPAddr, edge.DefaultHTTPAddr), Logger: cfg.Logger.With("component", "edge")})
	if err != nil {
		return nil, err
	}
	s.banner()
	return s, nil
}

func (s *Stack) startCluster(ctx context.Context) (string, error) {
	c, err := pgcluster.Start(ctx, pgcluster.Config{DataDir: filepath.Join(s.cfg.DataDir, "postgres"), Logger: s.cfg.Logger})
	if err != nil {
		return "", err
	}
	s.cluster = c
	if err := createDatabase(ctx, c.URL("postgres"), "iam"); err != nil {
		return "", err
	}
	return c.URL("iam"), nil
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("devstack: connect: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// persisted returns configured, or a value kept in DataDir/name (made by
// gen on the first run) so it stays the same across runs.
func (s *Stack) persisted(name, configured string, gen func() string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	path := filepath.Join(s.cfg.DataDir, name)
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("devstack: %w", err)
	}
	v := gen()
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("devstack: %w", err)
	}
	return v, nil
}

func newKEK() string {
	b := make([]byte, keys.KEKSize)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Stack) banner() {
	base := "http://" + s.core.Addr()
	fmt.Fprintf(s.cfg.Out, `
IAM development stack is ready.

  core API        %[1]s/api/v1
  health / ready  %[1]s/healthz  %[1]s/readyz
  metrics         %[1]s/metrics
  edge            http://%[5]s/readyz   (replica of the signed delta stream)
  delta anchor    %[6]s
  demo tenant     %[1]s/api/v1/tenants/demo   (OIDC issuer %[1]s/t/demo)
  bootstrap token %[2]s
  demo sign-in    alice / %[3]s   bob / %[4]s

  try: curl -H "Authorization: Bearer %[2]s" %[1]s/api/v1/tenants/demo/organizations
       curl -H "Content-Type: application/json" -d '{"username":"alice","password":"%[3]s"}' %[1]s/api/v1/tenants/demo/auth/login

Press Ctrl-C to stop (PostgreSQL is stopped with it).
`, base, s.core.BootstrapToken(), DemoPasswords["alice"], DemoPasswords["bob"], s.edge.Addr(), s.anchorText())
}

// Core returns the running core.
func (s *Stack) Core() *core.Core { return s.core }

// Run serves core and the edge until ctx ends.
func (s *Stack) Run(ctx context.Context) error {
	edgeDone := make(chan error, 1)
	go func() { edgeDone <- s.edge.Run(ctx) }()
	err := s.core.Run(ctx)
	if eerr := <-edgeDone; err == nil {
		err = eerr
	}
	return err
}

// Edge returns the running edge.
func (s *Stack) Edge() *edge.Edge { return s.edge }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Close stops the edge, core and then PostgreSQL; it waits for each.
func (s *Stack) Close() {
	if s.edge != nil {
		_ = s.edge.Close()
	}
	if s.core != nil {
		_ = s.core.Close()
	}
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.cluster.Stop(ctx); err != nil {
			s.cfg.Logger.Error("postgres stop failed", "error", err)
		}
	}
}

func (s *Stack) anchorText() string {
	a, err := s.core.SystemAnchor(context.Background())
	if err != nil {
		return "unavailable: " + err.Error()
	}
	return syncproto.FormatSigningKey(a)
}
