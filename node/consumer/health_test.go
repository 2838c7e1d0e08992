package consumer

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fullReport is a level-1 report with something to hide.
type fullReport struct {
	Status string   `json:"status"`
	Peers  []string `json:"peers"`
}

func (r fullReport) Public() any { return struct{ Status string }{r.Status} }

type fixedHealth struct{ r any }

func (f fixedHealth) System() (any, bool) { return f.r, false }
func (f fixedHealth) Service(context.Context, string) (any, bool, error) {
	return nil, true, nil
}

// TestHealthPublicSummary: /health without credentials answers only the
// report's public summary; a registered information system gets all of
// it.
func TestHealthPublicSummary(t *testing.T) {
	cert := selfSigned(t, "is", time.Now().Add(24*time.Hour))
	sum := sha256.Sum256(cert.Raw)
	a := New(Config{Clients: map[string]string{hex.EncodeToString(sum[:]): "VN/GOV/A/IS"}, Now: time.Now,
		Views: fixedViews{memberView(t)}, Health: fixedHealth{fullReport{Status: "ok", Peers: []string{"12D3KooWsecret"}}}})
	w := httptest.NewRecorder()
	a.health(w, httptest.NewRequest("GET", "/health", nil))
	if body := w.Body.String(); w.Code != 200 || strings.Contains(body, "12D3KooWsecret") || !strings.Contains(body, `"ok"`) {
		t.Fatalf("unauthenticated: %d %s", w.Code, body)
	}
	r := httptest.NewRequest("GET", "/health", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	w = httptest.NewRecorder()
	a.health(w, r)
	if body := w.Body.String(); w.Code != 200 || !strings.Contains(body, "12D3KooWsecret") {
		t.Fatalf("authenticated: %d %s", w.Code, body)
	}
}
