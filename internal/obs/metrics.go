package obs

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HTTPDurationBuckets are the upper bounds, in seconds, of
// http_request_duration_seconds: from 50µs (edge permission checks answered
// from memory) to 10s (slow logins behind the Argon2 queue).
var HTTPDurationBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// DBDurationBuckets are the upper bounds, in seconds, of
// db_query_duration_seconds: from 100µs to 10s.
var DBDurationBuckets = []float64{
	0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// Metrics holds a private Prometheus registry and the series shared by the
// services. Components may register their own collectors in Registry.
type Metrics struct {
	// Registry holds every collector below plus the Go and process
	// collectors. It is never the global default registry.
	Registry *prometheus.Registry

	// HTTPRequests counts finished requests by route, method and status
	// code (http_requests_total).
	HTTPRequests *prometheus.CounterVec
	// HTTPErrors counts finished requests with status >= 400
	// (http_request_errors_total).
	HTTPErrors *prometheus.CounterVec
	// HTTPDuration observes request durations by route and method
	// (http_request_duration_seconds).
	HTTPDuration *prometheus.HistogramVec
	// DBDuration observes query durations by operation
	// (db_query_duration_seconds).
	DBDuration *prometheus.HistogramVec

	handler http.Handler
}

// NewMetrics returns Metrics with a fresh registry holding the Go and process
// collectors and the HTTP and database series. It never touches
// prometheus.DefaultRegisterer, so tests and several components in one
// process each get their own.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests finished, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_request_errors_total",
			Help: "HTTP requests finished with a status code of 400 or more.",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time from the start of the handler to its return, by route pattern and method.",
			Buckets: HTTPDurationBuckets,
		}, []string{"route", "method"}),
		DBDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "db_query_duration_seconds",
			Help:    "PostgreSQL query duration, by the first SQL keyword.",
			Buckets: DBDurationBuckets,
		}, []string{"operation"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.HTTPRequests, m.HTTPErrors, m.HTTPDuration, m.DBDuration,
	)
	m.handler = promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		Registry:          m.Registry,
		EnableOpenMetrics: true,
	})
	return m
}

// Handler returns the handler that serves m.Registry in the Prometheus
// exposition format; mount it at /metrics.
func (m *Metrics) Handler() http.Handler {
	return m.handler
}

// RegisterOrExisting registers c on reg and returns it, or, when an equal
// collector is registered already (a component restarted on the same
// registry), returns that one so both update the same series.
func RegisterOrExisting[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
	}
	return c
}
