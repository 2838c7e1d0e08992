package consumer

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// rest serves /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]/path.
func (a *API) rest(w http.ResponseWriter, r *http.Request) {
	c, reqID, ok := a.admit(w, r)
	if !ok {
		return
	}
	v := a.cfg.Views.Latest()
	sid, path, err := parseR1(r.URL.EscapedPath(), r.URL.RawQuery, func(s services.ServiceID) bool {
		return v != nil && v.Service(s.String()) != nil
	})
	if err != nil {
		a.refuse(w, r, reqID, "", err)
		return
	}
	c.Service, c.Path, c.view = sid, path, v
	a.forward(w, r, c, reqID, "")
}

// parseR1 splits /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]/path
// (escaped) into the service and the service-relative path with query. The
// segment after SERVICE is a version when listed(service with it) says so.
func parseR1(escaped, rawQuery string, listed func(services.ServiceID) bool) (services.ServiceID, string, error) {
	rest, ok := strings.CutPrefix(escaped, "/r1/")
	parts := strings.SplitN(rest, "/", 7)
	if !ok || len(parts) < 5 {
		return services.ServiceID{}, "", fmt.Errorf("%w: path must be /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]/...", exchange.ErrBadRequest)
	}
	sid, err := services.ParseServiceID(strings.Join(parts[:5], "/"))
	if err != nil {
		return sid, "", fmt.Errorf("%w: %v", exchange.ErrBadRequest, err)
	}
	tail := parts[5:]
	if len(tail) > 0 && !exchange.IsMeta(sid.Code) {
		versioned := sid
		versioned.Version = tail[0]
		// Only a valid identifier part can be a version; anything else is
		// the start of the path.
		if ident.CheckPart(versioned.Version) == nil && listed(versioned) {
			sid, tail = versioned, tail[1:]
		}
	}
	path := "/" + strings.Join(tail, "/")
	if rawQuery != "" {
		path += "?" + rawQuery
	}
	if len(path) > envelope.MaxPath {
		return sid, "", fmt.Errorf("%w: path and query over %d bytes", exchange.ErrBadRequest, envelope.MaxPath)
	}
	return sid, path, nil
}

// lgspCall serves the LGSP form /{version}/{domain}/{resource}/... for the
// services node.json maps.
func (a *API) lgspCall(w http.ResponseWriter, r *http.Request) {
	svc, rest, ok := a.cfg.LGSP.Lookup(r.URL.RequestURI())
	if !ok {
		a.refuse(w, r, validRequestID(r.Header), "", fmt.Errorf("%w: no such path %s (use /r1/… or an LGSP route)", exchange.ErrUnknownService, r.URL.Path))
		return
	}
	c, reqID, ok := a.admit(w, r)
	if !ok {
		return
	}
	c.Service, c.Path = svc, rest
	a.forward(w, r, c, reqID, "")
}

// soap serves SOAP 1.1/1.2 with the X-Road header naming client, service
// and request ID; the envelope passes through to the provider untouched.
func (a *API) soap(w http.ResponseWriter, r *http.Request) {
	ctype := r.Header.Get("Content-Type")
	if !services.IsSOAP(ctype) {
		a.refuse(w, r, "", "", fmt.Errorf("%w: POST / takes a SOAP envelope (text/xml or application/soap+xml)", exchange.ErrBadRequest))
		return
	}
	c, reqID, ok := a.admit(w, r)
	if !ok {
		return
	}
	head, err := io.ReadAll(io.LimitReader(c.Body.Open(), services.MaxSOAPHeader+1))
	if err == nil {
		var hdr services.SOAPHeader
		hdr, err = services.ParseSOAP(ctype, head)
		if err == nil {
			a.soapCall(w, r, c, reqID, hdr)
			return
		}
	}
	a.refuse(w, r, reqID, services.SOAPVersion(ctype), err)
}

// soapCall forwards a SOAP call with its parsed X-Road header.
func (a *API) soapCall(w http.ResponseWriter, r *http.Request, c *Call, reqID string, hdr services.SOAPHeader) {
	var err error
	if hdr.Client != c.Client.String() {
		a.refuse(w, r, reqID, hdr.Version, fmt.Errorf("%w: SOAP header client %s, authenticated as %s", exchange.ErrClientMismatch, hdr.Client, c.Client))
		return
	}
	if c.Service, err = services.ParseServiceID(hdr.Service); err != nil {
		a.refuse(w, r, reqID, hdr.Version, fmt.Errorf("%w: %v", exchange.ErrBadRequest, err))
		return
	}
	if c.UserID == "" {
		c.UserID = hdr.UserID
	}
	c.Path = "/"
	a.forward(w, r, c, reqID, hdr.Version)
}

// soapFail answers a SOAP request with a fault. A refusal of what the
// client sent (4xx) keeps its status and is a Client (1.1) or Sender (1.2)
// fault, as SOAP 1.2's HTTP binding maps env:Sender to 4xx; any other is
// a Server / Receiver fault with 500, SOAP 1.1's status for faults.
// provider is as for failFrom.
func (a *API) soapFail(w http.ResponseWriter, version, reqID, provider string, err error) {
	code, status := reported(err)
	client := status >= 400 && status < 500
	if !client {
		status = http.StatusInternalServerError
	}
	a.errorHeaders(w, reqID, code, status, err)
	ctype, body := services.SOAPFault(version, client, code, publicMessage(err, status, provider))
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// admit prepares the call of r, or answers and records its refusal.
func (a *API) admit(w http.ResponseWriter, r *http.Request) (*Call, string, bool) {
	c, reqID, err := a.prepare(r, "")
	if err != nil {
		a.refuse(w, r, reqID, "", err)
		return nil, reqID, false
	}
	return c, reqID, true
}
