package edge

import (
	"context"
	"encoding/json"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counters are the edge's own metrics (the replica registers the delta ones).
type counters struct {
	lastApplied       prometheus.Gauge
	gapRepairs        *prometheus.CounterVec
	checkpointRejects *prometheus.CounterVec
	hubConnected      prometheus.Gauge
	resyncs           *prometheus.CounterVec
	apiRefusals       prometheus.Counter
}

func newCounters(reg prometheus.Registerer) *counters {
	c := &counters{
		lastApplied: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edge_last_applied_timestamp_seconds",
			Help: "When the edge last applied a delta."}),
		gapRepairs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edge_gap_repairs_total",
			Help: "Stream ranges re-fetched (fetched) or skipped as unavailable (failed)."}, []string{"result"}),
		checkpointRejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edge_checkpoint_rejected_total",
			Help: "Signed checkpoints refused, by reason."}, []string{"reason"}),
		hubConnected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edge_hub_connected",
			Help: "1 while the edge consumes the hub's delta stream."}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edge_tenant_resyncs_total",
			Help: "Tenants resynchronised from a snapshot after a hole in their chain (ok, failed)."}, []string{"result"}),
		apiRefusals: prometheus.NewCounter(prometheus.CounterOpts{Name: "edge_api_token_refusals_total",
			Help: "Decision API requests refused for a missing or wrong API token."}),
	}
	reg.MustRegister(c.lastApplied, c.gapRepairs, c.checkpointRejects, c.hubConnected, c.resyncs, c.apiRefusals)
	return c
}

// Status is what an edge reports to core (iam.edge.status.<name>).
type Status struct {
	Name        string `json:"name"`
	StreamSeq   uint64 `json:"stream_seq"`
	Tenants     int    `json:"tenants"`
	StalenessMS int64  `json:"staleness_ms"`
	Version     string `json:"version"`
}

// Status returns the edge's current position.
func (e *Edge) Status() Status {
	return Status{Name: e.cfg.Name, StreamSeq: e.replica.StreamCursor(), Tenants: len(e.replica.Tenants()),
		StalenessMS: e.replica.MaxStaleness().Milliseconds(), Version: e.cfg.Version}
}

// reportStatus publishes the status to core every StatusEvery.
func (e *Edge) reportStatus(ctx context.Context) {
	t := time.NewTicker(e.cfg.StatusEvery)
	defer t.Stop()
	for {
		connected := e.isConnected()
		if connected {
			e.counters.hubConnected.Set(1)
		} else {
			e.counters.hubConnected.Set(0)
		}
		if b, err := json.Marshal(e.Status()); err == nil && connected {
			_ = e.leaf.Conn().Publish("iam.edge.status."+e.cfg.Name, b)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
