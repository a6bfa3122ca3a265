package relay

import "github.com/prometheus/client_golang/prometheus"

// metrics are the relay's metrics (names fixed by the observability docs).
type metrics struct {
	publishLag      prometheus.Histogram
	pending         prometheus.Gauge
	streamSeq       prometheus.Gauge
	retries         prometheus.Counter
	leader          prometheus.Gauge
	unknownMessages prometheus.Counter
	published       prometheus.Counter
	reconciled      prometheus.Counter
	checkpoints     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		publishLag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "outbox_publish_lag_seconds",
			Help:    "Time from an outbox row's creation to its delta being acknowledged by the stream.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "outbox_pending",
			Help: "Outbox rows not yet published (all tenants)."}),
		streamSeq: prometheus.NewGauge(prometheus.GaugeOpts{Name: "delta_stream_seq",
			Help: "Last stream sequence of IAM_DELTAS published or reconciled by this relay."}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "relay_publish_retries_total",
			Help: "Publish passes that failed and were retried with back-off."}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "relay_leader",
			Help: "1 while this relay holds the leader lock, else 0."}),
		unknownMessages: prometheus.NewCounter(prometheus.CounterOpts{Name: "relay_unknown_stream_messages_total",
			Help: "Stream messages found during reconciliation that match no known delta."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "relay_deltas_published_total",
			Help: "Deltas published to the stream (key rotations included)."}),
		reconciled: prometheus.NewCounter(prometheus.CounterOpts{Name: "relay_deltas_reconciled_total",
			Help: "Deltas found in the stream and recorded without publishing again."}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{Name: "relay_checkpoints_published_total",
			Help: "Signed checkpoints published."}),
	}
	reg.MustRegister(m.publishLag, m.pending, m.streamSeq, m.retries, m.leader, m.unknownMessages,
		m.published, m.reconciled, m.checkpoints)
	return m
}
