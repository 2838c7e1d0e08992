package provider

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/replay"
	"github.com/dxl-network/dxl/node/transport"
)

// claimTimeout bounds asking the owner of a request ID.
const claimTimeout = 3 * time.Second

// claimLen is a claim's payload: request ID | signing time (Unix ns).
const claimLen = 16 + 8

// Dialer opens streams to the member's other nodes (transport.Host).
type Dialer interface {
	NewStream(ctx context.Context, p peer.ID, proto protocol.ID, service string) (network.Stream, error)
	// Suspect reports a node whose last dial failed.
	Suspect(p peer.ID) bool
}

// claim makes sure req's ID is new for the whole member before the
// backend sees it: this node marked it already (VerifyRequest); when
// another node of the member owns the ID (replay.Order) that node must
// mark it too. An owner that cannot be asked refuses a request of a
// non-idempotent method (exchange.ErrOwnerUnreachable, retryable); an
// idempotent one is served.
func (pr *Provider) claim(ctx context.Context, v *confview.View, req *envelope.SignedRequest) error {
	owner := replay.Owner(v.NodesOf(pr.cfg.Member), req.RequestID)
	if owner == "" || owner.String() == pr.cfg.Self || pr.cfg.Dialer == nil {
		return nil
	}
	if replay.Idempotent(req.Method) && pr.cfg.Dialer.Suspect(owner) {
		return nil // it may run twice anyway: do not wait for a node known to be down
	}
	err := pr.askOwner(ctx, owner, req)
	var re *exchange.RemoteError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re) && re.Code == envelope.Codes.Code(envelope.ErrReplay):
		return fmt.Errorf("%w: %s (seen by node %s)", exchange.ErrDuplicate, req.RequestID, owner)
	case replay.Idempotent(req.Method):
		pr.cfg.Logger.Warn("request ID owner not reached; serving an idempotent request", "request_id", req.RequestID.String(),
			"owner", owner.String(), "error", err)
		return nil
	}
	pr.cfg.Logger.Warn("request ID owner not reached; call refused", "request_id", req.RequestID.String(),
		"owner", owner.String(), "error", err)
	return fmt.Errorf("%w: node %s", exchange.ErrOwnerUnreachable, owner)
}

// askOwner sends one claim and reads the answer.
func (pr *Provider) askOwner(ctx context.Context, owner peer.ID, req *envelope.SignedRequest) error {
	ctx, cancel := context.WithTimeout(ctx, claimTimeout)
	defer cancel()
	s, err := pr.cfg.Dialer.NewStream(ctx, owner, transport.ClaimProtocol, transport.ServiceClaim)
	if err != nil {
		return err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	p := binary.BigEndian.AppendUint64(append(make([]byte, 0, claimLen), req.RequestID[:]...), uint64(req.Time.UnixNano()))
	if err := envelope.WriteFrame(s, envelope.FrameRequest, p); err != nil {
		_ = s.Reset()
		return err
	}
	f, err := envelope.ReadFrame(s)
	switch {
	case err != nil:
		_ = s.Reset()
		return err
	case f.Type == envelope.FrameError:
		e := transport.DecodeError(f.Payload)
		return &exchange.RemoteError{Code: e.Code, Message: e.Message}
	case f.Type != envelope.FrameResponse:
		return fmt.Errorf("%w: claim answered with frame %d", envelope.ErrMalformed, f.Type)
	}
	return nil
}

// HandleClaim serves /dxl/claim/1.0.0: another node of this member asks
// this one, the owner of a request ID, to mark it.
func (pr *Provider) HandleClaim(s network.Stream) {
	_ = s.SetDeadline(pr.cfg.Now().Add(claimTimeout))
	if err := pr.serveClaim(s); err != nil {
		pr.cfg.Logger.Info("claim refused", "peer", s.Conn().RemotePeer().String(), "error_code", exchange.Codes.Code(err), "error", err)
		if werr := transport.WriteError(s, ErrorFrame(err)); werr != nil {
			_ = s.Reset()
			return
		}
	}
	_ = s.Close()
}

func (pr *Provider) serveClaim(s network.Stream) error {
	v, err := pr.cfg.Views.Current()
	if err != nil {
		return err
	}
	if nd, ok := v.PeerAllowed(s.Conn().RemotePeer()); !ok || nd.Member != pr.cfg.Member {
		return fmt.Errorf("%w: claims come from nodes of %s only", exchange.ErrNotMember, pr.cfg.Member)
	}
	f, err := envelope.ReadFrame(s)
	if err != nil {
		return err
	}
	if f.Type != envelope.FrameRequest || len(f.Payload) != claimLen {
		return fmt.Errorf("%w: claim of %d bytes, frame %d", envelope.ErrMalformed, len(f.Payload), f.Type)
	}
	id := envelope.RequestID(f.Payload[:16])
	t := time.Unix(0, int64(binary.BigEndian.Uint64(f.Payload[16:])))
	if err := pr.cfg.Replay.Mark(id, t, pr.cfg.Now()); err != nil {
		return err
	}
	return envelope.WriteFrame(s, envelope.FrameResponse, nil)
}
