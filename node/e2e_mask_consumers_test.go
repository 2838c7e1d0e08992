package node_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/services"
)

// maskedRecord is the one citizen record B's backend answers to every
// consumer in TestMaskingTwoConsumers.
const maskedRecord = `{"id":"001234567890","name":"Le Van C","phones":["0912345678"],"address":{"street":"1 Trang Tien","city":"Ha Noi"}}`

// maskConsumer is one of A's information systems in TestMaskingTwoConsumers.
type maskConsumer struct {
	client *http.Client
	id     string // subsystem ID
	want   string // the body B's masking rule for it leaves
	got    answer
}

// TestMaskingTwoConsumers: two information systems of A (TUPHAP and a
// second one, HOTICH, registered through a system request) call the same
// service of B and get the same backend record masked by B's rule for
// each (TUPHAP's its own, HOTICH's that of a local group it is in). The evidence bundle of each call verifies offline, its signed
// response hash is that of exactly the body its consumer got, the two
// differ, and a changed byte in either fails verification; B's message
// log holds both calls with their own masked hash.
func TestMaskingTwoConsumers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	t.Parallel()
	var mu sync.Mutex
	asked := map[string]int{} // backend calls by client
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/citizens/1" {
			mu.Lock()
			asked[r.Header.Get("X-DXL-Client")]++
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(maskedRecord))
	}))
	t.Cleanup(backend.Close)
	n, consumers := startNetTwoConsumers(t, backend.URL)

	for _, c := range consumers {
		c.got = do(t, c.client, "GET", n.url("/citizens/1"), "", nil)
		if c.got.status != 200 || string(c.got.body) != c.want {
			t.Fatalf("%s: masked answer %d\n got %s\nwant %s", c.id, c.got.status, c.got.body, c.want)
		}
	}
	mu.Lock()
	if len(asked) != 2 || asked[consumers[0].id] != 1 || asked[consumers[1].id] != 1 {
		t.Fatalf("the backend was not asked once by each consumer: %v", asked)
	}
	mu.Unlock()
	if bytes.Equal(consumers[0].got.body, consumers[1].got.body) {
		t.Fatal("the two consumers got the same body")
	}

	var hashes [][32]byte
	for _, c := range consumers {
		sum := sha256.Sum256(c.got.body)
		hashes = append(hashes, sum)
		id := c.got.header.Get("X-Request-ID")
		b, err := n.A.Node.Evidence(n.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		checkMaskedBundle(t, n, b, c, sum)
		// The provider's own record of the call signs the same masked body.
		recs, err := committedLog(t, n.B.Node).Records(id)
		if err != nil || len(recs) != 1 || recs[0].Client != c.id {
			t.Fatalf("B's records of %s: %+v %v", id, recs, err)
		}
		if resp, err := envelope.ParseResponse(recs[0].Response); err != nil || resp.BodySHA256 != sum {
			t.Fatalf("B's logged response for %s does not sign its masked body: %v", c.id, err)
		}
	}
	if hashes[0] == hashes[1] {
		t.Fatal("the two bundles sign the same response body hash")
	}
}

// startNetTwoConsumers starts a network whose B serves the record of
// backend, masked for A's TUPHAP and for A's second system HOTICH (pinned
// on A's node and registered once the network runs), both allowed to call
// it; the bundles of their calls are stamped quickly.
func startNetTwoConsumers(t *testing.T, backend string) (*testNet, []*maskConsumer) {
	t.Helper()
	memberA := "VN-DEMO/GOV/" + devnet.AgencyA.Code
	second := memberA + "/HOTICH"
	cert, key, sha, err := devnet.ClientCert(t.TempDir(), "hotich")
	if err != nil {
		t.Fatal(err)
	}
	n := startNetTB(t, func(c *node.Config) {
		fastStamps(c)
		c.Clients = append(c.Clients, node.ClientCert{Subsystem: second, CertSHA256: sha})
	}, func(c *node.Config) {
		fastStamps(c)
		s := &c.Services[0]
		for i := range s.Versions {
			s.Versions[i].BackendURL = backend
		}
		service := s.Subsystem + "/" + s.Code
		c.Access.Rules = append(c.Access.Rules, devnet.AllowAll(second, service))
		c.Access.LocalGroups = map[string][]string{"registry-offices": {second}}
		c.Masking = []services.MaskRule{
			{Service: service, Consumer: memberA + "/" + devnet.AgencyA.Subsystem, Fields: []services.MaskField{
				{Path: "/id", Action: services.MaskKeep, Keep: 4}, {Path: "phones.*", Action: services.MaskHash},
				{Path: "/address/street", Action: services.MaskDrop}}},
			{Service: service, Consumer: "local:registry-offices", Fields: []services.MaskField{
				{Path: "/id", Action: services.MaskHash}, {Path: "/phones", Action: services.MaskDrop},
				{Path: "/address", Action: services.MaskDrop}}},
		}
	})
	if n.ClientA != memberA+"/"+devnet.AgencyA.Subsystem {
		t.Fatalf("the demo's client is %s: update the rules", n.ClientA)
	}
	registerSystem(t, n, "HOTICH")
	gc, _ := n.clientOf(t, n.A, cert, key)
	phone, id := sha256.Sum256([]byte("0912345678")), sha256.Sum256([]byte("001234567890"))
	return n, []*maskConsumer{
		{client: n.client(t, true), id: n.ClientA,
			want: `{"address":{"city":"Ha Noi"},"id":"********7890","name":"Le Van C","phones":["` + hex.EncodeToString(phone[:]) + `"]}`},
		{client: gc, id: second, want: `{"id":"` + hex.EncodeToString(id[:]) + `","name":"Le Van C"}`},
	}
}

