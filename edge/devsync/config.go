package devsync

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/edge/replica"
	"github.com/melmastoon/iam/syncproto"
)

// Defaults and limits.
const (
	DefaultClockSkew        = 5 * time.Minute
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultPingInterval     = 20 * time.Second
	DefaultPingTimeout      = 10 * time.Second
	DefaultSendBuffer       = 64
	DefaultWriteTimeout     = 10 * time.Second
	// DefaultSnapshotTimeout bounds a Device snapshot request to core.
	DefaultSnapshotTimeout = 2 * time.Second
	// DefaultRequestTimeout bounds a forwarded renew or token request.
	DefaultRequestTimeout = 5 * time.Second
	// RevokeCloseDelay is the longest a connection stays open after its
	// device's revocation was applied (the delta is pushed first).
	RevokeCloseDelay = time.Second
	// MaxInflightRequests caps the renew and token requests one connection
	// may have at core at once; more are answered ErrCodeUnavailable.
	MaxInflightRequests = 4
	// MaxRequestNonceBytes caps the nonce of a renew or token request.
	MaxRequestNonceBytes = 256
)

// Store is what the server reads from the edge replica; *replica.Replica
// implements it.
type Store interface {
	Device(ctx context.Context, tenant, id string) (replica.Device, error)
	DeviceDeltas(ctx context.Context, tenant, id string, after int64) ([]replica.DeviceDelta, error)
	KeyRotations(ctx context.Context, tenant string) ([][]byte, error)
	TenantCA(ctx context.Context, tenant string) (replica.TenantCA, error)
	Keyring(tenant string) *syncproto.Keyring
}

// Config configures a Server.
type Config struct {
	// Store is the replica (required).
	Store Store
	// Core forwards requests to core; nil answers every request
	// ErrCodeUnavailable and never fetches Device snapshots.
	Core Core
	// Logger (default: discard) and Registry (default: a private one).
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ClockSkew is the tolerance around a certificate's validity window
	// (default DefaultClockSkew; negative: none).
	ClockSkew time.Duration
	// Timeouts and intervals; zero takes the Default* value.
	HandshakeTimeout time.Duration
	PingInterval     time.Duration
	PingTimeout      time.Duration
	WriteTimeout     time.Duration
	SnapshotTimeout  time.Duration
	RequestTimeout   time.Duration
	// SendBuffer is the number of frames queued per connection before the
	// device is dropped as a slow consumer (default DefaultSendBuffer).
	SendBuffer int
	// Stale, if set, is asked at every handshake: true refuses the device
	// with CloseEdgeStale (the edge runs fail-closed and is stale).
	Stale func() bool
}

// CheckAndSetDefaults validates c and fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Store == nil {
		return errors.New("devsync: Store is required")
	}
	if c.SendBuffer < 0 || c.HandshakeTimeout < 0 || c.PingInterval < 0 || c.PingTimeout < 0 ||
		c.WriteTimeout < 0 || c.SnapshotTimeout < 0 || c.RequestTimeout < 0 {
		return errors.New("devsync: negative timeout or buffer")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	switch {
	case c.ClockSkew == 0:
		c.ClockSkew = DefaultClockSkew
	case c.ClockSkew < 0:
		c.ClockSkew = 0
	}
	setDefault(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setDefault(&c.PingInterval, DefaultPingInterval)
	setDefault(&c.PingTimeout, DefaultPingTimeout)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.SnapshotTimeout, DefaultSnapshotTimeout)
	setDefault(&c.RequestTimeout, DefaultRequestTimeout)
	if c.SendBuffer == 0 {
		c.SendBuffer = DefaultSendBuffer
	}
	return nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}
