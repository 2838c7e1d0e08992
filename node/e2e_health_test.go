package node_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node"
)

// TestEndToEndHealthLevels: /health without credentials says how the node
// is and nothing about the network (no peer IDs); a registered
// information system sees the peers and the timestamp state.
func TestEndToEndHealthLevels(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network: full suite only")
	}
	t.Parallel()
	n := sharedNet(t)
	u := "https://" + n.A.Node.APIAddr() + "/health"
	a := do(t, n.client(t, false), "GET", u, "", nil)
	var pub map[string]any
	if err := json.Unmarshal(a.body, &pub); err != nil || a.status != 200 || pub["status"] != "ok" || pub["config_version"] == nil {
		t.Fatalf("unauthenticated: %d %s", a.status, a.body)
	}
	for _, k := range []string{"peer_id", "peers", "peers_online", "config_error", "timestamps"} {
		if _, ok := pub[k]; ok {
			t.Errorf("unauthenticated /health shows %s: %s", k, a.body)
		}
	}
	if s := string(a.body); strings.Contains(s, n.A.Node.PeerID().String()) || strings.Contains(s, n.B.Node.PeerID().String()) {
		t.Errorf("unauthenticated /health shows a peer ID: %s", s)
	}
	a = do(t, n.client(t, true), "GET", u, "", nil)
	var full node.Health
	if err := json.Unmarshal(a.body, &full); err != nil || a.status != 200 || full.PeerID != n.A.Node.PeerID().String() ||
		len(full.Peers) == 0 || full.Timestamps.MaxLag == "" {
		t.Fatalf("authenticated: %d %s", a.status, a.body)
	}
}

// TestHealthDegradedWhileUnstamped: with the TSA down, the node keeps
// exchanging (its acceptable failure is long) but its health turns
// degraded once records wait for a timestamp longer than three stamp
// intervals, with the count and the TSA error for authenticated callers;
// it is ok again once the TSA is back and stamps the backlog.
func TestHealthDegradedWhileUnstamped(t *testing.T) {
	if testing.Short() {
		t.Skip("a TSA outage fault test: full suite only (-short skips it)")
	}
	t.Parallel()
	slowFail := func(c *node.Config) {
		c.MessageLog.StampInterval = node.Duration(200 * time.Millisecond)
		c.MessageLog.AcceptableFailure = node.Duration(time.Hour)
	}
	n := startNetTB(t, slowFail, slowFail)
	c := n.client(t, true)
	waitServing(t, c, n.url("/citizens/1")) // the nodes have met before the outage
	n.StopTSA()
	if a := do(t, c, "GET", n.url("/citizens/1"), "", nil); a.status != 200 {
		t.Fatalf("call during the outage: %d %s", a.status, a.body)
	}
	h := waitHealth(t, n.A.Node, "degraded")
	if h.Timestamps.Pending == 0 || h.Timestamps.Lag == "" || h.Timestamps.MaxLag != "600ms" {
		t.Fatalf("degraded report: %+v", h.Timestamps)
	}
	a := do(t, n.client(t, false), "GET", "https://"+n.A.Node.APIAddr()+"/health", "", nil)
	if !strings.Contains(string(a.body), `"status":"degraded"`) || strings.Contains(string(a.body), "pending") {
		t.Fatalf("unauthenticated /health during the outage: %d %s", a.status, a.body)
	}
	if a := do(t, c, "GET", n.url("/citizens/1"), "", nil); a.status != 200 {
		t.Fatalf("call while degraded: %d %s", a.status, a.body)
	}
	if err := n.StartTSA(); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, n.A.Node, "ok")
}

// waitHealth polls h's level-1 health until its status is want.
func waitHealth(t *testing.T, h interface{ Health() node.Health }, want string) node.Health {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := h.Health()
		if got.Status == want {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("health still %s, want %s: %+v", got.Status, want, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
