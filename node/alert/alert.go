package alert

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dxl-network/dxl/services"
)

// Config is node.json's alerts. Zero fields take the defaults.
type Config struct {
	// Window is the sliding window (default 1 min); Threshold the refusals
	// of one key within it that raise an alert (default 20).
	Window    services.Duration `json:"window,omitempty"`
	Threshold int               `json:"threshold,omitempty"`
	// Webhook, if set, is an http(s) URL each alert is POSTed to as JSON.
	Webhook string `json:"webhook,omitempty"`
	// WebhookTimeout bounds one attempt (default 5 s); WebhookRetries are
	// the attempts after the first (default 3), with backoff from 1 s.
	WebhookTimeout services.Duration `json:"webhook_timeout,omitempty"`
	WebhookRetries int               `json:"webhook_retries,omitempty"`
	// Usual watches calls against a subsystem's usual hours and volume
	// (usual.go; nil: off).
	Usual *UsualConfig `json:"usual,omitempty"`
}

// MaxKeys caps the keys a Detector tracks at once; past it, new keys are
// not counted until old ones leave the window.
const MaxKeys = 100_000

func (c *Config) withDefaults() {
	if c.Window == 0 {
		c.Window = services.Duration(time.Minute)
	}
	if c.Threshold == 0 {
		c.Threshold = 20
	}
	if c.WebhookTimeout == 0 {
		c.WebhookTimeout = services.Duration(5 * time.Second)
	}
	if c.WebhookRetries == 0 {
		c.WebhookRetries = 3
	}
}

// Validate applies the defaults and checks the ranges.
func (c *Config) Validate() error {
	c.withDefaults()
	switch {
	case c.Window < services.Duration(time.Second) || c.Window > services.Duration(24*time.Hour):
		return fmt.Errorf("alerts.window %s: between 1s and 24h", time.Duration(c.Window))
	case c.Threshold < 1 || c.Threshold > 1_000_000:
		return fmt.Errorf("alerts.threshold %d: between 1 and 1000000", c.Threshold)
	case c.WebhookTimeout < services.Duration(100*time.Millisecond) || c.WebhookTimeout > services.Duration(time.Minute):
		return fmt.Errorf("alerts.webhook_timeout %s: between 100ms and 1m", time.Duration(c.WebhookTimeout))
	case c.WebhookRetries < 0 || c.WebhookRetries > 10:
		return fmt.Errorf("alerts.webhook_retries %d: between 0 and 10", c.WebhookRetries)
	}
	if c.Webhook != "" {
		u, err := url.Parse(c.Webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("alerts.webhook %q: not an absolute http(s) URL", c.Webhook)
		}
	}
	_, err := c.Usual.compile()
	return err
}

// Alert is one abnormal-access event, as logged and POSTed.
type Alert struct {
	Kind   string    `json:"kind"`  // "ip" or "subsystem" (refusals), "off_hours" or "volume" (calls)
	Key    string    `json:"key"`   // the address or subsystem
	Code   string    `json:"code"`  // the refusal's error code; for calls, the side: consumer or provider
	Count  int       `json:"count"` // refusals within the window; calls within the hour
	Window string    `json:"window"`
	At     time.Time `json:"at"`
	Node   string    `json:"node,omitempty"`
}

type track struct {
	times []time.Time // within the window, oldest first, at most Threshold
	fired time.Time   // last alert
}

// Detector counts refusals per key. A nil *Detector records nothing.
type Detector struct {
	cfg    Config
	node   string
	now    func() time.Time
	log    *slog.Logger
	alerts *prometheus.CounterVec
	hook   *webhook

	usual *usual // nil: calls are not watched

	mu      sync.Mutex
	keys    map[string]*track
	volumes map[string]*volume
}

// New returns a detector of cfg (validated) for node (its peer ID, in
// alerts); with a webhook, its sender runs until ctx ends. now defaults to
// time.Now.
func New(ctx context.Context, cfg Config, node string, now func() time.Time, log *slog.Logger) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	u, _ := cfg.Usual.compile() // checked by Validate
	d := &Detector{cfg: cfg, node: node, now: now, log: log.With("component", "alert"), keys: map[string]*track{},
		usual: u, volumes: map[string]*volume{},
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dxl_abnormal_access_alerts_total",
			Help: "Abnormal-access alerts by kind: bursts of refusals from one client address or subsystem (ip, subsystem), calls outside a subsystem's usual hours (off_hours) or far above its usual volume (volume).",
		}, []string{"kind"})}
	for _, k := range []string{"ip", "subsystem", "off_hours", "volume"} {
		d.alerts.WithLabelValues(k)
	}
	if cfg.Webhook != "" {
		d.hook = newWebhook(ctx, cfg, d.log)
	}
	return d, nil
}

// Collectors returns the detector's Prometheus metrics.
func (d *Detector) Collectors() []prometheus.Collector {
	cs := []prometheus.Collector{d.alerts}
	if d.hook != nil {
		cs = append(cs, d.hook.dropped, d.hook.failed)
	}
	return cs
}

// Record counts one refusal with code for the caller's address ip and,
// when known, its subsystem; it never blocks on I/O.
func (d *Detector) Record(code, ip, subsystem string) {
	if d == nil {
		return
	}
	if ip != "" {
		d.record("ip", ip, code)
	}
	if subsystem != "" {
		d.record("subsystem", subsystem, code)
	}
}

func (d *Detector) record(kind, key, code string) {
	now := d.now()
	window := time.Duration(d.cfg.Window)
	d.mu.Lock()
	t := d.keys[kind+" "+key]
	if t == nil {
		if len(d.keys) >= MaxKeys {
			d.pruneLocked(now)
			if len(d.keys) >= MaxKeys {
				d.mu.Unlock()
				return
			}
		}
		t = &track{}
		d.keys[kind+" "+key] = t
	}
	i := 0
	for i < len(t.times) && now.Sub(t.times[i]) >= window {
		i++
	}
	t.times = append(t.times[i:], now)
	if len(t.times) > d.cfg.Threshold {
		t.times = t.times[len(t.times)-d.cfg.Threshold:]
	}
	fire := len(t.times) >= d.cfg.Threshold && (t.fired.IsZero() || now.Sub(t.fired) >= window)
	if fire {
		t.fired = now
	}
	n := len(t.times)
	d.mu.Unlock()
	if !fire {
		return
	}
	d.raise(Alert{Kind: kind, Key: key, Code: code, Count: n, Window: window.String(), At: now.UTC(), Node: d.node})
}

// raise reports a: the metric, a log event and the webhook.
func (d *Detector) raise(a Alert) {
	d.alerts.WithLabelValues(a.Kind).Inc()
	d.log.Warn("abnormal access", "kind", a.Kind, "key", a.Key, "error_code", a.Code, "count", a.Count, "window", a.Window)
	if d.hook != nil {
		d.hook.send(a)
	}
}

// pruneLocked drops keys with no refusal within the window nor an alert
// within it.
func (d *Detector) pruneLocked(now time.Time) {
	window := time.Duration(d.cfg.Window)
	for k, t := range d.keys {
		last := t.fired
		if n := len(t.times); n > 0 && t.times[n-1].After(last) {
			last = t.times[n-1]
		}
		if now.Sub(last) >= window {
			delete(d.keys, k)
		}
	}
}
