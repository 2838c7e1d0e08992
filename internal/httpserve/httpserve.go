package httpserve

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Defaults applied by Config.withDefaults.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxConnsPerIP     = 64
	DefaultMaxConns          = 4096
)

// ErrConfig is returned for an unusable Config.
var ErrConfig = errors.New("httpserve: invalid configuration")

// Config is one server's limits. Zero fields take the defaults above.
type Config struct {
	// Name labels the server in logs and metrics ("node_api", "registry_api" …).
	Name string
	// ReadHeaderTimeout bounds reading the request line and headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request, body included: a client
	// sending its body slower is cut off (the handler's read fails).
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the start of the request to the end
	// of its answer; negative means none (the handlers bound themselves).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle that long.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers; net/http answers
	// 431 beyond it (it allows 4 KiB of slack over the cap).
	MaxHeaderBytes int
	// MaxConnsPerIP caps the connections one client IP holds open; further
	// ones are closed at once.
	MaxConnsPerIP int
	// MaxConns caps the server's open connections; Accept waits beyond it.
	MaxConns int
	// Logger receives net/http's own errors (at Debug) and refusals.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports whether c, after defaults, is usable.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.ReadHeaderTimeout < 0 || c.ReadTimeout < 0 || c.IdleTimeout < 0:
		return fmt.Errorf("%w: %s: negative timeout", ErrConfig, c.Name)
	case c.ReadHeaderTimeout > c.ReadTimeout:
		return fmt.Errorf("%w: %s: ReadHeaderTimeout %v over ReadTimeout %v", ErrConfig, c.Name, c.ReadHeaderTimeout, c.ReadTimeout)
	case c.MaxHeaderBytes < 4<<10 || c.MaxHeaderBytes > 1<<20:
		return fmt.Errorf("%w: %s: MaxHeaderBytes %d outside 4KiB..1MiB", ErrConfig, c.Name, c.MaxHeaderBytes)
	case c.MaxConnsPerIP < 1 || c.MaxConns < c.MaxConnsPerIP:
		return fmt.Errorf("%w: %s: need 1 ≤ MaxConnsPerIP (%d) ≤ MaxConns (%d)", ErrConfig, c.Name, c.MaxConnsPerIP, c.MaxConns)
	}
	return nil
}

// New returns a server for h with c's timeouts and header cap. Serve it on
// a listener from Listen. c must be valid (Validate).
func New(h http.Handler, c Config) *http.Server {
	c = c.withDefaults()
	s := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(c.Logger.With("server", c.Name).Handler(), slog.LevelDebug),
	}
	if c.WriteTimeout > 0 {
		s.WriteTimeout = c.WriteTimeout
	}
	return s
}

// Listen wraps ln with c's connection caps; m (nil for none) counts the
// refusals.
func Listen(ln net.Listener, c Config, m *Metrics) net.Listener {
	c = c.withDefaults()
	if m != nil {
		m.refusedVec.WithLabelValues(c.Name, "per_ip") // exposed at 0: an alert tells none from no data
	}
	return limit(ln, c, m)
}
