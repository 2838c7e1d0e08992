package replay

import (
	"bytes"
	"crypto/sha256"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/node/envelope"
)

// Order returns nodes ranked for id: the owner (the node that decides
// whether id is new) first. Every node and consumer computes the same
// order from the same set of nodes.
func Order(nodes []peer.ID, id envelope.RequestID) []peer.ID {
	type ranked struct {
		pid   peer.ID
		score [32]byte
	}
	rs := make([]ranked, len(nodes))
	for i, p := range nodes {
		h := sha256.New()
		h.Write([]byte(p))
		h.Write(id[:])
		h.Sum(rs[i].score[:0])
		rs[i].pid = p
	}
	slices.SortFunc(rs, func(a, b ranked) int { return bytes.Compare(b.score[:], a.score[:]) })
	out := make([]peer.ID, len(rs))
	for i := range rs {
		out[i] = rs[i].pid
	}
	return out
}

// Owner is the first node of Order, "" when there is none.
func Owner(nodes []peer.ID, id envelope.RequestID) peer.ID {
	if o := Order(nodes, id); len(o) > 0 {
		return o[0]
	}
	return ""
}

// Idempotent reports whether an HTTP method is idempotent (RFC 9110
// §9.2.2): a request with such a method may be executed again without
// harm, so it may be failed over after it was sent and served when the
// ID's owner cannot be asked.
func Idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}
