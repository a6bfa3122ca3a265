package devsync

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	connections prometheus.Gauge
	handshakes  *prometheus.CounterVec
	framesSent  prometheus.Counter
	disconnects *prometheus.CounterVec
	requests    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edge_device_connections",
			Help: "Device sync connections past the handshake."}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edge_device_handshakes_total",
			Help: "Device sync handshakes by result (ok or the refusal)."}, []string{"result"}),
		framesSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "edge_device_frames_sent_total",
			Help: "Frames written to devices."}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edge_device_disconnects_total",
			Help: "Authenticated device connections that ended, by reason."}, []string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edge_device_requests_total",
			Help: "Requests forwarded to core for devices, by kind (renew, token, snapshot) and result."},
			[]string{"kind", "result"}),
	}
	for _, c := range []prometheus.Collector{m.connections, m.handshakes, m.framesSent, m.disconnects, m.requests} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
