package globalconf

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// CacheFile is the name of the cached signed configuration in the cache
// directory.
const CacheFile = "global-config.json"

// DefaultInterval is Run's refresh interval when none is given.
const DefaultInterval = time.Minute

// Options configures a Client. Zero fields take the defaults of WithDefaults.
type Options struct {
	// Logger receives the client's logs (component=globalconf).
	Logger *slog.Logger
	// Clock replaces time.Now for verification, ages and TLS checks.
	Clock func() time.Time
	// Rand shuffles the server order and jitters Run's waits.
	Rand *rand.Rand
	// AttemptTimeout bounds one request to one server; default 20s.
	AttemptTimeout time.Duration
	// RetryBase is Run's first wait after a failed refresh; it doubles per
	// failure up to the interval. Default 1s.
	RetryBase time.Duration
	// MaxAge, when set, overrides the held configuration's
	// policy.max_config_age for Current.
	MaxAge time.Duration
	// AllowInsecureHTTP permits plain http:// registry URLs. For tests and
	// development only: the configuration stays signed, but its contents are
	// readable on the wire and a registry server is not authenticated.
	AllowInsecureHTTP bool
	// OnUpdate is called with every newly accepted version, synchronously,
	// in version order. It must not call Fetch or Accept.
	OnUpdate func(*Document)
	// LongPoll, when set, makes Run long-poll with this wait (watch.go).
	LongPoll time.Duration
	// DialContext replaces the HTTP transport's dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Option sets an option.
type Option func(*Options)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(o *Options) { o.Clock = now } }

// WithRand sets the source of randomness for server order and jitter.
func WithRand(r *rand.Rand) Option { return func(o *Options) { o.Rand = r } }

// WithAttemptTimeout bounds each request to one server.
func WithAttemptTimeout(d time.Duration) Option { return func(o *Options) { o.AttemptTimeout = d } }

// WithRetryBase sets Run's first back-off wait.
func WithRetryBase(d time.Duration) Option { return func(o *Options) { o.RetryBase = d } }

// WithMaxAge overrides the policy's maximum configuration age.
func WithMaxAge(d time.Duration) Option { return func(o *Options) { o.MaxAge = d } }

// WithAllowInsecureHTTP permits plain http:// registry URLs (tests, development).
func WithAllowInsecureHTTP() Option { return func(o *Options) { o.AllowInsecureHTTP = true } }

// WithOnUpdate sets the callback for newly accepted versions.
func WithOnUpdate(f func(*Document)) Option { return func(o *Options) { o.OnUpdate = f } }

// WithDefaults returns o with every unset field at its default.
func (o Options) WithDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = 20 * time.Second
	}
	if o.RetryBase == 0 {
		o.RetryBase = time.Second
	}
	return o
}

// Validate reports the first option out of range; errors wrap ErrBadOption.
func (o Options) Validate() error {
	switch {
	case o.AttemptTimeout < 10*time.Millisecond || o.AttemptTimeout > 10*time.Minute:
		return fmt.Errorf("%w: attempt timeout must be 10ms..10m", ErrBadOption)
	case o.RetryBase < time.Millisecond || o.RetryBase > time.Hour:
		return fmt.Errorf("%w: retry base must be 1ms..1h", ErrBadOption)
	case o.MaxAge < 0:
		return fmt.Errorf("%w: max age must not be negative", ErrBadOption)
	case o.LongPoll != 0 && (o.LongPoll < time.Second || o.LongPoll > MaxWait):
		return fmt.Errorf("%w: long-poll wait must be 1s..%s", ErrBadOption, MaxWait)
	}
	return nil
}

// Client keeps a node's verified global configuration: it fetches from the
// registry servers, accepts only newer versions, caches the signed bytes on
// disk and reports the age of what it holds. It is safe for concurrent use.
// Documents it returns are shared between callers: treat them as read-only.
type Client struct {
	anchor    *Anchor
	opts      Options
	log       *slog.Logger
	cachePath string
	http      *http.Client

	fetchMu sync.Mutex // serialises Fetch and Accept: cache writes, callbacks
	mu      sync.RWMutex
	held    *held

	rmu sync.Mutex // guards opts.Rand

	healthMu sync.Mutex
	health   string // last state Run logged

	poll pollState // the long-poll in flight (watch.go)

	clockMu sync.Mutex
	clock   ServerClock // the last answer's Date against our clock
}

