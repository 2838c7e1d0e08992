package envelope

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// ReplayGuard remembers request IDs for as long as a request carrying them
// could pass the skew check.
type ReplayGuard interface {
	// Window is the largest skew the guard covers: an ID marked with
	// signing time t is remembered at least until t + Window.
	Window() time.Duration
	// Mark records id. It returns an error wrapping ErrReplay if id is
	// already remembered, ErrOverloaded if it cannot remember more.
	Mark(id RequestID, signedAt, now time.Time) error
}

const (
	replayShards = 64
	replaySlots  = 5 // (replaySlots-1) * width >= 2 * window, width = window/2
)

// ReplayCache is an in-memory ReplayGuard: 64 shards (by request ID), each
// a ring of time buckets keyed by the signing time, so expired IDs are
// dropped a whole bucket at a time and memory is capped. Safe for
// concurrent use.
type ReplayCache struct {
	window   time.Duration
	width    int64 // bucket width in ns
	perShard int
	shards   [replayShards]replayShard
}

type replayShard struct {
	mu    sync.Mutex
	slots [replaySlots]replaySlot
	_     [40]byte // keep shards on separate cache lines
}

type replaySlot struct {
	epoch int64 // bucket number: floor(signedAt / width)
	ids   map[RequestID]struct{}
}

// NewReplayCache returns a cache covering window (the largest MaxSkew it
// will be used with) that holds at most maxEntries IDs (<= 0: 1,000,000,
// about 60 MB at most). At 1,000 calls/s and a 2-minute skew window a
// node holds some 240,000 IDs.
func NewReplayCache(window time.Duration, maxEntries int) *ReplayCache {
	if window <= 0 {
		window = time.Minute
	}
	if maxEntries <= 0 {
		maxEntries = 1_000_000
	}
	c := &ReplayCache{window: window, width: max(int64(window/2), 1), perShard: max(maxEntries/replayShards, 1)}
	for i := range c.shards {
		for j := range c.shards[i].slots {
			c.shards[i].slots[j].epoch = -1 << 62
		}
	}
	return c
}

// Window implements ReplayGuard.
func (c *ReplayCache) Window() time.Duration { return c.window }

// live reports whether bucket epoch may still hold an unexpired ID: its
// latest signing time plus the window is after now.
func (c *ReplayCache) live(epoch, now int64) bool {
	return (epoch+1)*c.width+int64(c.window) > now
}

// Mark implements ReplayGuard. IDs whose signing time is more than the
// window away from now are refused as ErrClockSkew (the verifier has
// already rejected them; this keeps the bucket arithmetic sound).
func (c *ReplayCache) Mark(id RequestID, signedAt, now time.Time) error {
	t, n := signedAt.UnixNano(), now.UnixNano()
	if d := n - t; d > int64(c.window) || d < -int64(c.window) {
		return fmt.Errorf("%w: outside the replay window", ErrClockSkew)
	}
	epoch := floorDiv(t, c.width)
	s := &c.shards[binary.LittleEndian.Uint64(id[:8])%replayShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	count := 0
	for i := range s.slots {
		sl := &s.slots[i]
		if !c.live(sl.epoch, n) {
			if len(sl.ids) > 0 {
				clear(sl.ids)
			}
			continue
		}
		if _, dup := sl.ids[id]; dup {
			return fmt.Errorf("%w: %s", ErrReplay, id)
		}
		count += len(sl.ids)
	}
	if count >= c.perShard {
		return fmt.Errorf("%w: %d IDs in shard", ErrOverloaded, count)
	}
	sl := &s.slots[floorMod(epoch, replaySlots)]
	if sl.epoch != epoch {
		// The slot holds an older bucket, which (replaySlots-1)*width >=
		// 2*window guarantees has fully expired.
		sl.epoch = epoch
		if sl.ids == nil {
			sl.ids = make(map[RequestID]struct{})
		} else {
			clear(sl.ids)
		}
	}
	sl.ids[id] = struct{}{}
	return nil
}

// Len returns the number of IDs held (expired buckets not yet reused
// included).
func (c *ReplayCache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for j := range s.slots {
			n += len(s.slots[j].ids)
		}
		s.mu.Unlock()
	}
	return n
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
