package oprec

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DurationBuckets are the dxl_call_duration_seconds buckets: 100µs to 30s.
var DurationBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
}

// metrics is the store's own registry. Label children are cached per
// (role, service) so observing a record is map loads and atomic adds.
type metrics struct {
	reg       *prometheus.Registry
	calls     *prometheus.CounterVec
	errs      *prometheus.CounterVec
	dur       *prometheus.HistogramVec
	dropped   prometheus.Counter
	committed prometheus.Counter
	series    sync.Map // seriesKey → *series
}

type seriesKey struct{ role, service string }

type counterBox struct{ prometheus.Counter }

type series struct {
	key   seriesKey
	dur   prometheus.Observer
	calls [len(statusClasses)]atomic.Pointer[counterBox]
	errs  sync.Map // code → prometheus.Counter
}

func newMetrics(queueLen func() float64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxl_calls_total",
			Help: "Calls made (role consumer) or served (role provider) by this node, by HTTP status class.",
		}, []string{"role", "service", "status_class"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxl_call_errors_total",
			Help: "Failed calls: exchange-layer error code, or http_NNN for a 5xx without one.",
		}, []string{"role", "service", "code"}),
		dur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dxl_call_duration_seconds",
			Help:    "Call duration as seen by this node.",
			Buckets: DurationBuckets,
		}, []string{"role", "service"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dxl_oprec_dropped_total",
			Help: "Operational records and health samples not stored: queue full, store closed or write failure.",
		}),
		committed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dxl_oprec_committed_total",
			Help: "Operational records and health samples committed to disk.",
		}),
	}
	m.reg.MustRegister(m.calls, m.errs, m.dur, m.dropped, m.committed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dxl_oprec_queue_length",
			Help: "Items waiting for the operational-record writer.",
		}, queueLen))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

func (m *metrics) observe(r *Record) {
	k := seriesKey{r.Role, r.Service}
	v, ok := m.series.Load(k)
	if !ok {
		v, _ = m.series.LoadOrStore(k, &series{key: k, dur: m.dur.WithLabelValues(r.Role, r.Service)})
	}
	s := v.(*series)
	cls := statusClass(r.Status)
	c := s.calls[cls].Load()
	if c == nil {
		// WithLabelValues returns the same child every time, so a race
		// here stores equal values.
		c = &counterBox{m.calls.WithLabelValues(k.role, k.service, statusClasses[cls])}
		s.calls[cls].Store(c)
	}
	c.Inc()
	s.dur.Observe(r.Duration.Seconds())
	if r.Failed() {
		code := errorLabel(r)
		e, ok := s.errs.Load(code)
		if !ok {
			e, _ = s.errs.LoadOrStore(code, m.errs.WithLabelValues(k.role, k.service, code))
		}
		e.(prometheus.Counter).Inc()
	}
}
