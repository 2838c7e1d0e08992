package consumer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/replay"
	"github.com/dxl-network/dxl/node/transport"
	"github.com/dxl-network/dxl/services"
)

// Call is one outgoing synchronous call, as the consumer API hands it over.
type Call struct {
	Client      services.SubsystemID
	Service     services.ServiceID
	RequestID   envelope.RequestID
	UserID      string
	Method      string
	Path        string // service-relative, with query
	ContentType string
	Body        *spool.Spool
	// Headers travel to the provider's backend (exchange.CarriedHeaders).
	Headers []envelope.Header
	// XRoadID is an X-Road client's X-Road-Id, echoed in the answer.
	XRoadID string

	// sent and sentTo are the request envelope and the provider node of
	// the last attempt (for the logs), whether or not it reached the node.
	sent   *envelope.SignedRequest
	sentTo peer.ID
	// view is the configuration the call started with (the consumer API
	// sets it when it looked the service up); nil: the current one.
	view *confview.View
	// secret is set once Body is sealed for a Secret service (secret.go).
	secret *exchange.Secret
}

// Result is a verified response. Body streams the response body; it is
// checked against the signed hash at its end (an error instead of io.EOF on
// mismatch), and must be closed.
type Result struct {
	// Response is the provider's signed response as it travelled (and is
	// logged); Answer the one over the body the information system gets:
	// the same but for a Secret service, whose Response signs the sealed
	// body and Answer, carried inside the seal, the body in clear.
	Response, Answer *envelope.SignedResponse
	Provider         peer.ID
	Body             io.ReadCloser
	// Sealed is a Secret answer's body as it travelled, to archive.
	Sealed []byte
}

// dialTimeout bounds reaching one provider node before failing over.
const dialTimeout = 5 * time.Second

// Do sends c to a node of the service's provider member, failing over to
// the member's other nodes while none has received the request (or, for
// an idempotent method, while none has answered).
func (a *API) Do(ctx context.Context, c *Call) (*Result, error) {
	v := c.view
	if v == nil {
		v = a.cfg.Views.Latest()
		c.view = v
	}
	v, err := a.cfg.Views.Usable(v)
	if err != nil {
		return nil, err
	}
	if err := a.checkService(v, c); err != nil {
		return nil, err
	}
	provider := c.Service.Provider.Member.String()
	cands := v.NodesOf(provider)
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: %s has no active node", exchange.ErrUnreachable, provider)
	}
	var lastErr error
	sum := c.Body.SHA256() // once, whatever the number of attempts
	for _, pid := range a.order(cands, c.RequestID) {
		res, sent, err := a.callPeer(ctx, v, pid, c, sum)
		if err == nil {
			return res, nil
		}
		lastErr = err
		if ctx.Err() != nil || !mayResend(c.Method, sent, err) {
			break
		}
		a.cfg.Logger.Info("provider node unreachable, failing over", "peer", pid.String(), "sent", sent, "error", err)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %v", exchange.ErrTimeout, lastErr)
	}
	return nil, lastErr
}

// mayResend reports whether a call that failed with err at one provider
// node may be sent to the next: when it provably did not reach the node,
// or when its method is idempotent and the node did not answer (a broken
// stream, not a refusal). The provider may have acted on anything else.
func mayResend(method string, sent bool, err error) bool {
	return !sent || replay.Idempotent(method) && errors.Is(err, exchange.ErrUnreachable)
}

// checkService looks the call's service up in the catalogue; its provider
// subsystem must be registered and active, of an active member
// (member_suspended, member_revoked: the provider's member is), and its
// classification must allow the call (classification_refused). A Secret
// call's body is sealed here unless it is already.
func (a *API) checkService(v *confview.View, c *Call) error {
	sid := c.Service
	err := exchange.CheckSubsystem(v, sid.Provider.Member.String(), sid.Provider.String(), exchange.ErrUnknownService)
	if err != nil || exchange.IsMeta(sid.Code) {
		return err
	}
	s := v.Service(sid.String())
	if s == nil {
		return fmt.Errorf("%w: %s is not in the service catalogue", exchange.ErrUnknownService, sid)
	}
	if s.Lifecycle == ident.ServiceRetired || (s.Lifecycle == ident.ServiceDeprecated && s.Sunset != nil && !a.cfg.Now().Before(*s.Sunset)) {
		return fmt.Errorf("%w: %s", exchange.ErrServiceRetired, sid)
	}
	keys, err := exchange.CheckClassification(v, s, c.Client.Member.String(), sid.Provider.Member.String())
	if err != nil || keys == nil || c.secret != nil {
		return err
	}
	return a.seal(c, keys)
}

// order returns the candidates in the request ID's rendezvous order
// (replay.Order: the node that decides the ID first, and load spread by
// the IDs), with nodes whose last dial failed moved to the end.
func (a *API) order(cands []peer.ID, id envelope.RequestID) []peer.ID {
	out := make([]peer.ID, 0, len(cands))
	var later []peer.ID
	for _, pid := range replay.Order(cands, id) {
		if a.cfg.Dialer.Suspect(pid) {
			later = append(later, pid)
		} else {
			out = append(out, pid)
		}
	}
	return append(out, later...)
}

