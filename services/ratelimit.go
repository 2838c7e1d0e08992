package services

import (
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// Default budgets per consumer subsystem per service (R-T1).
const (
	DefaultReadsPerMin  = 1000
	DefaultWritesPerMin = 300
)

// Limits is a pair of per-minute budgets; a zero field inherits.
type Limits struct {
	ReadsPerMin  int `json:"reads_per_min,omitempty"`
	WritesPerMin int `json:"writes_per_min,omitempty"`
}

// Override replaces budgets for a service, a client, or one client on one
// service. Precedence, most specific first: client+service, service,
// client, defaults; each field of Limits is resolved on its own.
type Override struct {
	Client  string `json:"client,omitempty"`  // subsystem ID; "" = any client
	Service string `json:"service,omitempty"` // service ID without version; "" = any service
	Limits
}

// RateLimitConfig configures a Limiter.
type RateLimitConfig struct {
	// Defaults; zero fields take DefaultReadsPerMin / DefaultWritesPerMin
	// (the node copies the signed policy's values here).
	Defaults  Limits     `json:"defaults"`
	Overrides []Override `json:"overrides,omitempty"`
}

// Validate checks c. Errors wrap ErrInvalidConfig.
func (c *RateLimitConfig) Validate() error {
	_, err := c.compile()
	return err
}

type overrideKey struct {
	client  SubsystemID
	service ServiceID
}

func (c *RateLimitConfig) compile() (map[overrideKey]Limits, error) {
	check := func(l Limits) error {
		if l.ReadsPerMin < 0 || l.WritesPerMin < 0 {
			return fmt.Errorf("%w: negative rate limit", ErrInvalidConfig)
		}
		return nil
	}
	if err := check(c.Defaults); err != nil {
		return nil, err
	}
	m := make(map[overrideKey]Limits, len(c.Overrides))
	for i, o := range c.Overrides {
		var k overrideKey
		var err error
		if o.Client == "" && o.Service == "" {
			return nil, fmt.Errorf("%w: override %d names neither client nor service", ErrInvalidConfig, i)
		}
		if o.Client != "" {
			if k.client, err = ParseSubsystemID(o.Client); err != nil {
				return nil, fmt.Errorf("%w: override %d: %v", ErrInvalidConfig, i, err)
			}
		}
		if o.Service != "" {
			if k.service, err = ParseServiceID(o.Service); err != nil {
				return nil, fmt.Errorf("%w: override %d: %v", ErrInvalidConfig, i, err)
			}
			if k.service.Version != "" {
				return nil, fmt.Errorf("%w: override %d: rate limits apply to the service without its version", ErrInvalidConfig, i)
			}
		}
		if err := check(o.Limits); err != nil {
			return nil, fmt.Errorf("override %d: %w", i, err)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%w: override %d repeats an earlier one", ErrInvalidConfig, i)
		}
		m[k] = o.Limits
	}
	return m, nil
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.now = now } }

const (
	numShards     = 64
	minSweepAfter = 1024
)

// bucketKey is one consumer on one service (without version).
type bucketKey struct {
	client   SubsystemID
	provider SubsystemID
	code     string
}

// bucket holds the GCRA theoretical arrival times, in clock nanoseconds.
type bucket struct {
	read, write int64
}

type shard struct {
	mu         sync.Mutex
	buckets    map[bucketKey]*bucket
	sweepAfter int
	_          [40]byte // keep shards on separate cache lines
}

// Limiter enforces per-client, per-service read and write budgets (see the
// package documentation for the algorithm). It is safe for concurrent use;
// state is split over 64 mutex-guarded shards by a hash of the key.
type Limiter struct {
	now       func() time.Time
	epoch     time.Time
	defaults  Limits
	overrides map[overrideKey]Limits
	seed      maphash.Seed
	shards    [numShards]shard
}

