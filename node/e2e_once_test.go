package node_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/replay"
)

// countingBackend is the sample backend counting the requests it ran by
// X-Request-ID.
type countingBackend struct {
	*httptest.Server
	mu   sync.Mutex
	runs map[string]int
}

func newCountingBackend(t *testing.T) *countingBackend {
	b := &countingBackend{runs: map[string]int{}}
	sample := devnet.SampleBackend()
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.runs[r.Header.Get("X-Request-ID")]++
		b.mu.Unlock()
		sample.ServeHTTP(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *countingBackend) ran(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.runs[id]
}

// startCountingNet is a demo network whose provider backend counts.
func startCountingNet(t *testing.T) (*testNet, *countingBackend) {
	t.Parallel()
	backend := newCountingBackend(t)
	return startNet(t, func(c *node.Config) { c.Services[0].Versions[0].BackendURL = backend.URL }), backend
}

// waitServing calls GET u until it answers 200.
func waitServing(t *testing.T, c *http.Client, u string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: not serving: %v %v", u, resp, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestEndToEndRequestIDOnceAcrossRestart: a request ID the provider ran
// is refused as duplicate_request after the provider node restarts, and
// the backend ran it once.
func TestEndToEndRequestIDOnceAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a provider node: full suite only (-short skips it)")
	}
	n, backend := startCountingNet(t)
	c := n.client(t, true)
	id := envelope.NewRequestID().String()
	post := func() answer {
		return do(t, c, "POST", n.url("/echo"), "application/json", []byte(`{"n":1}`), "X-Request-ID", id)
	}
	if a := post(); a.status != 200 {
		t.Fatalf("first call: %d %s", a.status, a.body)
	}
	exchangeError(t, post(), http.StatusConflict, "duplicate_request")
	if err := n.B.Restart(n.ctx); err != nil {
		t.Fatal(err)
	}
	waitServing(t, c, n.url("/citizens/1"))
	exchangeError(t, post(), http.StatusConflict, "duplicate_request")
	if k := backend.ran(id); k != 1 {
		t.Fatalf("the backend ran request %s %d times, want once", id, k)
	}
	// The message logs are sealed at rest: neither node's file shows the
	// path or the client.
	for _, h := range []*devnet.NodeHandle{n.A, n.B} {
		raw, err := os.ReadFile(filepath.Join(h.Dir, node.FileMessageLog))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"/echo", n.ClientA} {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s's message log holds %q in clear", h.Dir, s)
			}
		}
	}
}

// TestEndToEndRequestIDOnceAcrossNodes: with two provider nodes, a request
// ID sent to each runs once (the node that does not own the ID claims it
// from the one that does); with the owner down, a POST to the other node
// is refused as replay_owner_unreachable and a GET is served.
func TestEndToEndRequestIDOnceAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("adds and stops a provider node: full suite only (-short skips it)")
	}
	n, backend := startCountingNet(t)
	b2, err := n.AddNode(n.ctx, devnet.AgencyB, n.B, "2")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WaitConfig(n.ctx, n.A, n.B, b2); err != nil {
		t.Fatal(err)
	}
	if err := n.B.Node.Host().Connect(n.ctx, peer.AddrInfo{ID: b2.Node.PeerID(), Addrs: b2.Node.Addrs()}); err != nil {
		t.Fatal(err)
	}
	nodes := []peer.ID{n.B.Node.PeerID(), b2.Node.PeerID()}
	// idOwnedBy returns a request ID whose owner is nodes[0] (B's first node).
	idOwnedBy := func() envelope.RequestID {
		for {
			if id := envelope.NewRequestID(); replay.Owner(nodes, id) == nodes[0] {
				return id
			}
		}
	}
	p := newRawPeer(t, n.A)
	id := idOwnedBy()
	f, err := p.send(n.ctx, b2, n.signedCall(t, p, b2, id, "POST", "/echo").Raw)
	if err != nil || f.Type != envelope.FrameResponse {
		t.Fatalf("at the node not owning the ID: %v, frame %d %q", err, f.Type, f.Payload)
	}
	f, err = p.send(n.ctx, n.B, n.signedCall(t, p, n.B, id, "POST", "/echo").Raw)
	wantErrorFrame(t, f, err, "duplicate_request")
	f, err = p.send(n.ctx, b2, n.signedCall(t, p, b2, id, "POST", "/echo").Raw)
	wantErrorFrame(t, f, err, "duplicate_request")
	if k := backend.ran(id.String()); k != 1 {
		t.Fatalf("the backend ran request %s %d times, want once", id, k)
	}

	n.B.Stop()
	id = idOwnedBy()
	f, err = p.send(n.ctx, b2, n.signedCall(t, p, b2, id, "POST", "/echo").Raw)
	wantErrorFrame(t, f, err, "replay_owner_unreachable")
	if k := backend.ran(id.String()); k != 0 {
		t.Fatalf("a refused request reached the backend %d times", k)
	}
	f, err = p.send(n.ctx, b2, n.signedCall(t, p, b2, idOwnedBy(), "GET", "/citizens/1").Raw)
	if err != nil || f.Type != envelope.FrameResponse {
		t.Fatalf("an idempotent request with the owner down: %v, frame %d %q", err, f.Type, f.Payload)
	}
}
