package auth

import (
	"container/list"
	"sync"
	"time"
)

// Throttle defaults applied by Config.withDefaults.
const (
	DefaultThrottleAfter   = 5
	DefaultThrottleBackoff = time.Second
	DefaultThrottleMax     = 5 * time.Minute
	DefaultThrottleEntries = 10000
)

// throttle counts consecutive failed token requests per key (a consumer key
// or a remote address). After `after` failures in a row the key is refused
// for base, doubling with every further failure up to max; a success
// forgets the key. At most `entries` keys are kept: the least recently seen
// is evicted first.
type throttle struct {
	after   int
	base    time.Duration
	max     time.Duration
	entries int

	mu    sync.Mutex
	byKey map[string]*list.Element // of *failures
	lru   *list.List               // front: most recently seen
}

type failures struct {
	key   string
	n     int       // consecutive failures
	until time.Time // refused before this instant
}

func newThrottle(after int, base, max time.Duration, entries int) *throttle {
	return &throttle{after: after, base: base, max: max, entries: entries,
		byKey: map[string]*list.Element{}, lru: list.New()}
}

// blocked returns how long key is still refused at now (0: not refused).
func (t *throttle) blocked(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byKey[key]
	if !ok {
		return 0
	}
	t.lru.MoveToFront(e)
	if d := e.Value.(*failures).until.Sub(now); d > 0 {
		return d
	}
	return 0
}

// fail counts one failure of key at now. It reports whether key has just
// become throttled (its first refusal period starts now).
func (t *throttle) fail(key string, now time.Time) (started bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byKey[key]
	if !ok {
		for t.lru.Len() >= t.entries {
			old := t.lru.Back()
			delete(t.byKey, old.Value.(*failures).key)
			t.lru.Remove(old)
		}
		e = t.lru.PushFront(&failures{key: key})
		t.byKey[key] = e
	}
	t.lru.MoveToFront(e)
	f := e.Value.(*failures)
	f.n++
	if f.n < t.after {
		return false
	}
	f.until = now.Add(t.backoff(f.n - t.after))
	return f.n == t.after
}

// backoff is base·2^k, capped at max.
func (t *throttle) backoff(k int) time.Duration {
	d := t.base
	for ; k > 0 && d < t.max; k-- {
		d *= 2
	}
	return min(d, t.max)
}

// succeed forgets key.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.byKey[key]; ok {
		delete(t.byKey, key)
		t.lru.Remove(e)
	}
}

// len returns the number of keys kept.
func (t *throttle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}
