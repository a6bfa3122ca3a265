package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/melmastoon/iam/core/api"
	"github.com/melmastoon/iam/core/auth"
	"github.com/melmastoon/iam/core/devices"
	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/relay"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/internal/obs"
	"github.com/melmastoon/iam/syncproto"
)

// Defaults.
const (
	DefaultHTTPAddr     = "127.0.0.1:8080"
	maintenanceInterval = time.Hour
	shutdownTimeout     = 10 * time.Second
)

// Config configures core.
type Config struct {
	// DatabaseURL connects to PostgreSQL; its role must be allowed to SET
	// ROLE iam_app (and, with MigrateOnStart, to create tables).
	DatabaseURL string
	// HTTPAddr is the listen address of the API.
	HTTPAddr string
	// BootstrapToken authenticates the first administrator; empty generates one.
	BootstrapToken string
	// MigrateOnStart applies pending migrations (under an advisory lock).
	MigrateOnStart bool
	// KEK seals private keys and other secrets at rest (required); a cloud
	// KMS can implement keys.KeyEncrypter.
	KEK keys.KeyEncrypter
	// PublicURL is the externally visible base URL (issuers are
	// PublicURL/t/{tenant}); default http://HTTPAddr.
	PublicURL string
	// Auth tunes sign-in (token lifetimes, Argon2id parameters, hashing
	// admission, key rotation); Store, KEK, PublicURL, Registry, Logger and
	// Now are filled in by core.
	Auth auth.Config
	// Hub, when set, embeds the NATS hub (JetStream stream of deltas, leaf
	// listener for edges); its DataDir and Logger default from core.
	Hub *hub.Config
	// RemoteHub, when set instead of Hub, is another core's hub this
	// instance publishes through (nats://host:port of its client listener).
	RemoteHub RemoteHub
	// DeviceCertValidity is the lifetime of device certificates (default 7
	// days, at most 30).
	DeviceCertValidity time.Duration
	Logger             *slog.Logger
	Now                func() time.Time
}

// CheckAndSetDefaults validates c and fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.DatabaseURL == "" {
		return errors.New("core: database URL is required")
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.Logger == nil {
		return errors.New("core: logger is required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.KEK == nil {
		return errors.New("core: a key-encryption key is required")
	}
	if c.BootstrapToken == "" {
		c.BootstrapToken = NewBootstrapToken()
	}
	if len(c.BootstrapToken) < 16 {
		return errors.New("core: bootstrap token must be at least 16 characters")
	}
	return nil
}

// NewBootstrapToken returns a random 256-bit token.
func NewBootstrapToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "iam_bt_" + base64.RawURLEncoding.EncodeToString(b)
}

// RemoteHub names a hub in another process and the credentials to use.
type RemoteHub struct {
	URL, User, Password string
}

// hubLink is the hub this core publishes through, embedded or remote.
type hubLink interface {
	relay.Hub
	Close()
}

// Core is a running central service.
type Core struct {
	cfg      Config
	log      *slog.Logger
	store    *store.Store
	metrics  *obs.Metrics
	tp       *sdktrace.TracerProvider
	auth     *auth.Service
	hub      *hub.Hub // the embedded hub, if any
	link     hubLink  // the hub deltas go through (embedded or remote)
	relay    *relay.Relay
	devices  *devices.Service
	listener net.Listener
	srv      *http.Server
}

// New migrates (when configured), opens the store and binds the listener.
func New(ctx context.Context, cfg Config) (*Core, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	c := &Core{cfg: cfg, log: cfg.Logger, metrics: obs.NewMetrics()}
	if cfg.MigrateOnStart {
		if _, err := store.Migrate(ctx, cfg.DatabaseURL, cfg.Logger); err != nil {
			return nil, err
		}
	}
	tp, err := obs.NewTracerProvider(ctx, "iam-core")
	if err != nil {
		return nil, fmt.Errorf("core: tracing: %w", err)
	}
	c.tp = tp
	c.store, err = store.Open(ctx, store.Config{URL: cfg.DatabaseURL, Logger: cfg.Logger, Now: cfg.Now,
		Tracer: c.metrics.PgxTracer(tp)})
	if err != nil {
		return nil, err
	}
	if err := c.store.CheckServiceRole(ctx); err != nil {
		c.store.Close()
		return nil, err
	}
	c.listener, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		c.store.Close()
		return nil, fmt.Errorf("core: listen %s: %w", cfg.HTTPAddr, err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + c.listener.Addr().String()
		c.cfg.PublicURL = cfg.PublicURL
	}
	ac := cfg.Auth
	ac.Store, ac.KEK, ac.PublicURL, ac.Registry, ac.Logger, ac.Now = c.store, cfg.KEK, cfg.PublicURL, c.metrics.Registry, cfg.Logger, cfg.Now
	if c.auth, err = auth.New(ac); err != nil {
		c.listener.Close()
		c.store.Close()
		return nil, err
	}
	if err := c.startHub(ctx); err != nil {
		c.listener.Close()
		c.store.Close()
		return nil, err
	}
	if err := c.newDevices(); err != nil {
		c.listener.Close()
		_ = c.Close()
		return nil, err
	}
	handler := api.New(api.Config{Store: c.store, Auth: c.auth, Logger: cfg.Logger, Metrics: c.metrics,
		TracerProvider: tp, BootstrapToken: cfg.BootstrapToken, Now: cfg.Now, StreamHead: c.streamHead, Devices: c.devices})
	c.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
	return c, nil
}