// callPeer runs one call against one provider node. sent reports whether
// the request may have reached it (then the caller must not fail over).
func (a *API) callPeer(ctx context.Context, v *confview.View, pid peer.ID, c *Call, bodySum [32]byte) (_ *Result, sent bool, err error) {
	req, err := a.cfg.Signer.SignRequest(envelope.Request{
		RequestID: c.RequestID, Client: c.Client.String(), Service: c.Service.String(), Target: pid.String(),
		UserID: c.UserID, Method: c.Method, Path: c.Path, BodySHA256: bodySum,
		ContentType: c.ContentType, BodyLength: uint64(c.Body.Len()), Headers: c.Headers,
	})
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", exchange.ErrBadRequest, err)
	}
	c.sent, c.sentTo = req, pid // the envelope of the last attempt is logged, sent or not
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	s, err := a.cfg.Dialer.NewStream(network.WithAllowLimitedConn(dctx, "dxl-call"), pid, transport.CallProtocol, transport.ServiceCall)
	cancel()
	if err != nil {
		return nil, false, fmt.Errorf("%w: %s: %v", exchange.ErrUnreachable, pid, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	br := transport.GetReader(s)
	f, err := a.send(ctx, s, br, req, c.Body)
	if err != nil {
		transport.PutReader(br)
		_ = s.Reset()
		if errors.Is(err, exchange.ErrTimeout) {
			return nil, true, fmt.Errorf("%w: %s", err, pid)
		}
		return nil, true, fmt.Errorf("%w: %s: %v", exchange.ErrUnreachable, pid, err)
	}
	switch f.Type {
	case envelope.FrameError:
		transport.PutReader(br)
		_ = s.Close()
		return nil, true, RemoteErrorOf(transport.DecodeError(f.Payload))
	case envelope.FrameResponse:
	default:
		transport.PutReader(br)
		_ = s.Reset()
		return nil, true, fmt.Errorf("%w: unexpected frame %d from %s", envelope.ErrMalformed, f.Type, pid)
	}
	nd, _ := v.PeerAllowed(pid)
	if nd == nil {
		transport.PutReader(br)
		_ = s.Reset()
		return nil, true, exchange.ErrNotMember
	}
	resp, err := envelope.VerifyResponse(f.Payload, req, v.Policy(a.cfg.Now, "", nd.Member))
	if err != nil {
		transport.PutReader(br)
		_ = s.Reset()
		a.cfg.Logger.Warn("response refused", "peer", pid.String(), "request_id", c.RequestID.String(), "error_code", exchange.Codes.Code(err), "error", err)
		return nil, true, err
	}
	body := envelope.NewHashingReader(envelope.NewBodyReader(br, a.cfg.MaxBody), resp.BodySHA256, resp.BodyLength)
	res := &Result{Response: resp, Answer: resp, Provider: pid, Body: &streamBody{r: body, s: s, br: br}}
	if c.secret != nil {
		return a.open(res, req, v.Policy(a.cfg.Now, "", nd.Member))
	}
	return res, true, nil
}

// send writes the request and its body while it waits for the provider
// node's first frame: a node that refuses a call before reading its body
// (too large, rate limited…) answers at once, and the rest of the body is
// not sent. It returns once both are done, or on the first failure (the
// caller then resets the stream).
func (a *API) send(ctx context.Context, s network.Stream, br *bufio.Reader, req *envelope.SignedRequest, body *spool.Spool) (envelope.Frame, error) {
	written := make(chan error, 1)
	go func() {
		err := transport.WriteMessage(s, envelope.FrameRequest, req.Raw, body.Open())
		if err == nil {
			err = s.CloseWrite()
		}
		written <- err
	}()
	f, rerr := envelope.ReadFrame(br)
	if rerr == nil && f.Type == envelope.FrameError {
		_ = s.Reset() // a refusal: the rest of the body is not wanted
		<-written
		return f, nil
	}
	werr := <-written
	switch {
	case rerr != nil && ctx.Err() != nil:
		return f, fmt.Errorf("%w: waiting for the answer", exchange.ErrTimeout)
	case werr != nil:
		return f, fmt.Errorf("sending: %v", werr)
	case rerr != nil:
		return f, fmt.Errorf("reading: %v", rerr)
	}
	return f, nil
}

// RemoteErrorOf is the error a provider node reported in an error frame.
func RemoteErrorOf(e transport.ErrorFrame) error {
	re := &exchange.RemoteError{Code: e.Code, Message: e.Message}
	if e.RetryAfter > 0 {
		re.RetryAfter = services.RetryAfter(e.RetryAfter)
	}
	return re
}

// streamBody closes the stream once the body is consumed or abandoned.
type streamBody struct {
	r    io.Reader
	s    network.Stream
	br   *bufio.Reader
	done bool
}

func (b *streamBody) Read(p []byte) (int, error) {
	k, err := b.r.Read(p)
	if err == io.EOF {
		b.done = true
	}
	return k, err
}

func (b *streamBody) Close() error {
	if b.br != nil {
		transport.PutReader(b.br)
		b.br = nil
	}
	if b.done {
		return b.s.Close()
	}
	return b.s.Reset()
}
