package consumer

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
)

// Secret calls (exchange.Secret): the consumer node seals the request
// body to the provider member's key before it is archived, signed or
// sent, and opens the answer, sealed to its own member's key, only to
// pass it on. The message log and the stream hold sealed bytes only.

// sealEarly seals c's body when its service is Secret and the call may
// go, before the body is archived; a refusal is left to Do to report.
func (a *API) sealEarly(c *Call) error {
	v := c.view
	if v == nil {
		if v = a.cfg.Views.Latest(); v == nil {
			return nil
		}
		c.view = v
	}
	if exchange.IsMeta(c.Service.Code) {
		return nil
	}
	keys, err := exchange.CheckClassification(v, v.Service(c.Service.String()), c.Client.Member.String(), c.Service.Provider.Member.String())
	if err != nil || keys == nil {
		return nil
	}
	return a.seal(c, keys)
}

// seal replaces c's body with the body sealed to the provider member.
func (a *API) seal(c *Call, keys *exchange.Secret) error {
	if !a.cfg.Signer.CanOpen() {
		return fmt.Errorf("%w: this node's member key cannot open sealed answers", exchange.ErrClassificationRefused)
	}
	if c.Body.Len() > exchange.MaxWholeBody {
		return fmt.Errorf("%w: a Secret request is at most %d bytes", exchange.ErrTooLarge, exchange.MaxWholeBody)
	}
	plain, err := c.Body.ReadAll()
	if err != nil {
		return fmt.Errorf("%w: %v", exchange.ErrSpool, err)
	}
	sealed, err := envelope.SealBody(keys.Provider, envelope.SealRequest, c.RequestID, plain)
	if err != nil {
		return err
	}
	c.Body, c.secret = spool.Bytes(sealed), keys // the spool in clear is closed with the request
	return nil
}

// open reads a Secret answer whole (its end frame included: the provider
// node's record is on disk), opens it and verifies the provider's inner
// response over the body in clear, which becomes res.Answer.
func (a *API) open(res *Result, req *envelope.SignedRequest, p envelope.Policy) (*Result, bool, error) {
	defer res.Body.Close()
	if res.Response.BodyLength > exchange.MaxWholeBody+envelope.MaxEnvelope+64 {
		return nil, true, fmt.Errorf("%w: a Secret answer of %d bytes", exchange.ErrTooLarge, res.Response.BodyLength)
	}
	sealed, err := io.ReadAll(res.Body)
	if errors.Is(err, envelope.ErrBodyHash) {
		return nil, true, err
	} else if err != nil {
		return nil, true, fmt.Errorf("%w: %s: %v", exchange.ErrUnreachable, res.Provider, err)
	}
	clear, err := a.cfg.Signer.Open(envelope.SealResponse, req.RequestID, sealed)
	if err != nil {
		return nil, true, err
	}
	raw, body, err := envelope.SplitAnswer(clear)
	if err != nil {
		return nil, true, err
	}
	inner, err := envelope.VerifyResponse(raw, req, p)
	if err != nil {
		return nil, true, err
	}
	if inner.Status != res.Response.Status || inner.BodyLength != uint64(len(body)) || inner.BodySHA256 != sha256.Sum256(body) ||
		inner.Signer.Member != res.Response.Signer.Member {
		return nil, true, fmt.Errorf("%w: the sealed answer does not match its inner response", envelope.ErrSealed)
	}
	return &Result{Response: res.Response, Answer: inner, Provider: res.Provider, Body: io.NopCloser(bytes.NewReader(body)), Sealed: sealed}, true, nil
}
