package node_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/alert"
)

// TestUsualHoursAlert: with alerts.usual hours that exclude now, a call
// of A's information system through both nodes raises an off_hours alert
// on A (its own system, consumer side) and on B (another member's system,
// provider side), as the metric counts.
func TestUsualHoursAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own network")
	}
	vn := time.FixedZone("+07:00", 7*3600)
	from := time.Now().In(vn).Add(2 * time.Hour)
	usual := &alert.UsualConfig{Hours: from.Format("15:04") + "-" + from.Add(time.Hour).Format("15:04")}
	n := startNetTB(t, func(c *node.Config) { c.Alerts = alert.Config{Usual: usual} },
		func(c *node.Config) { c.Alerts = alert.Config{Usual: usual} })
	for _, nd := range []*node.Node{n.A.Node, n.B.Node} {
		if got := offHoursMetric(nd); got != "0" {
			t.Fatalf("before any call: %q", got)
		}
	}
	if a := do(t, n.client(t, true), "GET", "https://"+n.A.Node.APIAddr()+"/r1/"+n.Service+"/citizens/001", "", nil); a.status != 200 {
		t.Fatalf("call: %d %s", a.status, a.body)
	}
	waitFor(t, func() bool { return offHoursMetric(n.A.Node) == "1" && offHoursMetric(n.B.Node) == "1" })
}

// offHoursMetric is the node's count of off_hours alerts.
func offHoursMetric(nd *node.Node) string {
	rec := httptest.NewRecorder()
	nd.Records().Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, `dxl_abnormal_access_alerts_total{kind="off_hours"} `); ok {
			return v
		}
	}
	return ""
}
