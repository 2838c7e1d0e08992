package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
)

// maxResponseBody caps what the client reads of one answer.
const maxResponseBody = 16 << 20

// APIError is an error answer of the registry HTTP API,
// {"error":{"code","message"}}. errors.Is(err, sentinel) holds for the
// package sentinel with the same machine code (ErrorForCode), and for
// globalconf.ErrUnavailable when the server has no configuration to serve.
type APIError struct {
	Status  int    // HTTP status
	Code    string // machine code, e.g. "unknown_member"
	Message string
	URL     string // the server that answered
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s (%s, HTTP %d from %s)", msg, e.Code, e.Status, e.URL)
}

// Unwrap returns the sentinel for the error's code, or nil.
func (e *APIError) Unwrap() error {
	if err := state.ErrorForCode(e.Code); err != nil {
		return err
	}
	if e.Code == "unavailable" {
		return globalconf.ErrUnavailable
	}
	return nil
}

// Options configures a Client; see the With… client options.
type Options struct {
	// Roots are trusted for the servers' TLS certificates (the network CA
	// root). Without it the system pool is used with the usual host-name
	// check.
	Roots *x509.CertPool
	// Token is an operator token, sent as "Authorization: Bearer" on every
	// request; the public endpoints ignore it.
	Token string
	// AttemptTimeout bounds one request to one server (default 30s).
	AttemptTimeout time.Duration
	// HTTPClient replaces the client built from Roots (tests).
	HTTPClient *http.Client
	// Logger receives debug logs of failovers (never the token).
	Logger *slog.Logger
}

// Option sets a client option.
type Option func(*Options)

// WithRoots trusts roots for the registry servers' TLS certificates.
func WithRoots(roots *x509.CertPool) Option {
	return func(o *Options) { o.Roots = roots }
}

// WithOperatorToken authenticates admin requests with an operator token.
func WithOperatorToken(token string) Option {
	return func(o *Options) { o.Token = strings.TrimSpace(token) }
}

// WithAttemptTimeout bounds each request to one server.
func WithAttemptTimeout(d time.Duration) Option {
	return func(o *Options) { o.AttemptTimeout = d }
}

// WithHTTPClient replaces the HTTP client.
func WithHTTPClient(c *http.Client) Option {
	return func(o *Options) { o.HTTPClient = c }
}

// WithLogger sets the client's logger.
func WithLogger(l *slog.Logger) Option {
	return func(o *Options) { o.Logger = l }
}

// Client calls the registry HTTP API (docs/registry-api.yaml) of any of a
// set of registry servers. Writes sent to a follower are forwarded by it to
// the leader, so any reachable server will do: a request goes to the server
// that answered last, and on to the next one when that one is unreachable
// or answers 503 with a code meaning the write was never accepted
// (not_leader, timeout, shutdown). Error answers come back as *APIError,
// which unwraps to the package's sentinel errors. Safe for concurrent use.
type Client struct {
	urls []string
	opts Options
	http *http.Client
	log  *slog.Logger
	next atomic.Int64 // index of the server to try first
}

// New returns a client of the registry servers at baseURLs
// (https://host:port, no path).
func New(baseURLs []string, opts ...Option) (*Client, error) {
	c := &Client{}
	for _, o := range opts {
		o(&c.opts)
	}
	for _, u := range baseURLs {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("%w: registry URL %q: want https://host:port", state.ErrBadConfig, u)
		}
		c.urls = append(c.urls, u)
	}
	if len(c.urls) == 0 {
		return nil, fmt.Errorf("%w: no registry URL", state.ErrBadConfig)
	}
	if c.opts.AttemptTimeout <= 0 {
		c.opts.AttemptTimeout = 30 * time.Second
	}
	c.log = c.opts.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "registry_client")
	c.http = c.opts.HTTPClient
	if c.http == nil {
		c.http = newAPIHTTPClient(c.opts.Roots)
	}
	return c, nil
}

