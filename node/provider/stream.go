package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/node/transport"
	"github.com/dxl-network/dxl/services"
)

// HandleStream serves one call on /dxl/call/1.0.0 (DESIGN.md §4 step 3).
// Every call is answered only once its record is on disk (Logs.Commit):
// a refusal is committed before its error frame, an answer before its end
// frame.
func (pr *Provider) HandleStream(s network.Stream) {
	deadline := pr.cfg.Now().Add(pr.cfg.CallTimeout)
	_ = s.SetDeadline(deadline)
	x := &exchange.Exchange{Start: pr.cfg.Now(), Role: oprec.RoleProvider, CallerIP: remoteIP(s),
		ConsumerPeer: s.Conn().RemotePeer().String(), ProviderPeer: pr.cfg.Self}
	err := pr.serveCall(s, deadline, x)
	if errors.Is(err, errAnswerLost) {
		_ = s.Reset()
		return
	}
	if err != nil {
		x.Status, x.Code = exchange.Status(err), exchange.Codes.Code(err)
		pr.cfg.Logger.Info("call refused", "peer", s.Conn().RemotePeer().String(), "error_code", x.Code, "error", err)
		pr.commit(deadline, x)
		if werr := transport.WriteError(s, ErrorFrame(err)); werr != nil {
			_ = s.Reset()
			return
		}
	}
	_ = s.Close()
}

// errAnswerLost: the response was recorded but could not be sent.
var errAnswerLost = errors.New("provider: response not sent")

// commit records x and waits for the disk, at most until deadline.
func (pr *Provider) commit(deadline time.Time, x *exchange.Exchange) {
	ctx, cancel := context.WithDeadline(pr.cfg.Life, deadline)
	defer cancel()
	pr.cfg.Logs.Commit(ctx, x)
}

// gateErrors maps the gate's refusals to the node's sentinels (the codes
// and statuses an information system sees).
var gateErrors = []struct{ gate, node error }{
	{services.ErrNotProvided, exchange.ErrUnknownService},
	{services.ErrUnknownVersion, exchange.ErrUnknownService},
	{services.ErrRetired, exchange.ErrServiceRetired},
	{services.ErrAccessDenied, exchange.ErrAccessDenied},
}

// gateError is err of services.Gate.Admit as the node reports it.
func gateError(err error) error {
	var ref *services.Refusal
	if errors.As(err, &ref) {
		for _, m := range gateErrors {
			if ref.Err == m.gate {
				return fmt.Errorf("%w: %s", m.node, ref.Detail)
			}
		}
	}
	var rl *services.RateLimitedError
	if errors.As(err, &rl) {
		return fmt.Errorf("%w: %w", exchange.ErrRateLimited, rl)
	}
	return err
}

