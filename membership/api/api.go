package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/urlpath"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
)

// API size caps (bytes of request body).
const (
	MaxRegistrationBody = 256 << 10 // POST /v1/registrations: the form and two PEM CSRs
	MaxAdminBody        = 64 << 10  // operator requests
)

// Config configures the HTTP API of one registry server.
type Config struct {
	// CA is this server's copy of the network CA; approvals issue with it.
	// Without it approval answers 503.
	CA Issuer
	// Publisher serves GET /v1/global-config; without it that answers 503.
	Publisher ConfigPublisher
	// Logger defaults to the server's.
	Logger *slog.Logger
	// Daemon serves the join workflow (POST /v1/join, join tokens, add-voter,
	// server removal); without it those endpoints are not served.
	Daemon Daemon
	// Intake limits POST /v1/registrations per remote address.
	Intake IntakeConfig
	// Now is the intake's clock (default time.Now).
	Now func() time.Time
	// Security, if set, hears each refused operator request: action
	// "operator.unauthenticated" or "operator.forbidden", the remote
	// address and what was refused (never a token).
	Security func(action, remote, detail string)
}

// API is a registry server's HTTP API (docs/registry-api.yaml):
//
//   - public, no credentials: POST /v1/registrations (intake limits per
//     remote address, IntakeConfig), GET
//     /v1/registrations/{id} (status only), GET
//     /v1/registrations/{id}/certificates (once approved), GET
//     /v1/global-config, GET /healthz;
//   - operators, "Authorization: Bearer <token>" (roles viewer < operator <
//     admin): everything under /v1/admin/;
//   - registry servers, mutual TLS with a certificate recorded in the state:
//     POST /internal/v1/apply and /internal/v1/voter (the receiving end of
//     HTTPForwarder), POST /internal/v1/add-voter (a joined server);
//   - with a Daemon, the join workflow: POST /v1/join and
//     /v1/admin/join-tokens, POST /v1/admin/registry-servers/{id}/remove.
//
// Errors are {"error":{"code","message"}} with the machine codes of
// membership/state.
// Serve it over TLS configured by ServerTLSConfig.
type API struct {
	srv    Store
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	intake *intake
}

