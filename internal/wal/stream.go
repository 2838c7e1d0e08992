package wal

import (
	"context"
	"sync"
	"sync/atomic"
)

// Stream is one store's part of the journal: its entries, in the order
// the store queues them for its own commits.
type Stream struct {
	log  *Log
	id   byte
	mu   sync.Mutex // journal order = the store's queue order
	last atomic.Uint64
}

// Stream returns the stream id of l; give each store its own id.
func (l *Log) Stream(id byte) *Stream { return &Stream{log: l, id: id} }

// Append writes payload and, under the stream's lock, calls queue with
// its LSN, so the store's queue holds its entries in LSN order. When the
// write fails queue gets 0 (the store commits the entry anyway) and the
// error is returned; Durable reports it too.
func (s *Stream) Append(payload []byte, queue func(LSN)) (LSN, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lsn, err := s.log.Append(s.id, payload)
	if err != nil {
		lsn = 0
	} else {
		s.last.Store(lsn)
	}
	queue(lsn)
	return lsn, err
}

// Durable waits until every entry appended on s so far is as safe as the
// journal's mode promises.
func (s *Stream) Durable(ctx context.Context) error { return s.log.Durable(ctx, s.last.Load()) }

// Applied records that the store has committed its entries through lsn
// (0: nothing journaled).
func (s *Stream) Applied(lsn LSN) {
	if lsn > 0 {
		s.log.Applied(s.id, lsn)
	}
}

// After is where the replay of a store holding the journal through stored
// starts: stored, or 0 with reset set when the journal is newer than the
// store's mark (restored without it, or its directory removed: its LSNs
// start again). A store told to reset records 0 before it replays.
func (s *Stream) After(stored LSN) (after LSN, reset bool) {
	if stored > s.log.Last() {
		return 0, true
	}
	return stored, false
}

// Replay calls fn for each entry of s after LSN after (Log.Replay), then
// records that the store holds the journal through after.
func (s *Stream) Replay(after LSN, fn func(lsn LSN, payload []byte) error) error {
	if err := s.log.Replay(s.id, after, fn); err != nil {
		return err
	}
	s.Applied(after)
	return nil
}
