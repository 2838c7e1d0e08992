package consumer

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/alert"
	"github.com/dxl-network/dxl/node/auth"
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
	// GovStack Information Mediator names for X-Road-Client: the Directory
	// Services API's and its test features'.
	HeaderGovStackClient = "X-GovStack-Client"
	HeaderIMClient       = "Information-Mediator-Client"
	HeaderUserID         = "X-DXL-User-ID"
	HeaderXRoadUserID    = "X-Road-UserId"
	HeaderRequestID      = "X-Request-ID"
	HeaderError          = "X-DXL-Error"
	HeaderProvider       = "X-DXL-Provider-Node"
)

// Views is what the API needs of the node's configuration.
type Views interface {
	// Latest is the newest view, nil before any configuration.
	Latest() *confview.View
	// Usable returns v if the data path may use it (confview.ErrNoConfig
	// otherwise: none, or too old).
	Usable(v *confview.View) (*confview.View, error)
}

// Dialer opens call streams to provider nodes (transport.Host).
type Dialer interface {
	NewStream(ctx context.Context, p peer.ID, proto protocol.ID, service string) (network.Stream, error)
	// Suspect reports a node whose last dial failed.
	Suspect(p peer.ID) bool
}

// Health is what the API reports on /health (level 1) and
// /health/services/{id} (level 2).
type Health interface {
	// System is the node's own report; down: it has no configuration.
	System() (report any, down bool)
	// Service checks a provided service's backends; ok: all answer.
	Service(ctx context.Context, id string) (report any, ok bool, err error)
}

// Config is what an API is built from.
type Config struct {
	Member  ident.Member      // the node's member: its information systems' one
	Self    string            // this node's peer ID, text form
	Clients map[string]string // pinned TLS client cert SHA-256 -> subsystem
	MaxBody int64
	// SpoolDir holds request bodies past their first MiB while they are
	// signed and sent (internal/spool; "" is the system's temporary
	// directory).
	SpoolDir    string
	CallTimeout time.Duration
	LGSP        *services.LGSPMap
	// IPRules refuse addresses before any authentication work (ipcheck.go;
	// nil: any address).
	IPRules *services.IPFilter
	// Alerts counts refusals for abnormal-access alerts (nil: none).
	Alerts *alert.Detector

	Views  Views
	Dialer Dialer
	Signer *envelope.Signer
	Auth   *auth.Authority
	// Keys verifies signed requests (access keys, session keys); nil: none.
	Keys   *auth.AccessKeys
	Logs   *exchange.Logs
	Health Health
	Now    func() time.Time
	Logger *slog.Logger
}

// API is the consumer side of a node: the HTTPS API for the agency's
// information systems and the call client toward provider nodes.
type API struct {
	cfg Config
}

// New returns the API of cfg.
func New(cfg Config) *API { return &API{cfg: cfg} }

// Handler is the API's HTTP handler.
func (a *API) Handler() http.Handler {
	m := http.NewServeMux()
	m.Handle("POST /token", a.cfg.Auth.TokenHandler())
	m.HandleFunc("/token", a.onlyPost)
	if a.cfg.Keys != nil {
		m.Handle("POST "+auth.SessionPath, a.cfg.Keys.SessionHandler(
			func(sub string) error { _, err := a.registered(sub); return err },
			func(w http.ResponseWriter, r *http.Request, err error) {
				a.noteRefusal(exchange.ReportedCode(err), r, "")
				a.fail(w, "", err)
			}))
	}
	m.HandleFunc("GET /health", a.health)
	m.HandleFunc("GET /health/services/{id...}", a.authenticated(a.serviceHealth))
	m.HandleFunc("GET /listClients", a.authenticated(a.listClients))
	m.HandleFunc("GET /r1/listClients", a.authenticated(a.listClients)) // GovStack IM §8.2.1
	m.HandleFunc("/r1/{id...}", a.rest)
	m.HandleFunc("POST /{$}", a.soap)
	m.HandleFunc("POST /soap", a.soap)
	m.HandleFunc("/", a.lgspCall)
	// Without these, ServeMux redirects the subtree roots to "/r1/" and
	// "/health/services/".
	m.HandleFunc("/r1", a.rest)
	m.HandleFunc("GET /health/services", a.authenticated(a.serviceHealth))
	return a.CheckIP(a.canonicalPaths(m))
}

// onlyPost answers an endpoint that takes POST alone (the token endpoint)
// called with another method: 405 with Allow, in the exchange error shape.
func (a *API) onlyPost(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	a.fail(w, "", fmt.Errorf("%w: %s %s (use POST)", exchange.ErrMethod, r.Method, r.URL.Path))
}

// fail writes an exchange-layer error.
func (a *API) fail(w http.ResponseWriter, reqID string, err error) {
	a.failFrom(w, reqID, "", err)
}

