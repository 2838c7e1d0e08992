package node_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/envelope"
)

// tap records what A's node writes and reads on its call streams, inside
// the libp2p channel.
type tap struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

type tappedStream struct {
	network.Stream
	t *tap
}

func (s tappedStream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	s.t.add(p[:n])
	return n, err
}

func (s tappedStream) Write(p []byte) (int, error) {
	s.t.add(p)
	return s.Stream.Write(p)
}

func (t *tap) add(p []byte) {
	t.mu.Lock()
	t.buf.Write(p)
	t.mu.Unlock()
}

func (t *tap) contains(p []byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Contains(t.buf.Bytes(), p)
}

func (t *tap) wrap(s network.Stream) network.Stream { return tappedStream{s, t} }

// TestEndToEndSecret: once B's service is secret, A's system calls it as
// before and gets the body in clear, with an X-Signature over that body;
// but inside the libp2p stream, in both nodes' message logs and in B's
// archive the request and the answer are only ever sealed (HPKE to each
// member's key): the marker the system sent and got back never appears,
// the envelopes sign the sealed bytes. A request a consumer node sends
// unsealed is refused (envelope_sealed) without reaching the backend.
func TestEndToEndSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	t.Parallel()
	cap := &tap{}
	n := startNetTB(t, nil, func(c *node.Config) {
		c.MessageLog.ArchiveBodies = []string{c.Services[0].Subsystem + "/" + c.Services[0].Code}
	}, node.WithCallTap(cap.wrap))
	c := n.client(t, true)
	marker := []byte(`{"citizen":"SECRET-MARKER-0042"}`)

	// Internal: the tap sees the body in clear (the control).
	if a := do(t, c, "POST", n.url("/echo"), "application/json", marker); a.status != 200 || !bytes.Equal(a.body, marker) {
		t.Fatalf("internal echo: %d %s", a.status, a.body)
	}
	if !cap.contains(marker) {
		t.Fatal("the tap does not see an internal body: it captures nothing")
	}
	cap.mu.Lock()
	cap.buf.Reset()
	cap.mu.Unlock()

	sub := n.SubsystemID(devnet.AgencyB)
	code, version, _ := strings.Cut(strings.TrimPrefix(n.Service, sub+"/"), "/")
	if err := n.PublishClassified(n.ctx, sub, code, version, state.ClassSecret, []byte("secret")); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitConfig(n.ctx, n.A, n.B); err != nil {
		t.Fatal(err)
	}
	a := do(t, c, "POST", n.url("/echo"), "application/json", marker)
	if a.status != 200 || !bytes.Equal(a.body, marker) || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("secret echo: %d %v %s", a.status, a.header, a.body)
	}
	if cap.contains(marker) || cap.contains([]byte("SECRET-MARKER")) {
		t.Fatal("a Secret body crossed the libp2p stream in clear")
	}
	checkSecretXSignature(t, a)
	secretLogs(t, n, a, marker)
	noFileContains(t, n.Dir, []byte("SECRET-MARKER"))

	// A consumer node that does not seal is refused before the backend.
	p := newRawPeer(t, n.A)
	f, err := p.send(n.ctx, n.B, n.signedRequest(t, p, n.B).Raw)
	wantErrorFrame(t, f, err, "envelope_sealed")
	if got := do(t, c, "GET", n.url("/citizens/7"), "", nil); got.status != 200 || !bytes.Contains(got.body, []byte(`"id":"7"`)) {
		t.Fatalf("secret GET: %d %s", got.status, got.body)
	}
	secretWithoutKey(t, n)
}

