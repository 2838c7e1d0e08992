package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/node/transport"
	"github.com/dxl-network/dxl/services"
)

// provided is one service this node serves, compiled from node.json.
type provided struct {
	cfg    *ServiceConfig
	id     services.ServiceID // unversioned
	apis   map[string]*services.OpenAPI
	client *http.Client
}

// groupsOf adapts the node's current configuration to services.Groups.
type groupsOf struct{ n *Node }

func (g groupsOf) Members(code string) []string {
	if v := g.n.view(); v != nil {
		return v.Members(code)
	}
	return nil
}

func (n *Node) loadServices() error {
	n.provided = map[string]*provided{}
	for i := range n.cfg.Services {
		sc := &n.cfg.Services[i]
		id, err := services.ParseServiceID(sc.Subsystem + "/" + sc.Code)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
		p := &provided{cfg: sc, id: id, apis: map[string]*services.OpenAPI{}}
		for _, v := range sc.Versions {
			if len(v.OpenAPI) == 0 {
				continue
			}
			api, err := services.LoadOpenAPI(context.Background(), v.OpenAPI)
			if err != nil {
				return fmt.Errorf("%w: service %s version %q: %v", ErrConfig, id, v.Version, err)
			}
			p.apis[v.Version] = api
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 256
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if sc.BackendCA != "" {
			file := sc.BackendCA
			if !filepath.IsAbs(file) {
				file = filepath.Join(n.dir, file)
			}
			pemBytes, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("%w: backend_ca: %v", ErrConfig, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pemBytes) {
				return fmt.Errorf("%w: backend_ca %s holds no certificate", ErrConfig, file)
			}
			tr.TLSClientConfig.RootCAs = pool
		}
		p.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		n.provided[id.String()] = p
	}
	acl, err := services.NewACL(n.cfg.Access, groupsOf{n})
	if err != nil {
		return fmt.Errorf("%w: access: %v", ErrConfig, err)
	}
	gated := make(map[string]*services.Provided, len(n.provided))
	for key, p := range n.provided {
		gp := &services.Provided{ID: p.id, Description: &p.cfg.Description}
		if p.cfg.ValidateRequests {
			gp.Validate = p.apis
		}
		gated[key] = gp
	}
	n.gate = services.NewGate(gated, acl, n.now)
	if n.lgsp, err = services.NewLGSPMap(n.cfg.LGSP); err != nil {
		return fmt.Errorf("%w: lgsp: %v", ErrConfig, err)
	}
	return nil
}

// handleStream serves one call on /dxl/call/1.0.0 (DESIGN.md §4 step 3).
func (n *Node) handleStream(s network.Stream) {
	deadline := n.now().Add(time.Duration(n.cfg.CallTimeout))
	_ = s.SetDeadline(deadline)
	x := &exchange.Exchange{Start: n.now(), Role: oprec.RoleProvider, CallerIP: remoteIP(s),
		ConsumerPeer: s.Conn().RemotePeer().String(), ProviderPeer: n.self}
	defer func() {
		if x.Req != nil {
			n.logs.Record(x)
		}
	}()
	if err := n.serveCall(s, deadline, x); err != nil {
		x.Status, x.Code = exchange.Status(err), exchange.Codes.Code(err)
		n.log.Info("call refused", "peer", s.Conn().RemotePeer().String(), "error_code", exchange.Codes.Code(err), "error", err)
		if werr := transport.WriteError(s, errorFrame(err)); werr != nil {
			_ = s.Reset()
			return
		}
	}
	_ = s.Close()
}

// gateErrors maps the gate's refusals to the node's sentinels (the codes
// and statuses an information system sees).
var gateErrors = []struct{ gate, node error }{
	{services.ErrNotProvided, ErrUnknownService},
	{services.ErrUnknownVersion, ErrUnknownService},
	{services.ErrRetired, ErrServiceRetired},
	{services.ErrAccessDenied, ErrAccessDenied},
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
		return fmt.Errorf("%w: %w", ErrRateLimited, rl)
	}
	return err
}

