package httpserve

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestOversizedHeadersOverHTTP2: an HTTP/2 client that ignores the
// advertised header list size is not served; its connection is closed
// (net/http answers GOAWAY, not 431, once the excess is large).
func TestOversizedHeadersOverHTTP2(t *testing.T) {
	cfg := Config{Name: "t", Logger: slog.New(slog.DiscardHandler)}
	ts := httptest.NewUnstartedServer(ok)
	ts.Config = New(ok, cfg)
	ts.EnableHTTP2 = true
	ts.Listener = Listen(ts.Listener, cfg, nil)
	ts.StartTLS()
	defer ts.Close()
	c, err := tls.Dial("tcp", ts.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	_ = fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "x"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	for i := 0; hb.Len() < 200<<10; i++ {
		_ = enc.WriteField(hpack.HeaderField{Name: "x-filler-" + strconv.Itoa(i), Value: strings.Repeat("a", 1000), Sensitive: true})
	}
	go func() {
		b := hb.Bytes()
		for first := true; len(b) > 0; first = false {
			n := min(len(b), 16384)
			var err error
			if first {
				err = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:n], EndStream: true, EndHeaders: n == len(b)})
			} else {
				err = fr.WriteContinuation(1, n == len(b), b[:n])
			}
			if err != nil {
				return
			}
			b = b[n:]
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			if isTimeout(err) {
				t.Fatal("the connection stayed open")
			}
			return // closed: refused
		}
		if h, isHeaders := f.(*http2.HeadersFrame); isHeaders {
			var status string
			dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
				if f.Name == ":status" {
					status = f.Value
				}
			})
			_, _ = dec.Write(h.HeaderBlockFragment())
			if status != "431" {
				t.Fatalf("oversized header block answered %s", status)
			}
			return
		}
	}
}