// secretWithoutKey: agency C, registered at internal, has no seal key in
// the configuration: its node refuses its system's call to the Secret
// service before sending, and B refuses a request C's node signs anyway.
func secretWithoutKey(t *testing.T, n *testNet) {
	t.Helper()
	ag := devnet.Agency{Code: "000.00.00.C02", Name: "So Noi vu (test agency, internal)", Subsystem: "NOSEC", Highest: state.ClassInternal}
	client := "VN-DEMO/GOV/" + ag.Code + "/" + ag.Subsystem
	dir := filepath.Join(n.Dir, "information-system-nosec")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cert, key, sha, err := devnet.ClientCert(dir, "client")
	if err != nil {
		t.Fatal(err)
	}
	ag.Configure = func(cfg *node.Config) { cfg.Clients = []node.ClientCert{{Subsystem: client, CertSHA256: sha}} }
	h, err := n.Admit(n.ctx, ag)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WaitConfig(n.ctx, n.A, n.B, h); err != nil {
		t.Fatal(err)
	}
	c, base := n.clientOf(t, h, cert, key)
	exchangeError(t, do(t, c, "GET", base+"/citizens/1", "", nil), 403, "classification_refused")
	p := newRawPeer(t, h)
	req, err := p.signer.SignRequest(envelope.Request{RequestID: envelope.NewRequestID(), Client: client, Service: n.Service,
		Target: n.B.Node.PeerID().String(), Method: "GET", Path: "/citizens/1", BodySHA256: sha256.Sum256(nil)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.send(n.ctx, n.B, req.Raw)
	wantErrorFrame(t, f, err, "classification_refused")
}

// checkSecretXSignature: the answer's X-Signature is the provider's over
// the body the system got, in clear (the inner response).
func checkSecretXSignature(t *testing.T, a answer) {
	t.Helper()
	dec := func(h string) []byte {
		b, err := base64.StdEncoding.DecodeString(a.header.Get(h))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %q %v", h, a.header.Get(h), err)
		}
		return b
	}
	signed, sig, certDER := dec("X-Signature-Signed"), dec("X-Signature"), dec("X-Signature-Certificate")
	sum := sha256.Sum256(a.body)
	if len(signed) < 144 || !bytes.Equal(signed[112:144], sum[:]) {
		t.Fatal("the X-Signature does not sign the body in clear")
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(cert.PublicKey.(ed25519.PublicKey), signed, sig) {
		t.Fatal("the X-Signature does not verify")
	}
}

// secretLogs: both nodes logged envelopes over the sealed bodies, and B's
// archive holds them sealed.
func secretLogs(t *testing.T, n *testNet, a answer, marker []byte) {
	t.Helper()
	plain := sha256.Sum256(marker)
	archived := 0
	for _, nd := range []*node.Node{n.A.Node, n.B.Node} {
		l := committedLog(t, nd)
		recs, err := l.Records(a.header.Get("X-Request-ID"))
		if err != nil || len(recs) != 1 {
			t.Fatalf("records %+v %v", recs, err)
		}
		req, err := envelope.ParseRequest(recs[0].Request)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := envelope.ParseResponse(recs[0].Response)
		if err != nil {
			t.Fatal(err)
		}
		if req.BodySHA256 == plain || resp.BodySHA256 == plain || req.BodyLength <= uint64(len(marker)) {
			t.Fatalf("the logged envelopes sign the body in clear: request %d bytes", req.BodyLength)
		}
		if !recs[0].Archived {
			continue
		}
		b, err := l.Body(recs[0].Seq)
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(b.Request) != req.BodySHA256 || sha256.Sum256(b.Response) != resp.BodySHA256 ||
			bytes.Contains(b.Request, []byte("SECRET-MARKER")) || bytes.Contains(b.Response, []byte("SECRET-MARKER")) {
			t.Fatal("the archived bodies are not the sealed ones")
		}
		archived++
	}
	if archived == 0 {
		t.Fatal("B did not archive the Secret call's bodies")
	}
}

// noFileContains fails if any file under dir holds p.
func noFileContains(t *testing.T, dir string, p []byte) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil // a file removed while the nodes run
		}
		raw, err := os.ReadFile(path)
		if err == nil && bytes.Contains(raw, p) {
			t.Errorf("%s holds %q in clear", path, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
