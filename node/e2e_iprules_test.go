package node_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/alert"
	"github.com/dxl-network/dxl/services"
)

// TestEndToEndIPRules: A's ip_rules refuse a service to the loopback
// address before any authentication, and leave the rest of the API open;
// the third refusal from the address raises an abnormal-access alert.
func TestEndToEndIPRules(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	t.Parallel()
	hook := make(chan alert.Alert, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a alert.Alert
		if json.NewDecoder(r.Body).Decode(&a) == nil {
			hook <- a
		}
	}))
	t.Cleanup(srv.Close)
	service := "VN-DEMO/GOV/" + devnet.AgencyB.Code + "/" + devnet.AgencyB.Subsystem + "/" + devnet.SampleServiceCode
	n := startNetTB(t, func(c *node.Config) {
		c.IPRules = &services.IPRules{IPList: services.IPList{Allow: []string{"127.0.0.0/8", "::1"}},
			Services: map[string]services.IPList{service: {Deny: []string{"127.0.0.1", "::1"}}}}
		c.Alerts = alert.Config{Threshold: 3, Webhook: srv.URL}
	}, nil)
	c := n.client(t, true)
	exchangeError(t, do(t, c, "GET", n.url("/citizens/001"), "", nil), 403, "ip_denied")
	// Refused before authentication: no certificate needed to learn it.
	exchangeError(t, do(t, n.client(t, false), "GET", n.url("/citizens/001"), "", nil), 403, "ip_denied")
	if a := do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/health", "", nil); a.status != 200 {
		t.Fatalf("health: %d %s", a.status, a.body)
	}
	if got := alertsMetric(t, n.A.Node); got != `dxl_abnormal_access_alerts_total{kind="ip"} 0` {
		t.Fatalf("before the burst: %q", got)
	}
	// The third refusal (no credentials) reaches the threshold.
	exchangeError(t, do(t, n.client(t, false), "GET", "https://"+n.A.Node.APIAddr()+"/listClients", "", nil), 401, "unauthenticated")
	if got := alertsMetric(t, n.A.Node); got != `dxl_abnormal_access_alerts_total{kind="ip"} 1` {
		t.Fatalf("after the burst: %q", got)
	}
	select {
	case a := <-hook:
		if a.Kind != "ip" || a.Key != "127.0.0.1" || a.Code != "unauthenticated" || a.Count != 3 {
			t.Fatalf("webhook alert %+v", a)
		}
	case <-time.After(time.Minute):
		t.Fatal("the webhook got no alert")
	}
	// The SOAP service is not listed: its calls go through.
	env := soapEnvelope("http://schemas.xmlsoap.org/soap/envelope/", n.ClientA, n.soapService())
	if a := do(t, c, "POST", "https://"+n.A.Node.APIAddr()+"/", "text/xml", []byte(env)); a.status != 200 {
		t.Fatalf("SOAP: %d %s", a.status, a.body)
	}
}

// alertsMetric is A's dxl_abnormal_access_alerts_total line for kind ip.
func alertsMetric(t *testing.T, nd *node.Node) string {
	t.Helper()
	rec := httptest.NewRecorder()
	nd.Records().Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, `dxl_abnormal_access_alerts_total{kind="ip"}`) {
			return line
		}
	}
	return ""
}

func TestConfigIPRules(t *testing.T) {
	raw := `{"member":"VN-TEST/GOV/000.00.00.A01","api_listen":"127.0.0.1:0","ip_rules":{"allow":["10.0.0.0/8"],"deny":["10.0.0.300"]}}`
	c, err := node.ParseConfig([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); !errors.Is(err, node.ErrConfig) || !strings.Contains(err.Error(), `ip_rules.deny[0] "10.0.0.300"`) {
		t.Fatalf("bad entry: %v", err)
	}
}
