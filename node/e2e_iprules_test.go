package node_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/services"
)

// TestEndToEndIPRules: A's ip_rules refuse a service to the loopback
// address before any authentication, and leave the rest of the API open.
func TestEndToEndIPRules(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	t.Parallel()
	service := "VN-DEMO/GOV/" + devnet.AgencyB.Code + "/" + devnet.AgencyB.Subsystem + "/" + devnet.SampleServiceCode
	n := startNetTB(t, func(c *node.Config) {
		c.IPRules = &services.IPRules{IPList: services.IPList{Allow: []string{"127.0.0.0/8", "::1"}},
			Services: map[string]services.IPList{service: {Deny: []string{"127.0.0.1", "::1"}}}}
	}, nil)
	c := n.client(t, true)
	exchangeError(t, do(t, c, "GET", n.url("/citizens/001"), "", nil), 403, "ip_denied")
	// Refused before authentication: no certificate needed to learn it.
	exchangeError(t, do(t, n.client(t, false), "GET", n.url("/citizens/001"), "", nil), 403, "ip_denied")
	if a := do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/health", "", nil); a.status != 200 {
		t.Fatalf("health: %d %s", a.status, a.body)
	}
	// The SOAP service is not listed: its calls go through.
	env := soapEnvelope("http://schemas.xmlsoap.org/soap/envelope/", n.ClientA, n.soapService())
	if a := do(t, c, "POST", "https://"+n.A.Node.APIAddr()+"/", "text/xml", []byte(env)); a.status != 200 {
		t.Fatalf("SOAP: %d %s", a.status, a.body)
	}
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
