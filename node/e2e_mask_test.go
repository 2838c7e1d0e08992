package node_test

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/services"
)

// TestEndToEndMasking: B masks its answers for A's information system
// before signing them, so both nodes' message logs hold the hash of the
// masked body A got; a member's rule does not apply to another member.
func TestEndToEndMasking(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/text" {
			w.Header().Set("Content-Type", "text/plain")
		}
		w.Write([]byte(`{"id":"001234567890","name":"Le Van C","phones":["0912345678"],"address":{"street":"1 Trang Tien","city":"Ha Noi"}}`))
	}))
	t.Cleanup(backend.Close)
	var clientA string
	n := startNetTB(t, nil, func(c *node.Config) {
		s := &c.Services[0]
		for i := range s.Versions {
			s.Versions[i].BackendURL = backend.URL
		}
		service := s.Subsystem + "/" + s.Code
		c.Masking = []services.MaskRule{
			{Service: service, Consumer: "VN-DEMO/GOV/000.00.00.A01/TUPHAP", Fields: []services.MaskField{
				{Path: "/id", Action: services.MaskKeep, Keep: 4}, {Path: "phones.*", Action: services.MaskHash},
				{Path: "/address/street", Action: services.MaskDrop}}},
			{Service: service, Consumer: "VN-DEMO/GOV/000.00.00.Z99", Fields: []services.MaskField{{Path: "/name", Action: services.MaskDrop}}},
		}
	})
	clientA = n.ClientA
	if clientA != "VN-DEMO/GOV/000.00.00.A01/TUPHAP" {
		t.Fatalf("the demo's client is %s: update the rule", clientA)
	}
	c := n.client(t, true)
	a := do(t, c, "GET", n.url("/citizens/1"), "", nil)
	phone := sha256.Sum256([]byte("0912345678"))
	want := `{"address":{"city":"Ha Noi"},"id":"********7890","name":"Le Van C","phones":["` + hexOf(phone[:]) + `"]}`
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

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
