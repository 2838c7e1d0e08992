package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/services"
)

// Headers of the consumer API. X-Road's names are accepted beside DXL's own.
const (
	HeaderClient      = "X-DXL-Client"
	HeaderXRoadClient = "X-Road-Client"
	HeaderUserID      = "X-DXL-User-ID"
	HeaderXRoadUserID = "X-Road-UserId"
	HeaderRequestID   = "X-Request-ID"
	HeaderError       = "X-DXL-Error"
	HeaderProvider    = "X-DXL-Provider-Node"
)

func (n *Node) apiHandler() http.Handler {
	m := http.NewServeMux()
	m.Handle("POST /token", n.auth.TokenHandler())
	m.HandleFunc("GET /health", n.health)
	m.HandleFunc("GET /health/services/{id...}", n.authenticated(n.serviceHealth))
	m.HandleFunc("GET /listClients", n.authenticated(n.listClients))
	m.HandleFunc("/r1/{id...}", n.rest)
	m.HandleFunc("POST /{$}", n.soap)
	m.HandleFunc("POST /soap", n.soap)
	m.HandleFunc("/", n.lgspCall)
	return m
}

// fail writes an exchange-layer error.
func (n *Node) fail(w http.ResponseWriter, reqID string, err error) {
	code, status := exchange.Codes.Code(err), exchange.Status(err)
	var re *RemoteError
	if errors.As(err, &re) {
		code = re.Code
		if re.RetryAfter != "" {
			w.Header().Set("Retry-After", re.RetryAfter)
		}
	}
	if status >= 500 {
		n.log.Warn("call failed", "request_id", reqID, "error_code", code, "error", err)
	}
	h := w.Header()
	h.Set(HeaderError, code)
	h.Set("Content-Type", "application/json")
	if reqID != "" {
		h.Set(HeaderRequestID, reqID)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorBody{Code: code, Message: err.Error(), RequestID: reqID})
}

// authenticate identifies the calling information system: a pinned TLS
// client certificate, else a bearer token from the token endpoint.
func (n *Node) authenticate(r *http.Request) (services.SubsystemID, error) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		if sub, ok := n.clients[hex.EncodeToString(sum[:])]; ok {
			return services.ParseSubsystemID(sub)
		}
		if r.Header.Get("Authorization") == "" {
			return services.SubsystemID{}, fmt.Errorf("%w: client certificate not registered with this node", ErrUnauthenticated)
		}
	}
	if r.Header.Get("Authorization") == "" {
		return services.SubsystemID{}, fmt.Errorf("%w: present a registered client certificate or an Authorization: Bearer token", ErrUnauthenticated)
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p, err := n.auth.Verify(r.Context(), tok)
	if err != nil {
		return services.SubsystemID{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	return services.ParseSubsystemID(p.Subsystem)
}

// refused records a call the consumer API refused before it could go out.
func (n *Node) refused(r *http.Request, reqID string, err error) {
	n.logs.Record(&exchange.Exchange{RequestID: reqID, Start: n.now(), Role: oprec.RoleConsumer, CallerIP: hostOf(r.RemoteAddr),
		Status: exchange.Status(err), Code: exchange.Codes.Code(err), ConsumerPeer: n.self})
}

// authenticated lets only registered information systems through.
func (n *Node) authenticated(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := n.authenticate(r); err != nil {
			n.fail(w, "", err)
			return
		}
		h(w, r)
	}
}

// prepare authenticates, settles the client and the request ID.
func (n *Node) prepare(r *http.Request, clientHint string) (*Call, string, error) {
	reqID := r.Header.Get(HeaderRequestID)
	c := &Call{}
	if reqID == "" {
		c.RequestID = envelope.NewRequestID()
	} else {
		id, err := envelope.ParseRequestID(reqID)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %.64q", ErrBadRequestID, reqID)
		}
		c.RequestID = id
	}
	reqID = c.RequestID.String()
	who, err := n.authenticate(r)
	if err != nil {
		return nil, reqID, err
	}
	c.Client = who
	for _, claimed := range []string{clientHint, r.Header.Get(HeaderClient), r.Header.Get(HeaderXRoadClient)} {
		if claimed != "" && claimed != who.String() {
			return nil, reqID, fmt.Errorf("%w: claimed %q, authenticated as %s", ErrClientMismatch, claimed, who)
		}
	}
	if !who.Member.IsZero() && who.Member != n.member {
		return nil, reqID, fmt.Errorf("%w: %s is not a subsystem of this node's member", ErrClientMismatch, who)
	}
	c.UserID = firstNonEmpty(r.Header.Get(HeaderUserID), r.Header.Get(HeaderXRoadUserID))
	if len(c.UserID) > envelope.MaxUserID {
		return nil, reqID, fmt.Errorf("%w: user ID too long", ErrBadRequest)
	}
	c.Method = r.Method
	c.ContentType = r.Header.Get("Content-Type")
	if r.ContentLength > n.cfg.MaxBody {
		return nil, reqID, fmt.Errorf("%w: over %d bytes", ErrTooLarge, n.cfg.MaxBody)
	}
	// The request envelope commits to the body's hash, so the body is read
	// before the call goes out; it is dropped once the exchange completes.
	body, err := io.ReadAll(io.LimitReader(r.Body, n.cfg.MaxBody+1))
	if err != nil {
		return nil, reqID, fmt.Errorf("%w: reading the body: %v", ErrBadRequest, err)
	}
	if int64(len(body)) > n.cfg.MaxBody {
		return nil, reqID, fmt.Errorf("%w: over %d bytes", ErrTooLarge, n.cfg.MaxBody)
	}
	c.Body = body
	return c, reqID, nil
}