// Addr reports the bound listen address.
func (c *Core) Addr() string { return c.listener.Addr().String() }

// PublicURL is the base of the tenants' issuers ({PublicURL}/t/{slug}).
func (c *Core) PublicURL() string { return c.cfg.PublicURL }

// BootstrapToken reports the effective bootstrap token.
func (c *Core) BootstrapToken() string { return c.cfg.BootstrapToken }

// Store exposes the store (for seeding and tests).
func (c *Core) Store() *store.Store { return c.store }

// Auth exposes the sign-in service (for seeding and tests).
func (c *Core) Auth() *auth.Service { return c.auth }

// startHub embeds the NATS hub, or dials another core's, when configured,
// and prepares the relay on it.
func (c *Core) startHub(ctx context.Context) error {
	switch {
	case c.cfg.Hub != nil:
		hc := *c.cfg.Hub
		if hc.Logger == nil {
			hc.Logger = c.log
		}
		h, err := hub.New(hc)
		if err != nil {
			return err
		}
		if err := h.Start(ctx); err != nil {
			return err
		}
		c.hub, c.link = h, h
	case c.cfg.RemoteHub.URL != "":
		r, err := hub.Dial(ctx, c.cfg.RemoteHub.URL, c.cfg.RemoteHub.User, c.cfg.RemoteHub.Password, c.log)
		if err != nil {
			return err
		}
		c.link = r
	default:
		return nil
	}
	var err error
	c.relay, err = relay.New(relay.Config{Store: c.store, DatabaseURL: c.cfg.DatabaseURL, Hub: c.link, KEK: c.cfg.KEK,
		Logger: c.log, Registry: c.metrics.Registry, Now: c.cfg.Now})
	if err != nil {
		c.link.Close()
		c.hub, c.link = nil, nil
	}
	return err
}

// SystemAnchor returns the delta trust anchor edges pin (kid and public
// key), creating the system delta root on first use. It needs a hub.
func (c *Core) SystemAnchor(ctx context.Context) (syncproto.SigningKey, error) {
	if c.relay == nil {
		return syncproto.SigningKey{}, errors.New("core: no hub configured, so no delta anchor")
	}
	return c.relay.SystemAnchor(ctx)
}

// Hub returns the embedded hub, or nil.
func (c *Core) Hub() *hub.Hub { return c.hub }

// streamHead reports the last sequence of the delta stream (0 without a hub).
func (c *Core) streamHead(ctx context.Context) (uint64, error) {
	if c.link == nil {
		return 0, nil
	}
	return c.link.LastSequence(ctx)
}

// Run serves until ctx ends, then shuts down gracefully.
func (c *Core) Run(ctx context.Context) error {
	done := make(chan struct{})
	var relayDone chan error
	if c.link != nil {
		if err := c.watchEdges(ctx); err != nil {
			return err
		}
		if err := c.serveSnapshots(ctx); err != nil {
			return err
		}
		if err := c.devices.Serve(ctx, c.link.Conn()); err != nil {
			return err
		}
		relayDone = make(chan error, 1)
		go func() { relayDone <- c.relay.Run(ctx) }()
	}
	errc := make(chan error, 1)
	go func() { errc <- c.srv.Serve(c.listener) }()
	go func() { defer close(done); c.maintain(ctx) }()
	c.log.InfoContext(ctx, "core listening", "addr", c.Addr())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if serr := c.srv.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	<-done
	if relayDone != nil {
		if rerr := <-relayDone; rerr != nil && !errors.Is(rerr, context.Canceled) {
			c.log.ErrorContext(ctx, "relay stopped", "error", rerr)
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (c *Core) maintain(ctx context.Context) {
	t := time.NewTicker(maintenanceInterval)
	defer t.Stop()
	for {
		parts, purged, err := c.store.Maintain(ctx)
		if err != nil {
			c.log.WarnContext(ctx, "maintenance failed", "error", err)
		} else if parts > 0 || purged > 0 {
			c.log.InfoContext(ctx, "maintenance done", "audit_partitions_created", parts, "idempotency_keys_purged", purged)
		}
		c.rotateAllKeys(ctx)
		c.maintainDevices(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rotateAllKeys runs the scheduled signing-key rotation of every tenant.
func (c *Core) rotateAllKeys(ctx context.Context) {
	var tenants []store.Tenant
	err := c.store.Global(ctx, func(tx *store.Tx) (err error) {
		tenants, err = tx.ListTenants(ctx, "", 100_000)
		return err
	})
	if err != nil {
		c.log.WarnContext(ctx, "key rotation: list tenants failed", "error", err)
		return
	}
	for _, t := range tenants {
		err := c.store.InTenantSlug(ctx, t.Slug, func(tx *store.Tx) error {
			tr, err := c.auth.RotateKeys(ctx, tx, store.Actor{ID: "scheduler"}, false)
			for _, x := range tr {
				c.log.InfoContext(ctx, "signing key transition", "tenant", t.Slug, "kid", x.KID, "to", x.To.String())
			}
			return err
		})
		if err != nil {
			c.log.WarnContext(ctx, "key rotation failed", "tenant", t.Slug, "error", err)
		}
	}
}

// Close stops the hub, releases the store and flushes traces.
func (c *Core) Close() error {
	if c.link != nil {
		c.link.Close()
	}
	c.store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return c.tp.Shutdown(ctx)
}
