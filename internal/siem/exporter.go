package siem

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrConfig is a configuration New refuses.
var ErrConfig = errors.New("siem: invalid configuration")

// Config configures an Exporter; zero fields take defaults.
type Config struct {
	// Syslog is the collector's host:port (TLS, RFC 5425); empty: none.
	Syslog string `json:"syslog,omitempty"`
	// CAFile holds the PEM roots the collector's certificate must chain
	// to (required with Syslog); ServerName, if set, is the name it must
	// carry (default Syslog's host).
	CAFile     string `json:"ca_file,omitempty"`
	ServerName string `json:"server_name,omitempty"`
	// JSONFile, if set, receives every event as a JSON line (0600).
	JSONFile string `json:"json_file,omitempty"`
	// QueueSize is how many events wait before Emit drops (default 4096).
	QueueSize int `json:"queue_size,omitempty"`
}

// Enabled reports whether c exports anywhere.
func (c Config) Enabled() bool { return c.Syslog != "" || c.JSONFile != "" }

// Validate checks c.
func (c Config) Validate() error {
	if c.Syslog != "" {
		if _, _, err := net.SplitHostPort(c.Syslog); err != nil {
			return fmt.Errorf("%w: syslog %q: %v", ErrConfig, c.Syslog, err)
		}
		if c.CAFile == "" {
			return fmt.Errorf("%w: syslog needs ca_file, the roots of the collector's TLS certificate", ErrConfig)
		}
	}
	if c.QueueSize < 0 {
		return fmt.Errorf("%w: queue_size %d", ErrConfig, c.QueueSize)
	}
	return nil
}

// Exporter sends events to the configured sinks.
type Exporter struct {
	cfg     Config
	host    string
	app     string
	log     *slog.Logger
	tls     *tls.Config
	json    *os.File
	queue   chan Event
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	sent    prometheus.Counter
	dropped prometheus.Counter
}

// New starts an exporter named app (the syslog APP-NAME) for cfg.
func New(cfg Config, app string, log *slog.Logger) (*Exporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 4096
	}
	host, _ := os.Hostname()
	e := &Exporter{cfg: cfg, host: host, app: app, log: log.With("component", "siem"), queue: make(chan Event, cfg.QueueSize),
		stop: make(chan struct{}), done: make(chan struct{}),
		sent:    prometheus.NewCounter(prometheus.CounterOpts{Name: "dxl_siem_sent_total", Help: "Audit and security events sent to the syslog collector."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "dxl_siem_dropped_total", Help: "Audit and security events dropped: the export queue was full."})}
	if cfg.Syslog != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: ca_file: %v", ErrConfig, err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: ca_file %s holds no PEM certificate", ErrConfig, cfg.CAFile)
		}
		name := cfg.ServerName
		if name == "" {
			name, _, _ = net.SplitHostPort(cfg.Syslog)
		}
		e.tls = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: name}
	}
	if cfg.JSONFile != "" {
		f, err := os.OpenFile(cfg.JSONFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%w: json_file: %v", ErrConfig, err)
		}
		e.json = f
	}
	go e.run()
	return e, nil
}

// Collectors are the exporter's metrics.
func (e *Exporter) Collectors() []prometheus.Collector {
	return []prometheus.Collector{e.sent, e.dropped}
}

// Emit queues ev; it never blocks (a full queue drops ev, counted). A nil
// Exporter drops everything silently.
func (e *Exporter) Emit(ev Event) {
	if e == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	select {
	case e.queue <- ev:
	default:
		e.dropped.Inc()
	}
}

// Close sends what is queued (for at most a few seconds) and stops.
func (e *Exporter) Close() error {
	if e == nil {
		return nil
	}
	e.once.Do(func() { close(e.stop) })
	<-e.done
	if e.json != nil {
		return e.json.Close()
	}
	return nil
}

// run is the one sender.
func (e *Exporter) run() {
	defer close(e.done)
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	backoff := 100 * time.Millisecond
	deadline := time.Time{} // set by stop: stop retrying then
	for {
		var ev Event
		select {
		case ev = <-e.queue:
		case <-e.stop:
			if len(e.queue) == 0 {
				return
			}
			if deadline.IsZero() {
				deadline = time.Now().Add(3 * time.Second)
			}
			ev = <-e.queue
		}
		e.writeJSON(ev)
		for e.tls != nil {
			var err error
			if conn == nil {
				var c *tls.Conn
				if c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.cfg.Syslog, e.tls); err == nil {
					conn = c
				}
			}
			if err == nil {
				err = e.send(conn, ev)
			}
			if err == nil {
				e.sent.Inc()
				backoff = 100 * time.Millisecond
				break
			}
			e.log.Warn("syslog collector unreachable; retrying", "collector", e.cfg.Syslog, "error", err, "retry_in", backoff)
			if conn != nil {
				conn.Close()
				conn = nil
			}
			if !deadline.IsZero() && time.Now().After(deadline) {
				return
			}
			select {
			case <-time.After(backoff):
			case <-e.stop:
				if deadline.IsZero() {
					deadline = time.Now().Add(3 * time.Second)
				}
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}
}

// send writes one octet-counted frame (RFC 5425 §4.3).
func (e *Exporter) send(conn net.Conn, ev Event) error {
	msg := FormatRFC5424(ev, e.host, e.app, os.Getpid())
	frame := append([]byte(strconv.Itoa(len(msg))+" "), msg...)
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := conn.Write(frame)
	return err
}

func (e *Exporter) writeJSON(ev Event) {
	if e.json == nil {
		return
	}
	line, _ := json.Marshal(ev)
	if _, err := e.json.Write(append(line, '\n')); err != nil {
		e.log.Error("SIEM JSON file write failed", "file", e.cfg.JSONFile, "error", err)
	}
}