func (pr *Provider) serveCall(s network.Stream, deadline time.Time, x *exchange.Exchange) error {
	// The backend call ends with the node: Close cancels pr.cfg.Life.
	ctx, cancel := context.WithDeadline(pr.cfg.Life, deadline)
	defer cancel()
	v, err := pr.cfg.Views.Current()
	if err != nil {
		return err
	}
	nd, ok := v.PeerAllowed(s.Conn().RemotePeer())
	if !ok {
		return exchange.ErrNotMember
	}
	br := transport.GetReader(s)
	defer transport.PutReader(br)
	req, err := pr.readRequest(ctx, br, v, nd.Member)
	if req != nil {
		x.Req = req
	}
	if err != nil {
		return err
	}
	sid, err := services.ParseServiceID(req.Service)
	if err != nil {
		return fmt.Errorf("%w: %v", exchange.ErrUnknownService, err)
	}
	client, err := services.ParseSubsystemID(req.Client)
	if err != nil {
		return fmt.Errorf("%w: client: %v", exchange.ErrBadRequest, err)
	}
	if err := checkParties(v, client, sid); err != nil {
		return err
	}
	var keys *exchange.Secret
	if !exchange.IsMeta(sid.Code) {
		if keys, err = exchange.CheckClassification(v, v.Service(sid.String()), client.Member.String(), sid.Provider.Member.String()); err != nil {
			return err
		}
	}
	archived := pr.cfg.Logs.Archived(req.Service)
	if err := checkSize(req.BodyLength, pr.cfg.MaxBody, archived); err != nil {
		return err
	}
	var body io.Reader = envelope.NewHashingReader(envelope.NewBodyReader(br, pr.cfg.MaxBody), req.BodySHA256, req.BodyLength)
	var sec *secretCall
	if keys != nil {
		if sec, err = pr.openRequest(s, req, body, keys); err != nil {
			return err
		}
		defer sec.release()
		body = bytes.NewReader(sec.plain)
	}

	greq := &services.Request{Client: client, Service: sid, Method: req.Method, Path: req.Path,
		ContentType: req.ContentType, Groups: v, Meta: exchange.IsMeta(sid.Code)}
	greq.Contract = pr.contract(v, sid) // the schemas against the catalogue (contract.go)
	if greq.Meta {
		if _, err := pr.gate.Admit(ctx, greq); err != nil {
			return gateError(err)
		}
		in, err := io.ReadAll(body) // small: a SOAP metaservice request, or nothing
		if err != nil {
			return err
		}
		status, ctype, out, err := pr.meta(client, sid, req.Path, req.ContentType, in)
		if err != nil {
			return err
		}
		return pr.respond(s, x, &answer{body: spool.Bytes(out), status: status, ctype: ctype})
	}
	return pr.serveBackend(ctx, s, x, greq, body, archived, sec)
}

// serveBackend admits a call to a provided service, runs it at the
// backend and answers. A version that validates requests reads the whole
// body (verified against the signed hash) before the backend sees a byte
// of it; any other streams it to the backend, its last bytes held until
// the hash checks (envelope.HoldLast). A Secret call (sec) has its body
// opened already and its answer sealed once masked.
func (pr *Provider) serveBackend(ctx context.Context, s network.Stream, x *exchange.Exchange, greq *services.Request, body io.Reader, archived bool, sec *secretCall) error {
	req := x.Req
	var held *transport.Reservation // a whole body, in the stream's resource scope
	defer func() { held.Release() }()
	greq.Body = func() ([]byte, error) {
		if sec != nil {
			return sec.plain, nil
		}
		if req.BodyLength > exchange.MaxWholeBody {
			return nil, fmt.Errorf("%w: requests to a version that validates them are at most %d bytes", exchange.ErrTooLarge, exchange.MaxWholeBody)
		}
		var err error
		if held, err = transport.Reserve(s, int64(req.BodyLength)); err != nil {
			return nil, fmt.Errorf("%w: %v", exchange.ErrTooLarge, err)
		}
		return io.ReadAll(body)
	}
	adm, err := pr.gate.Admit(ctx, greq)
	if err != nil {
		return gateError(err)
	}
	if err := pr.cfg.Logs.Check(); err != nil {
		return err
	}
	in := newRequestBody(body, adm.Body, archived)
	p := pr.provided[greq.Service.Unversioned().String()]
	breq := req
	if sec != nil {
		breq = sec.backendRequest(req)
	}
	ans, err := pr.callBackend(ctx, p, adm.Version, breq, in, archived)
	// The rest of the body is read and checked against its hash; a body
	// that failed it explains a failed backend call too.
	if ferr := in.finish(err == nil); ferr != nil {
		err = ferr
	}
	if err != nil {
		if ans != nil {
			_ = ans.body.Close()
		}
		return err
	}
	defer ans.body.Close() // the backend's answer, also when masked
	if err := checkResponse(p, adm.Version.Version, ans.body); err != nil {
		return err
	}
	if err := pr.mask(greq.Client, greq.Service, greq.Groups, ans); err != nil {
		return err
	}
	x.ReqBody = in.archived()
	if sec != nil {
		if archived {
			x.ReqBody = sec.sealed
		}
		if ans, err = pr.sealAnswer(req, ans, sec.keys); err != nil {
			return err
		}
	}
	return pr.respond(s, x, ans)
}

