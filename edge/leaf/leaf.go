package leaf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/melmastoon/iam/internal/natsembed"
)

// Leaf is the edge's embedded NATS leaf node. Create it with New, run it
// with Start, stop it with Close. A Leaf is not restartable.
type Leaf struct {
	cfg Config

	mu      sync.Mutex
	srv     *server.Server
	nc      *nats.Conn
	hubJS   jetstream.JetStream
	localJS jetstream.JetStream
	started bool
	closed  bool
}

// New checks cfg and returns a Leaf that is not running yet.
func New(cfg Config) (*Leaf, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	return &Leaf{cfg: cfg}, nil
}

// Start runs the server and opens the in-process connection. It does not
// wait for the hub: the link comes up (and comes back) on its own; use
// Connected or WaitConnected to observe it.
func (l *Leaf) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.started {
		return ErrAlreadyStarted
	}
	l.started = true
	if err := l.start(ctx); err != nil {
		l.shutdownLocked()
		return err
	}
	l.cfg.Logger.InfoContext(ctx, "leaf started", slog.String("hub_url", l.cfg.HubLeafURL),
		slog.String("hub_domain", l.cfg.Domain), slog.String("local_domain", l.cfg.LocalDomain))
	return nil
}

func (l *Leaf) start(ctx context.Context) error {
	opts, err := l.serverOptions()
	if err != nil {
		return err
	}
	l.srv, err = natsembed.Start(ctx, opts, l.cfg.Logger, l.cfg.ReadyTimeout)
	if errors.Is(err, natsembed.ErrNotReady) {
		return ErrNotReady
	}
	if err != nil {
		return fmt.Errorf("leaf: %w", err)
	}
	return l.connect()
}

// maxPending bounds what the leaf server buffers for the edge's in-process
// connection before dropping it as a slow consumer.
const maxPending = 1 << 30

func (l *Leaf) serverOptions() (*server.Options, error) {
	hubURL, err := l.cfg.hubURL()
	if err != nil {
		return nil, err
	}
	remote := &server.RemoteLeafOpts{
		URLs:      []*url.URL{hubURL},
		TLS:       l.cfg.TLS != nil || hubURL.Scheme == "tls",
		TLSConfig: l.cfg.TLS,
	}
	return &server.Options{
		ServerName:      l.cfg.ServerName,
		DontListen:      true, // in-process clients only
		JetStream:       true,
		JetStreamDomain: l.cfg.LocalDomain,
		StoreDir:        l.cfg.DataDir, // the server appends "jetstream"
		NoSigs:          true,
		// Snapshot chunks of a large tenant arrive faster than a busy edge
		// reads them; the default 64 MiB would have the server drop the
		// edge's own connection as a slow consumer mid-bootstrap.
		MaxPending: maxPending,
		LeafNode: server.LeafNodeOpts{
			ReconnectInterval: l.cfg.ReconnectInterval,
			Remotes:           []*server.RemoteLeafOpts{remote},
		},
	}, nil
}

func (l *Leaf) connect() error {
	nc, err := nats.Connect("", nats.InProcessServer(l.srv), nats.Name("iam-edge-leaf"), nats.NoReconnect())
	if err != nil {
		return fmt.Errorf("leaf: in-process connection: %w", err)
	}
	hubJS, err := jetstream.NewWithDomain(nc, l.cfg.Domain)
	if err != nil {
		nc.Close()
		return fmt.Errorf("leaf: hub jetstream: %w", err)
	}
	localJS, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("leaf: local jetstream: %w", err)
	}
	l.nc, l.hubJS, l.localJS = nc, hubJS, localJS
	return nil
}

// Close closes the in-process connection and shuts the server down,
// waiting for it. It is safe to call more than once.
func (l *Leaf) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.shutdownLocked()
}

func (l *Leaf) shutdownLocked() {
	if l.nc != nil {
		l.nc.Close()
		l.nc, l.hubJS, l.localJS = nil, nil, nil
	}
	if l.srv != nil {
		l.srv.Shutdown()
		l.srv.WaitForShutdown()
		l.srv = nil
		l.cfg.Logger.Info("leaf stopped")
	}
}

// Conn is the edge's in-process connection to the leaf node, or nil when
// not running. The leaf owns it: do not close it.
func (l *Leaf) Conn() *nats.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.redialLocked()
	return l.nc
}

// redialLocked replaces a closed in-process connection while the server
// runs: the server closes a client that falls behind by MaxPending (a
// CPU-starved edge receiving a large snapshot), and the connection does not
// reconnect by itself (in-process). Without this the edge would retry with
// a dead connection forever.
func (l *Leaf) redialLocked() {
	if l.closed || l.srv == nil || l.nc == nil || !l.nc.IsClosed() {
		return
	}
	if err := l.connect(); err != nil {
		l.cfg.Logger.Warn("leaf: in-process connection closed and could not be re-dialled", "error", err)
		return
	}
	l.cfg.Logger.Warn("leaf: in-process connection was closed by the server; re-dialled")
}

// HubJetStream addresses the hub's JetStream through its domain
// (jetstream.NewWithDomain); nil when not running. Its calls fail with
// nats.ErrNoResponders or time out while the link is down.
func (l *Leaf) HubJetStream() jetstream.JetStream {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.redialLocked()
	return l.hubJS
}

// LocalJetStream addresses the leaf's own JetStream (Config.LocalDomain);
// nil when not running.
func (l *Leaf) LocalJetStream() jetstream.JetStream {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.redialLocked()
	return l.localJS
}

// Connected reports whether the leaf-node link to the hub is up.
func (l *Leaf) Connected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.srv != nil && l.srv.NumLeafNodes() > 0
}

// WaitConnected waits until the link is up and the hub's JetStream answers
// through its domain (the link's subject interest settles a moment after
// Connected turns true). It returns an error wrapping ctx's error when ctx
// ends first.
func (l *Leaf) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(connectPoll)
	defer t.Stop()
	for !l.Connected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("leaf: waiting for the hub link: %w", ctx.Err())
		case <-t.C:
		}
	}
	js, err := l.hub()
	if err != nil {
		return err
	}
	err = retryUnreachable(ctx, func(ctx context.Context) error {
		_, err := js.AccountInfo(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("leaf: waiting for the hub's jetstream: %w", err)
	}
	return nil
}

// connectPoll is how often WaitConnected looks at the link.
const connectPoll = 10 * time.Millisecond

func (l *Leaf) hub() (jetstream.JetStream, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.redialLocked()
	if l.hubJS == nil {
		return nil, ErrNotStarted
	}
	return l.hubJS, nil
}
