package delivery

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a node's delivery metrics for its Prometheus registry:
// counters of what happened (by state, per side) and, read from the
// outbox at each scrape, the open deliveries by state and the age of the
// oldest one not yet stored by a recipient node. It exists before the
// Service (the node's registry is built first); New attaches it.
type Metrics struct {
	events *prometheus.CounterVec
	svc    atomic.Pointer[Service]
	open   *prometheus.Desc
	oldest *prometheus.Desc
}

// NewMetrics returns unattached metrics (the gauges read nothing until a
// Service uses them).
func NewMetrics() *Metrics {
	return &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxl_delivery_events_total",
			Help: "Deliveries by what happened: side sender (queued, delivered, acknowledged, undeliverable, expired, cancelled) or recipient (received, acknowledged).",
		}, []string{"side", "event"}),
		open: prometheus.NewDesc("dxl_delivery_open", "Open deliveries in the outbox, per recipient, by state (queued, in_flight, delivered).",
			[]string{"state"}, nil),
		oldest: prometheus.NewDesc("dxl_delivery_oldest_pending_seconds",
			"Age of the oldest delivery not yet stored by a recipient node (0: none).", nil, nil),
	}
}

// Collectors are the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector { return []prometheus.Collector{m.events, m} }

// Describe implements prometheus.Collector (the gauges).
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.open; ch <- m.oldest }

// Collect implements prometheus.Collector: one read of the open
// deliveries.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.svc.Load()
	counts := map[State]float64{Queued: 0, InFlight: 0, Delivered: 0}
	oldest := 0.0
	if s != nil {
		docs, err := s.store.Active()
		if err != nil {
			return
		}
		now := s.cfg.Now()
		for _, d := range docs {
			for _, r := range d.Recipients {
				if _, ok := counts[r.State]; ok {
					counts[r.State]++
				}
				if r.State == Queued || r.State == InFlight {
					oldest = max(oldest, now.Sub(d.Meta.Created).Seconds())
				}
			}
		}
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(m.open, prometheus.GaugeValue, n, string(st))
	}
	ch <- prometheus.MustNewConstMetric(m.oldest, prometheus.GaugeValue, oldest)
}

// count adds one event (nil-safe).
func (m *Metrics) count(side, event string, n int) {
	if m != nil && n > 0 {
		m.events.WithLabelValues(side, event).Add(float64(n))
	}
}
