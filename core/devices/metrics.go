package devices

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/melmastoon/iam/internal/obs"
)

type metrics struct {
	requests    *prometheus.CounterVec
	caRemaining *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{requests: obs.RegisterOrExisting(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "devices_requests_total",
		Help: "Device requests answered by core (enroll, nonce, revoke, renew, token, snapshot), by result.",
	}, []string{"op", "result"})),
		caRemaining: obs.RegisterOrExisting(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tenant_ca_remaining_seconds",
			Help: "Least time left, over all tenants, before the newest CA generation's issuing or root certificate expires (set by core's maintenance).",
		}, []string{"kind"}))}
}
