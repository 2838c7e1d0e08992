package api

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/dxl-network/dxl/membership/state"
)

// Intake defaults applied by IntakeConfig.withDefaults.
const (
	DefaultIntakePerMinute  = 2
	DefaultIntakeBurst      = 5
	DefaultIntakeMaxPending = 3
	DefaultIntakeMaxAddrs   = 10000
)

// IntakeConfig limits the anonymous POST /v1/registrations per remote
// address (the TCP peer: a proxy in front makes every applicant one
// address). Each registry server keeps its own counts in memory: nothing of
// it is in the replicated state.
type IntakeConfig struct {
	// PerMinute is the sustained rate of submissions per address, Burst how
	// many may come at once (token bucket). Beyond: 429 rate_limited with
	// Retry-After.
	PerMinute float64 `json:"per_minute,omitempty"`
	Burst     int     `json:"burst,omitempty"`
	// MaxPending is how many registrations submitted from one address may
	// wait for an operator at once. Beyond: 429 too_many_pending.
	MaxPending int `json:"max_pending,omitempty"`
	// MaxAddrs caps the addresses remembered; the least recently seen is
	// forgotten first.
	MaxAddrs int `json:"max_addrs,omitempty"`
}

func (c IntakeConfig) withDefaults() IntakeConfig {
	if c.PerMinute == 0 {
		c.PerMinute = DefaultIntakePerMinute
	}
	if c.Burst == 0 {
		c.Burst = DefaultIntakeBurst
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultIntakeMaxPending
	}
	if c.MaxAddrs == 0 {
		c.MaxAddrs = DefaultIntakeMaxAddrs
	}
	return c
}

// Validate reports whether c, after defaults, is usable.
func (c IntakeConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.PerMinute < 0 || c.PerMinute > 6000:
		return fmt.Errorf("%w: registration_limits.per_minute %v outside 0..6000", state.ErrBadConfig, c.PerMinute)
	case c.Burst < 1 || c.Burst > 1000:
		return fmt.Errorf("%w: registration_limits.burst %d outside 1..1000", state.ErrBadConfig, c.Burst)
	case c.MaxPending < 1 || c.MaxPending > 1000:
		return fmt.Errorf("%w: registration_limits.max_pending %d outside 1..1000", state.ErrBadConfig, c.MaxPending)
	case c.MaxAddrs < 1 || c.MaxAddrs > 1<<20:
		return fmt.Errorf("%w: registration_limits.max_addrs %d outside 1..1Mi", state.ErrBadConfig, c.MaxAddrs)
	}
	return nil
}

// intake holds, per remote address, its token bucket and the IDs of the
// registrations it submitted that may still be pending.
type intake struct {
	cfg IntakeConfig
	now func() time.Time

	mu    sync.Mutex
	addrs map[string]*source
}

type source struct {
	lim      *rate.Limiter
	ids      []string // submitted here, pending when last looked
	inflight int      // submissions being applied
	seen     time.Time
}

func newIntake(cfg IntakeConfig, now func() time.Time) *intake {
	return &intake{cfg: cfg.withDefaults(), now: now, addrs: map[string]*source{}}
}

func remoteHost(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// admit charges one submission to addr. pending returns those of the IDs
// still pending (read from the state). On success the caller must call done
// with the request ID (or "" if the submission failed). On refusal retry is
// the Retry-After value, if any.
func (in *intake) admit(addr string, pending func(ids []string) []string) (done func(id string), retry string, err error) {
	now := in.now()
	in.mu.Lock()
	defer in.mu.Unlock()
	s := in.source(addr, now)
	s.ids = pending(s.ids)
	if n := len(s.ids) + s.inflight; n >= in.cfg.MaxPending {
		return nil, "", fmt.Errorf("%w: %d registrations from %s are waiting for an operator (at most %d)",
			state.ErrTooManyPending, n, addr, in.cfg.MaxPending)
	}
	r := s.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); !r.OK() || d > 0 {
		r.CancelAt(now)
		secs := max(1, int64((d+time.Second-1)/time.Second))
		return nil, strconv.FormatInt(secs, 10), fmt.Errorf("%w: %s may submit %g registrations a minute (burst %d); retry after %d s",
			state.ErrRateLimited, addr, in.cfg.PerMinute, in.cfg.Burst, secs)
	}
	s.inflight++
	return func(id string) {
		in.mu.Lock()
		defer in.mu.Unlock()
		s.inflight--
		if id != "" {
			s.ids = append(s.ids, id)
		}
	}, "", nil
}

// source returns addr's entry, first evicting the least recently seen
// address when the table is full. in.mu is held.
func (in *intake) source(addr string, now time.Time) *source {
	s, ok := in.addrs[addr]
	if !ok {
		if len(in.addrs) >= in.cfg.MaxAddrs {
			in.evictOldest()
		}
		s = &source{lim: rate.NewLimiter(rate.Limit(in.cfg.PerMinute/60), in.cfg.Burst)}
		in.addrs[addr] = s
	}
	s.seen = now
	return s
}

func (in *intake) evictOldest() {
	var oldest string
	var at time.Time
	for a, s := range in.addrs {
		if s.inflight == 0 && (oldest == "" || s.seen.Before(at)) {
			oldest, at = a, s.seen
		}
	}
	delete(in.addrs, oldest)
}
