package node_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/alert"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/provider"
	"github.com/dxl-network/dxl/services"
)

// govBackend is B's backend in TestEndToEndGovernance: it counts the
// POSTs it sees (not the level-2 health checks) and answers a citizen,
// a body failing the response schema on /bad, or text/plain on /text.
func govBackend(t *testing.T, posts *atomic.Int64) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost:
			posts.Add(1)
			w.Write([]byte(`{"id":"7","name":"Tran Thi B"}`))
			return
		case r.URL.Path == "/bad":
			w.Write([]byte(`{"id":7}`))
			return
		case r.URL.Path == "/text":
			w.Header().Set("Content-Type", "text/plain")
		}
		w.Write([]byte(`{"id":"001234567890","name":"Le Van C","phones":["0912345678"],"address":{"street":"1 Trang Tien","city":"Ha Noi"}}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestEndToEndGovernance runs the data-governance rules through one
// network: A's ip_rules and abnormal-access alerts, B's schemas and its
// masking for A's information system.
func TestEndToEndGovernance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	t.Parallel()
	var posts atomic.Int64
	backend := govBackend(t, &posts)
	hook := make(chan alert.Alert, 4)
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a alert.Alert
		if json.NewDecoder(r.Body).Decode(&a) == nil {
			hook <- a
		}
	}))
	t.Cleanup(hookSrv.Close)
	dir := t.TempDir()
	req, resp := filepath.Join(dir, "citizen-request.json"), filepath.Join(dir, "citizen-response.json")
	for file, doc := range map[string]string{
		req:  `{"type":"object","required":["name"],"properties":{"name":{"type":"string","minLength":1},"children":{"type":"array","items":{"type":"integer"}}}}`,
		resp: `{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`,
	} {
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	soapSvc := "VN-DEMO/GOV/" + devnet.AgencyB.Code + "/" + devnet.AgencyB.Subsystem + "/" + devnet.SampleSOAPCode
	n := startNetTB(t, func(c *node.Config) {
		c.IPRules = &services.IPRules{IPList: services.IPList{Allow: []string{"127.0.0.0/8", "::1"}},
			Services: map[string]services.IPList{soapSvc: {Deny: []string{"127.0.0.1", "::1"}}}}
		c.Alerts = alert.Config{Threshold: 3, Webhook: hookSrv.URL}
	}, func(c *node.Config) {
		s := &c.Services[0]
		for i := range s.Versions {
			s.Versions[i].BackendURL = backend
		}
		s.Schemas = map[string]provider.SchemaConfig{"": {Request: req, Response: resp, ValidateResponses: true}}
		service := s.Subsystem + "/" + s.Code
		c.Masking = []services.MaskRule{
			{Service: service, Consumer: "VN-DEMO/GOV/000.00.00.A01/TUPHAP", Fields: []services.MaskField{
				{Path: "/id", Action: services.MaskKeep, Keep: 4}, {Path: "phones.*", Action: services.MaskHash},
				{Path: "/address/street", Action: services.MaskDrop}}},
			{Service: service, Consumer: "VN-DEMO/GOV/000.00.00.Z99", Fields: []services.MaskField{{Path: "/name", Action: services.MaskDrop}}},
		}
	})
	t.Run("IPRulesAndAlert", func(t *testing.T) { govIPRules(t, n, hook) })
	t.Run("Schemas", func(t *testing.T) { govSchemas(t, n, &posts) })
	t.Run("Masking", func(t *testing.T) { govMasking(t, n) })
}

// govIPRules: A refuses the SOAP service to the loopback address before
// authentication (REST form) and once a SOAP call names it; the third
// refusal raises the alert.
func govIPRules(t *testing.T, n *testNet, hook chan alert.Alert) {
	c := n.client(t, true)
	if got := alertsMetric(t, n.A.Node); got != `dxl_abnormal_access_alerts_total{kind="ip"} 0` {
		t.Fatalf("before the burst: %q", got)
	}
	u := "https://" + n.A.Node.APIAddr() + "/r1/" + n.soapService() + "/x"
	exchangeError(t, do(t, c, "GET", u, "", nil), 403, "ip_denied")
	// Refused before authentication: no certificate needed to learn it.
	exchangeError(t, do(t, n.client(t, false), "GET", u, "", nil), 403, "ip_denied")
	if a := do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/health", "", nil); a.status != 200 {
		t.Fatalf("health: %d %s", a.status, a.body)
	}
	env := soapEnvelope("http://schemas.xmlsoap.org/soap/envelope/", n.ClientA, n.soapService())
	if a := do(t, c, "POST", "https://"+n.A.Node.APIAddr()+"/", "text/xml", []byte(env)); a.status != 403 || a.header.Get(node.HeaderError) != "ip_denied" {
		t.Fatalf("SOAP: %d %v %s", a.status, a.header, a.body)
	}
	if got := alertsMetric(t, n.A.Node); got != `dxl_abnormal_access_alerts_total{kind="ip"} 1` {
		t.Fatalf("after the burst: %q", got)
	}
	select {
	case a := <-hook:
		if a.Kind != "ip" || a.Key != "127.0.0.1" || a.Code != "ip_denied" || a.Count != 3 {
			t.Fatalf("webhook alert %+v", a)
		}
	case <-time.After(time.Minute):
		t.Fatal("the webhook got no alert")
	}
}

// govSchemas: a request failing its schema never reaches the backend and
// the error names the location; an answer failing its schema is not
// passed on.
func govSchemas(t *testing.T, n *testNet, posts *atomic.Int64) {
	c := n.client(t, true)
	if a := do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`{"name":"Tran Thi B","children":[1]}`)); a.status != 200 || posts.Load() != 1 {
		t.Fatalf("valid request: %d %s, backend POSTs %d", a.status, a.body, posts.Load())
	}
	a := do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`{"name":"Tran Thi B","children":[1,"two"]}`))
	exchangeError(t, a, 400, "schema_invalid")
	if !bytes.Contains(a.body, []byte(`/children/1`)) {
		t.Errorf("the error does not name the failing location: %s", a.body)
	}
	exchangeError(t, do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`not json`)), 400, "schema_invalid")
	if posts.Load() != 1 {
		t.Fatalf("requests failing their schema reached the backend: %d POSTs", posts.Load())
	}
	// The provider's fault: its details stay in B's log, the body is not
	// passed on.
	a = do(t, c, "GET", n.url("/bad"), "", nil)
	if a.status != http.StatusBadGateway || a.header.Get(node.HeaderError) != "response_schema_invalid" || bytes.Contains(a.body, []byte(`"id":7`)) {
		t.Fatalf("answer failing its schema: %d %v %s", a.status, a.header, a.body)
	}
}

// govMasking: B masks its answers for A's information system before
// signing them, so both nodes' message logs hold the hash of the masked
// body A got; the other member's rule does not apply to A.
func govMasking(t *testing.T, n *testNet) {
	if n.ClientA != "VN-DEMO/GOV/000.00.00.A01/TUPHAP" {
		t.Fatalf("the demo's client is %s: update the rule", n.ClientA)
	}
	c := n.client(t, true)
	a := do(t, c, "GET", n.url("/citizens/1"), "", nil)
	phone := sha256.Sum256([]byte("0912345678"))
	want := `{"address":{"city":"Ha Noi"},"id":"********7890","name":"Le Van C","phones":["` + hex.EncodeToString(phone[:]) + `"]}`
	if a.status != 200 || string(a.body) != want {
		t.Fatalf("masked answer: %d\n got %s\nwant %s", a.status, a.body, want)
	}
	sum := sha256.Sum256(a.body)
	id := a.header.Get("X-Request-ID")
	for _, nd := range []*node.Node{n.A.Node, n.B.Node} {
		recs, err := committedLog(t, nd).Records(id)
		if err != nil || len(recs) != 1 {
			t.Fatalf("records %+v %v", recs, err)
		}
		resp, err := envelope.ParseResponse(recs[0].Response)
		if err != nil || resp.BodySHA256 != sum {
			t.Fatalf("the logged response does not sign the masked body: %v", err)
		}
	}
	// An answer that cannot be masked is not passed on.
	exchangeError(t, do(t, c, "GET", n.url("/text"), "", nil), 502, "mask_failed")
}

// alertsMetric is nd's dxl_abnormal_access_alerts_total line for kind ip.
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
