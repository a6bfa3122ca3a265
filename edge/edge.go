package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/melmastoon/iam/edge/decide"
	"github.com/melmastoon/iam/edge/devsync"
	"github.com/melmastoon/iam/edge/edgeapi"
	"github.com/melmastoon/iam/edge/leaf"
	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/internal/obs"
	"github.com/melmastoon/iam/syncproto"
)

// Defaults.
const (
	DefaultHTTPAddr       = "127.0.0.1:8081"
	DefaultStatusInterval = 2 * time.Second
	DefaultMaxStaleness   = time.Minute
	// HTTPOff as HTTPAddr runs the edge without its HTTP listener: a Go
	// service embedding the replica calls Service directly.
	HTTPOff         = "off"
	fetchBatch      = 256
	fetchWait       = time.Second
	shutdownTimeout = 10 * time.Second
)

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Config configures an edge.
type Config struct {
	// Name identifies the edge to core (lowercase, digits, . _ -).
	Name    string
	DataDir string
	// HubLeafURL is the hub's leaf listener (nats-leaf://host:port or tls://…).
	HubLeafURL  string
	User        string
	Password    string
	TLS         *tls.Config
	HubDomain   string
	TrustAnchor syncproto.SigningKey // the pinned system delta root
	HTTPAddr    string
	StatusEvery time.Duration
	Version     string
	Logger      *slog.Logger
	Now         func() time.Time
	// MaxStaleness is how long the replica may go without hearing from
	// core before answers are marked stale (Staleness header) or, with
	// FailClosed, refused (default DefaultMaxStaleness; negative: never).
	MaxStaleness time.Duration
	FailClosed   bool
	// IssuerBase is core's public base URL: a tenant's tokens carry
	// iss = IssuerBase/t/{slug}. Required.
	IssuerBase string
	// ClockSkew is the leeway for token times (default 30 s).
	ClockSkew time.Duration
	// TokenCacheSize bounds the verified-token cache (default 100,000;
	// negative disables it).
	TokenCacheSize int
	// APIToken, if set, must be presented as "Authorization: Bearer …" on
	// the decision API (/api/v1/verify, check, permissions, flags).
	APIToken string
	// TracerProvider traces the HTTP API (default: no-op).
	TracerProvider trace.TracerProvider
	// DeviceClockSkew is the tolerance around a device certificate's
	// validity window at the sync handshake (default 5 min).
	DeviceClockSkew time.Duration
	// OnApplied, if set, is called after each delta is committed to the
	// replica (the decision engine subscribes; benchmarks measure latency).
	// It runs on the consumer goroutine: keep it short.
	OnApplied func(replica.Applied)
}

// CheckAndSetDefaults validates c and fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	switch {
	case !namePattern.MatchString(c.Name):
		return errors.New("edge: name must be 1-63 lowercase letters, digits, '.', '_' or '-'")
	case c.DataDir == "" || c.HubLeafURL == "":
		return errors.New("edge: data dir and hub URL are required")
	case c.Logger == nil:
		return errors.New("edge: logger is required")
	case len(c.TrustAnchor.PublicKey) == 0:
		return errors.New("edge: the system trust anchor is required")
	case c.IssuerBase == "":
		return errors.New("edge: the issuer base URL (core's public URL) is required")
	}
	if c.MaxStaleness == 0 {
		c.MaxStaleness = DefaultMaxStaleness
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.StatusEvery == 0 {
		c.StatusEvery = DefaultStatusInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Edge is a running edge node.
type Edge struct {
	cfg      Config
	log      *slog.Logger
	metrics  *obs.Metrics
	leaf     *leaf.Leaf
	replica  *replica.Replica
	decider  *decide.Decider
	service  *edgeapi.Service
	devices  *devsync.Server
	lag      prometheus.Histogram
	listener net.Listener
	srv      *http.Server
	counters *counters

	mu        sync.Mutex
	connected bool
}

// New opens the replica, prepares the leaf node and binds the HTTP listener.
func New(ctx context.Context, cfg Config) (*Edge, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("edge: data dir: %w", err)
	}
	e := &Edge{cfg: cfg, log: cfg.Logger, metrics: obs.NewMetrics()}
	e.counters = newCounters(e.metrics.Registry)
	var err error
	e.replica, err = replica.Open(ctx, replica.Config{Path: filepath.Join(cfg.DataDir, "replica.db"),
		SystemAnchor: cfg.TrustAnchor, Logger: cfg.Logger, Registry: e.metrics.Registry, Now: cfg.Now, OnApplied: e.applied})
	if err != nil {
		return nil, err
	}
	if err := e.openDecisions(ctx); err != nil {
		_ = e.replica.Close()
		return nil, err
	}
	if err := e.openDeviceSync(); err != nil {
		_ = e.replica.Close()
		return nil, err
	}
	e.leaf, err = leaf.New(leaf.Config{DataDir: filepath.Join(cfg.DataDir, "nats"), ServerName: "edge-" + cfg.Name,
		HubLeafURL: cfg.HubLeafURL, User: cfg.User, Password: cfg.Password, TLS: cfg.TLS, Domain: cfg.HubDomain,
		LocalDomain: "edge-" + cfg.Name, Logger: cfg.Logger})
	if err != nil {
		_ = e.replica.Close()
		return nil, err
	}
	if cfg.HTTPAddr == HTTPOff {
		return e, nil
	}
	if e.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		_ = e.replica.Close()
		return nil, fmt.Errorf("edge: listen %s: %w", cfg.HTTPAddr, err)
	}
	e.srv = &http.Server{Handler: e.routes(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	return e, nil
}

// Addr reports the HTTP listen address ("" with HTTPOff).
func (e *Edge) Addr() string {
	if e.listener == nil {
		return ""
	}
	return e.listener.Addr().String()
}

// Service is the decision API, for a Go service that embeds the edge (the
// in-process mode of edge/client).
func (e *Edge) Service() *edgeapi.Service { return e.service }

// Decider is the decision engine over the replica.
func (e *Edge) Decider() *decide.Decider { return e.decider }

// Replica exposes the replica (tests, the decision API of a later issue).
func (e *Edge) Replica() *replica.Replica { return e.replica }

// Registry exposes the metrics registry.
func (e *Edge) Registry() *prometheus.Registry { return e.metrics.Registry }

// Run starts the leaf node and consumes deltas until ctx ends. The HTTP
// server answers throughout, also while the hub is unreachable.
func (e *Edge) Run(ctx context.Context) error {
	if err := e.leaf.Start(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	if e.srv != nil {
		go func() { serveErr <- e.srv.Serve(e.listener) }()
	}
	for _, loop := range []func(context.Context){e.consume, e.reportStatus, e.watchCheckpoints} {
		wg.Add(1)
		go func() { defer wg.Done(); loop(ctx) }()
	}
	e.log.InfoContext(ctx, "edge running", "name", e.cfg.Name, "addr", e.Addr(), "hub", e.cfg.HubLeafURL)
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	e.devices.Close() // hijacked: http.Server.Shutdown does not see them
	if e.srv != nil {
		_ = e.srv.Shutdown(sctx)
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close ends the device connections, stops the leaf node and closes the
// replica.
func (e *Edge) Close() error {
	e.devices.Close()
	e.leaf.Close()
	return e.replica.Close()
}
