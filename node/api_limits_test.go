package node_test

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node"
)

// TestConsumerAPIRefusesOversizedHeaders: a 200 KB header set is answered
// 431 by the consumer API (its cap is 64 KiB), not read whole.
func TestConsumerAPIRefusesOversizedHeaders(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	tlsCfg := n.client(t, true).Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsCfg.NextProtos = nil // HTTP/1.1: HTTP/2 clients refuse to send past the advertised limit
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: tlsCfg,
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	req, err := http.NewRequest("GET", n.url("/citizens/001"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		req.Header.Set("X-Filler-"+strings.Repeat("f", i%7)+string(rune('a'+i%26))+strings.Repeat("x", i/26), strings.Repeat("a", 1000))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

func TestConfigAPILimits(t *testing.T) {
	c := node.Config{Member: "VN-DEMO/GOV/000.00.00.A01"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, l := range []node.APILimits{{ReadTimeout: -1}, {MaxHeaderBytes: 100}, {MaxConnsPerIP: -3}} {
		c := node.Config{Member: "VN-DEMO/GOV/000.00.00.A01", APILimits: l}
		if c.Validate() == nil {
			t.Errorf("api_limits %+v accepted", l)
		}
	}
}
