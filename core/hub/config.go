package hub

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Names of the delta stream. Every edge and every relay uses these.
const (
	// StreamName is the JetStream stream that carries signed deltas.
	StreamName = "IAM_DELTAS"
	// StreamSubjects is the subject filter of StreamName; subjects follow
	// melmastoon.iam.<entity>.<verb>.v<N>.
	StreamSubjects = "melmastoon.iam.>"
	// SubjectPrefix is StreamSubjects without the wildcard.
	SubjectPrefix = "melmastoon.iam."
)

// Defaults of Config.
const (
	// DefaultClientListen is the client listener of the hub.
	DefaultClientListen = "127.0.0.1:4222"
	// DefaultLeafListen is the leaf-node listener of the hub.
	DefaultLeafListen = "127.0.0.1:7422"
	// DefaultDomain is the JetStream domain of the hub; edges address the
	// hub's stream through it.
	DefaultDomain = "iam-hub"
	// DefaultServerName names the embedded server.
	DefaultServerName = "iam-hub"
	// DefaultStreamMaxAge bounds how long a delta is kept: an edge offline
	// longer than this must bootstrap from a signed snapshot.
	DefaultStreamMaxAge = 7 * 24 * time.Hour
	// DefaultStreamMaxBytes bounds the stream's size on disk (1 GiB); the
	// oldest deltas are discarded first.
	DefaultStreamMaxBytes int64 = 1 << 30
	// DefaultStreamMaxMsgSize bounds one delta (1 MiB).
	DefaultStreamMaxMsgSize int32 = 1 << 20
	// DefaultDuplicateWindow is how long a Nats-Msg-Id is remembered for
	// de-duplication; a relay retry must come within it.
	DefaultDuplicateWindow = 2 * time.Minute
	// DefaultReadyTimeout bounds how long Start waits for the server.
	DefaultReadyTimeout = 10 * time.Second
	// DefaultMaxPayload is the server's maximum message payload; it must
	// exceed DefaultStreamMaxMsgSize to leave room for headers.
	DefaultMaxPayload int32 = 2 << 20
)

// internalUser is the user of core's own in-process connection.
const internalUser = "iam-core-internal"

// LeafCredential is a user name and password that a leaf node (an edge)
// presents on the leaf listener.
type LeafCredential struct {
	User     string
	Password string
}

// Config configures a Hub.
type Config struct {
	// DataDir holds JetStream file storage under DataDir/jetstream. Required.
	DataDir string
	// ServerName names the embedded server (default DefaultServerName).
	ServerName string
	// ClientListen is host:port of the client listener; port -1 picks a
	// random free port (default DefaultClientListen).
	ClientListen string
	// ClientUsers may connect on the client listener (other core processes).
	// Core's own in-process connection uses an internal user with a random
	// password and needs no entry here.
	ClientUsers []LeafCredential
	// LeafListen is host:port of the leaf-node listener; port -1 picks a
	// random free port (default DefaultLeafListen).
	LeafListen string
	// LeafUsers are the credentials edges present. At least one is required:
	// the hub never accepts anonymous leaf nodes.
	LeafUsers []LeafCredential
	// TLS, when set, is required on the leaf listener. Set ClientAuth and
	// ClientCAs in it to demand client certificates as well.
	TLS *tls.Config
	// Domain is the JetStream domain of the hub (default DefaultDomain).
	Domain string
	// StreamMaxAge, StreamMaxBytes, StreamMaxMsgSize and DuplicateWindow
	// are the limits of the delta stream (defaults DefaultStreamMaxAge,
	// DefaultStreamMaxBytes, DefaultStreamMaxMsgSize,
	// DefaultDuplicateWindow).
	StreamMaxAge     time.Duration
	StreamMaxBytes   int64
	StreamMaxMsgSize int32
	DuplicateWindow  time.Duration
	// SyncAlways makes JetStream fsync every write. Off by default (the
	// server syncs every two minutes): a process crash loses nothing, a
	// power loss can lose acknowledged deltas, which the relay must then
	// republish.
	SyncAlways bool
	// ReadyTimeout bounds how long Start waits (default DefaultReadyTimeout).
	ReadyTimeout time.Duration
	// Logger receives the hub's and the server's log lines (default
	// slog.Default()).
	Logger *slog.Logger
}

// CheckAndSetDefaults fills the zero fields with the defaults and returns
// an error wrapping ErrInvalidConfig when a field is unusable.
func (c *Config) CheckAndSetDefaults() error {
	c.setDefaults()
	if c.DataDir == "" {
		return fmt.Errorf("%w: DataDir is required", ErrInvalidConfig)
	}
	if len(c.LeafUsers) == 0 {
		return fmt.Errorf("%w: at least one leaf user is required", ErrInvalidConfig)
	}
	if err := checkCredentials(c.LeafUsers); err != nil {
		return err
	}
	if err := checkCredentials(c.ClientUsers); err != nil {
		return err
	}
	if c.StreamMaxMsgSize > DefaultMaxPayload/2 {
		return fmt.Errorf("%w: StreamMaxMsgSize over %d", ErrInvalidConfig, DefaultMaxPayload/2)
	}
	for _, hp := range []string{c.ClientListen, c.LeafListen} {
		if _, _, err := splitListen(hp); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) setDefaults() {
	setString(&c.ServerName, DefaultServerName)
	setString(&c.ClientListen, DefaultClientListen)
	setString(&c.LeafListen, DefaultLeafListen)
	setString(&c.Domain, DefaultDomain)
	if c.StreamMaxAge <= 0 {
		c.StreamMaxAge = DefaultStreamMaxAge
	}
	if c.StreamMaxBytes <= 0 {
		c.StreamMaxBytes = DefaultStreamMaxBytes
	}
	if c.StreamMaxMsgSize <= 0 {
		c.StreamMaxMsgSize = DefaultStreamMaxMsgSize
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func checkCredentials(creds []LeafCredential) error {
	for _, u := range creds {
		if u.User == "" || u.Password == "" {
			return fmt.Errorf("%w: a credential has an empty user or password", ErrInvalidConfig)
		}
		if u.User == internalUser {
			return fmt.Errorf("%w: user %q is reserved", ErrInvalidConfig, internalUser)
		}
	}
	return nil
}

// splitListen parses host:port; port -1 means a random port.
func splitListen(hostport string) (string, int, error) {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, fmt.Errorf("%w: listen address %q: %w", ErrInvalidConfig, hostport, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("%w: listen port %q", ErrInvalidConfig, p)
	}
	return host, port, nil
}