// held is the accepted configuration.
type held struct {
	doc    *Document
	raw    []byte // signed wire form as received
	config []byte // canonical document bytes
}

// NewClient returns a client for anchor that caches in cacheDir (created
// 0700; "" keeps the configuration in memory only). If the cache holds a
// configuration that still verifies against the anchor, the client starts
// with it, so a node restarted while every registry server is down keeps
// its configuration. A cache that does not verify is logged and ignored.
func NewClient(anchor *Anchor, cacheDir string, opts ...Option) (*Client, error) {
	if anchor == nil {
		return nil, fmt.Errorf("%w: no anchor", ErrBadAnchor)
	}
	if err := anchor.Validate(); err != nil {
		return nil, err
	}
	var o Options
	for _, f := range opts {
		f(&o)
	}
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	c := &Client{anchor: anchor, opts: o, log: o.Logger.With("component", "globalconf")}
	for _, u := range anchor.Servers {
		if isPlainHTTP(u) {
			if !o.AllowInsecureHTTP {
				return nil, fmt.Errorf("%w: %s", ErrInsecureURL, u)
			}
			c.log.Warn("plain http registry URL allowed; for tests and development only", "server", u)
		}
	}
	c.http = c.newHTTPClient()
	if cacheDir != "" {
		if err := os.MkdirAll(cacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("globalconf: cache directory: %w", err)
		}
		c.cachePath = filepath.Join(cacheDir, CacheFile)
		c.loadCache()
	}
	return c, nil
}

func (c *Client) loadCache() {
	raw, err := readCapped(c.cachePath)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var v *verified
	if err == nil {
		v, err = verify(raw, c.anchor, c.opts.Clock())
	}
	if err != nil {
		c.log.Warn("cached global configuration ignored", "path", c.cachePath, "error", err)
		return
	}
	c.held = &held{doc: v.doc, raw: raw, config: v.signed.Config}
	c.log.Info("cached global configuration loaded", "version", v.doc.Version,
		"age", v.doc.Age(c.opts.Clock()).Round(time.Second).String())
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxSignedSize+1))
	if err == nil && len(raw) > MaxSignedSize {
		err = fmt.Errorf("%w: %s", ErrTooLarge, path)
	}
	return raw, err
}

// newHTTPClient trusts only the anchor's CA roots. Registry servers are
// identified by the PKI, not by DNS: their certificates (node-auth style)
// carry URI SANs, not host names, and servers are often reached by IP. So
// the standard host-name check is replaced by VerifyConnection, which
// verifies the server's chain to an anchor root and requires an explicit
// serverAuth extended key usage (node-auth certificates have it).
// The configuration is signed end to end in any case; TLS adds
// confidentiality and assurance that a registry-side PKI member answers.
func (c *Client) newHTTPClient() *http.Client {
	roots := x509.NewCertPool()
	for _, r := range c.anchor.Roots {
		roots.AddCert(r)
	}
	tlsConf := &tls.Config{
		MinVersion: tls.VersionTLS12, // TLS 1.3 is negotiated whenever the server offers it
		RootCAs:    roots,
		// The default verification would also match the URL's host against
		// the certificate; VerifyConnection does the chain check instead.
		InsecureSkipVerify: true,
	}
	tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("registry server sent no certificate")
		}
		// Go treats a certificate without extended key usage as good for
		// any purpose; member-sign and registry-config certificates have
		// none and must not pass for a registry server.
		if leaf := cs.PeerCertificates[0]; !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
			return fmt.Errorf("registry server certificate %s lacks the serverAuth extended key usage", leaf.Subject)
		}
		inter := x509.NewCertPool()
		for _, ic := range cs.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: tlsConf.RootCAs, Intermediates: inter,
			CurrentTime: c.opts.Clock(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if err != nil {
			return fmt.Errorf("registry server certificate: %w", err)
		}
		return nil
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DialContext:           c.opts.DialContext,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect could downgrade to http; refuse it
	}}
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

func (c *Client) snapshot() *held {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.held
}

