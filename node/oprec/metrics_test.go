package oprec

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func scrape(t testing.TB, s *Store) string {
	t.Helper()
	srv := httptest.NewServer(s.Metrics())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("scrape status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

func mustContain(t testing.TB, body, line string) {
	t.Helper()
	if !strings.Contains(body, line+"\n") {
		t.Errorf("metrics lack %q", line)
	}
}

func TestMetrics(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	const svc = memC + "/reg/getPerson"
	add := func(role string, status int, code string, d time.Duration) {
		r := rec(0, role, memA+"/app", svc, status, code)
		r.Duration = d
		s.Add(r)
	}
	add(RoleConsumer, 200, "", 50*time.Microsecond)
	add(RoleConsumer, 200, "", 3*time.Millisecond)
	add(RoleConsumer, 502, "provider_unreachable", 40*time.Second)
	add(RoleConsumer, 503, "", time.Second)
	add(RoleProvider, 404, "", 20*time.Millisecond)

	body := scrape(t, s)
	for _, line := range []string{
		`dxl_calls_total{role="consumer",service="VN/COM/C/reg/getPerson",status_class="2xx"} 2`,
		`dxl_calls_total{role="consumer",service="VN/COM/C/reg/getPerson",status_class="5xx"} 2`,
		`dxl_calls_total{role="provider",service="VN/COM/C/reg/getPerson",status_class="4xx"} 1`,
		`dxl_call_errors_total{code="provider_unreachable",role="consumer",service="VN/COM/C/reg/getPerson"} 1`,
		`dxl_call_errors_total{code="http_503",role="consumer",service="VN/COM/C/reg/getPerson"} 1`,
		`dxl_call_duration_seconds_bucket{role="consumer",service="VN/COM/C/reg/getPerson",le="0.0001"} 1`,
		`dxl_call_duration_seconds_bucket{role="consumer",service="VN/COM/C/reg/getPerson",le="0.005"} 2`,
		`dxl_call_duration_seconds_bucket{role="consumer",service="VN/COM/C/reg/getPerson",le="30"} 3`,
		`dxl_call_duration_seconds_bucket{role="consumer",service="VN/COM/C/reg/getPerson",le="+Inf"} 4`,
		`dxl_call_duration_seconds_count{role="provider",service="VN/COM/C/reg/getPerson"} 1`,
		`dxl_oprec_dropped_total 0`,
	} {
		mustContain(t, body, line)
	}
	if strings.Contains(body, `dxl_call_errors_total{code="http_404"`) {
		t.Error("a 4xx answered by the provider counted as an error")
	}
	if strings.Contains(body, "go_goroutines") {
		t.Error("store registry includes global collectors")
	}
	flush(t, s)
	mustContain(t, scrape(t, s), "dxl_oprec_committed_total 5")
}

func TestMetricsServeOtherCollectors(t *testing.T) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "dxl_test_other_total", Help: "test"})
	c.Add(3)
	cfg := testConfig(t, "", nil)
	cfg.Collectors = []prometheus.Collector{c}
	s := openTest(t, cfg)
	mustContain(t, scrape(t, s), "dxl_test_other_total 3")
	cfg = testConfig(t, "", nil)
	cfg.Collectors = []prometheus.Collector{c, c}
	if _, err := Open(cfg); err == nil {
		t.Fatal("a collector registered twice was accepted")
	}
}
