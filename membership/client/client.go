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
// state sentinel with the same machine code (state.Codes.Sentinel), and for
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
	if err := state.Codes.Sentinel(e.Code); err != nil {
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