// rest serves /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]/path.
func (n *Node) rest(w http.ResponseWriter, r *http.Request) {
	c, reqID, err := n.prepare(r, "")
	if err != nil {
		n.refused(r, reqID, err)
		n.fail(w, reqID, err)
		return
	}
	v := n.view()
	sid, path, err := parseR1(r.URL.EscapedPath(), r.URL.RawQuery, func(s services.ServiceID) bool {
		return v != nil && v.Service(s.String()) != nil
	})
	if err != nil {
		n.fail(w, reqID, err)
		return
	}
	c.Service, c.Path, c.view = sid, path, v
	n.forward(w, r, c, reqID, "")
}

// parseR1 splits /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]/path
// (escaped) into the service and the service-relative path with query. The
// segment after SERVICE is a version when listed(service with it) says so.
func parseR1(escaped, rawQuery string, listed func(services.ServiceID) bool) (services.ServiceID, string, error) {
	rest, ok := strings.CutPrefix(escaped, "/r1/")
	parts := strings.SplitN(rest, "/", 7)
	if !ok || len(parts) < 5 {
		return services.ServiceID{}, "", fmt.Errorf("%w: path must be /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]/...", ErrBadRequest)
	}
	sid, err := services.ParseServiceID(strings.Join(parts[:5], "/"))
	if err != nil {
		return sid, "", fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	tail := parts[5:]
	if len(tail) > 0 && !exchange.IsMeta(sid.Code) {
		versioned := sid
		versioned.Version = tail[0]
		if versioned.Version != "" && listed(versioned) {
			sid, tail = versioned, tail[1:]
		}
	}
	path := "/" + strings.Join(tail, "/")
	if rawQuery != "" {
		path += "?" + rawQuery
	}
	if len(path) > envelope.MaxPath {
		return sid, "", fmt.Errorf("%w: path and query over %d bytes", ErrBadRequest, envelope.MaxPath)
	}
	return sid, path, nil
}

// lgspCall serves the LGSP form /{version}/{domain}/{resource}/... for the
// services node.json maps.
func (n *Node) lgspCall(w http.ResponseWriter, r *http.Request) {
	svc, rest, ok := n.lgsp.Lookup(r.URL.RequestURI())
	if !ok {
		n.fail(w, r.Header.Get(HeaderRequestID), fmt.Errorf("%w: no such path %s (use /r1/… or an LGSP route)", ErrUnknownService, r.URL.Path))
		return
	}
	c, reqID, err := n.prepare(r, "")
	if err != nil {
		n.refused(r, reqID, err)
		n.fail(w, reqID, err)
		return
	}
	c.Service, c.Path = svc, rest
	n.forward(w, r, c, reqID, "")
}

// soap serves SOAP 1.1/1.2 with the X-Road header naming client, service
// and request ID; the envelope passes through to the provider untouched.
func (n *Node) soap(w http.ResponseWriter, r *http.Request) {
	ctype := r.Header.Get("Content-Type")
	if !services.IsSOAP(ctype) {
		n.fail(w, "", fmt.Errorf("%w: POST / takes a SOAP envelope (text/xml or application/soap+xml)", ErrBadRequest))
		return
	}
	c, reqID, err := n.prepare(r, "")
	if err != nil {
		n.refused(r, reqID, err)
		n.fail(w, reqID, err)
		return
	}
	hdr, err := services.ParseSOAP(ctype, c.Body)
	if err != nil {
		n.soapFail(w, "1.1", reqID, err)
		return
	}
	if hdr.Client != c.Client.String() {
		n.soapFail(w, hdr.Version, reqID, fmt.Errorf("%w: SOAP header client %s, authenticated as %s", ErrClientMismatch, hdr.Client, c.Client))
		return
	}
	if c.Service, err = services.ParseServiceID(hdr.Service); err != nil {
		n.soapFail(w, hdr.Version, reqID, fmt.Errorf("%w: %v", ErrBadRequest, err))
		return
	}
	if c.UserID == "" {
		c.UserID = hdr.UserID
	}
	c.Path = "/"
	n.forward(w, r, c, reqID, hdr.Version)
}

func (n *Node) soapFail(w http.ResponseWriter, version, reqID string, err error) {
	code := exchange.Codes.Code(err)
	var re *RemoteError
	if errors.As(err, &re) {
		code = re.Code
	}
	ctype, body := services.SOAPFault(version, code, err.Error())
	w.Header().Set(HeaderError, code)
	w.Header().Set("Content-Type", ctype)
	if reqID != "" {
		w.Header().Set(HeaderRequestID, reqID)
	}
	w.WriteHeader(http.StatusInternalServerError) // SOAP faults travel as 500
	_, _ = w.Write(body)
}

// forward runs the call and streams the verified answer back.
func (n *Node) forward(w http.ResponseWriter, r *http.Request, c *Call, reqID, soapVersion string) {
	x := &exchange.Exchange{Start: n.now(), Role: oprec.RoleConsumer, CallerIP: hostOf(r.RemoteAddr), Client: c.Client.String(),
		Service: c.Service.String(), ReqBody: c.Body, ConsumerPeer: n.self}
	defer n.logs.Record(x)
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(n.cfg.CallTimeout))
	defer cancel()
	err := n.logs.Check()
	var res *Result
	if err == nil {
		res, err = n.Do(ctx, c)
	}
	x.Req = c.sent
	if c.sentTo != "" {
		x.ProviderPeer = c.sentTo.String()
	}
	if err != nil {
		x.Status, x.Code = exchange.Status(err), exchange.Codes.Code(err)
		var re *RemoteError
		if errors.As(err, &re) {
			x.Code = re.Code
		}
		if soapVersion != "" {
			n.soapFail(w, soapVersion, reqID, err)
		} else {
			n.fail(w, reqID, err)
		}
		return
	}
	defer res.Body.Close()
	x.Resp, x.Status = res.Response, int(res.Response.Status)
	var body io.Reader = res.Body
	if n.logs.Archived(c.Service.String()) {
		tee := &capBuffer{max: n.cfg.MaxBody}
		body = io.TeeReader(res.Body, tee)
		defer func() { x.RespBody = tee.b }()
	}
	h := w.Header()
	if ct := res.Response.ContentType; ct != "" {
		h.Set("Content-Type", ct)
	}
	h.Set("Content-Length", strconv.FormatUint(res.Response.BodyLength, 10))
	h.Set(HeaderRequestID, reqID)
	h.Set(HeaderProvider, res.Provider.String())
	lifecycleHeaders(h, c.view, c.Service)
	w.WriteHeader(int(res.Response.Status))
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	if _, err := io.CopyBuffer(w, body, *buf); err != nil {
		x.Code = exchange.Codes.Code(err)
		// The answer failed its signed hash or the stream broke after the
		// headers went out: cut the connection so the client sees a
		// truncated answer, never a wrong one passed as whole.
		n.log.Warn("response body refused", "request_id", reqID, "error_code", exchange.Codes.Code(err), "error", err)
		panic(http.ErrAbortHandler)
	}
}

// lifecycleHeaders sets Deprecation and Sunset from the catalogue.
func lifecycleHeaders(h http.Header, v *confview.View, sid services.ServiceID) {
	if v == nil {
		return
	}
	s := v.Service(sid.String())
	if s == nil || s.Lifecycle != ident.ServiceDeprecated {
		return
	}
	// RFC 9745 date form and RFC 8594 Sunset, as services.Version.SetHeaders.
	if s.DeprecatedAt != nil {
		h.Set("Deprecation", "@"+strconv.FormatInt(s.DeprecatedAt.Unix(), 10))
	}
	if s.Sunset != nil {
		h.Set("Sunset", s.Sunset.UTC().Format(http.TimeFormat))
	}
}

// capBuffer keeps up to max bytes written to it.
type capBuffer struct {
	b   []byte
	max int64
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.max - int64(len(c.b)); room > 0 {
		c.b = append(c.b, p[:min(int64(len(p)), room)]...)
	}
	return len(p), nil
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
