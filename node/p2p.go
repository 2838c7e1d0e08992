package node

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/control"
	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// gater admits, on dial and on accept, only peers that are usable nodes of
// the current signed configuration (DESIGN.md §3): the remote side gates
// too, so a successful Connect proves nothing about admission.
type gater struct{ n *Node }

func (g gater) allowed(p peer.ID) bool {
	v := g.n.view()
	if v == nil {
		return false
	}
	_, ok := v.peerAllowed(p)
	return ok
}

func (g gater) InterceptPeerDial(p peer.ID) bool                 { return g.allowed(p) }
func (g gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.allowed(p) }
func (g gater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	ok := g.allowed(p)
	if !ok {
		g.n.log.Info("refused connection from a peer outside the configuration", "peer", p.String())
	}
	return ok
}
func (g gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

func newHost(key []byte, listen []string, g gater) (host.Host, error) {
	priv, err := p2pcrypto.UnmarshalEd25519PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.ConnectionGater(g),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.Ping(true),
	)
}

// PeerState is what the node knows about another node's reachability (R-N5).
type PeerState struct {
	PeerID    string    `json:"peer_id"`
	Member    string    `json:"member"`
	Online    bool      `json:"online"`
	Since     time.Time `json:"since,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// peers tracks connectedness of the configuration's nodes.
type peers struct {
	mu    sync.Mutex
	state map[peer.ID]*PeerState
	now   func() time.Time
}

func (ps *peers) set(p peer.ID, online bool, errText string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	s := ps.state[p]
	if s == nil {
		s = &PeerState{PeerID: p.String()}
		ps.state[p] = s
	}
	if s.Online != online || s.Since.IsZero() {
		s.Since = ps.now()
	}
	s.Online = online
	if online {
		s.LastError = ""
	} else if errText != "" {
		s.LastError = errText
	}
}

// failed reports whether the last attempt to reach p failed.
func (ps *peers) failed(p peer.ID) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	s := ps.state[p]
	return s != nil && !s.Online && s.LastError != ""
}

func (ps *peers) notifiee() *network.NotifyBundle {
	return &network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) { ps.set(c.RemotePeer(), true, "") },
		DisconnectedF: func(nw network.Network, c network.Conn) {
			if nw.Connectedness(c.RemotePeer()) != network.Connected {
				ps.set(c.RemotePeer(), false, "")
			}
		},
	}
}

// Peers returns the state of every usable node of the configuration but
// this one, in peer ID order.
func (n *Node) Peers() []PeerState {
	v := n.view()
	if v == nil {
		return nil
	}
	n.peers.mu.Lock()
	defer n.peers.mu.Unlock()
	var out []PeerState
	for _, nd := range v.doc.Nodes {
		pid, err := peer.Decode(nd.PeerID)
		if err != nil || pid == n.host.ID() || !v.nodeUsable(&nd) {
			continue
		}
		s := PeerState{PeerID: nd.PeerID}
		if st := n.peers.state[pid]; st != nil {
			s = *st
		}
		s.Member = nd.Member
		out = append(out, s)
	}
	return out
}

// applyPeers brings the host in line with a new view: addresses of usable
// nodes into the peerstore, connections to nodes no longer usable closed.
func (n *Node) applyPeers(v *view) {
	ps := n.host.Peerstore()
	for pid, addrs := range v.addrs {
		if pid == n.host.ID() {
			continue
		}
		if _, ok := v.peerAllowed(pid); ok {
			ps.SetAddrs(pid, addrs, peerstore.PermanentAddrTTL)
		} else {
			ps.ClearAddrs(pid)
		}
	}
	for _, c := range n.host.Network().Conns() {
		if _, ok := v.peerAllowed(c.RemotePeer()); !ok {
			n.log.Info("closing connection to a node no longer in the configuration", "peer", c.RemotePeer().String())
			_ = c.Close()
		}
	}
}

// probe connects to every usable node not connected, so the peer states
// say who is reachable before a call needs them.
func (n *Node) probe(ctx context.Context) {
	v := n.view()
	if v == nil {
		return
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for pid := range v.addrs {
		if pid == n.host.ID() || n.host.Network().Connectedness(pid) == network.Connected {
			continue
		}
		if _, ok := v.peerAllowed(pid); !ok {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(pid peer.ID) {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := n.host.Connect(cctx, peer.AddrInfo{ID: pid}); err != nil {
				n.peers.set(pid, false, shortErr(err))
			}
		}(pid)
	}
	wg.Wait()
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
