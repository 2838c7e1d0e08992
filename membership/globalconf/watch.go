package globalconf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// WithLongPoll makes Run long-poll: each request asks the server to hold
// it up to wait (DefaultLongPoll is a good value) until a newer version
// exists.
func WithLongPoll(wait time.Duration) Option { return func(o *Options) { o.LongPoll = wait } }

// WithDialContext replaces the HTTP transport's dialer (a proxy, a source
// address).
func WithDialContext(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(o *Options) { o.DialContext = dial }
}

// Run refreshes the configuration every interval (DefaultInterval if
// interval <= 0, ±10% jitter) until ctx ends, and returns ctx.Err(). After
// a failed refresh it retries sooner, with jittered exponential back-off
// from RetryBase up to interval. Failures are logged (warn) every time;
// the held configuration turning expired, too old or fresh again is logged
// once per change. New versions go to the OnUpdate callback.
//
// With WithLongPoll, long-polls are the main loop: one held request at a
// time to one server, the next as soon as it returns. An answer that comes
// back early without a change (a server that does not hold requests, an
// older one, or one at its cap of held requests) makes the loop wait the
// interval before asking again, so it never spins. Without a held copy, or
// once half of its validity has passed, it fetches unconditionally.
func (c *Client) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultInterval
	}
	// step refreshes once; wait reports that the interval is to pass
	// before the next refresh.
	step := func(ctx context.Context) (wait bool, err error) {
		_, err = c.Fetch(ctx)
		return true, err
	}
	if c.opts.LongPoll > 0 {
		step = c.pollOnce
	}
	failures := 0
	for {
		again, err := step(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var wait time.Duration
		switch {
		case err != nil:
			failures++
			wait = c.backoff(failures, interval)
			c.log.Warn("global configuration refresh failed", "error", err, "failures", failures, "retry_in", wait.String())
		case again:
			failures = 0
			wait = c.jitter(interval, 0.1)
		default:
			failures = 0
		}
		c.reportHealth()
		if wait <= 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// pollOnce makes one long-poll, trying the servers in random order until
// one answers usefully. early reports an answer that did not wait.
func (c *Client) pollOnce(ctx context.Context) (early bool, err error) {
	h := c.snapshot()
	if h == nil || refreshDue(h.doc, c.opts.Clock()) {
		if _, err := c.Fetch(ctx); err != nil {
			return false, err
		}
		h = c.snapshot()
		return h == nil || refreshDue(h.doc, c.opts.Clock()), nil
	}
	urls := c.serverURLs()
	var errs []error
	for _, u := range urls {
		early, err := c.longPollOne(ctx, u, h)
		if err == nil {
			return early, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		c.log.Debug("registry server gave no usable configuration", "server", u, "error", err)
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	return false, fmt.Errorf("%w (%d tried): %w", ErrNoServer, len(urls), errors.Join(errs...))
}

// pollState is the long-poll in flight. A newer version accepted from
// elsewhere (a peer's copy) ends it: a server that staggers its answers
// then never sends this client the body, and the next long-poll names
// the new version.
type pollState struct {
	mu      sync.Mutex
	version uint64
	cancel  context.CancelFunc
}

func (p *pollState) start(version uint64, cancel context.CancelFunc) {
	p.mu.Lock()
	p.version, p.cancel = version, cancel
	p.mu.Unlock()
}

func (p *pollState) stop() { p.start(0, nil) }

// supersede ends the long-poll in flight if it waits for less than version.
func (p *pollState) supersede(version uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil && version > p.version {
		p.cancel()
	}
}

// superseded reports whether a newer version than h's is held now.
func (c *Client) superseded(h *held) bool {
	cur := c.snapshot()
	return cur != nil && cur.doc.Version > h.doc.Version
}

// longPollOne asks base to hold a conditional request for h's version.
// The request itself is made without fetchMu, so Accept (a relayed copy)
// is never blocked by a held request; the answer is accepted under it.
func (c *Client) longPollOne(ctx context.Context, base string, h *held) (early bool, err error) {
	wait := c.opts.LongPoll
	ctx, cancel := context.WithTimeout(ctx, wait+c.opts.AttemptTimeout)
	defer cancel()
	c.poll.start(h.doc.Version, cancel)
	defer c.poll.stop()
	u := strings.TrimRight(base, "/") + GlobalConfigPath + "?" + WaitParam + "=" + wait.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("If-None-Match", ETag(h.doc.Version))
	start := time.Now() // real time: how long the server held the request
	resp, err := c.http.Do(req)
	if err != nil {
		if c.superseded(h) {
			return false, nil // ended by a newer copy from elsewhere
		}
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return time.Since(start) < wait/2, nil
	case http.StatusOK:
	default:
		return false, statusError(resp)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxSignedSize+1))
	if err != nil {
		if c.superseded(h) {
			return false, nil
		}
		return false, err
	}
	if len(raw) > MaxSignedSize {
		return false, fmt.Errorf("%w: body exceeds %d bytes", ErrTooLarge, MaxSignedSize)
	}
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	doc, err := c.accept(raw, base)
	if err != nil {
		return false, err
	}
	// The same version again (the server has nothing newer than a copy
	// relayed meanwhile): do not ask again at once.
	return doc.Version == h.doc.Version && time.Since(start) < wait/2, nil
}

// statusError describes an error answer, with its machine code if any.
func statusError(resp *http.Response) error {
	var e apiError
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		return fmt.Errorf("HTTP %d: %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}
