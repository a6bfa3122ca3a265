package auth

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the sign-in metrics, registered on the service's registry.
type metrics struct {
	loginAttempts   *prometheus.CounterVec
	loginDuration   prometheus.Histogram
	refreshDuration prometheus.Histogram
	refreshes       *prometheus.CounterVec
	tokenRejects    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, queueDepth func() float64) *metrics {
	m := &metrics{
		loginAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "auth_login_attempts_total",
			Help: "Sign-in attempts by result (success, mfa_required, invalid_credentials, throttled, overloaded, error)."}, []string{"result"}),
		loginDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "auth_login_duration_seconds",
			Help: "Duration of password sign-ins, including the hashing queue.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		refreshDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "token_refresh_duration_seconds",
			Help: "Duration of refresh-token grants.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "token_refresh_total",
			Help: "Refresh grants by result (rotated, grace_replay, reuse_detected, invalid)."}, []string{"result"}),
		tokenRejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "access_token_rejected_total",
			Help: "Access tokens refused at core, by reason."}, []string{"reason"}),
	}
	reg.MustRegister(m.loginAttempts, m.loginDuration, m.refreshDuration, m.refreshes, m.tokenRejects,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "password_hash_queue_depth",
			Help: "Sign-ins waiting for a password-hashing slot."}, queueDepth))
	return m
}
