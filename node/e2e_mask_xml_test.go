package node_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/services"
)

// TestMaskXMLEndToEnd: B's XML answer reaches A's system masked by B's
// rule for it (by local name, prefixes kept), and both nodes' logged
// responses sign the masked body.
func TestMaskXMLEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Write([]byte(`<?xml version="1.0"?><c:citizen xmlns:c="urn:dancu"><c:id>001234567890</c:id><c:name>Le Van C</c:name>` +
			`<c:phones><c:p>0912345678</c:p></c:phones><c:address><c:street>1 Trang Tien</c:street><c:city>Ha Noi</c:city></c:address></c:citizen>`))
	}))
	defer backend.Close()
	n := startNetTB(t, nil, func(c *node.Config) {
		s := &c.Services[0]
		for i := range s.Versions {
			s.Versions[i].BackendURL = backend.URL
		}
		c.Masking = []services.MaskRule{{Service: s.Subsystem + "/" + s.Code, Consumer: "VN-DEMO/GOV/000.00.00.A01/TUPHAP",
			Fields: []services.MaskField{{Path: "/id", Action: services.MaskKeep, Keep: 4}, {Path: "phones.*", Action: services.MaskHash},
				{Path: "/address/street", Action: services.MaskDrop}}}}
	})
	a := do(t, n.client(t, true), "GET", n.url("/citizens/1"), "", nil)
	phone := sha256.Sum256([]byte("0912345678"))
	want := `<?xml version="1.0"?><c:citizen xmlns:c="urn:dancu"><c:id>********7890</c:id><c:name>Le Van C</c:name>` +
		`<c:phones><c:p>` + hex.EncodeToString(phone[:]) + `</c:p></c:phones><c:address><c:city>Ha Noi</c:city></c:address></c:citizen>`
	if a.status != 200 || string(a.body) != want {
		t.Fatalf("masked XML answer: %d\n got %s\nwant %s", a.status, a.body, want)
	}
	sum := sha256.Sum256(a.body)
	for _, nd := range []*node.Node{n.A.Node, n.B.Node} {
		recs, err := committedLog(t, nd).Records(a.header.Get("X-Request-ID"))
		if err != nil || len(recs) != 1 {
			t.Fatalf("records %+v %v", recs, err)
		}
		if resp, err := envelope.ParseResponse(recs[0].Response); err != nil || resp.BodySHA256 != sum {
			t.Fatalf("the logged response does not sign the masked body: %v", err)
		}
	}
}
