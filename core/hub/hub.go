package hub

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/melmastoon/iam/internal/natsembed"
)

// Hub is core's embedded NATS server with the delta stream. Create it with
// New, run it with Start, stop it with Close. A Hub is not restartable:
// after Close make a new one with the same Config (the DataDir keeps the
// stream).
type Hub struct {
	cfg          Config
	internalPass string

	mu      sync.Mutex
	srv     *server.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	started bool
	closed  bool
}

// New checks cfg and returns a Hub that is not running yet.
func New(cfg Config) (*Hub, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	pass, err := randomSecret()
	if err != nil {
		return nil, fmt.Errorf("hub: internal password: %w", err)
	}
	return &Hub{cfg: cfg, internalPass: pass}, nil
}

// Start runs the server, waits until it accepts connections (bounded by
// ctx and Config.ReadyTimeout), opens core's in-process connection and
// creates or updates the delta stream. On error everything started is
// stopped again.
func (h *Hub) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.started {
		return ErrAlreadyStarted
	}
	h.started = true
	if err := h.start(ctx); err != nil {
		h.shutdownLocked()
		return err
	}
	h.cfg.Logger.InfoContext(ctx, "hub started", slog.String("client_url", h.srv.ClientURL()),
		slog.String("leaf_url", h.leafURLLocked()), slog.String("domain", h.cfg.Domain))
	return nil
}

func (h *Hub) start(ctx context.Context) error {
	opts, err := h.serverOptions()
	if err != nil {
		return err
	}
	h.srv, err = natsembed.Start(ctx, opts, h.cfg.Logger, h.cfg.ReadyTimeout)
	if errors.Is(err, natsembed.ErrNotReady) {
		return ErrNotReady
	}
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := h.connect(); err != nil {
		return err
	}
	return h.ensureStream(ctx)
}

func (h *Hub) serverOptions() (*server.Options, error) {
	cHost, cPort, err := splitListen(h.cfg.ClientListen)
	if err != nil {
		return nil, err
	}
	lHost, lPort, err := splitListen(h.cfg.LeafListen)
	if err != nil {
		return nil, err
	}
	users := []*server.User{{Username: internalUser, Password: h.internalPass}}
	opts := &server.Options{
		ServerName:      h.cfg.ServerName,
		Host:            cHost,
		Port:            cPort,
		Users:           append(users, serverUsers(h.cfg.ClientUsers)...),
		MaxPayload:      DefaultMaxPayload,
		JetStream:       true,
		JetStreamDomain: h.cfg.Domain,
		StoreDir:        h.cfg.DataDir, // the server appends "jetstream"
		SyncAlways:      h.cfg.SyncAlways,
		NoSigs:          true,
		LeafNode: server.LeafNodeOpts{
			Host:      lHost,
			Port:      lPort,
			Users:     serverUsers(h.cfg.LeafUsers),
			TLSConfig: h.cfg.TLS,
		},
	}
	return opts, nil
}

func serverUsers(creds []LeafCredential) []*server.User {
	users := make([]*server.User, 0, len(creds))
	for _, c := range creds {
		users = append(users, &server.User{Username: c.User, Password: c.Password})
	}
	return users
}

func (h *Hub) connect() error {
	nc, err := nats.Connect("", nats.InProcessServer(h.srv), nats.UserInfo(internalUser, h.internalPass),
		nats.Name("iam-core-hub"), nats.NoReconnect())
	if err != nil {
		return fmt.Errorf("hub: in-process connection: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("hub: jetstream: %w", err)
	}
	h.nc, h.js = nc, js
	return nil
}

// Close closes the in-process connection and shuts the server down, waiting
// for it to finish. It is safe to call more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	h.shutdownLocked()
}

func (h *Hub) shutdownLocked() {
	if h.nc != nil {
		h.nc.Close()
		h.nc, h.js = nil, nil
	}
	if h.srv != nil {
		h.srv.Shutdown()
		h.srv.WaitForShutdown()
		h.srv = nil
		h.cfg.Logger.Info("hub stopped")
	}
}

// ClientURL is the nats:// URL of the client listener, or "" when the hub is
// not running.
func (h *Hub) ClientURL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv == nil {
		return ""
	}
	return h.srv.ClientURL()
}

// LeafURL is the URL edges dial: nats-leaf://host:port, or tls://host:port
// when Config.TLS is set; "" when the hub is not running.
func (h *Hub) LeafURL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.leafURLLocked()
}

func (h *Hub) leafURLLocked() string {
	if h.srv == nil {
		return ""
	}
	vz, err := h.srv.Varz(nil)
	if err != nil {
		return ""
	}
	scheme := "nats-leaf"
	if h.cfg.TLS != nil {
		scheme = "tls"
	}
	host := vz.LeafNode.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(vz.LeafNode.Port))
}

// Conn is core's in-process connection to the hub (no TCP), or nil when the
// hub is not running. The hub owns it: do not close it.
func (h *Hub) Conn() *nats.Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nc
}

// JetStream is the JetStream context of Conn, or nil when not running.
func (h *Hub) JetStream() jetstream.JetStream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.js
}

// Domain is the hub's JetStream domain.
func (h *Hub) Domain() string { return h.cfg.Domain }

// LeafCount is the number of leaf nodes connected now (0 when not running).
func (h *Hub) LeafCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv == nil {
		return 0
	}
	return h.srv.NumLeafNodes()
}

func (h *Hub) jetStream() (jetstream.JetStream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.js == nil {
		return nil, ErrNotStarted
	}
	return h.js, nil
}

func randomSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
