package relay

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/core/hub"
	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/store"
)

// Defaults of Config.
const (
	// DefaultCheckpointInterval is how often each tenant's checkpoint is
	// published (docs/deltas.md: every 5 s, also when idle).
	DefaultCheckpointInterval = 5 * time.Second
	// DefaultBatchSize is how many outbox rows one pass publishes before it
	// marks them in one transaction.
	DefaultBatchSize = 256
	// DefaultPollInterval is the fallback wake-up when no notification comes.
	DefaultPollInterval = time.Second
	// DefaultRetryInterval is how often a relay that is not leader tries to
	// take the leader lock.
	DefaultRetryInterval = time.Second
	// DefaultMaxBackoff caps the back-off after a failed publish pass.
	DefaultMaxBackoff = 5 * time.Second
	// MaxBatchSize caps Config.BatchSize.
	MaxBatchSize = 10_000
	// Source is the envelope source of every delta the relay signs.
	Source = "iam-core"
)

// Hub is what the relay needs of core/hub.Hub; *hub.Hub implements it.
type Hub interface {
	// PublishDelta appends to IAM_DELTAS with a message id and the expected
	// last stream sequence.
	PublishDelta(ctx context.Context, subject string, data []byte, msgID string,
		expectedLastSeq uint64, headers nats.Header) (uint64, error)
	// LastSequence is the stream's last sequence.
	LastSequence(ctx context.Context) (uint64, error)
	// Conn is the in-process connection (checkpoints go out on it).
	Conn() *nats.Conn
	// JetStream reads the stream back during reconciliation.
	JetStream() jetstream.JetStream
}

// Config configures a Relay.
type Config struct {
	// Store is core's database (its pool runs as iam_app). Required.
	Store *store.Store
	// DatabaseURL is the URL the leader connection dials; the same URL as
	// the store's. The connection switches to store.ServiceRole. Required.
	DatabaseURL string
	// Hub is the NATS hub with the delta stream. Required.
	Hub Hub
	// KEK seals and opens the private delta keys. Required.
	KEK keys.KeyEncrypter
	// Logger is required.
	Logger *slog.Logger
	// Registry receives the relay's metrics (default: a private registry).
	Registry prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// CheckpointInterval (default DefaultCheckpointInterval).
	CheckpointInterval time.Duration
	// BatchSize (default DefaultBatchSize, at most MaxBatchSize).
	BatchSize int
	// PollInterval (default DefaultPollInterval).
	PollInterval time.Duration
	// RetryInterval (default DefaultRetryInterval).
	RetryInterval time.Duration
	// MaxBackoff (default DefaultMaxBackoff).
	MaxBackoff time.Duration

	// beforeMark, when set (tests only, see export_test.go), runs after a
	// batch is published and before it is marked; an error aborts the mark.
	beforeMark func(published int) error
}

// CheckAndSetDefaults fills the zero fields with defaults and returns an
// error wrapping ErrInvalidConfig when a required field is missing or a
// value is out of range.
func (c *Config) CheckAndSetDefaults() error {
	switch {
	case c.Store == nil:
		return fmt.Errorf("%w: Store is required", ErrInvalidConfig)
	case c.DatabaseURL == "":
		return fmt.Errorf("%w: DatabaseURL is required", ErrInvalidConfig)
	case c.Hub == nil:
		return fmt.Errorf("%w: Hub is required", ErrInvalidConfig)
	case c.KEK == nil:
		return fmt.Errorf("%w: KEK is required", ErrInvalidConfig)
	case c.Logger == nil:
		return fmt.Errorf("%w: Logger is required", ErrInvalidConfig)
	case c.BatchSize < 0 || c.BatchSize > MaxBatchSize:
		return fmt.Errorf("%w: BatchSize %d outside 0..%d", ErrInvalidConfig, c.BatchSize, MaxBatchSize)
	}
	c.setDefaults()
	return nil
}

func (c *Config) setDefaults() {
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	setDuration(&c.CheckpointInterval, DefaultCheckpointInterval)
	setDuration(&c.PollInterval, DefaultPollInterval)
	setDuration(&c.RetryInterval, DefaultRetryInterval)
	setDuration(&c.MaxBackoff, DefaultMaxBackoff)
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// *hub.Hub is the production Hub.
var _ Hub = (*hub.Hub)(nil)
