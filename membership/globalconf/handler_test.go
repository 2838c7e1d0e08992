package globalconf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHandler: 200 with ETag and no-cache, 304 for a matching
// If-None-Match (strong, weak, list, *), 405/404/503 with JSON errors.
func TestHandler(t *testing.T) {
	body := []byte(`{"config":"e30="}`)
	var srcErr error
	h := Handler(func() ([]byte, uint64, error) { return body, 12, srcErr })
	do := func(method, path string, hdr map[string]string) *http.Response {
		req := httptest.NewRequest(method, path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	resp := do("GET", GlobalConfigPath, nil)
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(got) != string(body) || resp.Header.Get("ETag") != `"12"` ||
		resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET: %d %q %v", resp.StatusCode, got, resp.Header)
	}
	if resp := do("HEAD", GlobalConfigPath, nil); resp.StatusCode != 200 || resp.Header.Get("Content-Length") != fmt.Sprint(len(body)) {
		t.Fatalf("HEAD: %d %v", resp.StatusCode, resp.Header)
	}
	for _, inm := range []string{`"12"`, `W/"12"`, `"3", "12"`, `*`} {
		resp := do("GET", GlobalConfigPath, map[string]string{"If-None-Match": inm})
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 304 || len(b) != 0 || resp.Header.Get("ETag") != `"12"` {
			t.Fatalf("If-None-Match %s: %d", inm, resp.StatusCode)
		}
	}
	if resp := do("GET", GlobalConfigPath, map[string]string{"If-None-Match": `"11"`}); resp.StatusCode != 200 {
		t.Fatalf("older If-None-Match: %d", resp.StatusCode)
	}
	check := func(resp *http.Response, status int, code string) {
		t.Helper()
		var e apiError
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != status || e.Error.Code != code || e.Error.Message == "" {
			t.Fatalf("want %d %s, got %d %+v (%v)", status, code, resp.StatusCode, e, err)
		}
	}
	resp = do("POST", GlobalConfigPath, nil)
	check(resp, 405, "method_not_allowed")
	if !strings.Contains(resp.Header.Get("Allow"), "GET") {
		t.Fatalf("405 without Allow: %v", resp.Header)
	}
	check(do("GET", "/v1/other", nil), 404, "not_found")
	srcErr = fmt.Errorf("registry starting: %w", ErrUnavailable)
	check(do("GET", GlobalConfigPath, nil), 503, "unavailable")
	srcErr = errors.New("disk on fire")
	check(do("GET", GlobalConfigPath, nil), 500, "internal")
	srcErr, body = nil, nil
	check(do("GET", GlobalConfigPath, nil), 503, "unavailable")
}
