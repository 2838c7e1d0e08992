package node_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"testing"

	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/envelope"
)

// xroadError checks an exchange-layer error in X-Road's form (X-Road
// Message Protocol for REST 1.0, 4.6 Error handling): X-Road-Error and
// X-DXL-Error headers, a UTF-8 JSON body with X-Road's type, message and
// detail beside DXL's code and requestId.
func xroadError(t *testing.T, a answer, status int, code, typ string) {
	t.Helper()
	exchangeError(t, a, status, code)
	var e map[string]string
	if err := json.Unmarshal(a.body, &e); err != nil || a.header.Get("X-Road-Error") != typ ||
		a.header.Get("Content-Type") != "application/json; charset=utf-8" || e["type"] != typ ||
		e["message"] == "" || e["detail"] != a.header.Get(node.HeaderRequestID) || e["detail"] != e["requestId"] {
		t.Fatalf("want X-Road error %s, got %v %s (%v)", typ, a.header, a.body, err)
	}
}

// TestEndToEndXRoadErrors follows X-Road Message Protocol for REST 1.0,
// section 4.6 (Error handling, examples 1 to 5): the provider's own error
// answers (category 1) pass as they are, without X-Road-Error or
// X-DXL-Error, so the header alone tells them from the exchange layer's;
// an error of the request is Client.*, one of the consumer's node
// Server.ClientProxy.*, one the provider's node reports
// Server.ServerProxy.*; a client preferring XML gets X-Road's <error>.
func TestEndToEndXRoadErrors(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	c := n.client(t, true)

	for _, status := range []string{"404", "409", "500", "502", "503"} {
		for _, accept := range []string{"", "text/xml"} {
			a := do(t, c, "GET", n.url("/status/"+status), "", nil, "Accept", accept)
			if a.header.Get("X-Road-Error") != "" || a.header.Get(node.HeaderError) != "" ||
				string(a.body) != `{"backend_status":`+status+`}` || a.header.Get("Content-Type") != "application/json" {
				t.Fatalf("provider's %s (Accept %q): %d %v %s", status, accept, a.status, a.header, a.body)
			}
		}
	}

	plain := n.client(t, false)
	xroadError(t, do(t, plain, "GET", n.url("/citizens/1"), "", nil), 401, "unauthenticated", "Client.SslAuthenticationFailed")
	nosuch := "https://" + n.A.Node.APIAddr() + "/r1/VN-DEMO/GOV/000.00.00.B01/DANCU/nosuch/x"
	xroadError(t, do(t, c, "GET", nosuch, "", nil), 404, "unknown_service", "Client.UnknownService")

	// The provider node refuses a request ID it has run: its error.
	id := envelope.NewRequestID().String()
	post := func(hdr ...string) answer {
		return do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`{"name":"X"}`), append([]string{"X-Request-ID", id}, hdr...)...)
	}
	if a := post(); a.status != http.StatusCreated {
		t.Fatalf("first call: %d %s", a.status, a.body)
	}
	xroadError(t, post(), http.StatusConflict, "duplicate_request", "Server.ServerProxy.DuplicateRequest")

	// The same error, asked for as XML.
	a := post("Accept", "application/xml")
	var e struct {
		XMLName   xml.Name
		Type      string `xml:"type"`
		Message   string `xml:"message"`
		Detail    string `xml:"detail"`
		Code      string `xml:"code"`
		RequestID string `xml:"requestId"`
	}
	if err := xml.Unmarshal(a.body, &e); err != nil || a.status != http.StatusConflict ||
		a.header.Get("Content-Type") != "text/xml; charset=utf-8" || a.header.Get("X-Road-Error") != "Server.ServerProxy.DuplicateRequest" ||
		e.XMLName.Local != "error" || e.Type != "Server.ServerProxy.DuplicateRequest" || e.Message == "" ||
		e.Detail != id || e.Code != "duplicate_request" || e.RequestID != id {
		t.Fatalf("XML error: %d %v %s (%v)", a.status, a.header, a.body, err)
	}
}
