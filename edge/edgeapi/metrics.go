package edgeapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/edge/decide"
)

// decisionBuckets span a cached lookup (~1 µs) to a slow full verify.
var decisionBuckets = prometheus.ExponentialBuckets(1e-6, 4, 11) // 1 µs … ~1 s

type metrics struct {
	tokens        *prometheus.HistogramVec
	checks        *prometheus.HistogramVec
	cacheHits     prometheus.CounterFunc
	cacheMisses   prometheus.CounterFunc
	staleRefusals prometheus.Counter
	tokenObs      map[string]prometheus.Observer
	checkObs      map[string]prometheus.Observer
}

func newMetrics(d *decide.Decider) *metrics {
	m := &metrics{
		tokens: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "token_validation_duration_seconds",
			Help: "Access token verifications at the edge, by result (ok or the refusal reason).", Buckets: decisionBuckets},
			[]string{"result"}),
		checks: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "permission_check_duration_seconds",
			Help: "Permission checks at the edge (token verification included), by outcome.", Buckets: decisionBuckets},
			[]string{"outcome"}),
		cacheHits: prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "permission_cache_hits_total",
			Help: "Token verifications answered by the verified-token cache."},
			func() float64 { h, _ := d.CacheStats(); return float64(h) }),
		cacheMisses: prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "permission_cache_misses_total",
			Help: "Token verifications that ran in full (not cached, expired entry, or caching off for the account)."},
			func() float64 { _, m := d.CacheStats(); return float64(m) }),
		staleRefusals: prometheus.NewCounter(prometheus.CounterOpts{Name: "edge_stale_refusals_total",
			Help: "Decisions refused because the replica was staler than the limit (fail-closed mode)."}),
		tokenObs: map[string]prometheus.Observer{},
		checkObs: map[string]prometheus.Observer{},
	}
	for _, r := range []string{"ok", "malformed", "bad_signature", "expired", "not_yet_valid", "unknown_key",
		"wrong_issuer", "wrong_audience", "revoked_session", "account_inactive", "unknown_tenant", "other"} {
		m.tokenObs[r] = m.tokens.WithLabelValues(r)
	}
	for _, o := range []string{"allowed", "denied", "token_refused"} {
		m.checkObs[o] = m.checks.WithLabelValues(o)
	}
	return m
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.tokens, m.checks, m.cacheHits, m.cacheMisses, m.staleRefusals} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// observeToken records one verification (the maps are read-only after
// newMetrics, so no lock).
func (m *metrics) observeToken(err error, d time.Duration) {
	m.tokenObs[decide.Reason(err)].Observe(d.Seconds())
}

func (m *metrics) observeCheck(outcome string, d time.Duration) {
	m.checkObs[outcome].Observe(d.Seconds())
}
