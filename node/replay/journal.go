package replay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/internal/wal"
	"github.com/dxl-network/dxl/node/envelope"
)

// Option configures Open.
type Option func(*Guard)

// WithJournal makes Mark return once the ID is in the node's journal (as
// safe as its mode promises) instead of once it is committed to db; the
// commit follows in the background, and Open replays what a crash left
// only in the journal.
func WithJournal(j *wal.Stream) Option {
	return func(g *Guard) {
		g.journal = j
		g.marks = make(chan *mark, maxGroup)
	}
}

// journalLinger is how long a journaled guard's writer waits for more
// marks before a commit: the journal holds them meanwhile.
const journalLinger = 250 * time.Millisecond

// collect adds the marks waiting to group: with a journal, those that
// come within journalLinger too.
func (g *Guard) collect(group []*mark) []*mark {
	var linger <-chan time.Time
	if g.journal != nil {
		t := time.NewTimer(journalLinger)
		defer t.Stop()
		linger = t.C
	}
	for len(group) < maxGroup {
		if linger == nil {
			select {
			case m := <-g.marks:
				group = append(group, m)
				continue
			default:
				return group
			}
		}
		select {
		case m := <-g.marks:
			group = append(group, m)
		case <-linger:
			return group
		case <-g.stop:
			return group
		}
	}
	return group
}

// metaBucket holds keyJournal: the highest journal LSN db holds.
var (
	metaBucket = []byte("replay_meta")
	keyJournal = []byte("journal_lsn")
)

const entryLen = len(envelope.RequestID{}) + 8

// markJournaled writes the mark to the journal, queues its commit and
// waits for the journal.
func (g *Guard) markJournaled(id envelope.RequestID, signedAt time.Time) error {
	m := &mark{id: id, t: signedAt.UnixNano()}
	p := binary.BigEndian.AppendUint64(append(make([]byte, 0, entryLen), id[:]...), uint64(m.t))
	closed := false
	_, err := g.journal.Append(p, func(lsn wal.LSN) {
		if lsn == 0 {
			return // not journaled: the ID stays refused in memory only
		}
		m.lsn = lsn
		select {
		case g.marks <- m:
		case <-g.stop:
			closed = true
		}
	})
	if err == nil && closed {
		err = ErrClosed
	}
	if err == nil {
		err = g.journal.Durable(context.Background())
	}
	if err != nil {
		return fmt.Errorf("%w: storing request ID: %v", envelope.ErrOverloaded, err)
	}
	return nil
}

func putJournaled(tx *bolt.Tx, lsn wal.LSN) error {
	if lsn == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	return b.Put(keyJournal, binary.BigEndian.AppendUint64(nil, lsn))
}

func (g *Guard) applied(lsn wal.LSN) {
	if g.journal != nil {
		g.journal.Applied(lsn)
	}
}

// replayJournal commits and remembers the journal's marks db lacks.
func (g *Guard) replayJournal(now time.Time) error {
	if g.journal == nil {
		return nil
	}
	var stored wal.LSN
	if err := g.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(metaBucket); b != nil && len(b.Get(keyJournal)) == 8 {
			stored = binary.BigEndian.Uint64(b.Get(keyJournal))
		}
		return nil
	}); err != nil {
		return err
	}
	after, reset := g.journal.After(stored)
	if reset {
		if err := g.db.Update(func(tx *bolt.Tx) error {
			if b := tx.Bucket(metaBucket); b != nil {
				return b.Delete(keyJournal)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	var group []*mark
	err := g.journal.Replay(after, func(lsn wal.LSN, p []byte) error {
		if len(p) != entryLen {
			return fmt.Errorf("replay: journal entry %d of %d bytes", lsn, len(p))
		}
		m := &mark{id: envelope.RequestID(p[:16]), t: int64(binary.BigEndian.Uint64(p[16:])), lsn: lsn}
		err := g.mem.Mark(m.id, time.Unix(0, m.t), now)
		if err != nil && !errors.Is(err, envelope.ErrClockSkew) && !errors.Is(err, envelope.ErrReplay) {
			return err
		}
		group = append(group, m)
		return nil
	})
	if err == nil && len(group) > 0 {
		err = g.commit(group, false, now.UnixNano())
	}
	if err != nil {
		return fmt.Errorf("replay: replaying the journal: %w", err)
	}
	return nil
}
