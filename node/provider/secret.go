package provider

import (
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/transport"
)

// secretCall is a Secret call at the provider node (exchange.Secret): its
// request body arrives sealed to this member's key and is opened here, in
// memory; the answer is sealed to the consumer member's key before it is
// signed, logged or sent. The backend sees the body in clear, the message
// log and the stream only sealed bytes.
type secretCall struct {
	keys   *exchange.Secret
	sealed []byte // the request body as it travelled (and is archived)
	plain  []byte
	held   *transport.Reservation // both copies, in the stream's resource scope
}

// openRequest reads a Secret call's body whole, checked against its
// signed hash, and opens it (envelope_sealed when it does not: not sealed,
// sealed to another key or bound to another call).
func (pr *Provider) openRequest(s network.Stream, req *envelope.SignedRequest, body io.Reader, keys *exchange.Secret) (*secretCall, error) {
	if !pr.cfg.Signer.CanOpen() {
		return nil, fmt.Errorf("%w: this node's member key cannot open sealed bodies", exchange.ErrClassificationRefused)
	}
	if req.BodyLength > exchange.MaxWholeBody {
		return nil, fmt.Errorf("%w: a Secret request is at most %d bytes sealed", exchange.ErrTooLarge, exchange.MaxWholeBody)
	}
	held, err := transport.Reserve(s, 2*int64(req.BodyLength))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", exchange.ErrTooLarge, err)
	}
	sc := &secretCall{keys: keys, held: held}
	if sc.sealed, err = io.ReadAll(body); err != nil {
		held.Release()
		return nil, err
	}
	if sc.plain, err = pr.cfg.Signer.Open(envelope.SealRequest, req.RequestID, sc.sealed); err != nil {
		held.Release()
		return nil, err
	}
	return sc, nil
}

// release gives back the call's memory reservation (nil-safe).
func (sc *secretCall) release() {
	if sc != nil {
		sc.held.Release()
	}
}

// backendRequest is req as the backend is to get it: the body in clear.
func (sc *secretCall) backendRequest(req *envelope.SignedRequest) *envelope.SignedRequest {
	c := *req
	c.BodyLength, c.BodySHA256 = uint64(len(sc.plain)), sha256.Sum256(sc.plain)
	return &c
}

// sealAnswer seals a's body, with the provider's signed response over it
// in clear inside (envelope.JoinAnswer: the information system's
// X-Signature), to the consumer member's key; the outer response respond
// signs is over the sealed bytes. a is left to its owner to close.
func (pr *Provider) sealAnswer(req *envelope.SignedRequest, a *answer, to *exchange.Secret) (*answer, error) {
	if a.body.Len() > exchange.MaxWholeBody {
		return nil, fmt.Errorf("%w: a Secret answer is at most %d bytes", exchange.ErrTooLarge, exchange.MaxWholeBody)
	}
	plain, err := a.body.ReadAll()
	if err != nil {
		return nil, err
	}
	inner, err := pr.cfg.Signer.SignResponse(req, responseOf(req, a))
	if err != nil {
		return nil, err
	}
	sealed, err := envelope.SealBody(to.Consumer, envelope.SealResponse, req.RequestID, envelope.JoinAnswer(inner.Raw, plain))
	if err != nil {
		return nil, err
	}
	return &answer{body: spool.Bytes(sealed), status: a.status, ctype: a.ctype, headers: a.headers}, nil
}
