package globalconf

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Long-polls on GlobalConfigPath: a GET with If-None-Match naming the
// served version and ?wait=DURATION is held until the served version
// changes (then 200 with the new copy) or the wait ends (then 304), so a
// node learns a change as soon as its server has signed it, at the cost of
// one held request instead of a poll a minute.
const (
	// WaitParam is the query parameter of a long-poll: a Go duration
	// ("30s"), 0 up to the handler's maximum.
	WaitParam = "wait"
	// MaxWait is the longest wait a handler holds a request for unless
	// WithMaxWait says otherwise; a longer ?wait= is a 400 (bad_wait).
	MaxWait = 60 * time.Second
	// DefaultMaxWaiters bounds the requests one handler holds at a time;
	// beyond it a long-poll is answered at once, as by a server that does
	// not hold requests (clients fall back to their interval).
	DefaultMaxWaiters = 1024
	// DefaultLongPoll is the wait a node asks for (WithLongPoll).
	DefaultLongPoll = 30 * time.Second
	// maxWaitText bounds the wait parameter's text.
	maxWaitText = 32
	// writeSlack extends a held request's write deadline past its wait.
	writeSlack = 30 * time.Second
)

// HandlerOption configures Handler.
type HandlerOption func(*handler)

// WithChanges enables long-polls: changed returns a channel that is closed
// at the next change of what the source returns (Notifier.Changed). Without
// it (or while it returns nil) the handler answers every request at once,
// ?wait= or not.
func WithChanges(changed func() <-chan struct{}) HandlerOption {
	return func(h *handler) { h.changed = changed }
}

// WithMaxWait sets the longest accepted ?wait= (default MaxWait).
func WithMaxWait(d time.Duration) HandlerOption {
	return func(h *handler) {
		if d > 0 {
			h.maxWait = d
		}
	}
}

// WithMaxWaiters bounds the requests held at once (default DefaultMaxWaiters).
func WithMaxWaiters(n int) HandlerOption {
	return func(h *handler) {
		if n > 0 {
			h.maxWaiters = int64(n)
		}
	}
}

// WithStagger spreads the answers when a new version wakes the held
// requests: the first `first` are answered at once, each other one after
// a random delay up to spread, unless its client has gone meanwhile. A
// node that got the version from a peer (node/confsync) ends its held
// request, so the server never sends it the body: with a relay, a change
// costs the server about `first` copies rather than one per node.
func WithStagger(first int, spread time.Duration) HandlerOption {
	return func(h *handler) { h.first, h.spread = int64(max(first, 0)), max(spread, 0) }
}

type handler struct {
	source     func() ([]byte, uint64, error)
	changed    func() <-chan struct{}
	maxWait    time.Duration
	maxWaiters int64
	waiters    atomic.Int64

	first  int64
	spread time.Duration
	wakeMu sync.Mutex
	wakeV  uint64 // the version the held requests were last woken for
	woken  int64  // how many of them have been answered since
}

// Waiters returns how many requests h holds now (for tests and metrics);
// h must come from Handler.
func Waiters(h http.Handler) int64 {
	if hh, ok := h.(*handler); ok {
		return hh.waiters.Load()
	}
	return 0
}

// parseWait reads ?wait=: absent is 0; more than one value, a value that
// is not a Go duration, negative, or beyond the maximum wraps ErrBadWait.
func (h *handler) parseWait(r *http.Request) (time.Duration, error) {
	if r.URL.RawQuery == "" {
		return 0, nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, fmt.Errorf("%w: query does not parse: %v", ErrBadWait, err)
	}
	vals, ok := q[WaitParam]
	switch {
	case !ok:
		return 0, nil
	case len(vals) != 1:
		return 0, fmt.Errorf("%w: give %s once", ErrBadWait, WaitParam)
	case len(vals[0]) > maxWaitText:
		return 0, fmt.Errorf("%w: %s is longer than %d characters", ErrBadWait, WaitParam, maxWaitText)
	}
	d, err := time.ParseDuration(vals[0])
	if err != nil || d < 0 || d > h.maxWait {
		return 0, fmt.Errorf("%w: %s=%q: want a duration from 0s to %s, e.g. 30s", ErrBadWait, WaitParam, vals[0], h.maxWait)
	}
	return d, nil
}

// served returns the source's copy, ErrUnavailable for none.
func (h *handler) served() ([]byte, uint64, error) {
	raw, version, err := h.source()
	if err == nil && (len(raw) == 0 || version == 0) {
		err = ErrUnavailable
	}
	return raw, version, err
}

// current returns what to answer r with. A conditional request naming the
// served version with a wait is held (long-poll) until the served version
// changes, the wait ends, or the client leaves; each change is read from
// the source once per held request. Beyond maxWaiters it is answered at
// once.
func (h *handler) current(w http.ResponseWriter, r *http.Request, wait time.Duration) ([]byte, uint64, error) {
	var ch <-chan struct{}
	if h.changed != nil && wait > 0 {
		ch = h.changed() // before reading the source, so no change is missed
	}
	raw, version, err := h.served()
	inm := r.Header.Values("If-None-Match")
	if err != nil || ch == nil || !etagMatches(inm, ETag(version)) {
		return raw, version, err
	}
	if h.waiters.Add(1) > h.maxWaiters {
		h.waiters.Add(-1)
		return raw, version, nil
	}
	defer h.waiters.Add(-1)
	// The server's write timeout counts from the request's start; a held
	// request extends its own (not supported by every ResponseWriter).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + writeSlack))
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ch:
			if ch = h.changed(); ch == nil {
				return h.served()
			}
			if raw, version, err = h.served(); err != nil || !etagMatches(inm, ETag(version)) {
				if err == nil {
					h.stagger(r, version)
				}
				return raw, version, err
			}
		case <-timer.C:
			return raw, version, nil
		case <-r.Context().Done():
			return raw, version, nil
		}
	}
}

// stagger delays the answer to a woken request past the first h.first for
// version, by up to h.spread, or until its client goes (ServeHTTP then
// writes nothing).
func (h *handler) stagger(r *http.Request, version uint64) {
	if h.spread <= 0 {
		return
	}
	h.wakeMu.Lock()
	if h.wakeV != version {
		h.wakeV, h.woken = version, 0
	}
	h.woken++
	n := h.woken
	h.wakeMu.Unlock()
	if n <= h.first {
		return
	}
	t := time.NewTimer(rand.N(h.spread))
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// Notifier wakes every waiter at once: Changed returns a channel the next
// Notify closes. The zero value is ready to use.
type Notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// Changed returns a channel closed at the next Notify.
func (n *Notifier) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// Notify wakes everyone waiting on a channel from Changed.
func (n *Notifier) Notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}
