package httpserve

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts the connections the caps refused, for every server
// sharing it.
type Metrics struct {
	refusedVec *prometheus.CounterVec
}

// NewMetrics returns a fresh set of counters.
func NewMetrics() *Metrics {
	return &Metrics{refusedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dxl_http_conns_refused_total",
		Help: "Connections closed at accept because their client IP held MaxConnsPerIP open ones, by server.",
	}, []string{"server", "reason"})}
}

// Collectors returns the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.refusedVec}
}

func (m *Metrics) refused(server, reason string) {
	if m != nil {
		m.refusedVec.WithLabelValues(server, reason).Inc()
	}
}
