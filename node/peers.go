package node

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/transport"
)

// PeerState is what the node knows about another node's reachability (R-N5).
type PeerState = transport.PeerState

// admits is the connection gate: only usable nodes of the current
// configuration may connect or be dialled.
func (n *Node) admits(p peer.ID) bool {
	v := n.view()
	if v == nil {
		return false
	}
	_, ok := v.PeerAllowed(p)
	return ok
}

// Peers returns the state of every usable node of the configuration but
// this one, in peer ID order.
func (n *Node) Peers() []PeerState {
	v := n.view()
	if v == nil {
		return nil
	}
	nodes := make([]PeerState, 0, len(v.Doc().Nodes))
	for i := range v.Doc().Nodes {
		if nd := &v.Doc().Nodes[i]; v.NodeUsable(nd) {
			nodes = append(nodes, PeerState{PeerID: nd.PeerID, Member: nd.Member})
		}
	}
	out := n.host.Peers(nodes)
	n.clocks.fill(out)
	return out
}

// peerClocks are the other nodes' clocks as their envelopes showed them.
type peerClocks struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]peerClock
}

type peerClock struct {
	skew time.Duration
	at   time.Time
}

// note records peer's skew now (exchange.Logs.PeerClock).
func (c *peerClocks) note(peer string, skew time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]peerClock{}
	}
	if len(c.seen) < 100_000 {
		c.seen[peer] = peerClock{skew: skew, at: c.now()}
	}
}

// fill sets the skew of each peer seen.
func (c *peerClocks) fill(peers []PeerState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range peers {
		if pc, ok := c.seen[peers[i].PeerID]; ok {
			ms := pc.skew.Milliseconds()
			peers[i].ClockSkewMS, peers[i].ClockSeen = &ms, pc.at
		}
	}
}

// applyPeers brings the host in line with a new view.
func (n *Node) applyPeers(v *confview.View) {
	n.host.Apply(v.Addrs(), func(p peer.ID) bool { _, ok := v.PeerAllowed(p); return ok })
}

// probe connects to every usable node not connected.
func (n *Node) probe(ctx context.Context) {
	v := n.view()
	if v == nil {
		return
	}
	var pids []peer.ID
	for pid := range v.Addrs() {
		if _, ok := v.PeerAllowed(pid); ok {
			pids = append(pids, pid)
		}
	}
	n.host.Probe(ctx, pids)
}
