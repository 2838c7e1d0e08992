package confsync_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/node/confsync"
)

// TestPropagation: 12 light nodes against a real registry. An approval
// reaches every node, including four that cannot reach the registry (they
// get it over the relay); garbage, oversized and older copies published by
// a member are refused by the one node that receives them, change nothing
// and go no further; with the registry down, a node that comes up later
// with an older copy gets the newest from a peer.
func TestPropagation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tn := newTestnet(t)
	nodes := tn.addNodes(ctx, 12)
	// A genuine older copy the topic never carries (it is superseded
	// before any relay starts).
	var older []byte
	waitFor(t, "the registry's signed configuration", func() bool {
		var err error
		older, err = tn.reg.Admin.GlobalConfig(ctx) // a server may not hold a signed copy yet
		return err == nil
	})
	late := tn.addNodes(ctx, 1)[0]
	evil := tn.addNodes(ctx, 1)[0]
	cut := nodes[8:]
	for _, nd := range cut {
		nd.cutOff()
	}
	for _, nd := range append(append([]*tnode{}, nodes[:8]...), late, evil) {
		tn.fetch(ctx, nd)
	}
	// The cut nodes start from a copy handed over out of band.
	old := nodes[0].conf.Signed()
	for _, nd := range cut {
		if _, err := nd.conf.Accept(old); err != nil {
			t.Fatal(err)
		}
	}
	for _, nd := range nodes {
		tn.startRelay(nd)
	}
	tn.connect(ctx, nodes, 2)
	waitFor(t, "topic peers", func() bool {
		for _, nd := range nodes {
			if nd.relay.TopicPeers() < 2 {
				return false
			}
		}
		return true
	})

	// An approval reaches every node, the cut ones through the relay.
	_, newcomer, _ := ed25519.GenerateKey(rand.Reader)
	v1 := tn.admit(ctx, newcomer, []string{"/ip4/127.0.0.1/tcp/1"})
	waitAll(t, nodes, v1, 30*time.Second)

	// A member publishes garbage, an oversized copy and an older copy.
	var grafted atomic.Bool
	bad := evilPublisher(t, ctx, evil, &grafted)
	if err := evil.host.Lib().Connect(ctx, peer.AddrInfo{ID: nodes[0].host.ID(), Addrs: nodes[0].host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the member in the topic's mesh", grafted.Load)
	before := counters(nodes)
	held := nodes[0].conf.Signed()
	for _, m := range [][]byte{[]byte(`{"config":"garbage"}`), bytes.Repeat([]byte("x"), confsync.DefaultMaxMessage+1), older} {
		if err := bad.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the refusals", func() bool {
		s := nodes[0].relay.Stats()
		return s.Rejected.Load() >= before[0][0]+2 && s.Ignored.Load() >= before[0][1]+1
	})
	if !bytes.Equal(nodes[0].conf.Signed(), held) {
		t.Fatal("a refused message changed the held configuration")
	}
	// A later change travels the same links: by the time every node has
	// it, anything node 0 forwarded would have arrived too.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	v2 := tn.admit(ctx, other, []string{"/ip4/127.0.0.1/tcp/2"})
	waitAll(t, nodes, v2, 30*time.Second)
	after := counters(nodes)
	for i := 1; i < len(nodes); i++ {
		if after[i] != before[i] {
			t.Fatalf("node %d saw the refused messages: rejected/ignored %v → %v", i, before[i], after[i])
		}
	}

	// The registry goes down; a node that was down meanwhile comes up with
	// its older copy and catches up from a peer.
	if err := tn.reg.Registry.Close(); err != nil {
		t.Fatal(err)
	}
	if late.version() >= v1 {
		t.Fatalf("late node already at %d", late.version())
	}
	tn.startRelay(late)
	if err := late.host.Lib().Connect(ctx, peer.AddrInfo{ID: nodes[5].host.ID(), Addrs: nodes[5].host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	waitAll(t, []*tnode{late}, v2, 30*time.Second)
	if late.relay.Stats().Pulled.Load() == 0 {
		t.Fatal("the late node did not catch up over the pull protocol")
	}
}

// counters returns each node's rejected and ignored counts.
func counters(nodes []*tnode) [][2]int64 {
	out := make([][2]int64, len(nodes))
	for i, nd := range nodes {
		s := nd.relay.Stats()
		out[i] = [2]int64{s.Rejected.Load(), s.Ignored.Load()}
	}
	return out
}

// evilPublisher is a member's host running bare GossipSub on the topic
// with no validator: it publishes whatever it is given.
func evilPublisher(t *testing.T, ctx context.Context, nd *tnode, grafted *atomic.Bool) *pubsub.Topic {
	t.Helper()
	ps, err := pubsub.NewGossipSub(ctx, nd.host.Lib(), pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(), pubsub.WithMaxMessageSize(confsync.DefaultMaxMessage+1<<20), pubsub.WithEventTracer(graftTracer{grafted}),
		pubsub.WithMessageIdFn(func(m *pb.Message) string { s := sha256.Sum256(m.GetData()); return string(s[:]) }))
	if err != nil {
		t.Fatal(err)
	}
	top, err := ps.Join(confsync.Topic("VN-TEST"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := top.Subscribe(); err != nil {
		t.Fatal(err)
	}
	return top
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// graftTracer records that the mesh took a peer in: before that, a
// publication goes to no one.
type graftTracer struct{ grafted *atomic.Bool }

func (g graftTracer) Trace(evt *pb.TraceEvent) {
	if evt.GetType() == pb.TraceEvent_GRAFT {
		g.grafted.Store(true)
	}
}

// TestPartitionHeals: three nodes cut off from the registry and from the
// nodes that reach it miss a change; once one of them links to the other
// side it catches up, and publishes the copy to its side's mesh.
func TestPartitionHeals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tn := newTestnet(t)
	nodes := tn.addNodes(ctx, 6)
	for _, nd := range nodes {
		tn.fetch(ctx, nd)
	}
	x, y := nodes[:3], nodes[3:]
	for _, nd := range y {
		nd.cutOff()
	}
	for _, nd := range nodes {
		tn.startRelay(nd)
	}
	tn.connect(ctx, x, 2)
	tn.connect(ctx, y, 2)
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	v := tn.admit(ctx, k, []string{"/ip4/127.0.0.1/tcp/3"})
	waitAll(t, x, v, 30*time.Second)
	for _, nd := range y {
		if nd.version() >= v {
			t.Fatalf("node %d has version %d with no path to it", nd.idx, nd.version())
		}
	}
	if err := y[0].host.Lib().Connect(ctx, peer.AddrInfo{ID: x[0].host.ID(), Addrs: x[0].host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	waitAll(t, y, v, 30*time.Second)
	if y[0].relay.Stats().Pulled.Load() == 0 {
		t.Fatal("the bridging node did not catch up over the pull protocol")
	}
}
