package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dxl-network/dxl/membership/client"
)

// pathStore is a Store whose only method the path refusals may call is
// Logger: anything else panics.
type pathStore struct{ Store }

func (pathStore) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestNoRedirects: a path http.ServeMux would clean (and redirect) is
// answered 400 bad_path in the registry's error shape.
func TestNoRedirects(t *testing.T) {
	srv := httptest.NewServer(New(pathStore{}, Config{}))
	defer srv.Close()
	for _, target := range []string{
		"/v1/admin/../healthz", "//healthz", "/v1/./global-config", "/v1/registrations//x",
		"/v1/admin/members/%2e%2e/x", "/healthz/.",
	} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: registry\r\nConnection: close\r\n\r\n", target)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		var body client.ErrorBody
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
			json.Unmarshal(raw, &body) != nil || body.Error.Code != "bad_path" || body.Error.Message == "" {
			t.Errorf("GET %s: %d %v %s, want 400 bad_path", target, resp.StatusCode, resp.Header, raw)
		}
	}
}
