package devices

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests    *prometheus.CounterVec
	caRemaining *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{requests: registerOrExisting(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "devices_requests_total",
		Help: "Device requests answered by core (enroll, nonce, revoke, renew, token, snapshot), by result.",
	}, []string{"op", "result"})),
		caRemaining: registerOrExisting(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tenant_ca_remaining_seconds",
			Help: "Least time left, over all tenants, before the newest CA generation's issuing or root certificate expires (set by core's maintenance).",
		}, []string{"kind"}))}
}

func registerOrExisting[T prometheus.Collector](reg prometheus.Registerer, c T) T {
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