// failFrom writes an exchange-layer error of a call to provider ("provider
// node <peer ID>", "provider <member>", or "" when none is known). The
// details of a 5xx go to the log, the information system reads a short
// message (publicMessage). The body is JSON, or X-Road's XML form when the
// information system's Accept prefers XML (errorForm).
func (a *API) failFrom(w http.ResponseWriter, reqID, provider string, err error) {
	code, status := reported(err)
	typ := a.errorHeaders(w, reqID, code, status, err)
	body := exchange.ErrorBody{Code: code, Type: typ, Message: publicMessage(err, status, provider),
		Detail: reqID, RequestID: reqID}
	if wantsXML(w) {
		w.Header().Set("Content-Type", exchange.ContentXML)
		w.WriteHeader(status)
		_ = body.EncodeXML(w)
		return
	}
	w.Header().Set("Content-Type", exchange.ContentJSON)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// errorHeaders logs a 5xx with its whole text and sets the headers every
// error answer has, JSON or SOAP: X-DXL-Error with the code and
// X-Road-Error with the X-Road type (exchange.XRoadType), which it
// returns.
func (a *API) errorHeaders(w http.ResponseWriter, reqID, code string, status int, err error) string {
	var re *exchange.RemoteError
	if errors.As(err, &re) && re.RetryAfter != "" {
		w.Header().Set("Retry-After", re.RetryAfter)
	}
	if status >= 500 {
		a.cfg.Logger.Warn("call failed", "request_id", reqID, "error_code", code, "error", err)
	}
	typ := exchange.XRoadType(err, code, status)
	h := w.Header()
	h.Set(HeaderError, code)
	h.Set(HeaderXRoadError, typ)
	if reqID != "" {
		h.Set(HeaderRequestID, reqID)
	}
	return typ
}

// authenticate identifies the calling information system: a pinned TLS
// client certificate, else a bearer token from the token endpoint. The
// subsystem must be registered and active, of an active member, in the
// signed configuration (when the node has one): unknown_client,
// member_suspended or member_revoked otherwise.
func (a *API) authenticate(r *http.Request) (services.SubsystemID, error) {
	var sub string
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		cert := r.TLS.PeerCertificates[0]
		sum := sha256.Sum256(cert.Raw)
		pinned, ok := a.cfg.Clients[hex.EncodeToString(sum[:])]
		switch {
		case ok:
			if err := certValidAt(cert, a.cfg.Now()); err != nil {
				return services.SubsystemID{}, err
			}
			sub = pinned
		case r.Header.Get("Authorization") == "":
			return services.SubsystemID{}, fmt.Errorf("%w: client certificate not registered with this node", exchange.ErrUnauthenticated)
		}
	}
	switch h := r.Header.Get("Authorization"); {
	case sub != "":
	case h == "":
		return services.SubsystemID{}, fmt.Errorf("%w: present a registered client certificate, an Authorization: Bearer token or a signed request", exchange.ErrUnauthenticated)
	case auth.IsSigned(h) && a.cfg.Keys != nil:
		// A signed request's refusal keeps its own code (auth_replayed…).
		p, err := a.cfg.Keys.VerifyRequest(r)
		if err != nil {
			return services.SubsystemID{}, err
		}
		sub = p.Subsystem
	default:
		tok, _ := strings.CutPrefix(h, "Bearer ")
		p, err := a.cfg.Auth.Verify(r.Context(), tok)
		if err != nil {
			return services.SubsystemID{}, fmt.Errorf("%w: %v", exchange.ErrUnauthenticated, err)
		}
		sub = p.Subsystem
	}
	return a.registered(sub)
}

// registered checks an authenticated subsystem against the signed
// configuration (when the node has one).
func (a *API) registered(sub string) (services.SubsystemID, error) {
	who, err := services.ParseSubsystemID(sub)
	if err != nil || a.cfg.Views == nil {
		return who, err
	}
	if v := a.cfg.Views.Latest(); v != nil {
		if err := exchange.CheckSubsystem(v, who.Member.String(), who.String(), exchange.ErrUnknownClient); err != nil {
			return services.SubsystemID{}, err
		}
	}
	return who, nil
}

// Authenticate identifies the information system of r as calls do
// (authenticate): for the node's other endpoints (document delivery).
func (a *API) Authenticate(r *http.Request) (services.SubsystemID, error) { return a.authenticate(r) }

// pinned reports whether r's TLS client certificate is pinned to a
// subsystem (then an Authorization header is not the node's: it travels
// to the backend).
func (a *API) pinned(r *http.Request) bool {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return false
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	_, ok := a.cfg.Clients[hex.EncodeToString(sum[:])]
	return ok
}

