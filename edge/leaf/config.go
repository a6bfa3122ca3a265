package leaf

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Names shared with the hub. They must equal core/hub's StreamName and
// DefaultDomain; the tests check it. They are repeated here because edge
// must not import core.
const (
	// StreamName is the hub's delta stream.
	StreamName = "IAM_DELTAS"
	// DefaultDomain is the hub's JetStream domain.
	DefaultDomain = "iam-hub"
)

// Defaults of Config and of the consumer helpers.
const (
	// DefaultLocalDomain is the JetStream domain of the leaf's own store.
	DefaultLocalDomain = "iam-edge"
	// DefaultReconnectInterval is how often the leaf re-dials the hub.
	DefaultReconnectInterval = time.Second
	// DefaultReadyTimeout bounds how long Start waits for the server.
	DefaultReadyTimeout = 10 * time.Second
	// DefaultMaxAckPending bounds unacknowledged deltas per consumer: the
	// hub stops delivering past it, which bounds edge memory.
	DefaultMaxAckPending = 1024
	// DefaultAckWait is how long the hub waits for an ack before it
	// redelivers.
	DefaultAckWait = 30 * time.Second
	// DefaultConsumerInactiveThreshold removes a durable consumer on the
	// hub after an edge has been away this long (the stream's max age:
	// such an edge must bootstrap from a snapshot anyway).
	DefaultConsumerInactiveThreshold = 7 * 24 * time.Hour
	// MaxFetchRange bounds one FetchRange call, in messages.
	MaxFetchRange = 10_000
	// fetchBatch is how many messages FetchRange asks for at once.
	fetchBatch = 256
)

// Config configures a Leaf.
type Config struct {
	// DataDir holds the local JetStream store under DataDir/jetstream.
	DataDir string
	// ServerName names the embedded server (default "iam-" + LocalDomain).
	// It must be unique among the servers connected to one hub.
	ServerName string
	// HubLeafURL is the hub's leaf listener: nats-leaf://host:port or
	// tls://host:port. Required.
	HubLeafURL string
	// User and Password authenticate the leaf at the hub. Required.
	User     string
	Password string
	// TLS holds the root CAs that the hub's certificate must chain to and,
	// optionally, a client certificate. Setting it turns TLS on even for a
	// nats-leaf:// URL.
	TLS *tls.Config
	// Domain is the hub's JetStream domain (default DefaultDomain).
	Domain string
	// LocalDomain is the leaf's own JetStream domain, e.g. "edge-<name>"
	// (default DefaultLocalDomain). It must differ from Domain.
	LocalDomain string
	// ReconnectInterval is how often the leaf re-dials a lost hub (default
	// DefaultReconnectInterval).
	ReconnectInterval time.Duration
	// MaxAckPending, AckWait and ConsumerInactiveThreshold configure the
	// consumers that Consumer creates (defaults above).
	MaxAckPending             int
	AckWait                   time.Duration
	ConsumerInactiveThreshold time.Duration
	// ReadyTimeout bounds how long Start waits (default DefaultReadyTimeout).
	ReadyTimeout time.Duration
	// Logger receives the leaf's and the server's log lines (default
	// slog.Default()).
	Logger *slog.Logger
}

// CheckAndSetDefaults fills the zero fields with the defaults and returns
// an error wrapping ErrInvalidConfig when a field is unusable.
func (c *Config) CheckAndSetDefaults() error {
	c.setDefaults()
	switch {
	case c.DataDir == "":
		return fmt.Errorf("%w: DataDir is required", ErrInvalidConfig)
	case c.User == "" || c.Password == "":
		return fmt.Errorf("%w: User and Password are required", ErrInvalidConfig)
	case c.Domain == c.LocalDomain:
		return fmt.Errorf("%w: LocalDomain must differ from the hub's Domain %q", ErrInvalidConfig, c.Domain)
	case strings.ContainsAny(c.LocalDomain, ". *>") || strings.ContainsAny(c.Domain, ". *>"):
		return fmt.Errorf("%w: a JetStream domain is one subject token", ErrInvalidConfig)
	}
	_, err := c.hubURL()
	return err
}

func (c *Config) setDefaults() {
	setString(&c.Domain, DefaultDomain)
	setString(&c.LocalDomain, DefaultLocalDomain)
	setString(&c.ServerName, "iam-"+c.LocalDomain)
	if c.ReconnectInterval <= 0 {
		c.ReconnectInterval = DefaultReconnectInterval
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.ConsumerInactiveThreshold <= 0 {
		c.ConsumerInactiveThreshold = DefaultConsumerInactiveThreshold
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// hubURL parses HubLeafURL and adds the credentials to it.
func (c *Config) hubURL() (*url.URL, error) {
	u, err := url.Parse(c.HubLeafURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: HubLeafURL %q", ErrInvalidConfig, c.HubLeafURL)
	}
	switch u.Scheme {
	case "nats-leaf", "nats", "tls":
	default:
		return nil, fmt.Errorf("%w: HubLeafURL scheme %q (want nats-leaf or tls)", ErrInvalidConfig, u.Scheme)
	}
	u.User = url.UserPassword(c.User, c.Password)
	return u, nil
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}