// newAPIHTTPClient trusts roots without checking host names, like
// ClientTLSConfig (servers are identified by chaining to the network CA
// with serverAuth), and presents no certificate.
func newAPIHTTPClient(roots *x509.CertPool) *http.Client {
	var tlsConf *tls.Config
	if roots != nil {
		tlsConf = ClientTLSConfig(tls.Certificate{}, roots)
		tlsConf.Certificates = nil
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     tlsConf,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Current returns the URL of the server the client tries first: the one
// that answered last.
func (c *Client) Current() string { return c.urls[int(c.next.Load())%len(c.urls)] }

// URLs returns the servers the client knows.
func (c *Client) URLs() []string { return append([]string(nil), c.urls...) }

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// retryable reports whether the next server may be tried after err from
// one request: the request never reached a server, or a server said the
// write was never accepted. A GET may be retried after any transport error.
func retryable(method string, err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Status != http.StatusServiceUnavailable {
			return false
		}
		switch ae.Code {
		case "indeterminate":
			return false
		}
		return true
	}
	if method == http.MethodGet || method == http.MethodHead {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var tlsErr *tls.CertificateVerificationError
	return errors.As(err, &tlsErr)
}

// do sends method path with body (JSON-encoded unless nil or []byte) and
// decodes a 2xx answer into out (unless nil); raw answers are returned.
func (c *Client) do(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	var payload []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		payload = b
	default:
		var err error
		if payload, err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("membership: encoding request: %w", err)
		}
	}
	start := int(c.next.Load())
	var errs []error
	for k := range c.urls {
		i := (start + k) % len(c.urls)
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		raw, err := c.once(ctx, c.urls[i], method, path, payload, body != nil)
		if err == nil {
			c.next.Store(int64(i))
			if out != nil {
				if err := json.Unmarshal(raw, out); err != nil {
					return nil, fmt.Errorf("membership: answer of %s %s from %s: %w", method, path, c.urls[i], err)
				}
			}
			return raw, nil
		}
		if !retryable(method, err) || ctx.Err() != nil {
			return nil, err
		}
		c.log.Debug("registry server unusable, trying the next", "server", c.urls[i], "error", err)
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("membership: no registry server answered (%d tried): %w", len(errs), errors.Join(errs...))
}

func (c *Client) once(ctx context.Context, base, method, path string, payload []byte, hasBody bool) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.AttemptTimeout)
	defer cancel()
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("membership: %s %s: %w", method, path, err)
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err // a *url.Error, naming the URL
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading answer: %w", base, err)
	}
	if len(raw) > maxResponseBody {
		return nil, fmt.Errorf("%s: answer over %d bytes", base, maxResponseBody)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return raw, nil
	}
	return nil, newAPIError(base, res.StatusCode, raw)
}

// newAPIError makes the *APIError of an error answer with body raw.
func newAPIError(base string, status int, raw []byte) *APIError {
	ae := &APIError{Status: status, URL: base}
	var body ErrorBody
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		ae.Code, ae.Message = body.Error.Code, body.Error.Message
	} else {
		ae.Code, ae.Message = "http_"+strconv.Itoa(status), strings.TrimSpace(string(raw))
		if len(ae.Message) > 200 {
			ae.Message = ae.Message[:200]
		}
	}
	return ae
}

// openStream sends GET path to base and returns the 2xx answer with its
// body unread, for answers too long for do. AttemptTimeout bounds the wait
// for the answer's header only; ctx bounds reading the body, which the
// caller closes.
func (c *Client) openStream(ctx context.Context, base, path string) (*http.Response, error) {
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(c.opts.AttemptTimeout, cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("membership: GET %s: %w", path, err)
	}
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	res, err := c.http.Do(req)
	if !timer.Stop() { // the timer fired: no header in time
		if err == nil {
			res.Body.Close()
		}
		cancel()
		return nil, fmt.Errorf("%s: no answer within %v: %w", base, c.opts.AttemptTimeout, context.DeadlineExceeded)
	}
	if err != nil {
		cancel()
		return nil, err // a *url.Error, naming the URL
	}
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		cancel()
		return nil, newAPIError(base, res.StatusCode, raw)
	}
	res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
	return res, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error { err := b.ReadCloser.Close(); b.cancel(); return err }

