package httpserve

import (
	"net"
	"sync"

	"golang.org/x/net/netutil"
)

// perIP is a listener that closes, as soon as accepted, a connection whose
// IP already holds max open ones.
type perIP struct {
	net.Listener
	max  int
	name string
	m    *Metrics
	c    Config

	mu   sync.Mutex
	open map[string]int
}

func limit(ln net.Listener, c Config, m *Metrics) net.Listener {
	l := &perIP{Listener: netutil.LimitListener(ln, c.MaxConns), max: c.MaxConnsPerIP, name: c.Name, m: m, c: c,
		open: map[string]int{}}
	return l
}

// Accept returns the next connection within the caps.
func (l *perIP) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := hostOf(conn.RemoteAddr())
		if l.take(ip) {
			return &trackedConn{Conn: conn, release: func() { l.give(ip) }}, nil
		}
		l.m.refused(l.name, "per_ip") // counted before the client can see the close
		_ = conn.Close()
		l.c.Logger.Debug("connection refused: too many from one address", "server", l.name, "remote", ip, "max", l.max)
	}
}

func (l *perIP) take(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] >= l.max {
		return false
	}
	l.open[ip]++
	return true
}

func (l *perIP) give(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}

// trackedConn gives its IP's slot back once, on the first Close.
type trackedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
