package devices

import (
	"errors"
	"log/slog"

	"github.com/melmastoon/iam/core/store"
)

// Service enrolls devices and answers their requests. Create it with New;
// it is safe for concurrent use.
type Service struct {
	cfg   Config
	log   *slog.Logger
	store *store.Store
	m     *metrics
}

// New checks cfg and registers the metrics.
func New(cfg Config) (*Service, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, log: cfg.Logger, store: cfg.Store, m: newMetrics(cfg.Registry)}, nil
}

func isUnavailable(err error) bool { return errors.Is(err, store.ErrUnavailable) }
