package oprec

import (
	"context"
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

// enqueueRecord queues r for the writer; with a journal, r is written to
// the journal first, in the same order. A record the queue has no room
// for is dropped here (and counted) but replayed at the next Open if the
// node stops before the journal moves past it.
func (s *Store) enqueueRecord(r Record) {
	j := s.cfg.Journal
	if j == nil {
		s.enqueue(item{rec: r})
		return
	}
	k := recordKey(nil, &r)
	payload := encodeRecord(append(binary.AppendUvarint(nil, uint64(len(k))), k...), &r)
	_, _ = j.Append(payload, func(lsn wal.LSN) { s.enqueue(item{rec: r, lsn: lsn}) })
}

// Durable waits until every record added before it is as safe as the
// journal's mode promises; without a journal it is Flush.
func (s *Store) Durable(ctx context.Context) error {
	if s.cfg.Journal == nil {
		return s.Flush(ctx)
	}
	return s.cfg.Journal.Durable(ctx)
}

func (s *Store) linger() time.Duration {
	if s.cfg.Journal != nil {
		return JournalLinger
	}
	return CommitLinger
}

func putJournaled(tx *bolt.Tx, lsn wal.LSN) error {
	if lsn == 0 {
		return nil
	}
	return tx.Bucket(bucketMeta).Put(keyJournal, binary.BigEndian.AppendUint64(nil, lsn))
}

func (s *Store) applied(lsn wal.LSN) {
	if s.cfg.Journal != nil {
		s.cfg.Journal.Applied(lsn)
	}
}

// decodeJournaled reads a journal entry written by enqueueRecord.
func decodeJournaled(p []byte) (Record, error) {
	n, w := binary.Uvarint(p)
	if w <= 0 || n > uint64(len(p)-w) {
		return Record{}, fmt.Errorf("%w: journal entry", ErrCorrupt)
	}
	return decodeRecord(p[w:w+int(n)], p[w+int(n):])
}

// replayJournal commits the journal's records this file does not hold.
func (s *Store) replayJournal() error {
	j := s.cfg.Journal
	if j == nil {
		return nil
	}
	var stored wal.LSN
	if err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyJournal); len(v) == 8 {
			stored = binary.BigEndian.Uint64(v)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	after, reset := j.After(stored)
	if reset {
		if err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keyJournal, binary.BigEndian.AppendUint64(nil, 0))
		}); err != nil {
			return err
		}
	}
	var batch []item
	var arena []byte
	n := 0
	err := j.Replay(after, func(lsn wal.LSN, p []byte) error {
		r, err := decodeJournaled(p)
		if err != nil {
			return fmt.Errorf("journal entry %d: %w", lsn, err)
		}
		batch = append(batch, item{rec: r, lsn: lsn})
		n++
		if len(batch) < maxBatch {
			return nil
		}
		_, err = s.commit(batch, &arena)
		batch = batch[:0]
		return err
	})
	if err == nil && len(batch) > 0 {
		_, err = s.commit(batch, &arena)
	}
	if err != nil {
		return fmt.Errorf("oprec: replaying the journal: %w", err)
	}
	if n > 0 {
		s.log.Info("records recovered from the journal", "records", n)
	}
	return nil
}

// Snapshot writes a consistent copy of the store's file, all that is
// committed when it starts (Flush first), to the writer open returns for
// its size: a backup.
func (s *Store) Snapshot(open func(size int64) (io.Writer, error)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		w, err := open(tx.Size())
		if err != nil {
			return err
		}
		_, err = tx.WriteTo(w)
		return err
	})
}