// Current returns the held configuration and its age. With nothing held it
// returns ErrNoConfig. When the age exceeds the maximum (WithMaxAge, else
// the document's policy.max_config_age) it returns the document, its age and
// an error wrapping ErrTooOld: the caller decides whether to keep serving on
// it; the client never discards it.
func (c *Client) Current() (*Document, time.Duration, error) {
	h := c.snapshot()
	if h == nil {
		return nil, 0, ErrNoConfig
	}
	age := h.doc.Age(c.opts.Clock())
	if limit := c.maxAge(h.doc); age > limit {
		return h.doc, age, fmt.Errorf("%w: version %d was issued %s ago, limit %s; no registry server has given a newer one",
			ErrTooOld, h.doc.Version, age.Round(time.Second), limit)
	}
	return h.doc, age, nil
}

func (c *Client) maxAge(d *Document) time.Duration {
	if c.opts.MaxAge > 0 {
		return c.opts.MaxAge
	}
	return time.Duration(d.Policy.MaxConfigAge)
}

// Signed returns a copy of the held signed wire form (nil if none), e.g. to
// relay it to a peer: it is signed, so any peer may carry it.
func (c *Client) Signed() []byte {
	if h := c.snapshot(); h != nil {
		return bytes.Clone(h.raw)
	}
	return nil
}

// Accept verifies a signed configuration obtained any other way (relayed by
// a peer, or read from a file) and holds it if it is newer, exactly as
// Fetch does with a server's answer. It waits for a Fetch in progress.
func (c *Client) Accept(raw []byte) (*Document, error) {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	return c.accept(raw, "accept")
}

