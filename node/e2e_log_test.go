package node_test

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/oprec"
)

func fastStamps(c *node.Config) {
	c.MessageLog.StampInterval = node.Duration(200 * time.Millisecond)
	c.MessageLog.AcceptableFailure = node.Duration(1500 * time.Millisecond)
}

func (n *testNet) roots(t *testing.T) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	for _, r := range n.Anchor.Roots {
		p.AddCert(r)
	}
	return p
}

// TestEvidenceEndToEnd proves a call through two nodes from either side's
// log: the bundle verifies offline against the CA root, its token with
// OpenSSL, and a changed byte is refused.
func TestEvidenceEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network: full suite only")
	}
	t.Parallel()
	n := startNetTB(t, func(c *node.Config) {
		fastStamps(c)
		c.MessageLog.ArchiveBodies = nil
	}, func(c *node.Config) {
		fastStamps(c)
		c.MessageLog.ArchiveBodies = []string{c.Services[0].Subsystem + "/" + c.Services[0].Code}
	})
	c := n.client(t, true)
	body := []byte(`{"name":"Pham Van D"}`)
	a := do(t, c, "POST", n.url("/citizens"), "application/json", body)
	if a.status != 201 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	id := a.header.Get("X-Request-ID")
	for _, h := range []*devnet.NodeHandle{n.A, n.B} {
		b, err := h.Node.Evidence(n.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		rb, err := msglog.ReadBundle(raw)
		if err != nil {
			t.Fatal(err)
		}
		v, err := msglog.VerifyBundle(rb, n.roots(t))
		if err != nil {
			t.Fatal(err)
		}
		if v.RequestID != id || v.Client != n.ClientA || v.Service != n.Service || v.Status != 201 ||
			v.Signer != n.Member(devnet.AgencyA) || v.Responder != n.Member(devnet.AgencyB) {
			t.Fatalf("verified %+v", v)
		}
		// A changed byte anywhere in the record is refused.
		i := bytes.Index(raw, []byte(`"status": 201`))
		if i < 0 {
			i = bytes.Index(raw, []byte(`"status":201`))
		}
		tampered := bytes.Replace(raw, []byte("201"), []byte("200"), 1)
		if rb, err := msglog.ReadBundle(tampered); err == nil {
			if _, err := msglog.VerifyBundle(rb, n.roots(t)); err == nil {
				t.Fatalf("tampered bundle verified (status at %d)", i)
			}
		}
		openSSLVerifyToken(t, rb, n)
	}
	// The provider archived the bodies, encrypted; the consumer did not.
	recs, err := committedLog(t, n.B.Node).Records(id)
	if err != nil || len(recs) != 1 || !recs[0].Archived {
		t.Fatalf("provider records %+v %v", recs, err)
	}
	bodies, err := n.B.Node.MessageLog().Body(recs[0].Seq)
	if err != nil || !bytes.Equal(bodies.Request, body) || !bytes.Contains(bodies.Response, []byte("Pham Van D")) {
		t.Fatalf("archived bodies %+v %v", bodies, err)
	}
	raw, _ := os.ReadFile(filepath.Join(n.B.Dir, node.FileMessageLog))
	if bytes.Contains(raw, body) {
		t.Fatal("the request body is in the message log in clear")
	}
	if recs, _ := committedLog(t, n.A.Node).Records(id); len(recs) != 1 || recs[0].Archived {
		t.Fatalf("consumer records %+v", recs)
	}

	// A call the provider node refused is evidence too: A's signed request,
	// no response, the refusal's code.
	a = do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/r1/"+n.SubsystemID(devnet.AgencyB)+"/getOpenAPI?serviceCode=ghost", "", nil)
	exchangeError(t, a, 404, "unknown_service")
	for _, h := range []*devnet.NodeHandle{n.A, n.B} {
		b, err := h.Node.Evidence(n.ctx, a.header.Get("X-Request-ID"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := msglog.VerifyBundle(b, n.roots(t))
		if err != nil || v.Status != 0 || b.Record.ErrorCode != "unknown_service" || len(b.Record.Response) != 0 {
			t.Fatalf("refused call's evidence from %s: %+v %v", h.Dir, v, err)
		}
	}
}

func openSSLVerifyToken(t *testing.T, b *msglog.Bundle, n *testNet) {
	t.Helper()
	dir := t.TempDir()
	ossl := testutil.OpenSSL(t, dir)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var chain []byte
	for _, der := range b.CAChain[:len(b.CAChain)-1] {
		chain = append(chain, pemOf(der)...)
	}
	out := ossl("ts", "-verify", "-digest", hex.EncodeToString(b.MerkleRoot), "-in", write("t.tsr", b.Token),
		"-CAfile", write("root.pem", pemOf(b.CAChain[len(b.CAChain)-1])), "-untrusted", write("chain.pem", chain))
	if !strings.Contains(out, "Verification: OK") {
		t.Fatalf("openssl ts -verify:\n%s", out)
	}
}

// TestTimestampOutageEndToEnd: with the TSA down the nodes keep exchanging,
// then refuse once the acceptable-failure period passes; when the TSA is
// back, every record gets its timestamp and calls flow again.
func TestTimestampOutageEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("a TSA outage fault test: full suite only (-short skips it)")
	}
	t.Parallel()
	n := startNetTB(t, fastStamps, fastStamps)
	c := n.client(t, true)
	n.StopTSA()
	for i := 0; i < 5; i++ {
		if a := do(t, c, "GET", n.url("/citizens/1"), "", nil); a.status != 200 {
			t.Fatalf("call %d during a short outage: %d %s", i, a.status, a.body)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := do(t, c, "GET", n.url("/citizens/1"), "", nil)
		if a.status == 503 {
			exchangeError(t, a, 503, "timestamp_unavailable")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still exchanging long after the acceptable failure period: %d", a.status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := n.StartTSA(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		sa, sb := n.A.Node.MessageLog().Stats(), n.B.Node.MessageLog().Stats()
		if sa.Pending == 0 && sb.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("records still unstamped after recovery: A %+v B %+v", sa, sb)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a := do(t, c, "GET", n.url("/citizens/1"), "", nil); a.status != 200 {
		t.Fatalf("after recovery: %d %s", a.status, a.body)
	}
	for _, h := range []*devnet.NodeHandle{n.A, n.B} {
		if err := h.Node.MessageLog().Flush(n.ctx); err != nil {
			t.Fatal(err)
		}
		k, err := h.Node.MessageLog().VerifyChain()
		if err != nil || k < 6 {
			t.Fatalf("%s chain: %d %v", h.Dir, k, err)
		}
	}
}

// TestReconcileEndToEnd reconciles A's calls to B from both sides, then
// with records deliberately added on one side and a status changed.
func TestReconcileEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("a network of its own: full suite only (-short keeps under a minute)")
	}
	t.Parallel()
	n := startNet(t, nil)
	c := n.client(t, true)
	var ids []string
	for i := 0; i < 8; i++ {
		a := do(t, c, "GET", n.url("/citizens/1"), "", nil)
		if a.status != 200 {
			t.Fatal(a.status)
		}
		ids = append(ids, a.header.Get("X-Request-ID"))
	}
	// A call refused by the provider is recorded on both sides too.
	exchangeError(t, do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/r1/"+n.SubsystemID(devnet.AgencyB)+"/getOpenAPI?serviceCode=ghost", "", nil), 404, "unknown_service")
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	memberB, memberA := n.Member(devnet.AgencyB), n.Member(devnet.AgencyA)

	rep, err := n.A.Node.Reconcile(n.ctx, memberB, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Local != 9 || rep.Remote != 9 || rep.Matched != 9 || len(rep.Mismatches) != 0 {
		t.Fatalf("clean reconciliation: %+v", rep)
	}
	if rep, err := n.B.Node.Reconcile(n.ctx, memberA, from, to); err != nil || rep.Matched != 9 || len(rep.Mismatches) != 0 {
		t.Fatalf("from B: %+v %v", rep, err)
	}

	// Drop on B's side: B "lost" nothing but A gains a record B never saw;
	// B gains one A never saw; and one status differs.
	start := time.Now()
	n.A.Node.Records().Add(oprec.Record{RequestID: "11111111-1111-4111-8111-111111111111", Start: start, Role: oprec.RoleConsumer,
		Client: n.ClientA, Service: n.Service, Status: 200, ConsumerPeer: n.A.Node.PeerID().String(), ProviderPeer: n.B.Node.PeerID().String()})
	n.B.Node.Records().Add(oprec.Record{RequestID: "22222222-2222-4222-8222-222222222222", Start: start, Role: oprec.RoleProvider,
		Client: n.ClientA, Service: n.Service, Status: 200, ConsumerPeer: n.A.Node.PeerID().String(), ProviderPeer: n.B.Node.PeerID().String()})
	recs, _, err := committedRecords(t, n.B.Node).Query(oprec.Filter{From: from, To: to, Role: oprec.RoleProvider, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var changed string
	for _, r := range recs {
		if r.RequestID == ids[3] {
			r.Status = 500
			n.B.Node.Records().Add(r)
			changed = r.RequestID
		}
	}
	if changed == "" {
		t.Fatal("B has no record of a call it served")
	}
	rep, err = n.A.Node.Reconcile(n.ctx, memberB, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Mismatches) != 1 {
		t.Fatalf("mismatches %+v", rep.Mismatches)
	}
	m := rep.Mismatches[0]
	if m.Service != n.Service || m.Day != start.UTC().Format(time.DateOnly) ||
		len(m.MissingRemote) != 1 || m.MissingRemote[0] != "11111111-1111-4111-8111-111111111111" ||
		len(m.MissingLocal) != 1 || m.MissingLocal[0] != "22222222-2222-4222-8222-222222222222" ||
		len(m.StatusDiffers) != 1 || m.StatusDiffers[0] != (node.StatusDiff{RequestID: changed, Local: 200, Remote: 500}) {
		t.Fatalf("mismatch %+v\nreport %+v", m, rep)
	}
	if rep.Matched != 8 {
		t.Fatalf("matched %d", rep.Matched)
	}
	// A member only gets a summary of its own calls; nonsense periods are refused.
	if _, err := n.A.Node.Reconcile(n.ctx, memberB, to, from); !errors.Is(err, node.ErrBadRequest) {
		t.Fatalf("reversed period: %v", err)
	}
	if _, err := n.A.Node.Reconcile(n.ctx, memberB, from, from.Add(40*24*time.Hour)); !errors.Is(err, node.ErrBadRequest) {
		t.Fatalf("40-day period: %v", err)
	}
}
