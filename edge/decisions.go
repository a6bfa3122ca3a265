package edge

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/edge/decide"
	"github.com/melmastoon/iam/edge/devsync"
	"github.com/melmastoon/iam/edge/edgeapi"
	"github.com/melmastoon/iam/edge/replica"
)

// openDecisions loads the decision engine from the replica and builds the
// decision API. It runs after the replica is open and before any delta is
// consumed, so Apply (applied) sees every later commit.
func (e *Edge) openDecisions(ctx context.Context) error {
	var err error
	e.decider, err = decide.New(ctx, decide.Config{Replica: e.replica, IssuerBase: e.cfg.IssuerBase,
		ClockSkew: e.cfg.ClockSkew, CacheSize: e.cfg.TokenCacheSize, Now: e.cfg.Now, Logger: e.log})
	if err != nil {
		return err
	}
	maxStale := e.cfg.MaxStaleness
	if maxStale < 0 {
		maxStale = 0
	}
	e.service, err = edgeapi.New(edgeapi.Config{Decider: e.decider, Staleness: e.replica.MaxStaleness,
		MaxStaleness: maxStale, FailClosed: e.cfg.FailClosed, Registry: e.metrics.Registry})
	if err != nil {
		return err
	}
	e.lag = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cache_invalidation_lag_seconds",
		Help:    "From a change's commit at core (the delta's signed time) to its application in the edge's decision engine.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}) // 1 ms … ~33 s
	e.metrics.Registry.MustRegister(e.lag) // edge_replica_staleness_seconds is the replica's
	return nil
}

// applied follows one committed delta: the decision engine first, so a
// revocation takes effect before anything else hears of it, then device
// sync.
func (e *Edge) applied(a replica.Applied) {
	if e.decider != nil {
		e.decider.Apply(a)
	}
	if e.devices != nil {
		e.devices.Apply(a)
	}
	if !a.Time.IsZero() && e.lag != nil {
		e.lag.Observe(max(0, e.cfg.Now().Sub(a.Time).Seconds()))
	}
	if e.cfg.OnApplied != nil {
		e.cfg.OnApplied(a)
	}
}

// staleSeconds returns the replica staleness in whole seconds and whether
// it is past the limit.
func (e *Edge) staleSeconds() (int64, bool) {
	st, stale := e.service.Stale()
	return int64(st / time.Second), stale
}

// openDeviceSync builds the device sync server over the replica. Its
// requests to core go over the leaf node's connection, looked up per
// request since the leaf starts later (Run).
func (e *Edge) openDeviceSync() error {
	var err error
	e.devices, err = devsync.New(devsync.Config{Store: e.replica, Logger: e.log, Registry: e.metrics.Registry,
		Now: e.cfg.Now, ClockSkew: e.cfg.DeviceClockSkew,
		Core: devsync.NATSCore{Conn: func() *nats.Conn {
			if e.leaf == nil {
				return nil
			}
			return e.leaf.Conn()
		}},
		Stale: func() bool {
			if !e.cfg.FailClosed {
				return false
			}
			_, stale := e.service.Stale()
			return stale
		}})
	return err
}
