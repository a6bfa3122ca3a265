package replica

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/syncproto"
)

// DefaultBusyTimeout is how long a connection waits for a lock held by
// another connection (for example a second process) before failing.
const DefaultBusyTimeout = 5 * time.Second

// Config configures a Replica.
type Config struct {
	// Path is the SQLite file; created if missing. It must not contain '?'
	// or '#' (it is used in a file: URI).
	Path string
	// SystemAnchor is the pinned system delta root; every tenant root must
	// be certified by it.
	SystemAnchor syncproto.SigningKey
	// Logger receives structured logs; default discards.
	Logger *slog.Logger
	// Registry receives the metrics; default a private registry.
	Registry prometheus.Registerer
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Freshness is the checkpoint freshness window; default
	// syncproto.DefaultFreshness.
	Freshness time.Duration
	// BusyTimeout is SQLite's busy timeout; default DefaultBusyTimeout.
	BusyTimeout time.Duration
	// OnApplied, if set, is called after each commit with the decoded
	// changes, in stream order, from the goroutine that called Apply or
	// LoadSnapshot. It must not call Apply, Skip, LoadSnapshot or
	// AcceptCheckpoint (they would deadlock); reads are fine.
	OnApplied func(Applied)
}

// CheckAndSetDefaults validates the config and fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Path == "" {
		return errors.New("replica: Path is required")
	}
	if strings.ContainsAny(c.Path, "?#") {
		return fmt.Errorf("replica: Path %q must not contain '?' or '#'", c.Path)
	}
	if c.SystemAnchor.Kid == "" || len(c.SystemAnchor.PublicKey) != 32 {
		return errors.New("replica: SystemAnchor needs a kid and a 32-byte Ed25519 public key")
	}
	if c.Freshness < 0 || c.BusyTimeout < 0 {
		return errors.New("replica: negative Freshness or BusyTimeout")
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
	if c.Freshness == 0 {
		c.Freshness = syncproto.DefaultFreshness
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = DefaultBusyTimeout
	}
	return nil
}
