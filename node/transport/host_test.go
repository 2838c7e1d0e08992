package transport

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

func newTestHost(t *testing.T, maxBody int64) *Host {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Admit: func(peer.ID) bool { return true }, MaxBody: maxBody})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestScopes checks that streams are accounted in their protocol's
// service scope on both sides, that a body up to MaxBody can be reserved,
// and that a reservation past the stream's limit is refused.
func TestScopes(t *testing.T) {
	const maxBody = 1 << 20
	a, b := newTestHost(t, maxBody), newTestHost(t, maxBody)
	const proto = protocol.ID("/dxl/test/1.0.0")
	type seen struct {
		service     string
		okBody, big error
	}
	got := make(chan seen, 1)
	b.Handle(proto, ServiceCall, func(s network.Stream) {
		defer s.Close()
		r, err := Reserve(s, maxBody)
		_, big := Reserve(s, 1<<40)
		r.Release()
		name := ""
		if sc, ok := s.Scope().(network.StreamManagementScope); ok && sc.ServiceScope() != nil {
			name = sc.ServiceScope().Name()
		}
		got <- seen{name, err, big}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Lib().Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
	s, err := a.NewStream(ctx, b.ID(), proto, ServiceCall)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.service != ServiceCall {
			t.Fatalf("stream in service scope %q", r.service)
		}
		if r.okBody != nil {
			t.Fatalf("a MaxBody reservation was refused: %v", r.okBody)
		}
		if !errors.Is(r.big, ErrResources) {
			t.Fatalf("a 1 TiB reservation: %v", r.big)
		}
	case <-ctx.Done():
		t.Fatal("handler not called")
	}
	if !a.Connected(b.ID()) || a.Suspect(b.ID()) {
		t.Fatal("peer state")
	}
}
