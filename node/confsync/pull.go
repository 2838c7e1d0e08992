package confsync

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/transport"
)

// pullTimeout bounds one catch-up exchange.
const pullTimeout = 15 * time.Second

// heldVersion is the version of the held configuration, 0 for none.
func (r *Relay) heldVersion() uint64 {
	if doc, _, _ := r.cfg.Conf.Current(); doc != nil {
		return doc.Version
	}
	return 0
}

// watchPeers queues every peer that joins the topic for a catch-up pull.
func (r *Relay) watchPeers(ctx context.Context) {
	for {
		ev, err := r.ev.NextPeerEvent(ctx)
		if err != nil {
			return
		}
		if ev.Type != pubsub.PeerJoin || !r.cfg.Admit(ev.Peer) {
			continue
		}
		select {
		case r.pulls <- ev.Peer:
		default: // a burst of joins: the queue's peers are enough to catch up
		}
	}
}

// pullLoop asks the queued peers, one at a time, for a newer
// configuration: once one has answered with a newer copy, the others are
// asked with that version and answer with no body.
//
// Every Resync (±50%) it also asks one random topic peer, so a copy that
// pubsub did not bring (published before the mesh had this node, or
// lost) arrives anyway.
func (r *Relay) pullLoop(ctx context.Context) {
	resync := time.NewTimer(time.Hour)
	resync.Stop() // never fires unless Resync is set
	if r.cfg.Resync > 0 {
		resync.Reset(jitter(r.cfg.Resync))
	}
	defer resync.Stop()
	for {
		var p peer.ID
		select {
		case <-ctx.Done():
			return
		case p = <-r.pulls:
		case <-resync.C:
			resync.Reset(jitter(r.cfg.Resync))
			if p = r.randomPeer(); p == "" {
				continue
			}
		}
		if err := r.pull(ctx, p); err != nil && ctx.Err() == nil {
			r.log.Debug("configuration catch-up from a peer failed", "peer", p.String(), "error", err)
		}
	}
}

// randomPeer returns an admitted topic peer at random, "" for none.
func (r *Relay) randomPeer() peer.ID {
	var ps []peer.ID
	for _, p := range r.topic.ListPeers() {
		if r.cfg.Admit(p) {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return ""
	}
	return ps[rand.IntN(len(ps))]
}

// jitter returns d ± 50%.
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d) }

// pull sends p this node's version and offers a newer copy in the answer
// to the relay's checks.
func (r *Relay) pull(ctx context.Context, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	s, err := r.cfg.Host.NewStream(ctx, p, transport.ConfigProtocol, transport.ServiceConfig)
	if err != nil {
		return err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	if err := envelope.WriteFrame(s, envelope.FrameRequest, binary.BigEndian.AppendUint64(nil, r.heldVersion())); err != nil {
		_ = s.Reset()
		return err
	}
	_ = s.CloseWrite()
	br := transport.GetReader(s)
	defer transport.PutReader(br)
	f, err := envelope.ReadFrame(br)
	if err == nil && (f.Type != envelope.FrameResponse || len(f.Payload) != 8) {
		err = fmt.Errorf("%w: want a response frame with a version", envelope.ErrMalformed)
	}
	if err != nil {
		_ = s.Reset()
		return err
	}
	raw, err := transport.ReadBody(br, int64(r.cfg.MaxMessage))
	if err != nil {
		_ = s.Reset()
		r.stats.Rejected.Add(1)
		r.log.Warn("relayed configuration refused", "peer", p.String(), "via", "pull", "error", err)
		return err
	}
	if len(raw) == 0 {
		return nil // nothing newer
	}
	r.stats.Pulled.Add(1)
	r.offer(p, raw, viaPull)
	return nil
}

// serve answers a peer's catch-up request: its signed configuration if
// newer than the version the peer holds, else an empty body.
func (r *Relay) serve(s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(pullTimeout))
	br := transport.GetReader(s)
	defer transport.PutReader(br)
	f, err := envelope.ReadFrame(br)
	if err == nil && (f.Type != envelope.FrameRequest || len(f.Payload) != 8) {
		err = fmt.Errorf("%w: want a request frame with a version", envelope.ErrMalformed)
	}
	if err != nil {
		r.log.Info("configuration catch-up request refused", "peer", s.Conn().RemotePeer().String(), "error", err)
		if transport.WriteError(s, transport.ErrorFrame{Code: "malformed", Message: err.Error()}) != nil {
			_ = s.Reset()
			return
		}
		_ = s.Close() // not Reset: that could drop the error frame
		return
	}
	theirs := binary.BigEndian.Uint64(f.Payload)
	raw, mine := r.cfg.Conf.Signed(), r.heldVersion()
	if mine <= theirs || len(raw) > r.cfg.MaxMessage {
		raw = nil
	}
	if err := transport.WriteMessage(s, envelope.FrameResponse, binary.BigEndian.AppendUint64(nil, mine), bytes.NewReader(raw)); err != nil {
		_ = s.Reset()
		return
	}
	_ = s.Close()
}