// escapeID escapes each /-separated part of an identifier for a path.
func escapeID(id string) string {
	parts := strings.Split(id, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// ---- public ----

// Submit sends a registration (POST /v1/registrations, no credentials).
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (RegistrationStatus, error) {
	var out RegistrationStatus
	_, err := c.do(ctx, http.MethodPost, "/v1/registrations", req, &out)
	return out, err
}

// RegistrationStatus returns the public status of a registration request.
func (c *Client) RegistrationStatus(ctx context.Context, id string) (RegistrationStatus, error) {
	var out RegistrationStatus
	_, err := c.do(ctx, http.MethodGet, "/v1/registrations/"+url.PathEscape(id), nil, &out)
	return out, err
}

// RegistrationCertificates returns the certificates issued on approving a
// registration request (no credentials): the node's and the member's
// signing certificate, each with the intermediate, and the CA chain.
// ErrNotApproved while the request is pending or when it was rejected.
func (c *Client) RegistrationCertificates(ctx context.Context, id string) (RegistrationCertificates, error) {
	var out RegistrationCertificates
	_, err := c.do(ctx, http.MethodGet, "/v1/registrations/"+url.PathEscape(id)+"/certificates", nil, &out)
	return out, err
}

// GlobalConfig returns the signed global configuration as served, not
// verified (globalconf.Verify or a globalconf.Client does that).
func (c *Client) GlobalConfig(ctx context.Context) ([]byte, error) {
	return c.do(ctx, http.MethodGet, globalconf.GlobalConfigPath, nil, nil)
}

// ---- operators ----

// Status returns the answering server's view of the cluster.
func (c *Client) Status(ctx context.Context) (StatusResponse, error) {
	var out StatusResponse
	_, err := c.do(ctx, http.MethodGet, "/v1/admin/status", nil, &out)
	return out, err
}

// Registrations lists registration requests, all or those with status.
func (c *Client) Registrations(ctx context.Context, status state.RequestStatus) ([]RequestSummary, error) {
	var out struct {
		Registrations []RequestSummary `json:"registrations"`
	}
	path := "/v1/admin/registrations"
	if status != "" {
		path += "?status=" + url.QueryEscape(string(status))
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Registrations, err
}

// Registration returns a registration request in full.
func (c *Client) Registration(ctx context.Context, id string) (state.Request, error) {
	var out state.Request
	_, err := c.do(ctx, http.MethodGet, "/v1/admin/registrations/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Approve approves a pending request: the answering server's CA issues the
// node and signing certificates.
func (c *Client) Approve(ctx context.Context, id string) (ApproveResponse, error) {
	var out ApproveResponse
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/registrations/"+url.PathEscape(id)+"/approve", struct{}{}, &out)
	return out, err
}

// Reject rejects a pending request; reason is required.
func (c *Client) Reject(ctx context.Context, id, reason string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/registrations/"+url.PathEscape(id)+"/reject", ReasonBody{Reason: reason}, &out)
	return out, err
}

// Members lists members (without their signing certificates), all or those
// with status.
func (c *Client) Members(ctx context.Context, status state.MemberStatus) ([]state.Member, error) {
	var out struct {
		Members []state.Member `json:"members"`
	}
	path := "/v1/admin/members"
	if status != "" {
		path += "?status=" + url.QueryEscape(string(status))
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Members, err
}

// Member returns a member with its subsystems and nodes.
func (c *Client) Member(ctx context.Context, id string) (MemberDetail, error) {
	var out MemberDetail
	_, err := c.do(ctx, http.MethodGet, "/v1/admin/members/"+escapeID(id), nil, &out)
	return out, err
}

type memberAction struct {
	Member string `json:"member"`
	Reason string `json:"reason,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Suspend suspends an active member; reason is required.
func (c *Client) Suspend(ctx context.Context, member, reason string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/members/suspend", memberAction{Member: member, Reason: reason}, &out)
	return out, err
}

// Reactivate reactivates a suspended member.
func (c *Client) Reactivate(ctx context.Context, member, reason string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/members/reactivate", memberAction{Member: member, Reason: reason}, &out)
	return out, err
}

// Revoke revokes a member for good: its certificates' serials enter the
// configuration. reason is an RFC 5280 reason name; note is free text.
func (c *Client) Revoke(ctx context.Context, member, reason, note string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/members/revoke", memberAction{Member: member, Reason: reason, Note: note}, &out)
	return out, err
}

// CancelConnectionRequest names what to disconnect: a member's node
// (PeerID) or subsystem (Subsystem).
type CancelConnectionRequest struct {
	Member    string `json:"member"`
	PeerID    string `json:"peer_id,omitempty"`
	Subsystem string `json:"subsystem,omitempty"`
	Reason    string `json:"reason"`
}

// CancelConnection cancels a node's or subsystem's connection.
func (c *Client) CancelConnection(ctx context.Context, req CancelConnectionRequest) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/connections/cancel", req, &out)
	return out, err
}

// PublishService publishes a subsystem's service in the catalogue, or
// updates the description hash of a published one.
func (c *Client) PublishService(ctx context.Context, req PublishServiceRequest) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/services/publish", req, &out)
	return out, err
}

type serviceAction struct {
	Service string     `json:"service"`
	Sunset  *time.Time `json:"sunset,omitempty"`
}

// DeprecateService marks a published service (SUBSYSTEM-ID/CODE[/VERSION])
// deprecated until sunset.
func (c *Client) DeprecateService(ctx context.Context, service string, sunset time.Time) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/services/deprecate", serviceAction{Service: service, Sunset: &sunset}, &out)
	return out, err
}

// RetireService retires a published or deprecated service for good.
func (c *Client) RetireService(ctx context.Context, service string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/services/retire", serviceAction{Service: service}, &out)
	return out, err
}

// SetGroup creates or replaces global group code with the subsystems
// (INSTANCE/CLASS/CODE/SUBSYSTEM) in members.
func (c *Client) SetGroup(ctx context.Context, code, description string, members []string) (state.Result, error) {
	var out state.Result
	if members == nil {
		members = []string{}
	}
	body := struct {
		Description string   `json:"description"`
		Members     []string `json:"members"`
	}{description, members}
	_, err := c.do(ctx, http.MethodPut, "/v1/admin/groups/"+url.PathEscape(code), body, &out)
	return out, err
}

// DeleteGroup deletes global group code.
func (c *Client) DeleteGroup(ctx context.Context, code string) (state.Result, error) {
	var out state.Result
	_, err := c.do(ctx, http.MethodDelete, "/v1/admin/groups/"+url.PathEscape(code), nil, &out)
	return out, err
}

// History returns up to limit (0: the server's default, 100) most recent
// history entries, oldest first, all or those about target.
func (c *Client) History(ctx context.Context, target string, limit int) ([]state.HistoryEntry, error) {
	q := url.Values{}
	if target != "" {
		q.Set("target", target)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/admin/history"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		History []state.HistoryEntry `json:"history"`
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.History, err
}

// ExportHistory writes the registry's whole history to w as JSON lines,
// oldest first (GET /v1/admin/history/export), streaming it; check it with
// VerifyHistoryExport. Servers are tried in turn until one answers; once the
// answer has started, an error ends the call and w holds part of the export,
// so write to a temporary file and keep it only when ExportHistory returns
// nil.
func (c *Client) ExportHistory(ctx context.Context, w io.Writer) error {
	const path = "/v1/admin/history/export"
	start := int(c.next.Load())
	var errs []error
	for k := range c.urls {
		i := (start + k) % len(c.urls)
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		res, err := c.openStream(ctx, c.urls[i], path)
		if err != nil {
			if !retryable(http.MethodGet, err) || ctx.Err() != nil {
				return err
			}
			c.log.Debug("registry server unusable, trying the next", "server", c.urls[i], "error", err)
			errs = append(errs, err)
			continue
		}
		c.next.Store(int64(i))
		_, err = io.Copy(w, res.Body)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("membership: history export from %s: %w", c.urls[i], err)
		}
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("membership: no registry server answered (%d tried): %w", len(errs), errors.Join(errs...))
}

// CreateJoinToken mints a one-time join token for a new registry server
// (admin). Any server will do: a follower commits it through the leader.
func (c *Client) CreateJoinToken(ctx context.Context, ttl time.Duration) (MintJoinTokenResponse, error) {
	var out MintJoinTokenResponse
	return out, c.post(ctx, JoinTokensPath, map[string]string{"ttl": ttl.String()}, &out)
}

// RemoveServer takes registry server id out of the Raft configuration and
// forgets its record (admin; a follower forwards it to the leader).
func (c *Client) RemoveServer(ctx context.Context, id string) (RemoveServerResponse, error) {
	var out RemoveServerResponse
	return out, c.post(ctx, "/v1/admin/registry-servers/"+url.PathEscape(id)+"/remove", struct{}{}, &out)
}

// AddNode registers a further node of an active member from the node's
// certificate request (PEM) and returns its node-auth certificate.
func (c *Client) AddNode(ctx context.Context, member, nodeCSR string, addrs []string) (AddNodeResponse, error) {
	var out AddNodeResponse
	_, err := c.do(ctx, http.MethodPost, "/v1/admin/nodes", AddNodeRequest{Member: member, NodeCSR: nodeCSR, Addrs: addrs}, &out)
	return out, err
}

// post POSTs in to path and decodes the answer into out.
func (c *Client) post(ctx context.Context, path string, in, out any) error {
	_, err := c.do(ctx, http.MethodPost, path, in, out)
	return err
}