func (n *Node) serveCall(s network.Stream, deadline time.Time, x *exchange.Exchange) error {
	// The backend call ends with the node: Close cancels n.life.
	ctx, cancel := context.WithDeadline(n.life, deadline)
	defer cancel()
	v, err := n.current()
	if err != nil {
		return err
	}
	nd, ok := v.PeerAllowed(s.Conn().RemotePeer())
	if !ok {
		return ErrNotMember
	}
	br := transport.GetReader(s)
	defer transport.PutReader(br)
	f, err := envelope.ReadFrame(br)
	if err != nil {
		return err
	}
	if f.Type != envelope.FrameRequest {
		return fmt.Errorf("%w: first frame is type %d", envelope.ErrMalformed, f.Type)
	}
	req, err := envelope.VerifyRequest(f.Payload, v.Policy(n.now, n.self, nd.Member), n.replay)
	if err != nil {
		return err
	}
	x.Req = req
	sid, err := services.ParseServiceID(req.Service)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnknownService, err)
	}
	client, err := services.ParseSubsystemID(req.Client)
	if err != nil {
		return fmt.Errorf("%w: client: %v", ErrBadRequest, err)
	}
	body := envelope.NewHashingReader(envelope.NewBodyReader(br, n.cfg.MaxBody), req.BodySHA256, req.BodyLength)

	greq := &services.Request{Client: client, Service: sid, Method: req.Method, Path: req.Path,
		ContentType: req.ContentType, Groups: v, Meta: exchange.IsMeta(sid.Code)}
	if greq.Meta {
		if _, err := n.gate.Admit(ctx, greq); err != nil {
			return gateError(err)
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return err
		}
		status, ctype, out, err := n.meta(client, sid, req.Path)
		if err != nil {
			return err
		}
		return n.respond(s, x, status, ctype, out)
	}
	// The body is verified against the signed hash before the backend sees
	// a byte of it.
	var held *transport.Reservation // the body, in the stream's resource scope
	defer func() { held.Release() }()
	greq.Body = func() ([]byte, error) {
		var err error
		if held, err = transport.Reserve(s, int64(req.BodyLength)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
		}
		buf, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		x.ReqBody = buf
		return buf, n.logs.Check()
	}
	adm, err := n.gate.Admit(ctx, greq)
	if err != nil {
		return gateError(err)
	}
	out, status, ctype, err := n.callBackend(ctx, n.provided[sid.Unversioned().String()], adm.Version, req, adm.Body)
	if err != nil {
		return err
	}
	return n.respond(s, x, status, ctype, out)
}

// callBackend sends the verified request to the version's backend, bounded
// by the version's timeout, and reads its whole answer.
func (n *Node) callBackend(ctx context.Context, p *provided, ver *services.Version, req *envelope.SignedRequest, buf []byte) (out []byte, status int, ctype string, err error) {
	var reqBody io.Reader = http.NoBody
	if len(buf) > 0 {
		reqBody = bytes.NewReader(buf)
	}
	ctx, cancel := context.WithTimeout(ctx, ver.EffectiveTimeout())
	defer cancel()
	url := strings.TrimSuffix(ver.BackendURL, "/") + req.Path
	if req.Path == "/" {
		url = ver.BackendURL // the service root: a SOAP endpoint, typically
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, url, reqBody)
	if err != nil {
		return nil, 0, "", fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	hreq.ContentLength = int64(req.BodyLength)
	h := hreq.Header
	if req.ContentType != "" {
		h.Set("Content-Type", req.ContentType)
	}
	h.Set("X-Request-ID", req.RequestID.String())
	h.Set("X-DXL-Client", req.Client)
	h.Set("X-Road-Client", req.Client)
	h.Set("X-DXL-Service", req.Service)
	if req.UserID != "" {
		h.Set("X-DXL-User-ID", req.UserID)
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, "", fmt.Errorf("%w: %s", ErrBackendTimeout, req.Service)
		}
		return nil, 0, "", fmt.Errorf("%w: %s: %v", ErrBackend, req.Service, err)
	}
	defer resp.Body.Close()
	out, err = io.ReadAll(io.LimitReader(resp.Body, n.cfg.MaxBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, "", fmt.Errorf("%w: %s", ErrBackendTimeout, req.Service)
		}
		return nil, 0, "", fmt.Errorf("%w: reading the answer: %v", ErrBackend, err)
	}
	if int64(len(out)) > n.cfg.MaxBody {
		return nil, 0, "", fmt.Errorf("%w: the backend's answer exceeds %d bytes", ErrTooLarge, n.cfg.MaxBody)
	}
	return out, resp.StatusCode, resp.Header.Get("Content-Type"), nil
}

// respond signs and sends a response with body out.
func (n *Node) respond(s network.Stream, x *exchange.Exchange, status int, ctype string, out []byte) error {
	if len(ctype) > envelope.MaxContentType {
		ctype = ""
	}
	resp, err := n.signer.SignResponse(x.Req, envelope.Response{
		Status: uint16(status), BodySHA256: sha256Sum(out), ContentType: ctype, BodyLength: uint64(len(out)),
	})
	if err != nil {
		return err
	}
	x.Resp, x.Status, x.RespBody = resp, status, out
	return transport.WriteMessage(s, envelope.FrameResponse, resp.Raw, out)
}

// errorFrame is the error frame a refusal is sent as; a rate-limit
// refusal carries its wait.
func errorFrame(err error) transport.ErrorFrame {
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
