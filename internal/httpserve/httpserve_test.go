package httpserve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// start serves h with c on a loopback listener wrapped by Listen.
func start(t *testing.T, h http.Handler, c Config, m *Metrics) string {
	t.Helper()
	c.Logger = slog.New(slog.DiscardHandler)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(h, c)
	go func() { _ = srv.Serve(Listen(ln, c, m)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

func readStatus(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	return strings.TrimSpace(line)
}

func TestOversizedHeadersGet431(t *testing.T) {
	addr := start(t, ok, Config{Name: "t"}, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b strings.Builder
	b.WriteString("GET / HTTP/1.1\r\nHost: x\r\n")
	for i := 0; b.Len() < 200<<10; i++ {
		fmt.Fprintf(&b, "X-Filler-%d: %s\r\n", i, strings.Repeat("a", 1000))
	}
	b.WriteString("\r\n")
	go func() { _, _ = io.WriteString(c, b.String()) }()
	if got := readStatus(t, c); got != "HTTP/1.1 431 Request Header Fields Too Large" {
		t.Fatalf("status line %q", got)
	}
}

func TestConnectionsPerIPCapped(t *testing.T) {
	m := NewMetrics()
	const max = 3
	addr := start(t, ok, Config{Name: "t", MaxConnsPerIP: max}, m)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range max {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if got := readStatus(t, c); got != "HTTP/1.1 204 No Content" {
			t.Fatalf("connection %d within the cap: %q", i, got)
		}
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_, _ = io.WriteString(extra, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = extra.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := extra.Read(make([]byte, 1)); n != 0 || err == nil || isTimeout(err) {
		t.Fatalf("connection over the cap was served: n=%d err=%v", n, err)
	}
	if v := counter(t, m.refusedVec.WithLabelValues("t", "per_ip")); v != 1 {
		t.Fatalf("dxl_http_conns_refused_total = %v", v)
	}
	// A closed connection frees its slot.
	held[0].Close()
	held = held[1:]
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err == nil && strings.Contains(line, "204") {
			break
		}
		time.Sleep(10 * time.Millisecond) // the server sees the close asynchronously
	}
}

func TestSlowBodyCutOff(t *testing.T) {
	got := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
	})
	addr := start(t, h, Config{Name: "t", ReadHeaderTimeout: 50 * time.Millisecond, ReadTimeout: 200 * time.Millisecond}, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The header and part of a 1000-byte body, then nothing more.
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("body read ended with %v, want a timeout", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the handler was never cut off")
	}
}

func TestConfigValidate(t *testing.T) {
	for name, c := range map[string]Config{
		"header over read": {ReadHeaderTimeout: time.Minute, ReadTimeout: time.Second},
		"tiny headers":     {MaxHeaderBytes: 100},
		"per-ip over all":  {MaxConnsPerIP: 10, MaxConns: 5},
		"negative":         {IdleTimeout: -1},
	} {
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
