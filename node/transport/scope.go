package transport

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// Resource-manager services, one per protocol: every stream of a protocol
// is accounted in its service's scope.
const (
	ServiceCall      = "dxl.call"
	ServiceReconcile = "dxl.reconcile"
	ServiceClaim     = "dxl.claim"
	ServiceConfig    = "dxl.config"
	ServiceDeliver   = "dxl.deliver"
)

// bufferMemory is what one stream holds in pooled buffers (a reader and a
// writer, see GetReader), reserved for the stream's life.
const bufferMemory = 64 << 10

// PeerStreams is how many streams, each way, one other node may have open
// with this one, per protocol. go-libp2p's default (64 inbound per
// protocol and peer, plus 4 per GiB of an eighth of the machine's memory)
// refused calls past about 70 at once from one consumer node, each as
// provider_unreachable; what bounds a member's calls is its rate limit,
// call_timeout and the memory a call reserves, not a stream count.
const PeerStreams = 4096

// newResourceManager is go-libp2p's default limits, scaled to the machine,
// with room for messages of maxBody (a stream may hold a request and a
// response body, and each protocol's service scope many of them) and for
// PeerStreams streams from one peer.
func newResourceManager(maxBody int64) (network.ResourceManager, error) {
	cfg := rcmgr.DefaultLimits
	perStream := 2*maxBody + bufferMemory
	raise := func(l *rcmgr.BaseLimit, atLeast int64, streams int) {
		l.Memory = max(l.Memory, atLeast)
		l.StreamsInbound, l.StreamsOutbound = max(l.StreamsInbound, streams), max(l.StreamsOutbound, streams)
		l.Streams = max(l.Streams, 2*streams)
	}
	raise(&cfg.StreamBaseLimit, perStream, 0)
	raise(&cfg.ProtocolPeerBaseLimit, 4*perStream, PeerStreams)
	raise(&cfg.ServicePeerBaseLimit, 4*perStream, PeerStreams)
	raise(&cfg.PeerBaseLimit, 4*perStream, PeerStreams)
	raise(&cfg.TransientBaseLimit, 0, 1024) // streams still negotiating their protocol
	raise(&cfg.ProtocolBaseLimit, 0, 4*PeerStreams)
	raise(&cfg.SystemBaseLimit, 0, 4*PeerStreams)
	for _, svc := range []string{ServiceCall, ServiceReconcile, ServiceClaim, ServiceConfig, ServiceDeliver} {
		base := cfg.ServiceBaseLimit
		raise(&base, 16*perStream, 4*PeerStreams)
		cfg.AddServiceLimit(svc, base, cfg.ServiceLimitIncrease)
		peerBase := cfg.ServicePeerBaseLimit
		cfg.AddServicePeerLimit(svc, peerBase, cfg.ServicePeerLimitIncrease)
	}
	limits := cfg.AutoScale()
	// No trace reporter: the node does not serve libp2p's Prometheus
	// metrics (libp2p.DisableMetrics), and the reporter formats a time for
	// every scope event, ~3% of a call's CPU.
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits), rcmgr.WithMetricsDisabled())
}

// Reservation is memory reserved in a stream's resource scope.
type Reservation struct {
	scope network.ResourceScope
	size  int
}

// Reserve reserves size bytes in s's scope (and, through it, in its
// peer's, protocol's and service's), for a buffer the stream is about to
// hold. An error means a limit would be exceeded: nothing was reserved.
func Reserve(s network.Stream, size int64) (*Reservation, error) {
	if size <= 0 {
		return &Reservation{}, nil
	}
	sc := s.Scope()
	if err := sc.ReserveMemory(int(size), network.ReservationPriorityAlways); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrResources, err)
	}
	return &Reservation{scope: sc, size: int(size)}, nil
}

// Release returns the reservation (once; nil-safe).
func (r *Reservation) Release() {
	if r == nil || r.scope == nil {
		return
	}
	r.scope.ReleaseMemory(r.size)
	r.scope = nil
}
