package auth

import "github.com/prometheus/client_golang/prometheus"

// metrics counts the token endpoint's failures and throttled refusals.
type metrics struct {
	failures  prometheus.Counter
	throttled *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dxl_token_failures_total",
			Help: "Token requests refused because the consumer key or secret was wrong.",
		}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxl_token_throttled_total",
			Help: "Token requests refused with 429 auth_throttled, by what was throttled (client or address).",
		}, []string{"scope"}),
	}
	for _, scope := range []string{"client", "address"} { // exposed at 0: an alert tells none from no data
		m.throttled.WithLabelValues(scope)
	}
	return m
}

// Collectors returns the token endpoint's Prometheus metrics, for the
// node's /metrics registry.
func (a *Authority) Collectors() []prometheus.Collector {
	return []prometheus.Collector{a.m.failures, a.m.throttled}
}