// New returns the API of srv.
func New(srv Store, cfg Config) *API {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{srv: srv, cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), intake: newIntake(cfg.Intake, cfg.Now)}
	if a.log == nil {
		a.log = srv.Logger()
	}
	a.log = a.log.With("component", "registry_api")
	m := a.mux
	// Public.
	m.HandleFunc("POST /v1/registrations", a.submit)
	m.HandleFunc("GET /v1/registrations/{id}", a.registrationStatus)
	m.HandleFunc("POST "+client.SystemsPath, a.submitSystem)
	m.HandleFunc("GET /v1/registrations/{id}/certificates", a.registrationCertificates)
	m.HandleFunc("GET "+globalconf.GlobalConfigPath, a.globalConfig)
	m.HandleFunc("HEAD "+globalconf.GlobalConfigPath, a.globalConfig)
	m.HandleFunc("GET /healthz", a.healthz)
	// Registry servers.
	m.HandleFunc("POST "+InternalApplyPath, a.internalApply)
	m.HandleFunc("POST "+InternalVoterPath, a.internalVoter)
	// Operators.
	m.HandleFunc("GET /v1/admin/status", a.auth(state.RoleViewer, a.status))
	m.HandleFunc("GET /v1/admin/registrations", a.auth(state.RoleViewer, a.listRegistrations))
	m.HandleFunc("GET /v1/admin/registrations/{id}", a.auth(state.RoleViewer, a.showRegistration))
	m.HandleFunc("POST /v1/admin/registrations/{id}/approve", a.auth(state.RoleOperator, a.approve))
	m.HandleFunc("POST /v1/admin/registrations/{id}/reject", a.auth(state.RoleOperator, a.reject))
	m.HandleFunc("GET /v1/admin/history", a.auth(state.RoleViewer, a.history))
	m.HandleFunc("GET /v1/admin/history/export", a.auth(state.RoleViewer, a.exportHistory))
	m.HandleFunc("GET /v1/admin/members", a.auth(state.RoleViewer, a.listMembers))
	m.HandleFunc("GET /v1/admin/members/{id...}", a.auth(state.RoleViewer, a.showMember))
	m.HandleFunc("POST /v1/admin/members/suspend", a.auth(state.RoleOperator, a.suspend))
	m.HandleFunc("POST /v1/admin/members/reactivate", a.auth(state.RoleOperator, a.reactivate))
	m.HandleFunc("POST /v1/admin/members/revoke", a.auth(state.RoleOperator, a.revoke))
	m.HandleFunc("POST /v1/admin/connections/cancel", a.auth(state.RoleOperator, a.cancelConnection))
	m.HandleFunc("POST /v1/admin/nodes", a.auth(state.RoleOperator, a.addNode))
	m.HandleFunc("POST /v1/admin/services/publish", a.auth(state.RoleOperator, a.publishService))
	m.HandleFunc("POST /v1/admin/services/deprecate", a.auth(state.RoleOperator, a.deprecateService))
	m.HandleFunc("POST /v1/admin/services/retire", a.auth(state.RoleOperator, a.retireService))
	m.HandleFunc("POST /v1/admin/subsystems/documents", a.auth(state.RoleOperator, a.setDocuments))
	m.HandleFunc("PUT /v1/admin/groups/{code}", a.auth(state.RoleOperator, a.setGroup))
	m.HandleFunc("DELETE /v1/admin/groups/{code}", a.auth(state.RoleOperator, a.deleteGroup))
	m.HandleFunc("GET /v1/admin/policy", a.auth(state.RoleViewer, a.getPolicy))
	m.HandleFunc("PUT /v1/admin/policy", a.auth(state.RoleAdmin, a.setPolicy))
	m.HandleFunc("GET /v1/admin/operators", a.auth(state.RoleAdmin, a.listOperators))
	m.HandleFunc("POST /v1/admin/operators", a.auth(state.RoleAdmin, a.addOperator))
	m.HandleFunc("DELETE /v1/admin/operators/{name}", a.auth(state.RoleAdmin, a.removeOperator))
	m.HandleFunc("PUT /v1/admin/registry-servers/{id}", a.auth(state.RoleAdmin, a.setRegistryServer))
	m.HandleFunc("DELETE /v1/admin/registry-servers/{id}", a.auth(state.RoleAdmin, a.deleteRegistryServer))
	if cfg.Daemon != nil {
		a.joinRoutes(m)
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, &httpError{http.StatusNotFound, "not_found", "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// ServeMux would redirect such a path to its cleaned form.
	if err := urlpath.Check(r.URL.EscapedPath()); err != nil {
		writeErr(w, &httpError{http.StatusBadRequest, "bad_path", err.Error()})
		return
	}
	a.mux.ServeHTTP(w, r)
}

// ---- errors ----

// httpError is an error of the HTTP layer itself (malformed body …).
type httpError struct {
	status  int
	code    string
	message string
}

func (e *httpError) Error() string { return e.message }

// HTTPStatus returns the HTTP status for err: an HTTP-layer error's own,
// else its sentinel's from state.Codes.
func HTTPStatus(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	return state.Codes.Status(err)
}

func writeErr(w http.ResponseWriter, err error) {
	var body client.ErrorBody
	status := HTTPStatus(err)
	var he *httpError
	if errors.As(err, &he) {
		body.Error.Code = he.code
	} else {
		body.Error.Code = state.Codes.Code(err)
	}
	body.Error.Message = err.Error()
	if status == http.StatusInternalServerError {
		body.Error.Message = "internal error"
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="dxl-registry"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decode reads exactly one JSON value into v: unknown fields, trailing data
// and bodies over limit are refused.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("trailing data after the JSON value")
		}
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &httpError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", limit)}
	}
	return &httpError{http.StatusBadRequest, "malformed", "malformed JSON body: " + err.Error()}
}

// ---- authentication ----

// asOperatorKey marks a request AsOperator already authenticated.
type asOperatorKey struct{}

// AsOperator returns a handler of the admin endpoints for requests an
// in-process caller has already authenticated as op (the registry
// console's accounts): the request needs no token, and everything else is
// as for a token holder: the same handlers, the same role check, op.Name
// recorded as the actor of every write. Only paths under /v1/admin/ are
// served; anything else answers 404.
func (a *API) AsOperator(op state.Operator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/admin/") {
			writeErr(w, &httpError{http.StatusNotFound, "not_found", "no such endpoint: " + r.Method + " " + r.URL.Path})
			return
		}
		a.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), asOperatorKey{}, op)))
	})
}

// authenticate returns the operator whose token r carries, or the one
// AsOperator set.
func (a *API) authenticate(r *http.Request) (state.Operator, error) {
	if op, ok := r.Context().Value(asOperatorKey{}).(state.Operator); ok {
		return op, nil
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || len(tok) > 256 {
		return state.Operator{}, fmt.Errorf("%w: send Authorization: Bearer <operator token>", state.ErrUnauthenticated)
	}
	want := []byte(state.TokenHash(strings.TrimSpace(tok)))
	var found state.Operator
	match := 0
	a.srv.Read(func(st *state.State) {
		for _, op := range st.Operators { // compare with every one, in constant time
			if subtle.ConstantTimeCompare(want, []byte(op.TokenSHA256)) == 1 {
				found, match = op, 1
			}
		}
	})
	if match == 0 {
		return state.Operator{}, fmt.Errorf("%w: unknown operator token", state.ErrUnauthenticated)
	}
	return found, nil
}

type opHandler func(w http.ResponseWriter, r *http.Request, op state.Operator)

func (a *API) auth(need state.Role, h opHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		op, err := a.authenticate(r)
		if err == nil && !op.Role.Allows(need) {
			err = fmt.Errorf("%w: operator %s has role %s, this needs %s", state.ErrForbidden, op.Name, op.Role, need)
		}
		if err != nil {
			if a.cfg.Security != nil {
				a.cfg.Security("operator."+state.Codes.Code(err), remoteHost(r.RemoteAddr), r.Method+" "+r.URL.Path+": "+err.Error())
			}
			writeErr(w, err)
			return
		}
		h(w, r, op)
	}
}

