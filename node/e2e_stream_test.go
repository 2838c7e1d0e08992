package node_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/msglog"
)

// echoed is what one streamed call through /echo sent and got back.
type echoed struct {
	status          int
	code, requestID string
	sent, got       [32]byte
	gotLen          int64
}

// echoThrough POSTs size pseudo-random bytes (seeded by size), generated
// as they are sent, to url and hashes the answer as it arrives: nothing
// of either body is held by the test.
func echoThrough(t *testing.T, c *http.Client, url string, size int64) echoed {
	t.Helper()
	seed := [32]byte{byte(size), byte(size >> 8), byte(size >> 16), byte(size >> 24)}
	req, err := http.NewRequest("POST", url, io.LimitReader(rand.NewChaCha8(seed), size))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %d bytes: %v", size, err)
	}
	defer resp.Body.Close()
	got := sha256.New()
	k, err := io.Copy(got, resp.Body)
	if err != nil {
		t.Fatalf("reading the answer to %d bytes: %v", size, err)
	}
	// What was sent, generated again: the client's transport may still be
	// reading the body it sent when the answer is a refusal.
	sent := sha256.New()
	_, _ = io.Copy(sent, io.LimitReader(rand.NewChaCha8(seed), size))
	return echoed{status: resp.StatusCode, code: resp.Header.Get(node.HeaderError), requestID: resp.Header.Get(node.HeaderRequestID),
		sent: sum(sent), got: sum(got), gotLen: k}
}

func sum(h hash.Hash) (s [32]byte) {
	copy(s[:], h.Sum(nil))
	return s
}

// TestEndToEndStreamsBodies: bodies larger than what a node keeps in
// memory stream through two nodes in both directions, byte for byte; the
// evidence of such a call verifies, and the provider that archives the
// service's bodies holds both; a body over a node's max_body is refused
// with 413 too_large by the node whose cap it passes, before it is read.
func TestEndToEndStreamsBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("a network of its own and 80 MiB of bodies: full suite only")
	}
	t.Parallel()
	n := startNetTB(t, func(c *node.Config) {
		fastStamps(c)
		c.MaxBody = 32 << 20
	}, func(c *node.Config) {
		fastStamps(c)
		c.MaxBody = 16 << 20
		c.MessageLog.ArchiveBodies = []string{c.Services[0].Subsystem + "/" + c.Services[0].Code}
	})
	c := n.client(t, true)

	const size = 9<<20 + 7 // past the first MiB a node keeps in memory, in both directions
	e := echoThrough(t, c, n.url("/echo"), size)
	if e.status != 200 || e.gotLen != size || e.got != e.sent {
		t.Fatalf("echo of %d bytes: %d %s, %d bytes back, same: %v", size, e.status, e.code, e.gotLen, e.got == e.sent)
	}
	for _, h := range []*devnet.NodeHandle{n.A, n.B} {
		b, err := h.Node.Evidence(n.ctx, e.requestID)
		if err != nil {
			t.Fatal(err)
		}
		v, err := msglog.VerifyBundle(b, n.roots(t))
		if err != nil || v.Status != 200 || v.RequestID != e.requestID {
			t.Fatalf("evidence from %s: %+v %v", h.Dir, v, err)
		}
	}
	recs, err := committedLog(t, n.B.Node).Records(e.requestID)
	if err != nil || len(recs) != 1 || !recs[0].Archived {
		t.Fatalf("provider records %+v %v", recs, err)
	}
	bodies, err := n.B.Node.MessageLog().Body(recs[0].Seq)
	if err != nil || int64(len(bodies.Request)) != size || sha256.Sum256(bodies.Request) != e.sent || !bytes.Equal(bodies.Request, bodies.Response) {
		t.Fatalf("archived bodies: %v", err)
	}

	for _, c2 := range []struct {
		size int64
		by   string
	}{{20 << 20, "provider"}, {40 << 20, "consumer"}} {
		e := echoThrough(t, c, n.url("/echo"), c2.size)
		if e.status != http.StatusRequestEntityTooLarge || e.code != "too_large" {
			t.Errorf("%d bytes (over the %s's max_body): %d %q", c2.size, c2.by, e.status, e.code)
		}
	}
	t.Logf("%s through two nodes and back", fmt.Sprint(size))
}