// NewLimiter returns a Limiter for cfg.
func NewLimiter(cfg RateLimitConfig, opts ...Option) (*Limiter, error) {
	ov, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	l := &Limiter{now: time.Now, defaults: cfg.Defaults, overrides: ov, seed: maphash.MakeSeed()}
	if l.defaults.ReadsPerMin == 0 {
		l.defaults.ReadsPerMin = DefaultReadsPerMin
	}
	if l.defaults.WritesPerMin == 0 {
		l.defaults.WritesPerMin = DefaultWritesPerMin
	}
	for _, o := range opts {
		o(l)
	}
	l.epoch = l.now()
	for i := range l.shards {
		l.shards[i].buckets = make(map[bucketKey]*bucket)
		l.shards[i].sweepAfter = minSweepAfter
	}
	return l, nil
}

// IsRead reports whether method spends the read budget: GET, HEAD and
// OPTIONS. Every other method is a write.
func IsRead(method string) bool {
	return method == "GET" || method == "HEAD" || method == "OPTIONS"
}

// LimitsFor returns the effective budgets of client on service.
func (l *Limiter) LimitsFor(client SubsystemID, service ServiceID) Limits {
	eff := l.defaults
	if len(l.overrides) == 0 {
		return eff
	}
	svc := service.Unversioned()
	// Least specific first, so the more specific ones win.
	for _, k := range [...]overrideKey{{client: client}, {service: svc}, {client: client, service: svc}} {
		if o, ok := l.overrides[k]; ok {
			if o.ReadsPerMin > 0 {
				eff.ReadsPerMin = o.ReadsPerMin
			}
			if o.WritesPerMin > 0 {
				eff.WritesPerMin = o.WritesPerMin
			}
		}
	}
	return eff
}

// interval is the GCRA emission interval of a budget of n per minute,
// rounded up.
func interval(n int) int64 {
	return (int64(time.Minute) + int64(n) - 1) / int64(n)
}

// Allow spends one call of client on service with method and reports
// whether it is within budget. When it is not, retryAfter is the wait after
// which the same call would be allowed (assuming no other spending); the
// caller answers 429 with Retry-After: RetryAfter(retryAfter).
func (l *Limiter) Allow(client SubsystemID, service ServiceID, method string) (ok bool, retryAfter time.Duration) {
	lim := l.LimitsFor(client, service)
	n, read := lim.WritesPerMin, IsRead(method)
	if read {
		n = lim.ReadsPerMin
	}
	iv := interval(n)
	tau := iv * int64(n-1) // burst tolerance: n calls at once
	now := int64(l.now().Sub(l.epoch))

	key := bucketKey{client: client, provider: service.Provider, code: service.Code}
	sh := &l.shards[l.hash(&key)%numShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := sh.buckets[key]
	if b == nil {
		if len(sh.buckets) >= sh.sweepAfter {
			sh.sweep(now)
		}
		b = &bucket{read: now, write: now}
		sh.buckets[key] = b
	}
	tat := &b.write
	if read {
		tat = &b.read
	}
	t := max(*tat, now)
	if wait := t - now - tau; wait > 0 {
		return false, time.Duration(wait)
	}
	*tat = t + iv
	return true, 0
}

func (l *Limiter) hash(k *bucketKey) uint64 {
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteString(k.client.Member.Code)
	h.WriteString(k.client.Subsystem)
	h.WriteString(k.provider.Member.Code)
	h.WriteString(k.provider.Subsystem)
	h.WriteString(k.code)
	return h.Sum64()
}

// sweep drops the buckets that are fully refilled (both arrival times not
// after now): such a bucket decides exactly like a missing one. It then
// sets the next sweep threshold to twice the survivors (at least
// minSweepAfter), so sweeping costs amortised O(1) per new bucket.
func (sh *shard) sweep(now int64) int {
	n := 0
	for k, b := range sh.buckets {
		if b.read <= now && b.write <= now {
			delete(sh.buckets, k)
			n++
		}
	}
	sh.sweepAfter = max(minSweepAfter, 2*len(sh.buckets))
	return n
}

// Sweep evicts idle buckets in every shard and returns how many it
// evicted. Allow sweeps a shard on its own as it grows; a node may also
// call Sweep periodically to return memory after a burst.
func (l *Limiter) Sweep() int {
	now := int64(l.now().Sub(l.epoch))
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += sh.sweep(now)
		sh.mu.Unlock()
	}
	return n
}

// Len returns the number of buckets held.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.buckets)
		sh.mu.Unlock()
	}
	return n
}
