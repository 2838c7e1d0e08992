package node

import (
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gauges are the node's state as Prometheus gauges, read at each scrape:
// what docs/monitoring/alerts.yml alerts on.
func (n *Node) gauges() []prometheus.Collector {
	g := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	out := []prometheus.Collector{
		g("dxl_config_version", "Version of the signed global configuration the node holds (0: none).", func() float64 {
			if doc, _, _ := n.conf.Current(); doc != nil {
				return float64(doc.Version)
			}
			return 0
		}),
		g("dxl_config_age_seconds", "Age of the held global configuration (since it was issued).", func() float64 {
			_, age, _ := n.conf.Current()
			return age.Seconds()
		}),
		g("dxl_config_max_age_seconds", "The network's maximum age of a global configuration (policy max_config_age).", func() float64 {
			if doc, _, _ := n.conf.Current(); doc != nil {
				return time.Duration(doc.Policy.MaxConfigAge).Seconds()
			}
			return 0
		}),
		g("dxl_timestamp_pending_records", "Message-log records waiting for a batch timestamp.", func() float64 {
			return float64(n.msglog.Stats().Pending)
		}),
		g("dxl_timestamp_lag_seconds", "Age of the oldest message-log record waiting for a timestamp (0 when none waits).", func() float64 {
			if t := n.msglog.Stats().OldestUnstamped; !t.IsZero() {
				return n.now().Sub(t).Seconds()
			}
			return 0
		}),
		g("dxl_journal_segments", "Segment files of the node's journal (they pile up when a store stops committing).", func() float64 {
			segs, _ := filepath.Glob(filepath.Join(n.dir, DirJournal, "*.wal"))
			return float64(len(segs))
		}),
	}
	peers := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dxl_peers", Help: "Usable nodes of the configuration, by state (online, offline)."}, []string{"state"})
	out = append(out, gaugeCollector{peers, func() {
		on, off := 0, 0
		for _, p := range n.Peers() {
			if p.Online {
				on++
			} else {
				off++
			}
		}
		peers.WithLabelValues("online").Set(float64(on))
		peers.WithLabelValues("offline").Set(float64(off))
	}})
	certs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dxl_cert_expiry_timestamp_seconds",
		Help: "When the node's certificates expire (Unix time), by certificate: node_auth, member_sign, api."}, []string{"cert"})
	out = append(out, gaugeCollector{certs, func() {
		for name, file := range map[string]string{"node_auth": FileAuthCert, "member_sign": FileSignCert, "api": FileAPICert} {
			if raw, err := os.ReadFile(filepath.Join(n.dir, file)); err == nil {
				if cs, err := parseCerts(raw); err == nil {
					certs.WithLabelValues(name).Set(float64(cs[0].NotAfter.Unix()))
				}
			}
		}
	}})
	return out
}

// gaugeCollector refreshes a gauge vector before each collection.
type gaugeCollector struct {
	*prometheus.GaugeVec
	refresh func()
}

func (c gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	c.refresh()
	c.GaugeVec.Collect(ch)
}

// collectors are every metric of the node's /metrics but the records'.
func (n *Node) collectors() []prometheus.Collector {
	out := append(append(append(n.auth.Collectors(), n.httpm.Collectors()...), n.gauges()...), n.deliveryMetrics().Collectors()...)
	if n.siem != nil {
		out = append(out, n.siem.Collectors()...)
	}
	out = append(out, n.alerts.Collectors()...)
	out = append(out, n.keys.Collectors()...)
	return out
}
