package confsync_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/confsync"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/transport"
)

// fakeConf holds fixed bytes at a fixed version and refuses everything
// offered to it.
type fakeConf struct {
	mu      sync.Mutex
	raw     []byte
	version uint64
	offered int
}

func (f *fakeConf) Accept([]byte) (*globalconf.Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offered++
	return nil, globalconf.ErrMalformed
}

func (f *fakeConf) Signed() []byte { return f.raw }

func (f *fakeConf) Current() (*globalconf.Document, time.Duration, error) {
	return &globalconf.Document{Version: f.version}, 0, nil
}

func (f *fakeConf) offers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.offered
}

func loopbackHost(t *testing.T) *transport.Host {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	h, err := transport.New(transport.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Admit: func(peer.ID) bool { return true }, MaxBody: 1 << 20, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// TestCatchUpRefusals: a catch-up request that is not a request frame with
// a version gets an error frame; an answer larger than the asker's cap is
// refused before it reaches Accept.
func TestCatchUpRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ha, hb := loopbackHost(t), loopbackHost(t)
	small := &fakeConf{raw: []byte("held"), version: 1}
	big := &fakeConf{raw: make([]byte, 2000), version: 99}
	ra, err := confsync.New(confsync.Config{Host: ha, Instance: "VN-TEST", Conf: small, Admit: func(peer.ID) bool { return true },
		MaxMessage: 1000, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ra.Close)

	// Wrong frame type: an error frame, then the stream ends.
	if err := hb.Lib().Connect(ctx, peer.AddrInfo{ID: ha.ID(), Addrs: ha.Addrs()}); err != nil {
		t.Fatal(err)
	}
	s, err := hb.NewStream(ctx, ha.ID(), transport.ConfigProtocol, transport.ServiceConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := envelope.WriteFrame(s, envelope.FrameResponse, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	ef, err := transport.ReadError(s)
	if err != nil || ef.Code != "malformed" {
		t.Fatalf("answer to a wrong frame: %+v, %v", ef, err)
	}
	_ = s.Close()

	// A peer whose copy is over the asker's cap: refused, never offered.
	rb, err := confsync.New(confsync.Config{Host: hb, Instance: "VN-TEST", Conf: big, Admit: func(peer.ID) bool { return true },
		Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rb.Close)
	waitFor(t, "the oversized answer refused", func() bool { return ra.Stats().Rejected.Load() > 0 })
	if n := small.offers(); n != 0 {
		t.Fatalf("an oversized answer reached Accept %d times", n)
	}
	if _, err := small.Accept(nil); !errors.Is(err, globalconf.ErrMalformed) {
		t.Fatal(err)
	}
}