// Fetch asks the registry servers, in random order, for the configuration
// and returns the held document once one answers usefully: with a newer
// version (verified, cached, held), a re-signed copy of the held version
// (fresher issued_at), the same version, or 304 Not Modified. The servers
// are the anchor's plus those the held configuration lists. A server that
// answers with an older version (a lagging follower, or a replay) gets
// ErrStale and the next server is tried. When none answers usefully Fetch
// returns an error wrapping ErrNoServer and every server's error; the held
// configuration is untouched.
//
// Each request carries If-None-Match with the held version, except once
// half of the held configuration's validity has passed: then the full body
// is asked for, so a re-signed copy with a fresh issued_at can replace it.
func (c *Client) Fetch(ctx context.Context) (*Document, error) {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	urls := c.serverURLs()
	var errs []error
	for _, u := range urls {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		doc, err := c.fetchOne(ctx, u)
		if err == nil {
			return doc, nil
		}
		c.log.Debug("registry server gave no usable configuration", "server", u, "error", err)
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	return nil, fmt.Errorf("%w (%d tried): %w", ErrNoServer, len(urls), errors.Join(errs...))
}

// serverURLs returns the anchor's servers and the held configuration's, each
// once, shuffled. Plain http URLs learned from a configuration are dropped
// unless AllowInsecureHTTP.
func (c *Client) serverURLs() []string {
	urls := slices.Clone(c.anchor.Servers)
	if h := c.snapshot(); h != nil {
		for _, s := range h.doc.RegistryServers {
			if isPlainHTTP(s.URL) && !c.opts.AllowInsecureHTTP {
				continue
			}
			if !slices.Contains(urls, s.URL) {
				urls = append(urls, s.URL)
			}
		}
	}
	c.rmu.Lock()
	c.opts.Rand.Shuffle(len(urls), func(i, j int) { urls[i], urls[j] = urls[j], urls[i] })
	c.rmu.Unlock()
	return urls
}

// isPlainHTTP reports whether u is anything but an https URL (scheme in any
// case); validated URLs are http or https.
func isPlainHTTP(u string) bool {
	p, err := url.Parse(u)
	return err != nil || p.Scheme != "https"
}

// refreshDue reports whether half of d's validity has passed.
func refreshDue(d *Document, now time.Time) bool {
	return !now.Before(d.IssuedAt.Add(d.ExpiresAt.Sub(d.IssuedAt) / 2))
}

func (c *Client) fetchOne(ctx context.Context, base string) (*Document, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+GlobalConfigPath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	h := c.snapshot()
	conditional := h != nil && !refreshDue(h.doc, c.opts.Clock())
	if conditional {
		req.Header.Set("If-None-Match", ETag(h.doc.Version))
	}
	sent := c.opts.Clock()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	c.noteClock(base, resp, sent, c.opts.Clock())
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		if !conditional {
			return nil, errors.New("HTTP 304 to an unconditional request")
		}
		return h.doc, nil
	default:
		var e apiError
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
			return nil, fmt.Errorf("HTTP %d: %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxSignedSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxSignedSize {
		return nil, fmt.Errorf("%w: body exceeds %d bytes", ErrTooLarge, MaxSignedSize)
	}
	return c.accept(raw, base)
}

// accept verifies raw and holds it if it is newer; fetchMu is held.
func (c *Client) accept(raw []byte, source string) (*Document, error) {
	now := c.opts.Clock()
	v, err := verify(raw, c.anchor, now)
	if err != nil {
		return nil, err
	}
	h := c.snapshot()
	newVersion := true
	if h != nil {
		if serial := hex.EncodeToString(v.signer.SerialNumber.Bytes()); h.doc.IsRevoked(serial) {
			return nil, fmt.Errorf("%w: signer certificate %s is revoked by the held version %d", ErrChain, serial, h.doc.Version)
		}
		switch {
		case v.doc.Version < h.doc.Version:
			return nil, fmt.Errorf("%w: version %d, holding %d", ErrStale, v.doc.Version, h.doc.Version)
		case v.doc.Version == h.doc.Version && !v.doc.IssuedAt.After(h.doc.IssuedAt):
			return h.doc, nil // nothing new
		case v.doc.Version == h.doc.Version:
			// A re-signed copy: only issued_at and expires_at may differ.
			same := *v.doc
			same.IssuedAt, same.ExpiresAt = h.doc.IssuedAt, h.doc.ExpiresAt
			if b, err := json.Marshal(&same); err != nil || !bytes.Equal(b, h.config) {
				return nil, fmt.Errorf("%w: version %d re-signed with different content", ErrStale, v.doc.Version)
			}
			newVersion = false
		}
	}
	if c.cachePath != "" {
		if err := writeFileAtomic(c.cachePath, raw, 0o600); err != nil {
			// The configuration is valid; hold it in memory and say so.
			c.log.Error("cannot write global configuration cache", "path", c.cachePath, "error", err)
		}
	}
	c.mu.Lock()
	c.held = &held{doc: v.doc, raw: raw, config: v.signed.Config}
	c.mu.Unlock()
	c.poll.supersede(v.doc.Version)
	attrs := []any{"version", v.doc.Version, "issued_at", v.doc.IssuedAt.Format(time.RFC3339), "source", source}
	if !newVersion {
		c.log.Debug("global configuration re-issue accepted", attrs...)
		return v.doc, nil
	}
	c.log.Info("new global configuration", attrs...)
	if age := v.doc.Age(now); age > c.maxAge(v.doc) {
		c.log.Warn("accepted global configuration is already older than the maximum age", "version", v.doc.Version, "age", age.String())
	}
	if c.opts.OnUpdate != nil {
		c.opts.OnUpdate(v.doc)
	}
	return v.doc, nil
}

// backoff is RetryBase·2^(n-1), capped at interval, with full jitter over
// its upper half.
func (c *Client) backoff(n int, interval time.Duration) time.Duration {
	d := c.opts.RetryBase
	for i := 1; i < n && d < interval; i++ {
		d *= 2
	}
	d = min(d, interval)
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return d/2 + time.Duration(c.opts.Rand.Int64N(int64(d/2)+1))
}

// jitter returns d ± frac·d.
func (c *Client) jitter(d time.Duration, frac float64) time.Duration {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return time.Duration(float64(d) * (1 - frac + 2*frac*c.opts.Rand.Float64()))
}

// reportHealth logs transitions of the held configuration's state.
func (c *Client) reportHealth() {
	doc, age, err := c.Current()
	state := "fresh"
	switch {
	case errors.Is(err, ErrNoConfig):
		state = "none"
	case errors.Is(err, ErrTooOld):
		state = "too_old"
	case doc.Expired(c.opts.Clock()):
		state = "expired"
	}
	c.healthMu.Lock()
	changed := state != c.health
	c.health = state
	c.healthMu.Unlock()
	if !changed {
		return
	}
	switch state {
	case "none":
		c.log.Warn("no global configuration held yet")
	case "too_old":
		c.log.Error("held global configuration is older than the maximum age; the registry has been unreachable too long",
			"version", doc.Version, "age", age.Round(time.Second).String(), "max_age", c.maxAge(doc).String())
	case "expired":
		c.log.Warn("held global configuration has expired; still in use until the maximum age",
			"version", doc.Version, "age", age.Round(time.Second).String(), "max_age", c.maxAge(doc).String())
	default:
		c.log.Info("global configuration current", "version", doc.Version, "age", age.Round(time.Second).String())
	}
}