// registerSystem has A's node ask the registry for another information
// system of A (code), the operator approve it, and both nodes take the
// configuration that lists it.
func registerSystem(t *testing.T, n *testNet, code string) {
	t.Helper()
	raw, err := os.ReadFile("../docs/examples/registration.json")
	if err != nil {
		t.Fatal(err)
	}
	var form state.Registration
	if err := json.Unmarshal(raw, &form); err != nil {
		t.Fatal(err)
	}
	form.System.Code, form.System.Name = code, "Ho tich (second system of agency A)"
	st, err := node.RequestSystem(n.ctx, n.A.Dir, n.Admin, form, []byte(devnet.Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Admin.Approve(n.ctx, st.RequestID); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitConfig(n.ctx, n.A, n.B); err != nil {
		t.Fatal(err)
	}
	if sub, ok := n.Registry.Server().State().Subsystems[n.Member(devnet.AgencyA)+"/"+code]; !ok {
		t.Fatalf("subsystem %s not registered: %+v", code, sub)
	}
}

// checkMaskedBundle: bundle b, exported from A's node as `dxl log export`
// writes it, reads back and verifies as `dxl log verify` does, is c's call
// answered by B, and its signed response body hash is sum (of the body c
// got); one changed byte in its response envelope or in the file fails.
func checkMaskedBundle(t *testing.T, n *testNet, b *msglog.Bundle, c *maskConsumer, sum [32]byte) {
	t.Helper()
	raw, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	verify := func(raw []byte) (*msglog.Bundle, *msglog.Verified, error) {
		rb, err := msglog.ReadBundle(raw)
		if err != nil {
			return nil, nil, err
		}
		v, err := msglog.VerifyBundle(rb, n.roots(t))
		return rb, v, err
	}
	rb, v, err := verify(raw)
	if err != nil {
		t.Fatalf("%s: bundle does not verify: %v", c.id, err)
	}
	if v.RequestID != c.got.header.Get("X-Request-ID") || v.Client != c.id || v.Service != n.Service || v.Status != 200 ||
		v.Signer != n.Member(devnet.AgencyA) || v.Responder != n.Member(devnet.AgencyB) {
		t.Fatalf("%s: verified %+v", c.id, v)
	}
	resp, err := envelope.ParseResponse(rb.Record.Response)
	if err != nil {
		t.Fatal(err)
	}
	if resp.BodySHA256 != sum || resp.BodyLength != uint64(len(c.got.body)) {
		t.Fatalf("%s: the bundle signs body %x (%d bytes), the consumer got %x (%d bytes)",
			c.id, resp.BodySHA256, resp.BodyLength, sum, len(c.got.body))
	}
	// One byte of the signed body hash changed in the response envelope.
	i := bytes.Index(rb.Record.Response, sum[:])
	if i < 0 {
		t.Fatalf("%s: the body hash is not in the response envelope", c.id)
	}
	forged := *rb
	forged.Record.Response = bytes.Clone(rb.Record.Response)
	forged.Record.Response[i] ^= 1
	if _, err := msglog.VerifyBundle(&forged, n.roots(t)); err == nil {
		t.Fatalf("%s: a bundle with a changed body hash verified", c.id)
	}
	if fraw, err := forged.Marshal(); err != nil {
		t.Fatal(err)
	} else if _, _, err := verify(fraw); err == nil {
		t.Fatalf("%s: the file of a bundle with a changed body hash verified", c.id)
	}
	// One byte of the file changed: the status the record claims.
	tampered := bytes.Replace(raw, []byte(`"status": 200`), []byte(`"status": 201`), 1)
	if bytes.Equal(tampered, raw) {
		t.Fatalf("%s: no status in the bundle file", c.id)
	}
	if _, _, err := verify(tampered); err == nil {
		t.Fatalf("%s: a bundle file with a changed status verified", c.id)
	}
}