// apply commits cmd through Server.Apply (forwarded by a follower) and
// waits briefly until this server has applied it too, so a read from the
// same server right after sees the write.
func (a *API) apply(w http.ResponseWriter, r *http.Request, cmd state.Command) (state.Result, bool) {
	res, err := a.srv.Apply(r.Context(), cmd)
	if err != nil {
		writeErr(w, err)
		return state.Result{}, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	_ = a.srv.WaitApplied(ctx, res.Index)
	return res, true
}

// ---- public ----

// submit records a registration request: within the intake limits of its
// remote address, checked before the body is read, then through Apply
// (whose Prepare verifies both CSRs' signatures before anything is
// written).
func (a *API) submit(w http.ResponseWriter, r *http.Request) {
	done, ok := a.admit(w, r)
	if !ok {
		return
	}
	id := ""
	defer func() { done(id) }()
	var body client.SubmitRequest
	if err := decode(w, r, MaxRegistrationBody, &body); err != nil {
		writeErr(w, err)
		return
	}
	cmd := &state.SubmitRegistration{Header: state.Header{Actor: "applicant"}, Member: body.Member, Registration: body.Registration,
		NodeCSR: []byte(body.NodeCSR), SignCSR: []byte(body.SignCSR), NodeAddrs: body.NodeAddrs}
	res, ok := a.apply(w, r, cmd)
	if !ok {
		return
	}
	id = cmd.RequestID
	writePending(w, cmd.RequestID, cmd.Member, cmd.Time, res.Index)
}

// admit checks r against the intake limits of its remote address (before
// the body is read); refused, it answers and ok is false. done releases
// the slot with the request ID written ("" for none).
func (a *API) admit(w http.ResponseWriter, r *http.Request) (done func(id string), ok bool) {
	addr := remoteHost(r.RemoteAddr)
	done, retry, err := a.intake.admit(addr, a.stillPending)
	if err != nil {
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		a.log.Warn("request refused at intake", "path", r.URL.Path, "error_code", state.Codes.Code(err), "remote", addr)
		writeErr(w, err)
		return nil, false
	}
	return done, true
}

// writePending answers 202 with a new request's public status.
func writePending(w http.ResponseWriter, id, member string, at time.Time, index uint64) {
	w.Header().Set("Location", "/v1/registrations/"+id)
	writeJSON(w, http.StatusAccepted, client.RegistrationStatus{RequestID: id, Member: member,
		Status: state.RequestPending, SubmittedAt: at, Index: index})
}

// stillPending returns those of ids whose request is pending, or not yet
// applied on this server.
func (a *API) stillPending(ids []string) []string {
	out := ids[:0]
	a.srv.Read(func(st *state.State) {
		for _, id := range ids {
			if req, ok := st.Requests[id]; !ok || req.Status == state.RequestPending {
				out = append(out, id)
			}
		}
	})
	return out
}

func (a *API) registrationStatus(w http.ResponseWriter, r *http.Request) {
	req, err := a.srv.Request(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, client.RegistrationStatus{RequestID: req.ID, Member: req.Member.String(), Status: req.Status,
		Reason: req.Reason, SubmittedAt: req.SubmittedAt, DecidedAt: req.DecidedAt})
}

func (a *API) registrationCertificates(w http.ResponseWriter, r *http.Request) {
	out, err := certificatesOf(a.srv, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// certificatesOf reads, in one view of the state, the
// certificates an approval of request id recorded: the node's (Nodes) and
// the member's signing certificate (Members), each followed by the
// intermediates of the state's CA chain like the CA's ca.Issued.PEM that
// ApproveResponse carries, and the chain itself. ErrUnknownRequest for an
// unknown ID, ErrNotApproved while pending, or when rejected or cancelled.
func certificatesOf(s Store, id string) (client.RegistrationCertificates, error) {
	var (
		out              client.RegistrationCertificates
		nodeDER, signDER []byte
		chain            [][]byte
		err              error
	)
	s.Read(func(st *state.State) {
		req, ok := st.Requests[id]
		if !ok {
			err = fmt.Errorf("%w: %s", state.ErrUnknownRequest, id)
			return
		}
		mid := req.Member.String()
		if req.Status != state.RequestApproved {
			err = fmt.Errorf("%w: request %s is %s", state.ErrNotApproved, id, req.Status)
			return
		}
		if req.Kind == state.KindSystem {
			err = fmt.Errorf("%w: request %s adds a system to member %s: no certificate is issued for it", state.ErrIllegalTransition, id, mid)
			return
		}
		node, okNode := st.Nodes[req.PeerID]
		m, okMember := st.Members[mid]
		if !okNode || !okMember || m.SignCert == nil || node.Member != mid {
			err = fmt.Errorf("membership: approved request %s: the state lacks its node or member certificate", id)
			return
		}
		out = client.RegistrationCertificates{RequestID: id, Member: mid, PeerID: req.PeerID}
		nodeDER, signDER = bytes.Clone(node.Cert.DER), bytes.Clone(m.SignCert.DER)
		for _, der := range st.CAChain {
			chain = append(chain, bytes.Clone(der))
		}
	})
	if err != nil {
		return client.RegistrationCertificates{}, err
	}
	var inter [][]byte // the CA chain without its root
	if len(chain) > 1 {
		inter = chain[:len(chain)-1]
	}
	if out.NodeCert, err = pemChain(append([][]byte{nodeDER}, inter...)...); err != nil {
		return client.RegistrationCertificates{}, err
	}
	if out.SignCert, err = pemChain(append([][]byte{signDER}, inter...)...); err != nil {
		return client.RegistrationCertificates{}, err
	}
	if out.CAChain, err = pemChain(chain...); err != nil {
		return client.RegistrationCertificates{}, err
	}
	return out, nil
}

// pemChain encodes DER certificates with ca.PEMChain, the encoding of the
// CA's own ca.Issued.PEM.
func pemChain(ders ...[]byte) (string, error) {
	certs := make([]*x509.Certificate, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return "", fmt.Errorf("membership: a recorded certificate does not parse: %w", err)
		}
		certs[i] = c
	}
	return string(ca.PEMChain(certs...)), nil
}

func (a *API) globalConfig(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Publisher == nil {
		writeErr(w, &httpError{http.StatusServiceUnavailable, "unavailable", "this server does not publish the configuration"})
		return
	}
	a.cfg.Publisher.Handler().ServeHTTP(w, r)
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	st := a.srv.Status()
	out := map[string]any{"status": "ok", "server_id": st.ID, "state": st.State, "leader_id": st.LeaderID,
		"config_version": st.ConfigVersion}
	if a.cfg.Publisher != nil {
		out["published_version"] = a.cfg.Publisher.Version()
	}
	code := http.StatusOK
	if a.srv.Closed() || st.State == "shutdown" {
		out["status"], code = "shutdown", http.StatusServiceUnavailable
	}
	writeJSON(w, code, out)
}

// ---- registry servers ----

// registryPeer checks that r comes with the verified client certificate
// the state records for a registry server.
func (a *API) registryPeer(r *http.Request) error {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
		return fmt.Errorf("%w: a registry server certificate (mutual TLS) is required", state.ErrUnauthenticated)
	}
	fp := ca.Fingerprint(r.TLS.PeerCertificates[0])
	known := false
	a.srv.Read(func(st *state.State) {
		for _, rs := range st.RegistryServers {
			known = known || subtle.ConstantTimeCompare([]byte(rs.CertSHA256), []byte(fp)) == 1
		}
	})
	if !known {
		return fmt.Errorf("%w: certificate %s is not a registry server's", state.ErrForbidden, fp)
	}
	return nil
}

func (a *API) internalApply(w http.ResponseWriter, r *http.Request) {
	if err := a.registryPeer(r); err != nil {
		writeErr(w, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, int64(a.srv.MaxCommandSize())+1)
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeErr(w, fmt.Errorf("%w: over %d bytes", state.ErrTooLarge, a.srv.MaxCommandSize()))
			return
		}
		writeErr(w, &httpError{http.StatusBadRequest, "malformed", err.Error()})
		return
	}
	cmd, err := state.DecodeCommand(data)
	if err != nil {
		writeErr(w, err)
		return
	}
	res, err := a.srv.ApplyLocal(r.Context(), cmd)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// internalVoter makes a voter change a follower forwarded.
func (a *API) internalVoter(w http.ResponseWriter, r *http.Request) {
	if err := a.registryPeer(r); err != nil {
		writeErr(w, err)
		return
	}
	var ch state.VoterChange
	if err := decode(w, r, MaxAdminBody, &ch); err != nil {
		writeErr(w, err)
		return
	}
	if err := a.srv.ChangeVotersLocal(r.Context(), ch); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
