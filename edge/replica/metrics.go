package replica

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	applied    prometheus.Counter
	rejected   *prometheus.CounterVec
	skipped    prometheus.Counter
	seq        prometheus.Gauge
	tenants    prometheus.Gauge
	cpAccepted prometheus.Counter
	cpRejected *prometheus.CounterVec
	snapshots  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, maxStaleness func() float64) (*metrics, error) {
	m := &metrics{
		applied: prometheus.NewCounter(prometheus.CounterOpts{Name: "delta_applied_total",
			Help: "Deltas verified and committed to the edge replica."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "delta_rejected_total",
			Help: "Deltas and snapshots the edge replica refused, by reason."}, []string{"reason"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "delta_skipped_total",
			Help: "Stream sequences the caller chose to skip (cursor advanced, nothing applied)."}),
		seq: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edge_replica_seq",
			Help: "Last IAM_DELTAS stream sequence applied by the edge replica."}),
		tenants: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edge_replica_tenants",
			Help: "Tenant chains the edge replica follows."}),
		cpAccepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "checkpoint_accepted_total",
			Help: "Signed checkpoints accepted by the edge replica."}),
		cpRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "checkpoint_rejected_total",
			Help: "Signed checkpoints the edge replica refused, by reason."}, []string{"reason"}),
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{Name: "edge_replica_snapshots_loaded_total",
			Help: "Signed tenant snapshots loaded by the edge replica."}),
	}
	stale := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edge_replica_staleness_seconds",
		Help: "How long the stalest followed tenant has not heard from core: age of its newest signed checkpoint or delta (freeze detection)."}, maxStaleness)
	var errs []error
	for _, c := range []prometheus.Collector{m.applied, m.rejected, m.skipped, m.seq, m.tenants,
		m.cpAccepted, m.cpRejected, m.snapshots, stale} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}
