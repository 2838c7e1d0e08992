package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/control"
	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// ErrConfig: a Config breaks a rule of Validate, or the host cannot start.
var ErrConfig = errors.New("transport: invalid configuration")

// Config configures New.
type Config struct {
	// Key is the node's Ed25519 authentication key (the libp2p identity).
	Key []byte
	// Listen are the multiaddrs to listen on.
	Listen []string
	// Admit is the connection gate: whether a peer is a usable node of
	// the current configuration.
	Admit func(peer.ID) bool
	// MaxBody is the largest body a message carries; the resource
	// manager lets one stream hold two of them.
	MaxBody int64
	// Logger defaults to slog.Default; Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Validate checks c and fills its defaults.
func (c *Config) Validate() error {
	if len(c.Key) == 0 || c.Admit == nil || c.MaxBody <= 0 {
		return fmt.Errorf("%w: key, gate and body limit are required", ErrConfig)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Host is the node's libp2p host: the gate, per-protocol resource scopes
// and the reachability of the other nodes.
type Host struct {
	h     host.Host
	log   *slog.Logger
	peers *peers
}

// New starts the host.
func New(cfg Config) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	priv, err := p2pcrypto.UnmarshalEd25519PrivateKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	rm, err := newResourceManager(cfg.MaxBody)
	if err != nil {
		return nil, fmt.Errorf("%w: resource manager: %v", ErrConfig, err)
	}
	t := &Host{log: cfg.Logger.With("component", "transport"), peers: &peers{state: map[peer.ID]*PeerState{}, now: cfg.Now}}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(cfg.Listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.ConnectionGater(gater{admit: cfg.Admit, log: t.log}),
		libp2p.ResourceManager(rm),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.Ping(true),
	)
	if err != nil {
		_ = rm.Close()
		return nil, fmt.Errorf("%w: libp2p: %v", ErrConfig, err)
	}
	t.h = h
	h.Network().Notify(t.peers.notifiee())
	return t, nil
}

// Close stops the host.
func (t *Host) Close() error { return t.h.Close() }

// ID is the host's peer ID.
func (t *Host) ID() peer.ID { return t.h.ID() }

// Addrs are the host's listen addresses.
func (t *Host) Addrs() []ma.Multiaddr { return t.h.Addrs() }

// Lib is the underlying libp2p host.
func (t *Host) Lib() host.Host { return t.h }

// Handle serves proto with h, every stream in the resource scope of
// service with its buffers reserved.
func (t *Host) Handle(proto protocol.ID, service string, h func(network.Stream)) {
	t.h.SetStreamHandler(proto, func(s network.Stream) {
		if err := s.Scope().SetService(service); err != nil {
			t.log.Info("stream refused by the resource manager", "protocol", string(proto), "error", err)
			_ = s.Reset()
			return
		}
		r, err := Reserve(s, bufferMemory)
		if err != nil {
			t.log.Info("stream refused by the resource manager", "protocol", string(proto), "error", err)
			_ = s.Reset()
			return
		}
		defer r.Release()
		h(s)
	})
}

// Unhandle stops serving proto.
func (t *Host) Unhandle(proto protocol.ID) { t.h.RemoveStreamHandler(proto) }

// NewStream opens a stream on proto to p in the resource scope of
// service. A failure marks p unreachable.
func (t *Host) NewStream(ctx context.Context, p peer.ID, proto protocol.ID, service string) (network.Stream, error) {
	s, err := t.h.NewStream(ctx, p, proto)
	if err != nil {
		t.peers.set(p, false, ShortErr(err))
		return nil, err
	}
	if err := s.Scope().SetService(service); err != nil {
		_ = s.Reset()
		return nil, err
	}
	return s, nil
}

// Connected reports whether the host has a connection to p.
func (t *Host) Connected(p peer.ID) bool { return t.h.Network().Connectedness(p) == network.Connected }

// Suspect reports whether the last attempt to reach p failed and it is
// not connected now: callers try it last.
func (t *Host) Suspect(p peer.ID) bool { return t.peers.failed(p) && !t.Connected(p) }

// gater admits, on dial and on accept, only peers that are usable nodes of
// the current signed configuration (DESIGN.md §3): the remote side gates
// too, so a successful Connect proves nothing about admission.
type gater struct {
	admit func(peer.ID) bool
	log   *slog.Logger
}

func (g gater) InterceptPeerDial(p peer.ID) bool                 { return g.admit(p) }
func (g gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.admit(p) }
func (g gater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	ok := g.admit(p)
	if !ok {
		g.log.Info("refused connection from a peer outside the configuration", "peer", p.String())
	}
	return ok
}
func (g gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// PeerState is what the node knows about another node's reachability (R-N5).
type PeerState struct {
	PeerID    string    `json:"peer_id"`
	Member    string    `json:"member"`
	Online    bool      `json:"online"`
	Since     time.Time `json:"since,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	// ClockSkewMS is our clock minus the node's, in milliseconds, as its
	// last envelope showed it at ClockSeen (the node fills them).
	ClockSkewMS *int64    `json:"clock_skew_ms,omitempty"`
	ClockSeen   time.Time `json:"clock_seen,omitzero"`
	// History is the peer's last changes between online and offline,
	// newest first (at most PeerHistory).
	History []PeerChange `json:"history,omitempty"`
}

// PeerChange is one change of a peer's reachability.
type PeerChange struct {
	At     time.Time `json:"at"`
	Online bool      `json:"online"`
	Error  string    `json:"error,omitempty"`
}

// PeerHistory is how many changes PeerState.History keeps per peer.
const PeerHistory = 20

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
		s.History = append([]PeerChange{{At: s.Since, Online: online, Error: errText}}, s.History[:min(len(s.History), PeerHistory-1)]...)
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

// Peers fills in the reachability of nodes (PeerID and Member set by the
// caller), leaving out this host.
func (t *Host) Peers(nodes []PeerState) []PeerState {
	t.peers.mu.Lock()
	defer t.peers.mu.Unlock()
	var out []PeerState
	for _, nd := range nodes {
		pid, err := peer.Decode(nd.PeerID)
		if err != nil || pid == t.h.ID() {
			continue
		}
		s := PeerState{PeerID: nd.PeerID}
		if st := t.peers.state[pid]; st != nil {
			s = *st
			s.History = slices.Clone(st.History)
		}
		s.Member = nd.Member
		out = append(out, s)
	}
	return out
}

// Apply brings the host in line with a new configuration: addresses of
// admitted nodes into the peerstore, connections to others closed.
func (t *Host) Apply(addrs map[peer.ID][]ma.Multiaddr, admit func(peer.ID) bool) {
	ps := t.h.Peerstore()
	for pid, a := range addrs {
		if pid == t.h.ID() {
			continue
		}
		if admit(pid) {
			ps.SetAddrs(pid, a, peerstore.PermanentAddrTTL)
		} else {
			ps.ClearAddrs(pid)
		}
	}
	for _, c := range t.h.Network().Conns() {
		if !admit(c.RemotePeer()) {
			t.log.Info("closing connection to a node no longer in the configuration", "peer", c.RemotePeer().String())
			_ = c.Close()
		}
	}
}

// Probe connects to every peer of pids not connected, so the peer states
// say who is reachable before a call needs them.
func (t *Host) Probe(ctx context.Context, pids []peer.ID) {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, pid := range pids {
		if pid == t.h.ID() || t.Connected(pid) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(pid peer.ID) {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := t.h.Connect(cctx, peer.AddrInfo{ID: pid}); err != nil {
				t.peers.set(pid, false, ShortErr(err))
			} else {
				t.peers.set(pid, true, "") // before the connection's notification, for a caller reading states next
			}
		}(pid)
	}
	wg.Wait()
}

// ShortErr is err's text cut to 200 bytes, for peer and health states.
func ShortErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// ErrResources: the resource manager refused a memory reservation.
var ErrResources = errors.New("transport: resource limit reached")