// checkSize refuses a body over the node's cap, or, for a service whose
// bodies are archived, over exchange.MaxWholeBody, before a byte of it
// is read.
func checkSize(n uint64, maxBody int64, archived bool) error {
	switch {
	case n > uint64(maxBody):
		return fmt.Errorf("%w: a body of %d bytes, over %d", exchange.ErrTooLarge, n, maxBody)
	case archived && n > exchange.MaxWholeBody:
		return fmt.Errorf("%w: the bodies of this service are archived, at most %d bytes", exchange.ErrTooLarge, exchange.MaxWholeBody)
	}
	return nil
}

// readRequest reads and verifies the request envelope and claims its ID
// for the member (claim); the request is returned with a claim's refusal,
// for the records.
func (pr *Provider) readRequest(ctx context.Context, br io.Reader, v *confview.View, from string) (*envelope.SignedRequest, error) {
	f, err := envelope.ReadFrame(br)
	if err != nil {
		return nil, err
	}
	if f.Type != envelope.FrameRequest {
		return nil, fmt.Errorf("%w: first frame is type %d", envelope.ErrMalformed, f.Type)
	}
	req, err := envelope.VerifyRequest(f.Payload, v.Policy(pr.cfg.Now, pr.cfg.Self, from), pr.cfg.Replay)
	if errors.Is(err, envelope.ErrReplay) {
		return req, fmt.Errorf("%w: %v", exchange.ErrDuplicate, err)
	}
	if err != nil {
		return req, err
	}
	return req, pr.claim(ctx, v, req)
}

// respond signs and sends the answer, once its record is on disk.
func (pr *Provider) respond(w io.Writer, x *exchange.Exchange, a *answer) error {
	resp, err := pr.cfg.Signer.SignResponse(x.Req, responseOf(x.Req, a))
	if err != nil {
		return err
	}
	x.Resp, x.Status = resp, a.status
	if pr.cfg.Logs.Archived(x.Req.Service) {
		if x.RespBody, err = a.body.ReadAll(); err != nil { // at most exchange.MaxWholeBody
			return err
		}
	}
	// The answer goes out while its record is committed; only its end
	// frame, without which the consumer node passes on no complete answer,
	// waits for the disk. The consumer node commits its own record
	// meanwhile, so the two commits overlap.
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		pr.commit(pr.cfg.Now().Add(pr.cfg.CallTimeout), x)
	}()
	err = transport.WriteMessageEnd(w, envelope.FrameResponse, resp.Raw, a.body.Open(), func() { <-committed })
	<-committed // recorded, whether or not the answer went out
	if err != nil {
		return fmt.Errorf("%w: %v", errAnswerLost, err)
	}
	return nil
}

// responseOf is the response to req that describes a.
func responseOf(req *envelope.SignedRequest, a *answer) envelope.Response {
	ctype := a.ctype
	if len(ctype) > envelope.MaxContentType {
		ctype = ""
	}
	r := envelope.Response{Status: uint16(a.status), BodySHA256: a.body.SHA256(), ContentType: ctype,
		BodyLength: uint64(a.body.Len()), Headers: a.headers}
	if req.Version == envelope.VersionV1 {
		r.Version, r.Headers = envelope.VersionV1, nil // a node that sends version 1 reads only version 1
	}
	return r
}

// ErrorFrame is the error frame a refusal is sent as; a rate-limit
// refusal carries its wait.
func ErrorFrame(err error) transport.ErrorFrame {
	e := transport.ErrorFrame{Code: exchange.Codes.Code(err), Message: err.Error()}
	var rl *services.RateLimitedError
	if errors.As(err, &rl) {
		e.Message, e.RetryAfter = "rate limit exceeded", rl.RetryAfter
	}
	if len(e.Message) > envelope.MaxErrorPayload-64 {
		e.Message = e.Message[:envelope.MaxErrorPayload-64]
	}
	return e
}

// remoteIP is the IP of a stream's remote end, for the provider's records.
func remoteIP(s network.Stream) string {
	if a, err := manet.ToNetAddr(s.Conn().RemoteMultiaddr()); err == nil {
		if ta, ok := a.(*net.TCPAddr); ok {
			return ta.IP.String()
		}
	}
	return ""
}
