package transport

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestPeerHistory: each change between online and offline is kept, newest
// first, at most PeerHistory; a repeated state is no change.
func TestPeerHistory(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	ps := &peers{state: map[peer.ID]*PeerState{}, now: func() time.Time { now = now.Add(time.Minute); return now }}
	p := peer.ID("x")
	ps.set(p, true, "")
	ps.set(p, true, "")
	ps.set(p, false, "dial backoff")
	ps.set(p, true, "")
	h := ps.state[p].History
	if len(h) != 3 || !h[0].Online || h[1].Online || h[1].Error != "dial backoff" || !h[2].Online || !h[0].At.After(h[1].At) {
		t.Fatalf("history %+v", h)
	}
	for i := range 2 * PeerHistory {
		ps.set(p, i%2 == 0, "")
	}
	if n := len(ps.state[p].History); n != PeerHistory {
		t.Fatalf("%d changes kept, want %d", n, PeerHistory)
	}
}