// certValidAt refuses a pinned client certificate outside its validity
// period: the pin says whose it is, the dates whether it may still be used.
func certValidAt(cert *x509.Certificate, now time.Time) error {
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("%w: client certificate valid only from %s to %s; issue a new one and update its pin in node.json",
			exchange.ErrUnauthenticated, cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// refuse answers a call the consumer API refused before it could go out
// (a SOAP fault when soapVersion is set), once its record is on disk.
func (a *API) refuse(w http.ResponseWriter, r *http.Request, reqID, soapVersion string, err error) {
	code, status := reported(err)
	a.noteRefusal(code, r, "")
	a.cfg.Logs.Commit(r.Context(), &exchange.Exchange{RequestID: reqID, Start: a.cfg.Now(), Role: oprec.RoleConsumer,
		CallerIP: hostOf(r.RemoteAddr), Status: status, Code: code, ConsumerPeer: a.cfg.Self})
	if soapVersion != "" {
		a.soapFail(w, soapVersion, reqID, "", err)
		return
	}
	a.fail(w, reqID, err)
}

// authenticated lets only registered information systems through.
func (a *API) authenticated(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.authenticate(r); err != nil {
			a.noteRefusal(exchange.ReportedCode(err), r, "")
			a.fail(w, "", err)
			return
		}
		h(w, r)
	}
}

// requestIDOf returns the information system's X-Request-ID, or a new one
// when it sent none. A header given twice, given empty or not a UUID
// version 4 is refused: the ID is what the provider executes at most once.
func requestIDOf(h http.Header) (envelope.RequestID, error) {
	vals := h.Values(HeaderRequestID)
	switch {
	case len(vals) == 0:
		return envelope.NewRequestID(), nil
	case len(vals) > 1:
		return envelope.RequestID{}, fmt.Errorf("%w: X-Request-ID given %d times", exchange.ErrBadRequestID, len(vals))
	case vals[0] == "":
		return envelope.RequestID{}, fmt.Errorf("%w: X-Request-ID is empty", exchange.ErrBadRequestID)
	}
	id, err := envelope.ParseRequestID(vals[0])
	if err != nil {
		return envelope.RequestID{}, fmt.Errorf("%w: %.64q", exchange.ErrBadRequestID, vals[0])
	}
	return id, nil
}

// validRequestID is the information system's X-Request-ID if it is one
// UUID version 4, "" otherwise (for the records of a refusal).
func validRequestID(h http.Header) string {
	if id, err := requestIDOf(h); err == nil && len(h.Values(HeaderRequestID)) == 1 {
		return id.String()
	}
	return ""
}

// prepare authenticates, settles the client and the request ID.
func (a *API) prepare(r *http.Request, clientHint string) (*Call, string, error) {
	id, err := requestIDOf(r.Header)
	if err != nil {
		return nil, "", err
	}
	c := &Call{RequestID: id}
	reqID := c.RequestID.String()
	who, err := a.authenticate(r)
	if err != nil {
		return nil, reqID, err
	}
	c.Client = who
	if err := c.useXRoadID(r.Header); err != nil {
		return nil, reqID, err
	}
	reqID = c.RequestID.String()
	for _, claimed := range []string{clientHint, r.Header.Get(HeaderClient), lastValue(r.Header, HeaderXRoadClient),
		lastValue(r.Header, HeaderGovStackClient), lastValue(r.Header, HeaderIMClient)} {
		if claimed != "" && claimed != who.String() {
			return nil, reqID, fmt.Errorf("%w: claimed %q, authenticated as %s", exchange.ErrClientMismatch, claimed, who)
		}
	}
	if !who.Member.IsZero() && who.Member != a.cfg.Member {
		return nil, reqID, fmt.Errorf("%w: %s is not a subsystem of this node's member", exchange.ErrClientMismatch, who)
	}
	c.UserID = firstNonEmpty(r.Header.Get(HeaderUserID), r.Header.Get(HeaderXRoadUserID))
	if len(c.UserID) > envelope.MaxUserID {
		return nil, reqID, fmt.Errorf("%w: user ID too long", exchange.ErrBadRequest)
	}
	c.Method = r.Method
	c.ContentType = r.Header.Get("Content-Type")
	if c.Headers, err = exchange.CarriedHeaders(r.Header, !a.pinned(r)); err != nil {
		return nil, reqID, err
	}
	if r.ContentLength > a.cfg.MaxBody {
		return nil, reqID, fmt.Errorf("%w: over %d bytes", exchange.ErrTooLarge, a.cfg.MaxBody)
	}
	// The request envelope commits to the body's hash, so the body is read
	// (hashed as it comes, spooled past its first MiB) before the call goes
	// out; it is dropped when the request ends.
	body, err := spool.Fill(spool.Config{Dir: a.cfg.SpoolDir, Limit: a.cfg.MaxBody}, r.Body)
	if errors.Is(err, spool.ErrTooLarge) {
		return nil, reqID, fmt.Errorf("%w: over %d bytes", exchange.ErrTooLarge, a.cfg.MaxBody)
	}
	if errors.Is(err, spool.ErrStorage) {
		return nil, reqID, fmt.Errorf("%w: %v", exchange.ErrSpool, err)
	}
	if errors.Is(err, auth.ErrBodyMismatch) {
		return nil, reqID, err
	}
	if err != nil {
		return nil, reqID, fmt.Errorf("%w: reading the body: %v", exchange.ErrBadRequest, err)
	}
	context.AfterFunc(r.Context(), func() { _ = body.Close() })
	c.Body = body
	return c, reqID, nil
}
