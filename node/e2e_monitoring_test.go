package node_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestMonitoringFiles: docs/monitoring's alerting rules pass promtool's
// check and its unit tests, and every dxl_ metric the rules and the
// Grafana dashboard use is one a running node exposes.
func TestMonitoringFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("needs promtool and a network")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install it (Debian: apt-get install prometheus); .ci/run does")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../docs/monitoring"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	used := map[string]bool{}
	name := regexp.MustCompile(`\bdxl_[a-z_]+`)
	rules, err := os.ReadFile("../docs/monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range name.FindAllString(string(rules), -1) {
		used[m] = true
	}
	var dash struct {
		Panels []struct {
			Title   string                  `json:"title"`
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	raw, err := os.ReadFile("../docs/monitoring/dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &dash); err != nil || len(dash.Panels) == 0 {
		t.Fatalf("dashboard.json: %v, %d panels", err, len(dash.Panels))
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				used[strings.TrimSuffix(m, "_bucket")] = true
			}
		}
	}

	n := sharedNet(t)
	c := n.client(t, true)
	do(t, c, "GET", n.url("/bench"), "", nil)                                                                                                    // calls and their histogram exist once a call was made
	exchangeError(t, do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/r1/"+n.Service+"-none/x", "", nil), http.StatusNotFound, "unknown_service") // and errors once one failed
	rec := httptest.NewRecorder()
	n.A.Node.Records().Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	exposed := map[string]bool{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			exposed[strings.Fields(f)[0]] = true
		}
	}
	for m := range used {
		if !exposed[m] {
			t.Errorf("docs/monitoring uses %s, which the node does not expose", m)
		}
	}
	if len(used) < 10 {
		t.Fatalf("only %d metrics found in the rules and dashboard: %v", len(used), used)
	}
}
