package alert

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/dxl-network/dxl/services"
)

func TestConfigValidate(t *testing.T) {
	var c Config
	if err := c.Validate(); err != nil || c.Window != services.Duration(time.Minute) || c.Threshold != 20 || c.WebhookRetries != 3 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Window: services.Duration(time.Millisecond)}, "alerts.window"},
		{Config{Threshold: -1}, "alerts.threshold"},
		{Config{WebhookTimeout: services.Duration(time.Hour)}, "alerts.webhook_timeout"},
		{Config{WebhookRetries: 11}, "alerts.webhook_retries"},
		{Config{Webhook: "ftp://x/y"}, `alerts.webhook "ftp://x/y"`},
		{Config{Webhook: "/relative"}, "alerts.webhook"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestDetectorWindow(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	d, err := New(t.Context(), Config{Window: services.Duration(10 * time.Second), Threshold: 3}, "peer", clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fired := func(kind string) float64 { return count(t, d.alerts.WithLabelValues(kind)) }
	for _, step := range []struct {
		advance        time.Duration
		ip, sub        string
		wantIP, wantSS float64
	}{
		{0, "10.0.0.1", "", 0, 0},
		{time.Second, "10.0.0.1", "", 0, 0},
		{11 * time.Second, "10.0.0.1", "", 0, 0}, // the first two left the window
		{time.Second, "10.0.0.1", "", 0, 0},
		{time.Second, "10.0.0.1", "VN/GOV/A/IS", 1, 0}, // three within 10 s
		{time.Second, "10.0.0.1", "VN/GOV/A/IS", 1, 0}, // one alert per window
		{time.Second, "10.0.0.2", "VN/GOV/A/IS", 1, 1},
		{10 * time.Second, "10.0.0.1", "", 1, 1}, // the burst left the window: one refusal counts
	} {
		now = now.Add(step.advance)
		d.Record("unauthenticated", step.ip, step.sub)
		if fired("ip") != step.wantIP || fired("subsystem") != step.wantSS {
			t.Fatalf("after %s %s %s: ip %v subsystem %v alerts, want %v %v", step.advance, step.ip, step.sub, fired("ip"), fired("subsystem"), step.wantIP, step.wantSS)
		}
	}
	var none *Detector
	none.Record("x", "1.2.3.4", "") // a nil detector records nothing
}

func TestWebhookRetries(t *testing.T) {
	var mu sync.Mutex
	var got []Alert
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // retried
			return
		}
		raw, _ := io.ReadAll(r.Body)
		var a Alert
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &a) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got = append(got, a)
	}))
	defer srv.Close()
	d, err := New(t.Context(), Config{Threshold: 2, Webhook: srv.URL}, "peer", nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	d.hook.backoff = time.Millisecond
	d.Record("ip_denied", "192.0.2.9", "")
	d.Record("ip_denied", "192.0.2.9", "")
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook got no alert")
		}
		time.Sleep(5 * time.Millisecond) // polling the server's state
	}
	mu.Lock()
	defer mu.Unlock()
	if a := got[0]; a.Kind != "ip" || a.Key != "192.0.2.9" || a.Code != "ip_denied" || a.Count != 2 || a.Node != "peer" || calls != 2 {
		t.Fatalf("alert %+v after %d calls", a, calls)
	}
}

func count(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
