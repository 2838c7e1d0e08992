package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/internal/wal"
	"github.com/dxl-network/dxl/node/envelope"
)

// bucket holds one sub-bucket per time slot (Guard's doc).
var bucket = []byte("replay")

// maxGroup caps the marks committed in one transaction.
const maxGroup = 1024

// ErrClosed is returned by Mark after Close.
var ErrClosed = errors.New("replay: guard closed")

// Guard is a durable envelope.ReplayGuard (package doc). Safe for
// concurrent use.
type Guard struct {
	mem    *envelope.ReplayCache
	db     *bolt.DB
	window time.Duration
	width  int64 // slot width, ns
	now    func() time.Time

	marks     chan *mark
	journal   *wal.Stream // journal.go; nil: Mark waits for the commit
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type mark struct {
	id  envelope.RequestID
	t   int64
	err chan error // nil when no one waits (journaled)
	lsn wal.LSN
}

// Open opens the guard in db (creating its bucket), covering window, with
// at most maxEntries IDs in memory (0: envelope's default), and loads the
// IDs still live at now() (and those of the journal, WithJournal). Close
// it before db.
func Open(db *bolt.DB, window time.Duration, maxEntries int, now func() time.Time, opts ...Option) (*Guard, error) {
	if window <= 0 {
		return nil, fmt.Errorf("replay: window %s must be positive", window)
	}
	g := &Guard{mem: envelope.NewReplayCache(window, maxEntries), db: db, window: window,
		width: max(int64(window/2), 1), now: now,
		marks: make(chan *mark), stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(g)
	}
	if err := g.load(now()); err != nil {
		return nil, err
	}
	if err := g.replayJournal(now()); err != nil {
		return nil, err
	}
	go g.writer()
	return g, nil
}

// Window implements envelope.ReplayGuard.
func (g *Guard) Window() time.Duration { return g.window }

// Len is the number of IDs remembered in memory.
func (g *Guard) Len() int { return g.mem.Len() }

// Mark implements envelope.ReplayGuard: it returns nil only once id is
// committed to disk. A failed commit is envelope.ErrOverloaded (the ID
// stays refused in memory, so a retry cannot slip through).
func (g *Guard) Mark(id envelope.RequestID, signedAt, now time.Time) error {
	if err := g.mem.Mark(id, signedAt, now); err != nil {
		return err
	}
	if g.journal != nil {
		return g.markJournaled(id, signedAt)
	}
	m := &mark{id: id, t: signedAt.UnixNano(), err: make(chan error, 1)}
	select {
	case g.marks <- m:
	case <-g.stop:
		return fmt.Errorf("%w: %w", envelope.ErrOverloaded, ErrClosed)
	}
	if err := <-m.err; err != nil {
		return fmt.Errorf("%w: storing request ID: %v", envelope.ErrOverloaded, err)
	}
	return nil
}

// Close stops the writer; marks after it fail with ErrClosed.
func (g *Guard) Close() {
	g.closeOnce.Do(func() { close(g.stop); <-g.done })
}

// writer commits marks as they come, all those waiting in one
// transaction.
func (g *Guard) writer() {
	defer close(g.done)
	var lastPrune int64
	for {
		var group []*mark
		select {
		case m := <-g.marks:
			group = append(group, m)
		case <-g.stop:
			return
		}
		group = g.collect(group)
		now := g.now().UnixNano()
		prune := now-lastPrune > g.width
		err := g.commit(group, prune, now)
		if err == nil && prune {
			lastPrune = now
		}
		for _, m := range group {
			if m.err != nil {
				m.err <- err
			}
		}
	}
}

// commit stores group in one transaction, pruning expired slots too
// when prune is set.
func (g *Guard) commit(group []*mark, prune bool, now int64) error {
	var lsn wal.LSN
	err := g.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for _, m := range group {
			sb, err := b.CreateBucketIfNotExists(slotKey(floorDiv(m.t, g.width)))
			if err != nil {
				return err
			}
			if err := sb.Put(m.id[:], binary.BigEndian.AppendUint64(nil, uint64(m.t))); err != nil {
				return err
			}
			lsn = max(lsn, m.lsn)
		}
		if err := putJournaled(tx, lsn); err != nil {
			return err
		}
		if prune {
			return g.prune(b, now)
		}
		return nil
	})
	if err == nil {
		g.applied(lsn)
	}
	return err
}

// live reports whether slot may still hold an ID that is not expired.
func (g *Guard) live(slot, now int64) bool { return (slot+1)*g.width+int64(g.window) > now }

// prune deletes the slots whose IDs have all expired.
func (g *Guard) prune(b *bolt.Bucket, now int64) error {
	var dead [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) == 8 && !g.live(int64(binary.BigEndian.Uint64(k)), now) {
			dead = append(dead, append([]byte(nil), k...))
		}
	}
	for _, k := range dead {
		if err := b.DeleteBucket(k); err != nil {
			return err
		}
	}
	return nil
}

// load creates the bucket, drops expired slots and remembers the rest.
func (g *Guard) load(now time.Time) error {
	return g.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		if err := g.prune(b, now.UnixNano()); err != nil {
			return err
		}
		return b.ForEachBucket(func(k []byte) error {
			return b.Bucket(k).ForEach(func(id, v []byte) error {
				if len(id) != len(envelope.RequestID{}) || len(v) != 8 {
					return fmt.Errorf("replay: corrupt entry in slot %x", k)
				}
				t := time.Unix(0, int64(binary.BigEndian.Uint64(v)))
				err := g.mem.Mark(envelope.RequestID(id), t, now)
				if errors.Is(err, envelope.ErrClockSkew) || errors.Is(err, envelope.ErrReplay) {
					return nil // expired at now, or stored twice
				}
				return err
			})
		})
	})
}

func slotKey(slot int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(slot)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
