package node_test

import (
	"bytes"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/oprec"
)

// addressLike matches what an address looks like in an error text: a
// multiaddr, an IPv4 address, a :port.
var addressLike = regexp.MustCompile(`/ip[46]/|/tcp/|/udp/|\b\d{1,3}(\.\d{1,3}){3}\b|:\d{2,5}\b`)

// TestEndToEndUnreachableProviderMessage: with the provider's node down, a
// call answers 502 provider_unreachable naming the provider, and neither
// the JSON message nor the SOAP fault holds the provider's addresses.
func TestEndToEndUnreachableProviderMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("stops a provider node: full suite only (-short skips it)")
	}
	t.Parallel()
	n := startNet(t, nil)
	c := n.client(t, true)
	if a := do(t, c, "GET", n.url("/citizens/001"), "", nil); a.status != 200 {
		t.Fatalf("before the stop: %d %s", a.status, a.body)
	}
	n.B.Stop()
	a := do(t, c, "GET", n.url("/citizens/001"), "", nil)
	exchangeError(t, a, http.StatusBadGateway, "provider_unreachable")
	if loc := addressLike.FindString(string(a.body)); loc != "" || !bytes.Contains(a.body, []byte("unreachable")) {
		t.Fatalf("message holds %q: %s", loc, a.body)
	}
	soap := do(t, c, "POST", "https://"+n.A.Node.APIAddr()+"/soap", "text/xml; charset=utf-8",
		[]byte(soapEnvelope("http://schemas.xmlsoap.org/soap/envelope/", n.ClientA, n.soapService())))
	if soap.status != http.StatusInternalServerError || soap.header.Get(node.HeaderError) != "provider_unreachable" ||
		!strings.Contains(string(soap.body), "SOAP-ENV:Server.provider_unreachable") {
		t.Fatalf("SOAP: %d %v %s", soap.status, soap.header, soap.body)
	}
	if loc := addressLike.FindString(string(soap.body)); loc != "" {
		t.Fatalf("SOAP fault holds %q: %s", loc, soap.body)
	}
	// The refusal is on record under the request ID the IS was given, in
	// the operational records and (the envelope was signed) the message log.
	id := a.header.Get(node.HeaderRequestID)
	if id == "" {
		t.Fatalf("no %s on the refusal: %v", node.HeaderRequestID, a.header)
	}
	recs, _, err := committedRecords(t, n.A.Node).Query(oprec.Filter{ErrorCode: "provider_unreachable", Limit: oprec.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(recs, func(r oprec.Record) bool { return r.RequestID == id && r.Status == http.StatusBadGateway }) {
		t.Fatalf("no record of request %s among %d provider_unreachable records", id, len(recs))
	}
	if logged, err := committedLog(t, n.A.Node).Records(id); err != nil || len(logged) != 1 || logged[0].ErrorCode != "provider_unreachable" {
		t.Fatalf("message log for %s: %v %+v", id, err, logged)
	}
}
