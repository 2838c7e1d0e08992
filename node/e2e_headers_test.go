package node_test

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/envelope"
)

// TestEndToEndHeaders: the information system's request headers reach
// the provider's backend and the backend's response headers come back, in
// order with repeats, signed in both envelopes (the message log holds
// them); hop-by-hop, control and node-authenticating headers stay behind;
// content negotiation works through two nodes.
func TestEndToEndHeaders(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	c := n.client(t, true)
	a := do(t, c, "GET", n.url("/headers"), "", nil,
		"Accept", "application/json", "Authorization", "Basic YmFja2VuZDpzZWNyZXQ=", "X-Custom", "kept",
		"Proxy-Authorization", "Basic cHJveHk6aG9w", "X-DXL-Forged", "dropped", "User-Agent", "client-host/1.0")
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var seen http.Header
	if err := json.Unmarshal(a.body, &seen); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"Accept": "application/json", "Authorization": "Basic YmFja2VuZDpzZWNyZXQ=", "X-Custom": "kept"} {
		if got := seen.Get(name); got != want {
			t.Errorf("backend saw %s %q, want %q", name, got, want)
		}
	}
	if seen.Get("User-Agent") == "client-host/1.0" {
		t.Error("backend saw the client's User-Agent")
	}
	for _, name := range []string{"Proxy-Authorization", "X-Dxl-Forged"} {
		if seen.Get(name) != "" {
			t.Errorf("backend saw %s: %q", name, seen.Get(name))
		}
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		"Content-Disposition": `attachment; filename="headers.json"`, "Allow": "GET, HEAD"} {
		if got := a.header.Get(name); got != want {
			t.Errorf("answer %s %q, want %q", name, got, want)
		}
	}
	if got := a.header.Values("X-Backend-Trace"); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("repeated response header: %q", got)
	}
	// Both envelopes carry them: the message log is the evidence.
	recs, err := committedLog(t, n.A.Node).Records(a.header.Get(node.HeaderRequestID))
	if err != nil || len(recs) != 1 {
		t.Fatalf("message log: %v %d", err, len(recs))
	}
	req, err := envelope.ParseRequest(recs[0].Request)
	if err != nil || !slices.Contains(req.Headers, envelope.Header{Name: "X-Custom", Value: "kept"}) {
		t.Fatalf("request envelope headers: %v %+v", err, req)
	}
	resp, err := envelope.ParseResponse(recs[0].Response)
	if err != nil || !slices.Contains(resp.Headers, envelope.Header{Name: "X-Backend-Trace", Value: "two"}) {
		t.Fatalf("response envelope headers: %v %+v", err, resp)
	}

	xmlAnswer := do(t, c, "GET", n.url("/citizens/7"), "", nil, "Accept", "application/xml")
	if xmlAnswer.status != 200 || !strings.HasPrefix(xmlAnswer.header.Get("Content-Type"), "application/xml") ||
		!strings.Contains(string(xmlAnswer.body), "<id>7</id>") || xmlAnswer.header.Get("Vary") != "Accept" {
		t.Fatalf("content negotiation: %d %v %s", xmlAnswer.status, xmlAnswer.header, xmlAnswer.body)
	}
}

// TestEndToEndHeadersCapped: more headers than an envelope carries is
// 431 headers_too_large at the consumer node.
func TestEndToEndHeadersCapped(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	var hdr []string
	for i := range envelope.MaxHeaders + 1 {
		hdr = append(hdr, "X-Many-"+strings.Repeat("n", i%5)+string(rune('a'+i%26))+strings.Repeat("m", i/26), "v")
	}
	exchangeError(t, do(t, n.client(t, true), "GET", n.url("/headers"), "", nil, hdr...),
		http.StatusRequestHeaderFieldsTooLarge, "headers_too_large")
}

// TestEndToEndXRoadREST: an X-Road REST client's headers (X-Road Message
// Protocol for REST 1.0.3 §4.3, §4.4): X-Road-Client (the last of several
// wins), X-Road-Id as the message ID, X-Road-UserId and
// X-Road-Represented-Party carried; the answer has X-Road-Id,
// X-Road-Client, X-Road-Service, X-Road-Request-Id and
// X-Road-Request-Hash (base64 SHA-512 of the signed request).
func TestEndToEndXRoadREST(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	c := n.client(t, true)
	req, err := http.NewRequest("GET", n.url("/headers"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Add("X-Road-Client", "VN-DEMO/GOV/999/NOT-ME")
	req.Header.Add("X-Road-Client", n.ClientA)
	req.Header.Set("X-Road-Id", "xroad-msg-0001")
	req.Header.Set("X-Road-UserId", "VN12345")
	req.Header.Set("X-Road-Represented-Party", "GOV/000.00.00.Z99")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var seen http.Header
	err = json.NewDecoder(resp.Body).Decode(&seen)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	for name, want := range map[string]string{"X-Road-Id": "xroad-msg-0001", "X-Road-Client": n.ClientA, "X-Road-Service": n.Service} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("answer %s %q, want %q", name, got, want)
		}
	}
	id := resp.Header.Get("X-Road-Request-Id")
	if _, err := envelope.ParseRequestID(id); err != nil || id != resp.Header.Get(node.HeaderRequestID) {
		t.Fatalf("X-Road-Request-Id %q, X-Request-ID %q", id, resp.Header.Get(node.HeaderRequestID))
	}
	recs, err := committedLog(t, n.A.Node).Records(id)
	if err != nil || len(recs) != 1 {
		t.Fatalf("message log: %v %d", err, len(recs))
	}
	sum := sha512.Sum512(recs[0].Request)
	if got := resp.Header.Get("X-Road-Request-Hash"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("X-Road-Request-Hash %q is not the SHA-512 of the signed request", got)
	}
	for name, want := range map[string]string{"X-Road-Userid": "VN12345", "X-Road-Represented-Party": "GOV/000.00.00.Z99",
		"X-Road-Client": n.ClientA, "X-Road-Service": n.Service, "X-Road-Request-Hash": resp.Header.Get("X-Road-Request-Hash")} {
		if got := seen.Get(name); got != want {
			t.Errorf("backend saw %s %q, want %q", name, got, want)
		}
	}
	// The same X-Road-Id again from the same client is the same exchange.
	again, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusConflict || again.Header.Get(node.HeaderError) != "duplicate_request" {
		t.Fatalf("the same X-Road-Id again: %d %q", again.StatusCode, again.Header.Get(node.HeaderError))
	}
}
