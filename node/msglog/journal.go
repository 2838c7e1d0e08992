package msglog

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/internal/wal"
)

// keyJournal in bucketMeta holds the highest journal LSN this file has
// committed (8 bytes, big-endian).
var keyJournal = []byte("journal_lsn")

// enqueue hands it to the writer; with a journal, an append without
// bodies is written to the journal first, in the same order (archived
// bodies stay out of the journal: their calls wait for Flush). A failed
// journal write still queues the append; Durable reports the failure.
// l.closeMu is held shared.
func (l *Log) enqueue(it item) error {
	j := l.cfg.Journal
	if j == nil || it.bodies != nil {
		l.queue <- it
		return nil
	}
	r := it.rec
	r.Hash = make([]byte, sha256.Size) // the stored form ends in a hash; the writer computes the real one
	_, _ = j.Append(marshalRecord(&r), func(lsn wal.LSN) { it.lsn = lsn; l.queue <- it })
	return nil
}

// Durable waits until every append without bodies made before it is as
// safe as the journal's mode promises; without a journal it is Flush.
// Appends with bodies need Flush.
func (l *Log) Durable(ctx context.Context) error {
	if l.cfg.Journal == nil {
		return l.Flush(ctx)
	}
	return l.cfg.Journal.Durable(ctx)
}

func (l *Log) linger() time.Duration {
	if l.cfg.Journal != nil {
		return JournalLinger
	}
	return CommitLinger
}

// putJournaled records in tx that the file holds the journal through lsn.
func putJournaled(tx *bolt.Tx, lsn wal.LSN) error {
	if lsn == 0 {
		return nil
	}
	return tx.Bucket(bucketMeta).Put(keyJournal, seqKey(lsn))
}

// applied tells the journal that a commit covered lsn.
func (l *Log) applied(lsn wal.LSN) {
	if l.cfg.Journal != nil {
		l.cfg.Journal.Applied(lsn)
	}
}

// replayJournal commits the journal's appends this file does not hold:
// those a crash caught between the journal and the writer's commit.
func (l *Log) replayJournal() error {
	j := l.cfg.Journal
	if j == nil {
		return nil
	}
	var stored wal.LSN
	if err := l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyJournal); len(v) == 8 {
			stored = binary.BigEndian.Uint64(v)
		}
		return nil
	}); err != nil {
		return err
	}
	after, reset := j.After(stored)
	if reset {
		if err := l.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyJournal, seqKey(0)) }); err != nil {
			return err
		}
	}
	var group []item
	n := 0
	err := j.Replay(after, func(lsn wal.LSN, p []byte) error {
		r, err := unmarshalRecord(p)
		if err != nil {
			return fmt.Errorf("%w: journal entry %d: %v", ErrCorrupt, lsn, err)
		}
		r.Hash = nil
		group = append(group, item{rec: *r, lsn: lsn})
		n++
		if len(group) < maxGroup {
			return nil
		}
		err = l.commit(group)
		group = group[:0]
		return err
	})
	if err == nil && len(group) > 0 {
		err = l.commit(group)
	}
	if err != nil {
		return fmt.Errorf("msglog: replaying the journal: %w", err)
	}
	if n > 0 {
		l.log.Info("records recovered from the journal", "records", n)
	}
	l.appended.Store(l.lastSeq)
	return nil
}

// Snapshot writes a consistent copy of the log's file, all that is
// committed when it starts (Flush first), to the writer open returns for
// its size: a backup.
func (l *Log) Snapshot(open func(size int64) (io.Writer, error)) error {
	return l.view(func(tx *bolt.Tx) error {
		w, err := open(tx.Size())
		if err != nil {
			return err
		}
		_, err = tx.WriteTo(w)
		return err
	})
}
